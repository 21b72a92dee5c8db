//! Per-stream state shared between the connection task and the handler:
//! [`RequestBody`] (received DATA, released to the peer's window only as it
//! is read) and the data source that pulls a response body as the peer's
//! window opens.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use crate::error::{Error, Initiator, Kind, Reason};
use crate::http_source::{HttpBodySource, SourceOwner};
use crate::server::stats::StatsInner;

/// What the connection task and the handlers of one connection share: the
/// list of streams that need the task's attention, and the task's waker.
pub(crate) struct ConnShared {
    queue: Mutex<Queue>,
    pub(crate) stats: Arc<StatsInner>,
}

#[derive(Default)]
struct Queue {
    dirty: Vec<Arc<Stream>>,
    /// The connection task's waker, present only while the task sleeps.
    waker: Option<Waker>,
    closed: bool,
}

impl ConnShared {
    pub(crate) fn new(stats: Arc<StatsInner>) -> ConnShared {
        ConnShared {
            queue: Mutex::new(Queue::default()),
            stats,
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A poisoned lock only means a panic elsewhere while it was held;
        // the queue itself stays consistent (pushes and swaps).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, stream: Arc<Stream>) {
        let waker = {
            let mut q = self.queue();
            if q.closed {
                return;
            }
            q.dirty.push(stream);
            q.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Moves the streams that need attention into `out` (which must be
    /// empty). The task's waker is taken back: while the task runs, pushes
    /// do not wake it.
    pub(crate) fn take_dirty(&self, out: &mut Vec<Arc<Stream>>) {
        let mut q = self.queue();
        q.waker = None;
        std::mem::swap(&mut q.dirty, out);
    }

    /// Parks the task: stores its waker unless work arrived meanwhile, in
    /// which case it answers false and the task goes on.
    pub(crate) fn park(&self, waker: &Waker) -> bool {
        let mut q = self.queue();
        if !q.dirty.is_empty() {
            return false;
        }
        match &q.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => q.waker = Some(waker.clone()),
        }
        true
    }

    /// The connection ended: drop queued streams (they hold `Arc`s back to
    /// this) and ignore later pushes.
    pub(crate) fn close(&self) {
        let dirty = {
            let mut q = self.queue();
            q.closed = true;
            q.waker = None;
            std::mem::take(&mut q.dirty)
        };
        drop(dirty);
    }
}

/// One request stream's shared state. It is also the waker of the stream's
/// service future and response body: waking it queues the stream for the
/// connection task.
pub(crate) struct Stream {
    pub(crate) id: i32,
    conn: Arc<ConnShared>,
    queued: AtomicBool,
    poll_needed: AtomicBool,
    state: Mutex<StreamState>,
}

#[derive(Default)]
pub(crate) struct StreamState {
    /// Received DATA not yet read by the handler.
    pub(crate) chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    pub(crate) buffered: usize,
    /// Bytes read by the handler that the task has not yet given back to
    /// the peer's windows.
    pub(crate) to_consume: usize,
    pub(crate) trailers: Option<HeaderMap>,
    /// END_STREAM arrived: the body is complete.
    pub(crate) end: bool,
    /// The stream ended before the body was complete.
    pub(crate) reset: Option<Reason>,
    /// The handler dropped its [`RequestBody`]: later DATA is given back
    /// at once.
    pub(crate) body_dropped: bool,
    /// The stream is closed: windows no longer matter.
    pub(crate) detached: bool,
    /// The task waiting for body data.
    pub(crate) reader: Option<Waker>,
    /// Informational (1xx) responses the handler asked for, not yet
    /// submitted.
    pub(crate) informational: Vec<(http::StatusCode, HeaderMap)>,
    /// The final response was submitted: no more informational ones.
    pub(crate) responded: bool,
    /// The handler asked to upgrade this extended CONNECT stream: the
    /// response's writer goes here when a 2xx response is submitted.
    pub(crate) upgrade: Option<tokio::sync::oneshot::Sender<crate::server::upgrade::PipeWriter>>,
}

impl Stream {
    pub(crate) fn new(id: i32, conn: Arc<ConnShared>, end: bool) -> Arc<Stream> {
        Arc::new(Stream {
            id,
            conn,
            queued: AtomicBool::new(false),
            poll_needed: AtomicBool::new(false),
            state: Mutex::new(StreamState {
                end,
                ..StreamState::default()
            }),
        })
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, StreamState> {
        // See ConnShared::queue: the state is updated field by field and
        // never left half-made across a call that could panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the stream for the connection task (once until it is taken).
    pub(crate) fn schedule(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.conn.push(self.clone());
        }
    }

    /// Queues the stream with its future or body to be polled.
    pub(crate) fn schedule_poll(self: &Arc<Self>) {
        self.poll_needed.store(true, Ordering::Release);
        self.schedule();
    }

    /// Called by the task when it takes the stream off the queue: answers
    /// whether a poll was asked for.
    pub(crate) fn take_poll_needed(&self) -> bool {
        self.queued.store(false, Ordering::Release);
        self.poll_needed.swap(false, Ordering::AcqRel)
    }

    fn stats(&self) -> &StatsInner {
        &self.conn.stats
    }
}

impl Wake for Stream {
    fn wake(self: Arc<Self>) {
        self.schedule_poll();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule_poll();
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("id", &self.id).finish()
    }
}

/// The body of a request, whichever protocol carried it: on HTTP/2 the
/// stream's DATA frames as they arrive, then its trailers; on HTTP/1.1 what
/// hyper reads (a content-length or chunked body, with chunked trailers).
///
/// Flow control follows the reader: on HTTP/2 received bytes count against
/// the peer's stream and connection windows until they are read here, so a
/// handler that reads slowly slows its client down instead of making the
/// server buffer; on HTTP/1.1 hyper reads the socket only as the body is
/// read. Dropping the body gives its unread bytes back at once.
pub struct RequestBody {
    kind: BodyKind,
}

enum BodyKind {
    H2(H2Body),
    H1(hyper::body::Incoming),
    /// Taken away (by an upgrade), or none.
    Empty,
}

/// An HTTP/2 stream's body.
struct H2Body {
    stream: Arc<Stream>,
    content_length: Option<u64>,
}

impl RequestBody {
    pub(crate) fn new(stream: Arc<Stream>, content_length: Option<u64>) -> RequestBody {
        RequestBody {
            kind: BodyKind::H2(H2Body {
                stream,
                content_length,
            }),
        }
    }

    /// The body of a request hyper's HTTP/1.1 server read.
    pub(crate) fn http1(body: hyper::body::Incoming) -> RequestBody {
        RequestBody {
            kind: BodyKind::H1(body),
        }
    }

    /// A body with nothing in it.
    pub fn empty() -> RequestBody {
        RequestBody {
            kind: BodyKind::Empty,
        }
    }

    /// The HTTP/2 stream id the body arrives on; `None` on HTTP/1.1.
    pub fn stream_id(&self) -> Option<i32> {
        match &self.kind {
            BodyKind::H2(b) => Some(b.stream.id),
            BodyKind::H1(_) | BodyKind::Empty => None,
        }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::H2(b) => f
                .debug_struct("RequestBody")
                .field("stream_id", &b.stream.id)
                .finish(),
            BodyKind::H1(_) => f
                .debug_struct("RequestBody")
                .field("protocol", &"http/1.1")
                .finish(),
            BodyKind::Empty => f.debug_struct("RequestBody").finish_non_exhaustive(),
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match &mut self.get_mut().kind {
            BodyKind::H2(b) => b.poll_frame(cx),
            BodyKind::H1(b) => Pin::new(b)
                .poll_frame(cx)
                .map_err(|e| Error::new(Kind::Io(std::io::Error::other(e)))),
            BodyKind::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::H2(b) => {
                let st = b.stream.state();
                st.end && st.chunks.is_empty() && st.trailers.is_none()
            }
            BodyKind::H1(b) => b.is_end_stream(),
            BodyKind::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::H2(b) => match b.content_length {
                Some(n) => SizeHint::with_exact(n),
                None => SizeHint::default(),
            },
            BodyKind::H1(b) => b.size_hint(),
            BodyKind::Empty => SizeHint::with_exact(0),
        }
    }
}

impl H2Body {
    fn poll_frame(
        &mut self,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
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
            stream.stats().sub_recv_buffered(n);
            if release {
                stream.schedule();
            }
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if let Some(reason) = st.reset {
            return Poll::Ready(Some(Err(Error::new(Kind::Reset(
                stream.id,
                reason,
                Initiator::Remote,
            )))));
        }
        if st.end {
            return Poll::Ready(st.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        match &st.reader {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.reader = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for H2Body {
    fn drop(&mut self) {
        let mut st = self.stream.state();
        st.body_dropped = true;
        st.reader = None;
        let n = st.buffered;
        st.chunks.clear();
        st.buffered = 0;
        let release = !st.detached && n > 0;
        if release {
            st.to_consume += n;
        }
        drop(st);
        self.stream.stats().sub_recv_buffered(n);
        if release {
            self.stream.schedule();
        }
    }
}

/// A response body, pulled as the client's window opens; the bytes it holds
/// count in the server's `send_buffered`.
pub(crate) type BodySource<B> = HttpBodySource<B, Arc<Stream>>;

impl SourceOwner for Arc<Stream> {
    fn stream_id(&self) -> i32 {
        self.id
    }

    fn held(&self, delta: isize) {
        if delta >= 0 {
            self.stats().add_send_buffered(delta as usize);
        } else {
            self.stats().sub_send_buffered(delta.unsigned_abs());
        }
    }
}
