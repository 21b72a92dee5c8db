//! Errors: nghttp2's library codes, HTTP/2 error codes, and the crate's
//! [`Error`].

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use crate::ffi::sys;
use crate::session::StreamId;

/// An HTTP/2 error code (RFC 9113 section 7), as carried by RST_STREAM and
/// GOAWAY.
///
/// Open: codes this crate has no name for are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason(pub u32);

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident = $code:expr;)*) => {
        impl Reason {
            $($(#[$doc])* pub const $name: Reason = Reason($code);)*

            /// The RFC name of the code (`PROTOCOL_ERROR`), or `None` when it
            /// has none.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    /// Graceful shutdown, or no error.
    NO_ERROR = 0x0;
    /// Protocol error detected.
    PROTOCOL_ERROR = 0x1;
    /// Implementation fault.
    INTERNAL_ERROR = 0x2;
    /// Flow-control limits exceeded.
    FLOW_CONTROL_ERROR = 0x3;
    /// SETTINGS not acknowledged in time.
    SETTINGS_TIMEOUT = 0x4;
    /// Frame received for a closed stream.
    STREAM_CLOSED = 0x5;
    /// Frame size incorrect.
    FRAME_SIZE_ERROR = 0x6;
    /// Stream not processed.
    REFUSED_STREAM = 0x7;
    /// Stream cancelled.
    CANCEL = 0x8;
    /// Compression state not updated.
    COMPRESSION_ERROR = 0x9;
    /// TCP connection error for CONNECT method.
    CONNECT_ERROR = 0xa;
    /// Processing capacity exceeded.
    ENHANCE_YOUR_CALM = 0xb;
    /// Negotiated TLS parameters not acceptable.
    INADEQUATE_SECURITY = 0xc;
    /// Use HTTP/1.1 for the request.
    HTTP_1_1_REQUIRED = 0xd;
}

impl Reason {
    /// The numeric code.
    pub fn code(self) -> u32 {
        self.0
    }
}

impl From<u32> for Reason {
    fn from(code: u32) -> Self {
        Reason(code)
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Reason(0x{:x})", self.0),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "UNKNOWN(0x{:02x})", self.0),
        }
    }
}

/// A negative `nghttp2_error` code returned by the C library.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LibError(c_int);

impl LibError {
    /// `NGHTTP2_ERR_INVALID_ARGUMENT`.
    pub const INVALID_ARGUMENT: LibError = LibError(sys::NGHTTP2_ERR_INVALID_ARGUMENT);
    /// `NGHTTP2_ERR_BUFFER_ERROR`.
    pub const BUFFER_ERROR: LibError = LibError(sys::NGHTTP2_ERR_BUFFER_ERROR);
    /// `NGHTTP2_ERR_PROTO`.
    pub const PROTO: LibError = LibError(sys::NGHTTP2_ERR_PROTO);
    /// `NGHTTP2_ERR_INVALID_STATE`.
    pub const INVALID_STATE: LibError = LibError(sys::NGHTTP2_ERR_INVALID_STATE);
    /// `NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE`.
    pub const STREAM_ID_NOT_AVAILABLE: LibError =
        LibError(sys::NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE);
    /// `NGHTTP2_ERR_START_STREAM_NOT_ALLOWED`: no new stream may be opened
    /// (a GOAWAY was sent or received).
    pub const START_STREAM_NOT_ALLOWED: LibError =
        LibError(sys::NGHTTP2_ERR_START_STREAM_NOT_ALLOWED);
    /// `NGHTTP2_ERR_STREAM_CLOSED`.
    pub const STREAM_CLOSED: LibError = LibError(sys::NGHTTP2_ERR_STREAM_CLOSED);
    /// `NGHTTP2_ERR_DATA_EXIST`.
    pub const DATA_EXIST: LibError = LibError(sys::NGHTTP2_ERR_DATA_EXIST);
    /// `NGHTTP2_ERR_GOAWAY_ALREADY_SENT`.
    pub const GOAWAY_ALREADY_SENT: LibError = LibError(sys::NGHTTP2_ERR_GOAWAY_ALREADY_SENT);
    /// `NGHTTP2_ERR_FLOW_CONTROL`.
    pub const FLOW_CONTROL: LibError = LibError(sys::NGHTTP2_ERR_FLOW_CONTROL);
    /// `NGHTTP2_ERR_BAD_CLIENT_MAGIC`: the connection preface was wrong.
    pub const BAD_CLIENT_MAGIC: LibError = LibError(sys::NGHTTP2_ERR_BAD_CLIENT_MAGIC);
    /// `NGHTTP2_ERR_FLOODED`: the peer made the outbound queue grow too long.
    pub const FLOODED: LibError = LibError(sys::NGHTTP2_ERR_FLOODED);
    /// `NGHTTP2_ERR_TOO_MANY_CONTINUATIONS`: more CONTINUATION frames after
    /// one HEADERS than the session allows.
    pub const TOO_MANY_CONTINUATIONS: LibError = LibError(sys::NGHTTP2_ERR_TOO_MANY_CONTINUATIONS);
    /// `NGHTTP2_ERR_NOMEM`.
    pub const NOMEM: LibError = LibError(sys::NGHTTP2_ERR_NOMEM);
    /// `NGHTTP2_ERR_CALLBACK_FAILURE`.
    pub const CALLBACK_FAILURE: LibError = LibError(sys::NGHTTP2_ERR_CALLBACK_FAILURE);
    /// `NGHTTP2_ERR_HEADER_COMP`.
    pub const HEADER_COMP: LibError = LibError(sys::NGHTTP2_ERR_HEADER_COMP);
    /// `NGHTTP2_ERR_FRAME_SIZE_ERROR`.
    pub const FRAME_SIZE_ERROR: LibError = LibError(sys::NGHTTP2_ERR_FRAME_SIZE_ERROR);

    /// Wraps a raw (negative) nghttp2 return code.
    pub fn from_code(code: c_int) -> LibError {
        LibError(code)
    }

    /// The raw `nghttp2_error` value.
    pub fn code(self) -> c_int {
        self.0
    }

    /// True when nghttp2 says the session cannot go on (`nghttp2_is_fatal`).
    #[doc(alias = "nghttp2_is_fatal")]
    pub fn is_fatal(self) -> bool {
        // SAFETY: a pure function of an integer.
        unsafe { sys::nghttp2_is_fatal(self.0) != 0 }
    }

    /// nghttp2's description of the code (`nghttp2_strerror`).
    #[doc(alias = "nghttp2_strerror")]
    pub fn message(self) -> &'static str {
        // SAFETY: nghttp2_strerror returns a pointer to a static,
        // NUL-terminated string for every input.
        unsafe {
            let text = sys::nghttp2_strerror(self.0);
            if text.is_null() {
                return "unknown error";
            }
            CStr::from_ptr(text).to_str().unwrap_or("unknown error")
        }
    }
}

impl fmt::Debug for LibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LibError({}, {:?})", self.0, self.message())
    }
}

impl fmt::Display for LibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.0)
    }
}

impl std::error::Error for LibError {}

/// Who ended a stream or a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// This side.
    Local,
    /// The peer.
    Remote,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Kind {
    /// nghttp2 returned an error code.
    Lib(LibError),
    /// A stream was reset with RST_STREAM.
    Reset(StreamId, Reason, Initiator),
    /// The connection was ended with GOAWAY.
    GoAway {
        /// The last stream id the sender of GOAWAY may have processed.
        last_stream_id: StreamId,
        /// The error code of the GOAWAY.
        reason: Reason,
        /// Who sent it.
        initiator: Initiator,
    },
    /// An I/O error on the transport.
    Io(std::io::Error),
    /// A misuse of the API, or a failure of the application's code.
    User(String),
    /// The peer did not process the request: its stream was above the last
    /// stream id of the peer's GOAWAY, the peer answered REFUSED_STREAM, or
    /// the request could not be sent after a GOAWAY. Safe to retry, on a
    /// new connection.
    Refused {
        /// The request's stream id, when one was assigned.
        stream_id: Option<StreamId>,
        /// The last stream id of the peer's GOAWAY, when there was one.
        last_stream_id: Option<StreamId>,
    },
    /// The peer is not an HTTP/2 server: it answered the connection preface
    /// in HTTP/1.x, or TLS ALPN chose another protocol (or none). The text
    /// says what it did (`answered "HTTP/1.0 505 ..."`).
    NotHttp2 {
        /// The peer, as `host:port`.
        authority: String,
        /// What the peer did instead of speaking HTTP/2.
        answer: String,
    },
    /// A client's time limit ran out: connecting, or waiting for a
    /// response. The text says which.
    Timeout(String),
}

/// The crate's error: a [`Kind`] with accessors for the common questions.
pub struct Error {
    kind: Kind,
}

impl Error {
    /// Makes an error of the given kind.
    pub fn new(kind: Kind) -> Error {
        Error { kind }
    }

    /// An error made by the application or a misuse of the API.
    pub fn user(message: impl Into<String>) -> Error {
        Error::new(Kind::User(message.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The nghttp2 library code, when the error came from nghttp2.
    pub fn lib_error(&self) -> Option<LibError> {
        match self.kind {
            Kind::Lib(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP/2 error code, for resets and GOAWAYs.
    pub fn reason(&self) -> Option<Reason> {
        match self.kind {
            Kind::Reset(_, reason, _) | Kind::GoAway { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// True when the connection cannot go on: a fatal nghttp2 code, a
    /// GOAWAY with an error, or an I/O error.
    pub fn is_fatal(&self) -> bool {
        match &self.kind {
            Kind::Lib(e) => e.is_fatal(),
            Kind::GoAway { reason, .. } => *reason != Reason::NO_ERROR,
            Kind::Io(_) => true,
            Kind::NotHttp2 { .. } => true,
            Kind::Reset(..) | Kind::User(_) | Kind::Refused { .. } | Kind::Timeout(_) => false,
        }
    }

    /// True when the request was not processed by the peer, so that sending
    /// it again (on a new connection) is safe: a stream above the peer's
    /// GOAWAY last stream id, or one reset with REFUSED_STREAM (RFC 9113
    /// section 8.7).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            Kind::Refused { .. } | Kind::Reset(_, Reason::REFUSED_STREAM, Initiator::Remote)
        )
    }

    /// True when the peer is not an HTTP/2 server (it answered in
    /// HTTP/1.x, or ALPN chose another protocol).
    pub fn is_not_http2(&self) -> bool {
        matches!(self.kind, Kind::NotHttp2 { .. })
    }

    /// True when a client's time limit (connect, request) ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout(_))
    }

    /// True for a stream reset.
    pub fn is_reset(&self) -> bool {
        matches!(self.kind, Kind::Reset(..))
    }

    /// True for a GOAWAY.
    pub fn is_go_away(&self) -> bool {
        matches!(self.kind, Kind::GoAway { .. })
    }

    /// True for an I/O error.
    pub fn is_io(&self) -> bool {
        matches!(self.kind, Kind::Io(_))
    }

    /// True when the peer reset the stream or sent the GOAWAY.
    pub fn is_remote(&self) -> bool {
        matches!(
            self.kind,
            Kind::Reset(_, _, Initiator::Remote)
                | Kind::GoAway {
                    initiator: Initiator::Remote,
                    ..
                }
        )
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Lib(e) => write!(f, "nghttp2: {e}"),
            Kind::Reset(id, Reason::REFUSED_STREAM, Initiator::Remote) => write!(
                f,
                "stream {id} reset by peer: REFUSED_STREAM; it is safe to retry"
            ),
            Kind::Reset(id, reason, Initiator::Remote) => {
                write!(f, "stream {id} reset by peer: {reason}")
            }
            Kind::Reset(id, reason, Initiator::Local) => write!(f, "stream {id} reset: {reason}"),
            Kind::GoAway {
                last_stream_id,
                reason,
                initiator,
            } => {
                let who = match initiator {
                    Initiator::Remote => "peer sent",
                    Initiator::Local => "sent",
                };
                write!(f, "{who} GOAWAY {reason} (last_stream_id={last_stream_id})")
            }
            Kind::Io(e) => write!(f, "I/O: {e}"),
            Kind::User(message) => f.write_str(message),
            Kind::Refused {
                stream_id,
                last_stream_id,
            } => {
                f.write_str("request")?;
                if let Some(id) = stream_id {
                    write!(f, " on stream {id}")?;
                }
                f.write_str(" was not processed by the peer")?;
                if let Some(last) = last_stream_id {
                    write!(f, " (GOAWAY last_stream_id={last})")?;
                }
                f.write_str("; it is safe to retry")
            }
            Kind::NotHttp2 { authority, answer } => {
                write!(f, "{authority} is not an HTTP/2 server: {answer}")
            }
            Kind::Timeout(what) => write!(f, "timed out {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Lib(e) => Some(e),
            Kind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LibError> for Error {
    fn from(e: LibError) -> Self {
        Error::new(Kind::Lib(e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(Kind::Io(e))
    }
}

/// Turns an nghttp2 `int` return code into a `Result`.
pub(crate) fn cvt(rv: c_int) -> Result<c_int, LibError> {
    if rv < 0 {
        Err(LibError(rv))
    } else {
        Ok(rv)
    }
}

/// Turns an nghttp2 `nghttp2_ssize` return value into a `Result`.
pub(crate) fn cvt_ssize(rv: sys::nghttp2_ssize) -> Result<usize, LibError> {
    if rv < 0 {
        Err(LibError(rv as c_int))
    } else {
        Ok(rv as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_follow_the_rfc() {
        assert_eq!(Reason::ENHANCE_YOUR_CALM.name(), Some("ENHANCE_YOUR_CALM"));
        assert_eq!(Reason(0xb).to_string(), "ENHANCE_YOUR_CALM");
        assert_eq!(Reason(0x42).name(), None);
        assert_eq!(Reason(0x42).to_string(), "UNKNOWN(0x42)");
    }

    #[test]
    fn lib_errors_carry_strerror_and_fatality() {
        assert!(LibError::BAD_CLIENT_MAGIC.is_fatal());
        assert!(!LibError::STREAM_CLOSED.is_fatal());
        assert!(LibError::BAD_CLIENT_MAGIC.message().contains("magic"));
        assert_eq!(cvt(-501).unwrap_err(), LibError::INVALID_ARGUMENT);
    }
}
