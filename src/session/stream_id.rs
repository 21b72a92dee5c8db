//! [`StreamId`]: an HTTP/2 stream identifier.

use std::fmt;

/// An HTTP/2 stream identifier (RFC 9113 section 5.1.1): 31 bits, 0 for
/// the connection itself, odd for streams a client opens, even for streams
/// a server opens (pushes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId(i32);

impl StreamId {
    /// Stream 0: frames about the connection as a whole (SETTINGS, PING,
    /// GOAWAY, and WINDOW_UPDATE for the connection window).
    pub const CONNECTION: StreamId = StreamId(0);

    /// The largest stream id, 2^31 - 1.
    pub const MAX: StreamId = StreamId(i32::MAX);

    /// The id `n`, or `None` when it does not fit in 31 bits.
    pub const fn new(n: u32) -> Option<StreamId> {
        if n <= i32::MAX as u32 {
            Some(StreamId(n as i32))
        } else {
            None
        }
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// True for stream 0, the connection.
    pub const fn is_connection(self) -> bool {
        self.0 == 0
    }

    /// True for an odd id: a stream a client opened.
    pub const fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }

    /// True for an even id other than 0: a stream a server opened.
    pub const fn is_server_initiated(self) -> bool {
        self.0 != 0 && self.0 % 2 == 0
    }

    /// The id as nghttp2's `int32_t`.
    pub(crate) const fn raw(self) -> i32 {
        self.0
    }

    /// An id nghttp2 reported. nghttp2 only reports ids in 0..=2^31-1; a
    /// negative value (never seen) is clamped to 0.
    pub(crate) const fn from_raw(id: i32) -> StreamId {
        if id < 0 {
            StreamId(0)
        } else {
            StreamId(id)
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.0)
    }
}

impl From<StreamId> for u32 {
    fn from(id: StreamId) -> u32 {
        id.get()
    }
}

impl TryFrom<u32> for StreamId {
    type Error = std::num::TryFromIntError;

    fn try_from(n: u32) -> Result<StreamId, Self::Error> {
        i32::try_from(n).map(StreamId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_and_parity() {
        assert_eq!(StreamId::new(1).map(StreamId::get), Some(1));
        assert_eq!(StreamId::new(1 << 31), None);
        assert!(StreamId::try_from(u32::MAX).is_err());
        assert!(StreamId::new(3).unwrap().is_client_initiated());
        assert!(StreamId::new(2).unwrap().is_server_initiated());
        assert!(StreamId::CONNECTION.is_connection());
        assert!(!StreamId::CONNECTION.is_server_initiated());
        assert_eq!(StreamId::from_raw(-1), StreamId::CONNECTION);
        assert_eq!(StreamId::MAX.to_string(), "2147483647");
    }
}
