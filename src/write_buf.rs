//! [`WriteBuf`]: a connection's outgoing bytes, filled from its session up
//! to a high-water mark and written to the socket in as few calls as the
//! socket allows. The server and the client pump through the same one.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use crate::error::Error;
use crate::session::{Handler, Session};

/// Outgoing bytes not yet written, and whether the socket needs a flush.
#[derive(Debug)]
pub(crate) struct WriteBuf {
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    pos: usize,
    need_flush: bool,
    high_water: usize,
}

/// What one [`WriteBuf::poll_write`] did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Written {
    /// Successful write calls.
    pub(crate) writes: usize,
    /// The socket would not take everything.
    pub(crate) stalled: bool,
}

impl WriteBuf {
    /// A buffer the session fills up to `high_water` bytes (plus at most
    /// one frame, see [`Session::send_up_to`]).
    pub(crate) fn new(high_water: usize) -> WriteBuf {
        WriteBuf {
            buf: Vec::with_capacity(high_water + 16 * 1024 + 9),
            pos: 0,
            need_flush: false,
            high_water,
        }
    }

    /// Bytes waiting to be written.
    pub(crate) fn unsent(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Below the high-water mark: the connection may read (and so produce
    /// output) again.
    pub(crate) fn has_room(&self) -> bool {
        self.unsent() < self.high_water
    }

    /// Nothing to write and nothing to flush.
    pub(crate) fn is_idle(&self) -> bool {
        self.buf.is_empty() && !self.need_flush
    }

    /// Moves the session's output in, up to the high-water mark. A panic
    /// inside the session comes back as `Err` instead of unwinding.
    pub(crate) fn fill<H: Handler>(
        &mut self,
        session: &mut Session<H>,
    ) -> std::thread::Result<Result<usize, Error>> {
        if !self.has_room() {
            return Ok(Ok(0));
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let WriteBuf {
            buf, high_water, ..
        } = self;
        catch_unwind(AssertUnwindSafe(|| session.send_up_to(buf, *high_water)))
    }

    /// Writes what it holds, then flushes once everything is written.
    pub(crate) fn poll_write<I: AsyncWrite + Unpin>(
        &mut self,
        io: &mut I,
        cx: &mut Context<'_>,
    ) -> io::Result<Written> {
        let mut written = Written::default();
        while self.pos < self.buf.len() {
            match Pin::new(&mut *io).poll_write(cx, &self.buf[self.pos..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.pos += n;
                    written.writes += 1;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {
                    written.stalled = true;
                    break;
                }
            }
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.need_flush = true;
        }
        if self.need_flush && self.buf.is_empty() {
            match Pin::new(&mut *io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.need_flush = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(written)
    }
}
