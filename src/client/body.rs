//! [`ResponseBody`]: a response's DATA and trailers as the caller reads
//! them, over the shared stream core; the data source that pulls a request
//! body as the peer's window opens; and [`BodySender`], a request body
//! written from elsewhere.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use crate::error::Error;
use crate::http_source::{HttpBodySource, SourceOwner};
use crate::proto::stream::Stream;
use crate::session::StreamId;

/// The body of a response: DATA frames as they arrive, then the trailers.
///
/// Flow control follows the reader: received bytes count against the
/// stream's and the connection's receive windows until they are read here,
/// so a slow reader slows the server down instead of making the client
/// buffer. Dropping the body gives its unread bytes back at once, and
/// cancels the stream (RST_STREAM CANCEL) when the response is not
/// complete.
pub struct ResponseBody {
    stream: Arc<Stream>,
    content_length: Option<u64>,
    done: bool,
}

impl ResponseBody {
    pub(crate) fn new(stream: Arc<Stream>, content_length: Option<u64>) -> ResponseBody {
        ResponseBody {
            stream,
            content_length,
            done: false,
        }
    }

    /// The HTTP/2 stream id the response arrives on.
    pub fn stream_id(&self) -> StreamId {
        self.stream.id()
    }

    /// The next chunk of the body, `None` at its end (trailers are kept for
    /// [`trailers`](ResponseBody::trailers)).
    pub async fn chunk(&mut self) -> Option<Result<Bytes, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The trailer fields, once the body was read to its end (`None` when
    /// the server sent none).
    pub fn trailers(&self) -> Option<HeaderMap> {
        self.stream.trailers()
    }

    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Error>>> {
        let polled = self.stream.poll_data(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.done = true;
        }
        polled
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("stream_id", &self.stream.id())
            .finish()
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.done {
            let trailers = self.stream.take_trailers();
            return Poll::Ready(trailers.map(|t| Ok(Frame::trailers(t))));
        }
        match self.poll_chunk(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                let trailers = self.stream.take_trailers();
                Poll::Ready(trailers.map(|t| Ok(Frame::trailers(t))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.content_length {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // The task gives the unread bytes back, and cancels the stream when
        // the response is not complete.
        self.stream.drop_reader();
    }
}

/// A request body, pulled as the server's window opens.
pub(crate) type BodySource<B> = HttpBodySource<B, Arc<Stream>>;

impl SourceOwner for Arc<Stream> {
    fn stream_id(&self) -> StreamId {
        self.id()
    }
}

/// The most bytes a [`BodySender`] buffers before writes wait.
const PIPE_LIMIT: usize = 64 * 1024;

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<Bytes>,
    bytes: usize,
    closed: bool,
    trailers: Option<HeaderMap>,
    /// The body's reader (the connection task's data source).
    reader: Option<Waker>,
    /// A writer waiting for room.
    writer: Option<Waker>,
    /// The reading side is gone (the stream ended).
    reader_gone: bool,
}

type Pipe = Arc<Mutex<PipeState>>;

fn pipe_state(pipe: &Pipe) -> MutexGuard<'_, PipeState> {
    pipe.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request body written piece by piece from elsewhere: the writing half
/// of [`body_channel`]. Writes wait (with backpressure from the peer's
/// flow-control window) once 64 KiB are buffered. Dropping it ends the
/// body, as [`finish`](BodySender::finish) does.
pub struct BodySender {
    pipe: Pipe,
}

/// The reading half of [`body_channel`]: an `http_body::Body` to send as a
/// request body.
pub struct ChannelBody {
    pipe: Pipe,
}

/// A request body fed by a [`BodySender`].
pub fn body_channel() -> (BodySender, ChannelBody) {
    let pipe = Pipe::default();
    (BodySender { pipe: pipe.clone() }, ChannelBody { pipe })
}

impl BodySender {
    /// Queues `data`, waiting while the buffer is full. Fails when the
    /// stream is gone.
    pub async fn send_data(&mut self, data: Bytes) -> Result<(), Error> {
        let mut data = Some(data);
        std::future::poll_fn(|cx| {
            let mut st = pipe_state(&self.pipe);
            if st.reader_gone {
                return Poll::Ready(Err(Error::user("the request stream is closed")));
            }
            if st.bytes >= PIPE_LIMIT {
                st.writer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if let Some(data) = data.take() {
                st.bytes += data.len();
                st.chunks.push_back(data);
            }
            let reader = st.reader.take();
            drop(st);
            if let Some(w) = reader {
                w.wake();
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    fn poll_write_bytes(
        &self,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut st = pipe_state(&self.pipe);
        if st.reader_gone || st.closed {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        if st.bytes >= PIPE_LIMIT {
            st.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(PIPE_LIMIT - st.bytes);
        st.bytes += n;
        st.chunks.push_back(Bytes::copy_from_slice(&buf[..n]));
        let reader = st.reader.take();
        drop(st);
        if let Some(w) = reader {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    /// Ends the body with these trailer fields.
    pub fn send_trailers(self, trailers: HeaderMap) {
        pipe_state(&self.pipe).trailers = Some(trailers);
        self.finish();
    }

    /// Ends the body.
    pub fn finish(self) {
        drop(self);
    }

    fn close(&self) {
        let reader = {
            let mut st = pipe_state(&self.pipe);
            st.closed = true;
            st.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        self.close();
    }
}

impl tokio::io::AsyncWrite for BodySender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.poll_write_bytes(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        self.close();
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for BodySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodySender")
    }
}

impl fmt::Debug for ChannelBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChannelBody")
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut st = pipe_state(&self.pipe);
        if let Some(chunk) = st.chunks.pop_front() {
            st.bytes -= chunk.len();
            let writer = st.writer.take();
            drop(st);
            if let Some(w) = writer {
                w.wake();
            }
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if st.closed {
            return Poll::Ready(st.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        st.reader = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for ChannelBody {
    fn drop(&mut self) {
        let writer = {
            let mut st = pipe_state(&self.pipe);
            st.reader_gone = true;
            st.chunks.clear();
            st.bytes = 0;
            st.writer.take()
        };
        if let Some(w) = writer {
            w.wake();
        }
    }
}
