//! Outgoing bodies: the [`DataSource`] trait and what it answers.

use bytes::Bytes;

use crate::error::Reason;
use crate::session::header::Header;

/// What a [`DataSource`] answers when nghttp2 asks for body bytes.
#[derive(Debug)]
pub enum Chunk {
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
    /// Nothing ready yet: the source is not asked again until
    /// [`SessionRef::resume_data`](crate::session::SessionRef::resume_data).
    Pending,
    /// Give up: the stream is reset with this code.
    Reset(Reason),
}

impl Chunk {
    /// The end of the body, with nothing more to send.
    pub fn end() -> Chunk {
        Chunk::End {
            last: Bytes::new(),
            trailers: None,
        }
    }

    /// The end of the body, followed by trailer fields.
    pub fn trailers(trailers: Vec<Header>) -> Chunk {
        Chunk::End {
            last: Bytes::new(),
            trailers: Some(trailers),
        }
    }
}

/// Produces a stream's outgoing body on demand, as the peer's flow-control
/// window opens.
///
/// The session asks the source for more before it writes frames
/// ([`Session::send`](crate::session::Session::send)), never from inside
/// one of nghttp2's callbacks, and only while it holds less than about two
/// DATA frames (32 KiB) of the body's bytes: a body is pulled only as fast
/// as the peer takes it. A chunk larger than a frame is kept whole and
/// framed piece by piece. The bytes are written straight into the session's output
/// through nghttp2's `NGHTTP2_DATA_FLAG_NO_COPY` and `send_data_callback`,
/// so a large [`Bytes`] is not copied through nghttp2's frame buffer; the
/// server and the client go further on a cleartext TCP socket, writing it
/// from the [`Bytes`] itself with the frame headers in one vectored write.
///
/// A source is dropped exactly once, never inside a callback: after the
/// session call in which its stream closed, or when the session is dropped.
pub trait DataSource: Send {
    /// The next part of the body; `max_len` is how many more bytes the
    /// session would hold now (a hint: more is kept for later frames).
    fn read(&mut self, max_len: usize) -> Chunk;
}

/// A body known in full.
impl DataSource for Bytes {
    fn read(&mut self, _max_len: usize) -> Chunk {
        Chunk::End {
            last: std::mem::take(self),
            trailers: None,
        }
    }
}

/// A body known in full.
impl DataSource for Vec<u8> {
    fn read(&mut self, _max_len: usize) -> Chunk {
        Chunk::End {
            last: Bytes::from(std::mem::take(self)),
            trailers: None,
        }
    }
}

/// A body known in full.
impl DataSource for &'static [u8] {
    fn read(&mut self, _max_len: usize) -> Chunk {
        Chunk::End {
            last: Bytes::from_static(std::mem::take(self)),
            trailers: None,
        }
    }
}

/// A body produced by a closure.
#[derive(Debug)]
pub struct FnSource<F>(pub F);

impl<F: FnMut(usize) -> Chunk + Send> DataSource for FnSource<F> {
    fn read(&mut self, max_len: usize) -> Chunk {
        (self.0)(max_len)
    }
}
