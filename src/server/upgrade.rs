//! Upgrades: a full-duplex byte stream for a handler, from an HTTP/2
//! extended CONNECT (RFC 8441) or an HTTP/1.1 `Upgrade` answered with 101.
//!
//! A handler that accepts an upgrade calls [`on`] on the request, answers
//! (2xx to an extended CONNECT, `101 Switching Protocols` with the
//! protocol's headers to an HTTP/1.1 `Upgrade`), and awaits the
//! [`OnUpgrade`] in a task of its own, which yields an [`Upgraded`]
//! stream (`AsyncRead + AsyncWrite`):
//!
//! ```no_run
//! use nghttp2::server::{upgrade, RequestBody};
//! # async fn handler(mut request: http::Request<RequestBody>) -> http::Response<http_body_util::Empty<bytes::Bytes>> {
//! let on_upgrade = upgrade::on(&mut request);
//! tokio::spawn(async move {
//!     if let Ok(mut stream) = on_upgrade.await {
//!         let (mut rd, mut wr) = tokio::io::split(&mut stream);
//!         let _ = tokio::io::copy(&mut rd, &mut wr).await; // echo
//!     }
//! });
//! // HTTP/2: 200 (extended CONNECT); HTTP/1.1: 101 with `Upgrade` and
//! // `Connection: upgrade` (and what the protocol asks, such as
//! // `Sec-WebSocket-Accept`).
//! # http::Response::new(http_body_util::Empty::new())
//! # }
//! ```
//!
//! On HTTP/2 an extended CONNECT is only accepted once
//! [`Builder::enable_connect_protocol`](crate::server::Builder::enable_connect_protocol)
//! made the server send `SETTINGS_ENABLE_CONNECT_PROTOCOL`; before that
//! nghttp2 1.68 ends the connection with GOAWAY PROTOCOL_ERROR (a stream
//! error made a connection error, which RFC 9113 section 5.4.1 allows). Its `:protocol`
//! reaches the handler as a [`Protocol`] extension. Reading the
//! [`Upgraded`] stream reads the stream's DATA (under flow control, as a
//! request body), writing it sends DATA (at most 64 KiB held), and
//! shutting it down ends the stream. A handler that never calls [`on`]
//! answers as usual and its stream ends with its response.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use http::Request;
use http_body::{Body, Frame, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::server::asks::H2Stream;
use crate::server::RequestBody;

/// The `:protocol` pseudo-header of an HTTP/2 extended CONNECT (RFC 8441),
/// such as `websocket`, in the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Protocol(Bytes);

impl Protocol {
    pub(crate) fn from_bytes(value: &[u8]) -> Protocol {
        Protocol(Bytes::copy_from_slice(value))
    }

    /// The protocol's name as sent (`websocket`); empty when it is not
    /// UTF-8.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The protocol's name as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// In the extensions of an HTTP/2 extended CONNECT: where [`on`] leaves
/// its sender for the connection task.
#[derive(Clone)]
pub(crate) struct H2Connect {
    pub(crate) stream: Arc<H2Stream>,
}

/// Asks to upgrade `request`'s connection (HTTP/1.1) or stream (HTTP/2
/// extended CONNECT). Takes the request's body (reading goes through the
/// [`Upgraded`] stream instead). The [`OnUpgrade`] fails when the request
/// cannot be upgraded (no `Upgrade` on HTTP/1.1, no `:protocol` on
/// HTTP/2), or when the response was not the one that upgrades (101 on
/// HTTP/1.1, 2xx on HTTP/2).
pub fn on(request: &mut Request<RequestBody>) -> OnUpgrade {
    if let Some(connect) = request.extensions_mut().remove::<H2Connect>() {
        let (tx, rx) = oneshot::channel();
        connect.stream.ext().upgrade(tx);
        let body = std::mem::replace(request.body_mut(), RequestBody::empty());
        return OnUpgrade {
            inner: OnInner::H2 {
                rx,
                body: Some(body),
            },
        };
    }
    if let Some(on) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    {
        return OnUpgrade {
            inner: OnInner::H1(on),
        };
    }
    OnUpgrade {
        inner: OnInner::None,
    }
}

/// The upgrade a handler asked for with [`on`]: a future that yields the
/// [`Upgraded`] stream once the response went out.
#[must_use = "an OnUpgrade does nothing until awaited"]
pub struct OnUpgrade {
    inner: OnInner,
}

enum OnInner {
    H1(hyper::upgrade::OnUpgrade),
    H2 {
        rx: oneshot::Receiver<PipeWriter>,
        body: Option<RequestBody>,
    },
    None,
}

impl fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            OnInner::H1(_) => "http/1.1",
            OnInner::H2 { .. } => "h2",
            OnInner::None => "none",
        };
        f.debug_struct("OnUpgrade").field("kind", &kind).finish()
    }
}

impl Future for OnUpgrade {
    type Output = Result<Upgraded, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            OnInner::H1(on) => Pin::new(on).poll(cx).map(|result| match result {
                Ok(upgraded) => Ok(Upgraded {
                    inner: UpInner::H1(TokioIo::new(upgraded)),
                }),
                Err(e) => Err(Error::user(format!("HTTP/1.1 upgrade failed: {e}"))),
            }),
            OnInner::H2 { rx, body } => match Pin::new(rx).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(writer)) => Poll::Ready(Ok(Upgraded {
                    inner: UpInner::H2 {
                        body: body.take().unwrap_or_else(RequestBody::empty),
                        chunk: Bytes::new(),
                        writer,
                    },
                })),
                Poll::Ready(Err(_)) => Poll::Ready(Err(Error::user(
                    "no upgrade: the response was not 2xx, or the stream closed",
                ))),
            },
            OnInner::None => Poll::Ready(Err(Error::user(
                "the request asks for no upgrade (no HTTP/1.1 Upgrade, no HTTP/2 :protocol)",
            ))),
        }
    }
}

/// An upgraded connection (HTTP/1.1) or stream (HTTP/2 extended CONNECT):
/// the bytes after the upgrade, both ways.
pub struct Upgraded {
    inner: UpInner,
}

enum UpInner {
    H1(TokioIo<hyper::upgrade::Upgraded>),
    H2 {
        body: RequestBody,
        /// Received bytes not yet read.
        chunk: Bytes,
        writer: PipeWriter,
    },
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            UpInner::H1(_) => f
                .debug_struct("Upgraded")
                .field("kind", &"http/1.1")
                .finish(),
            UpInner::H2 { body, .. } => f
                .debug_struct("Upgraded")
                .field("kind", &"h2")
                .field("stream_id", &body.stream_id())
                .finish(),
        }
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.inner {
            UpInner::H1(io) => Pin::new(io).poll_read(cx, buf),
            UpInner::H2 { body, chunk, .. } => loop {
                if !chunk.is_empty() {
                    let n = chunk.len().min(buf.remaining());
                    buf.put_slice(&chunk[..n]);
                    chunk.advance(n);
                    return Poll::Ready(Ok(()));
                }
                match Pin::new(&mut *body).poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    // The end of the stream, or its trailers.
                    Poll::Ready(None) => return Poll::Ready(Ok(())),
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => *chunk = data,
                        Err(_) => return Poll::Ready(Ok(())),
                    },
                    Poll::Ready(Some(Err(e))) => {
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, e)))
                    }
                }
            },
        }
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.inner {
            UpInner::H1(io) => Pin::new(io).poll_write(cx, buf),
            UpInner::H2 { writer, .. } => writer.poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            UpInner::H1(io) => Pin::new(io).poll_flush(cx),
            UpInner::H2 { writer, .. } => writer.poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            UpInner::H1(io) => Pin::new(io).poll_shutdown(cx),
            UpInner::H2 { writer, .. } => {
                writer.close();
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// How many written bytes an upgraded HTTP/2 stream holds before writes
/// wait for the peer's window.
const PIPE_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct PipeState {
    buf: BytesMut,
    /// The writer shut down (or was dropped): the body ends after `buf`.
    closed: bool,
    /// The body was dropped (the stream ended): writes fail.
    gone: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The writing half of an upgraded HTTP/2 stream.
pub(crate) struct PipeWriter {
    state: Arc<Mutex<PipeState>>,
}

/// The response body of an upgraded HTTP/2 stream: what the writer wrote.
pub(crate) struct PipeBody {
    state: Arc<Mutex<PipeState>>,
}

fn lock(state: &Mutex<PipeState>) -> MutexGuard<'_, PipeState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pipe from a handler's writes to a stream's response body.
pub(crate) fn pipe() -> (PipeWriter, PipeBody) {
    let state = Arc::new(Mutex::new(PipeState::default()));
    (
        PipeWriter {
            state: state.clone(),
        },
        PipeBody { state },
    )
}

impl PipeWriter {
    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.state);
        if st.gone {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if st.closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after shutdown",
            )));
        }
        let room = PIPE_CAPACITY.saturating_sub(st.buf.len());
        if room == 0 {
            st.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(data.len());
        st.buf.extend_from_slice(&data[..n]);
        let reader = st.reader.take();
        drop(st);
        if let Some(w) = reader {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.state);
        if st.gone {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if st.buf.is_empty() {
            return Poll::Ready(Ok(()));
        }
        st.writer = Some(cx.waker().clone());
        Poll::Pending
    }

    fn close(&mut self) {
        let reader = {
            let mut st = lock(&self.state);
            st.closed = true;
            st.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}

impl Body for PipeBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let mut st = lock(&self.state);
        if !st.buf.is_empty() {
            let data = st.buf.split().freeze();
            let writer = st.writer.take();
            drop(st);
            if let Some(w) = writer {
                w.wake();
            }
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if st.closed {
            return Poll::Ready(None);
        }
        st.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        let st = lock(&self.state);
        st.closed && st.buf.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for PipeBody {
    fn drop(&mut self) {
        let writer = {
            let mut st = lock(&self.state);
            st.gone = true;
            st.writer.take()
        };
        if let Some(w) = writer {
            w.wake();
        }
    }
}
