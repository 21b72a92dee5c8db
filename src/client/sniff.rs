//! Notices a server that does not answer the HTTP/2 connection preface
//! in HTTP/2.
//!
//! A server's first frame must be SETTINGS (RFC 9113 section 3.4): a
//! 9-byte header with type 4, no ACK flag, stream 0 and a length that is
//! a multiple of 6. When the first bytes are an HTTP/1.x status line
//! (`HTTP/1.1 400 Bad Request`), a TLS record (an `https://` server), or
//! text that cannot be that header (Python's `http.server` answers an
//! HTTP/2 preface with an HTML page and no status line), the read fails
//! and the answer is kept, so that requests fail with
//! [`Kind::NotHttp2`](crate::Kind::NotHttp2) instead of nghttp2's
//! `sent GOAWAY PROTOCOL_ERROR`, which does not tell the user what
//! happened. Other bytes pass through to nghttp2 as they are.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

const HTTP1: &[u8] = b"HTTP/1.";
/// A frame header's length.
const HEAD: usize = 9;

/// What the server answered instead of HTTP/2, once it did.
pub(crate) type Answer = Arc<OnceLock<String>>;

/// A transport whose first bytes are checked for a SETTINGS frame.
pub(crate) struct Sniff<I> {
    io: I,
    /// The first bytes, up to a frame header's length.
    seen: Vec<u8>,
    /// Decided; reads pass through.
    done: bool,
    answer: Answer,
}

/// True when `head` (9 bytes) is the header of a SETTINGS frame that may
/// open a server's preface.
fn is_settings(head: &[u8]) -> bool {
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]);
    head[3] == 4 && head[4] & 1 == 0 && head[5..9] == [0; 4] && length.is_multiple_of(6)
}

/// `bytes`' first line, quoted, at most 100 bytes of it.
fn first_line(bytes: &[u8]) -> String {
    let line = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .find(|l| !l.is_empty())
        .unwrap_or(bytes);
    format!(
        "{:?}",
        String::from_utf8_lossy(&line[..line.len().min(100)])
    )
}

impl<I> Sniff<I> {
    pub(crate) fn new(io: I, answer: Answer) -> Sniff<I> {
        Sniff {
            io,
            seen: Vec::with_capacity(HEAD),
            done: false,
            answer,
        }
    }

    /// Looks at newly read bytes; an error once they cannot be the start
    /// of an HTTP/2 server's preface.
    fn check(&mut self, new: &[u8]) -> io::Result<()> {
        let before = self.seen.len();
        let take = (HEAD - before).min(new.len());
        self.seen.extend_from_slice(&new[..take]);
        let seen = &self.seen;
        let http1 = seen.len() >= HTTP1.len() && seen.starts_with(HTTP1);
        if !http1 && seen.len() < HEAD {
            return Ok(());
        }
        self.done = true;
        // What has arrived, for the message.
        let mut head = seen[..before].to_vec();
        head.extend_from_slice(&new[..new.len().min(200)]);
        let answer = if http1 {
            format!("it answered in HTTP/1.x ({})", first_line(&head))
        } else if is_settings(seen) {
            return Ok(());
        } else if matches!(seen[..3], [0x14..=0x17, 3, 0..=4]) {
            "it answered in TLS (an https:// server?)".to_string()
        } else if seen
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        {
            format!("it answered with text, not HTTP/2 ({})", first_line(&head))
        } else {
            return Ok(());
        };
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
                if let Err(e) = this.check(&new) {
                    // A failed read fills nothing.
                    buf.set_filled(before);
                    return Poll::Ready(Err(e));
                }
            }
        }
        ready
    }
}

crate::proto::forward_async_write!(Sniff);

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

    async fn answer_to(bytes: &[u8]) -> Option<String> {
        let (mut server, client) = tokio::io::duplex(1024);
        let answer = Answer::default();
        let mut sniff = Sniff::new(client, answer.clone());
        server.write_all(bytes).await.unwrap();
        drop(server);
        let mut all = Vec::new();
        match sniff.read_to_end(&mut all).await {
            Ok(_) => {
                assert_eq!(all, bytes, "passed through as they are");
                assert!(answer.get().is_none());
                None
            }
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
                Some(answer.get().expect("answer recorded").clone())
            }
        }
    }

    #[tokio::test]
    async fn settings_and_other_binary_pass_through_text_and_tls_do_not() {
        // SETTINGS with one entry, then its ACK.
        let settings = [
            0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100, 0, 0, 0, 4, 1, 0, 0, 0, 0,
        ];
        assert_eq!(answer_to(&settings).await, None);
        // A GOAWAY first is nghttp2's to judge.
        assert_eq!(
            answer_to(&[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).await,
            None
        );
        // Fewer bytes than a frame header: nghttp2 sees the EOF.
        assert_eq!(answer_to(b"<ht").await, None);
        let html = answer_to(b"<!DOCTYPE HTML>\n<html>").await.unwrap();
        assert!(
            html.contains("with text") && html.contains("<!DOCTYPE HTML>"),
            "{html}"
        );
        let tls = answer_to(&[0x15, 3, 3, 0, 2, 2, 0x46, 0, 0, 0])
            .await
            .unwrap();
        assert!(tls.contains("TLS"), "{tls}");
    }
}
