//! Per-stream state shared between the connection task and the user:
//! [`ResponseBody`] (received DATA, given back to the peer's windows only
//! as it is read), the data source that pulls a request body as the peer's
//! window opens, and [`BodySender`], a request body written from elsewhere.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::client::Msg;
use crate::error::{Error, Initiator, Kind, Reason};
use crate::http_source::{HttpBodySource, SourceOwner};
use crate::session::StreamId;

/// Why a stream ended early, kept so that every reader gets its own
/// [`Error`] (which is not `Clone`).
#[derive(Clone, Debug)]
pub(crate) enum Failure {
    /// RST_STREAM (or a close with an error code).
    Reset(StreamId, Reason, Initiator),
    /// The peer did not process the stream; safe to retry.
    Refused {
        stream_id: Option<StreamId>,
        last_stream_id: Option<StreamId>,
    },
    /// The connection ended.
    Connection(String),
}

impl Failure {
    pub(crate) fn to_error(&self) -> Error {
        match self {
            Failure::Reset(id, reason, who) => Error::new(Kind::Reset(*id, *reason, *who)),
            Failure::Refused {
                stream_id,
                last_stream_id,
            } => Error::new(Kind::Refused {
                stream_id: *stream_id,
                last_stream_id: *last_stream_id,
            }),
            Failure::Connection(message) => Error::user(message.clone()),
        }
    }
}

/// One request stream's shared state. It is also the waker of the
/// request body: waking it asks the connection task to resume the stream's
/// DATA.
pub(crate) struct Stream {
    /// The stream id, once the request is submitted (0 before).
    pub(crate) id: AtomicI32,
    tx: mpsc::UnboundedSender<Msg>,
    queued: AtomicBool,
    resume: AtomicBool,
    state: Mutex<StreamState>,
}

#[derive(Default)]
pub(crate) struct StreamState {
    /// Received DATA not yet read.
    pub(crate) chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    pub(crate) buffered: usize,
    /// Bytes read that the task has not yet given back to the windows.
    pub(crate) to_consume: usize,
    pub(crate) trailers: Option<HeaderMap>,
    /// END_STREAM arrived: the body is complete.
    pub(crate) end: bool,
    /// The stream ended before the body was complete.
    pub(crate) failure: Option<Failure>,
    /// The [`ResponseBody`] was dropped: later DATA is given back at once.
    pub(crate) body_dropped: bool,
    /// The stream is closed: windows no longer matter.
    pub(crate) detached: bool,
    /// The task waiting for body data.
    pub(crate) reader: Option<Waker>,
}

impl Stream {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Msg>) -> Arc<Stream> {
        Arc::new(Stream {
            id: AtomicI32::new(0),
            tx,
            queued: AtomicBool::new(false),
            resume: AtomicBool::new(false),
            state: Mutex::new(StreamState::default()),
        })
    }

    pub(crate) fn id(&self) -> StreamId {
        StreamId::from_raw(self.id.load(Ordering::Acquire))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, StreamState> {
        // A poisoned lock only means a panic elsewhere while it was held;
        // the state is updated field by field and stays consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the connection task to look at the stream (once until it does).
    pub(crate) fn schedule(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            // A closed channel means the connection is gone: nothing to do.
            let _ = self.tx.send(Msg::Wake(self.clone()));
        }
    }

    /// Called by the task when it takes the stream's message: answers
    /// whether the request body asked to be resumed.
    pub(crate) fn take_resume(&self) -> bool {
        self.queued.store(false, Ordering::Release);
        self.resume.swap(false, Ordering::AcqRel)
    }

    /// Records an early end and wakes the reader.
    pub(crate) fn fail(&self, failure: Failure) {
        let reader = {
            let mut st = self.state();
            st.detached = true;
            if !st.end && st.failure.is_none() {
                st.failure = Some(failure);
                st.chunks.clear();
                st.buffered = 0;
            }
            st.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }
}

impl Wake for Stream {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.resume.store(true, Ordering::Release);
        self.schedule();
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("id", &self.id()).finish()
    }
}

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
        let st = self.stream.state();
        if st.end && st.chunks.is_empty() {
            st.trailers.clone()
        } else {
            None
        }
    }

    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Error>>> {
        let stream = &self.stream;
        let mut st = stream.state();
        if let Some(chunk) = st.chunks.pop_front() {
            let n = chunk.len();
            st.buffered -= n;
            let release = !st.detached;
            if release {
                st.to_consume += n;
            }
            drop(st);
            if release {
                stream.schedule();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(failure) = &st.failure {
            self.done = true;
            return Poll::Ready(Some(Err(failure.to_error())));
        }
        if st.end {
            self.done = true;
            return Poll::Ready(None);
        }
        match &st.reader {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.reader = Some(cx.waker().clone()),
        }
        Poll::Pending
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
            let trailers = self.stream.state().trailers.take();
            return Poll::Ready(trailers.map(|t| Ok(Frame::trailers(t))));
        }
        match self.poll_chunk(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                let trailers = self.stream.state().trailers.take();
                Poll::Ready(trailers.map(|t| Ok(Frame::trailers(t))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        let st = self.stream.state();
        (st.end && st.chunks.is_empty() && st.trailers.is_none()) || st.failure.is_some()
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
        let mut st = self.stream.state();
        st.body_dropped = true;
        st.reader = None;
        let n = st.buffered;
        st.chunks.clear();
        st.buffered = 0;
        let release = !st.detached;
        if release {
            st.to_consume += n;
        }
        drop(st);
        if release {
            // The task gives the bytes back, and cancels the stream when the
            // response is not complete.
            self.stream.schedule();
        }
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
