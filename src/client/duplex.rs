//! [`Duplex`]: one request stream as a byte pipe both ways.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::client::body::{BodySender, ResponseBody};
use crate::session::StreamId;

/// A full-duplex HTTP/2 stream, like Go's `h2conn.Conn`: reads return the
/// response body, writes become the request body, and `shutdown` ends the
/// request body (END_STREAM). Both directions are flow-controlled by the
/// peer's windows and by this side's reading. Dropping it ends the request
/// body and cancels the stream if the response is not complete.
pub struct Duplex {
    body: ResponseBody,
    current: Bytes,
    eof: bool,
    sender: Option<BodySender>,
}

impl Duplex {
    pub(crate) fn new(body: ResponseBody, sender: BodySender) -> Duplex {
        Duplex {
            body,
            current: Bytes::new(),
            eof: false,
            sender: Some(sender),
        }
    }

    /// The HTTP/2 stream id.
    pub fn stream_id(&self) -> StreamId {
        self.body.stream_id()
    }

    /// Splits into the reading half (the response body) and the writing
    /// half (the request body).
    pub fn into_parts(self) -> (ResponseBody, Option<BodySender>) {
        (self.body, self.sender)
    }
}

impl fmt::Debug for Duplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("stream_id", &self.stream_id())
            .finish()
    }
}

impl AsyncRead for Duplex {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.current.is_empty() {
            if this.eof || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            match this.body.poll_chunk(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.current = chunk,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io::Error::other(e))),
                Poll::Ready(None) => this.eof = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = this.current.len().min(buf.remaining());
        buf.put_slice(&this.current[..n]);
        this.current.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Duplex {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.sender.as_mut() {
            Some(sender) => Pin::new(sender).poll_write(cx, buf),
            None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        drop(self.sender.take());
        Poll::Ready(Ok(()))
    }
}
