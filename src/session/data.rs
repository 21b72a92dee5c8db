//! Outgoing bodies: the [`DataSource`] trait and what it answers.

use bytes::Bytes;

use crate::error::Reason;
use crate::session::header::Header;

/// What a [`DataSource`] answers when nghttp2 asks for body bytes.
#[derive(Debug)]
pub enum Read {
    /// Bytes to send; more follow later. Bytes beyond what the window and
    /// frame size allow now are kept and sent in later frames.
    Data(Bytes),
    /// The last bytes of the body (possibly empty), then either END_STREAM
    /// or, when `trailers` is given, a trailing HEADERS frame.
    End {
        /// The last bytes.
        last: Bytes,
        /// Trailer fields to send after the body.
        trailers: Option<Vec<Header>>,
    },
    /// Nothing ready yet: the stream waits until
    /// [`Context::resume_data`](crate::session::Context::resume_data)
    /// (nghttp2's `NGHTTP2_ERR_DEFERRED`).
    Pending,
    /// Give up: the stream is reset with this code.
    Reset(Reason),
}

impl Read {
    /// The end of the body, with nothing more to send.
    pub fn end() -> Read {
        Read::End {
            last: Bytes::new(),
            trailers: None,
        }
    }

    /// The end of the body, followed by trailer fields.
    pub fn trailers(trailers: Vec<Header>) -> Read {
        Read::End {
            last: Bytes::new(),
            trailers: Some(trailers),
        }
    }
}

/// Produces a stream's outgoing body on demand, as the peer's flow-control
/// window opens.
///
/// The bytes are written straight into the session's output through
/// nghttp2's `NGHTTP2_DATA_FLAG_NO_COPY` and `send_data_callback`, so a
/// large [`Bytes`] is sent without being copied through nghttp2's frame
/// buffer. A source is dropped exactly once: when its stream closes, or when
/// the session is dropped.
pub trait DataSource: Send {
    /// The next part of the body; `max_len` is what nghttp2 can send now.
    fn read(&mut self, max_len: usize) -> Read;
}

/// A body known in full.
impl DataSource for Bytes {
    fn read(&mut self, _max_len: usize) -> Read {
        Read::End {
            last: std::mem::take(self),
            trailers: None,
        }
    }
}

/// A body known in full.
impl DataSource for Vec<u8> {
    fn read(&mut self, _max_len: usize) -> Read {
        Read::End {
            last: Bytes::from(std::mem::take(self)),
            trailers: None,
        }
    }
}

/// A body known in full.
impl DataSource for &'static [u8] {
    fn read(&mut self, _max_len: usize) -> Read {
        Read::End {
            last: Bytes::from_static(std::mem::take(self)),
            trailers: None,
        }
    }
}

/// A body produced by a closure.
#[derive(Debug)]
pub struct FnSource<F>(pub F);

impl<F: FnMut(usize) -> Read + Send> DataSource for FnSource<F> {
    fn read(&mut self, max_len: usize) -> Read {
        (self.0)(max_len)
    }
}
