//! Notices a server that answers the HTTP/2 connection preface in
//! HTTP/1.x.
//!
//! An HTTP/2 server's first bytes are a SETTINGS frame, whose 24-bit
//! length can never start with `H` (0x48....: more than any frame may
//! carry before SETTINGS raised the limit), so `HTTP/1.` at the start of
//! the stream can only be an HTTP/1.x status line. Without this, nghttp2
//! reads it as a frame header and the connection ends with
//! `sent GOAWAY PROTOCOL_ERROR`, which does not tell the user what
//! happened.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const HTTP1: &[u8] = b"HTTP/1.";

/// What the server answered instead of HTTP/2, once it did.
pub(crate) type Answer = Arc<OnceLock<String>>;

/// A transport whose first bytes are checked for an HTTP/1.x status line.
pub(crate) struct Sniff<I> {
    io: I,
    /// The first bytes (up to `HTTP1.len()`), while they still match.
    seen: Vec<u8>,
    /// Decided: HTTP/2 (or at least not HTTP/1.x); reads pass through.
    done: bool,
    answer: Answer,
}

impl<I> Sniff<I> {
    pub(crate) fn new(io: I, answer: Answer) -> Sniff<I> {
        Sniff {
            io,
            seen: Vec::with_capacity(HTTP1.len()),
            done: false,
            answer,
        }
    }

    /// Looks at newly read bytes; an error once they are an HTTP/1.x
    /// status line.
    fn check(&mut self, new: &[u8]) -> io::Result<()> {
        let before = self.seen.len();
        let take = (HTTP1.len() - before).min(new.len());
        self.seen.extend_from_slice(&new[..take]);
        if !HTTP1.starts_with(&self.seen) {
            self.done = true;
            return Ok(());
        }
        if self.seen.len() < HTTP1.len() {
            return Ok(());
        }
        self.done = true;
        // The status line, as far as it has arrived.
        let mut head = self.seen[..before].to_vec();
        head.extend_from_slice(&new[..new.len().min(100)]);
        let line = head
            .split(|&b| b == b'\r' || b == b'\n')
            .next()
            .unwrap_or(&head);
        let line = String::from_utf8_lossy(&line[..line.len().min(100)]);
        let answer = format!("it answered in HTTP/1.x ({line:?})");
        let _ = self.answer.set(answer.clone());
        Err(io::Error::new(io::ErrorKind::InvalidData, answer))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Sniff<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.done {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        let ready = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = ready {
            let new = buf.filled()[before..].to_vec();
            if !new.is_empty() {
                this.check(&new)?;
            }
        }
        ready
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Sniff<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_http1_status_line_is_an_error_even_split_across_reads() {
        let (mut server, client) = tokio::io::duplex(64);
        let answer = Answer::default();
        let mut sniff = Sniff::new(client, answer.clone());
        server.write_all(b"HTT").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(sniff.read(&mut buf).await.unwrap(), 3);
        server
            .write_all(b"P/1.0 505 HTTP Version Not Supported\r\n\r\n")
            .await
            .unwrap();
        let err = sniff.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let seen = answer.get().expect("answer recorded");
        assert!(seen.contains("HTTP/1.x"), "{seen}");
        assert!(
            seen.contains("\"HTTP/1.0 505 HTTP Version Not Supported\""),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn http2_bytes_pass_through() {
        let (mut server, client) = tokio::io::duplex(64);
        let answer = Answer::default();
        let mut sniff = Sniff::new(client, answer.clone());
        // A SETTINGS frame header: length 0, type 4.
        server
            .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
            .await
            .unwrap();
        drop(server);
        let mut all = Vec::new();
        sniff.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, [0, 0, 0, 4, 0, 0, 0, 0, 0]);
        assert!(answer.get().is_none());
    }
}
