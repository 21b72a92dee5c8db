//! [`Stream`]: one stream's state shared between its connection's task and
//! the code that reads its received body (a server's handler reading a
//! request, a client's caller reading a response), and the waker of the
//! futures and bodies working on it.
//!
//! Received DATA waits here until it is read, and only then counts as
//! consumed: the task gives it back to the peer's windows
//! (`nghttp2_session_consume`), so a slow reader slows its peer instead of
//! making this side buffer. The server and the client use the same core;
//! they differ only in how they turn it into `http` types.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use bytes::Bytes;
use http::HeaderMap;

use crate::error::{Error, Initiator, Kind, Reason};
use crate::proto::scheduler::Scheduler;
use crate::proto::stats::{Gauge, Held, StatsInner};
use crate::session::{SessionRef, StreamId};

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
    /// The error a reader of the stream gets.
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

/// One stream's shared state. It is also the waker of the futures and
/// bodies working on the stream: waking it queues the stream, with a poll
/// asked for, on its connection's [`Scheduler`].
///
/// `X` is what the side serving the stream keeps with it, in the same
/// allocation: the server keeps what a handler asks of its stream, the
/// client nothing.
pub(crate) struct Stream<X = ()> {
    /// The stream id; 0 until a client's request is submitted.
    id: AtomicI32,
    scheduler: Arc<Scheduler<X>>,
    /// On the scheduler's list, not yet taken by the task.
    queued: AtomicBool,
    /// A future or body of the stream woke: the task polls it (a server's
    /// service and response body) or resumes it (a client's request body).
    poll_needed: AtomicBool,
    state: Mutex<RecvState>,
    /// What the serving side keeps with the stream.
    ext: X,
}

/// The receiving half of a stream.
pub(crate) struct RecvState {
    /// Received DATA not yet read.
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`, counted in the server's `recv_buffered` gauge
    /// where there is one.
    buffered: Buffered,
    /// Bytes read that the task has not yet given back to the windows.
    to_consume: usize,
    /// Boxed: most streams have none, and a header map is 96 bytes of
    /// every stream's allocation.
    trailers: Option<Box<HeaderMap>>,
    /// END_STREAM arrived: the body is complete.
    pub(crate) end: bool,
    /// The stream ended before its body was complete.
    failure: Option<Failure>,
    /// The reader dropped the body: later DATA is given back at once.
    pub(crate) body_dropped: bool,
    /// The stream is closed: windows no longer matter.
    detached: bool,
    /// The task waiting for body data.
    reader: Option<Waker>,
}

/// A byte count, mirrored in a gauge when the connection keeps stats. The
/// gauge's guard is made with the first bytes: a request without a body
/// (most of them) costs the shared counters nothing.
struct Buffered {
    n: usize,
    gauge: Option<Held>,
}

impl Buffered {
    fn set(&mut self, n: usize) {
        self.n = n;
        if let Some(gauge) = &mut self.gauge {
            gauge.set(n);
        }
    }

    /// Counts `more` bytes, in `stats`' gauge when given.
    fn add(&mut self, more: usize, stats: Option<&Arc<StatsInner>>) {
        if self.gauge.is_none() {
            self.gauge = stats.map(|s| Held::new(s, Gauge::RecvBuffered, 0));
        }
        self.set(self.n + more);
    }
}

impl RecvState {
    /// True while the reader waits for DATA that has not come (the stream
    /// waits on the peer, not on this side).
    pub(crate) fn waits_for_peer(&self) -> bool {
        self.reader.is_some() && self.chunks.is_empty() && !self.end && self.failure.is_none()
    }

    /// The stream is closed: windows no longer matter.
    pub(crate) fn is_detached(&self) -> bool {
        self.detached
    }

    /// Drops what is buffered; returns how many bytes that was.
    fn clear(&mut self) -> usize {
        let n = self.buffered.n;
        self.chunks.clear();
        self.buffered.set(0);
        n
    }
}

impl<X: Default> Stream<X> {
    /// A stream of a connection scheduled by `scheduler`.
    pub(crate) fn new(id: Option<StreamId>, scheduler: Arc<Scheduler<X>>) -> Arc<Stream<X>> {
        Stream::with_end(id, scheduler, false)
    }

    /// A stream the peer opened with a HEADERS frame that also ended it:
    /// no body will come. Its end is recorded here, before the stream is
    /// shared, rather than under its lock when the head is complete.
    pub(crate) fn new_without_body(id: StreamId, scheduler: Arc<Scheduler<X>>) -> Arc<Stream<X>> {
        Stream::with_end(Some(id), scheduler, true)
    }

    fn with_end(id: Option<StreamId>, scheduler: Arc<Scheduler<X>>, end: bool) -> Arc<Stream<X>> {
        Arc::new(Stream {
            id: AtomicI32::new(id.map_or(0, |id| id.get() as i32)),
            scheduler,
            queued: AtomicBool::new(false),
            poll_needed: AtomicBool::new(false),
            state: Mutex::new(RecvState {
                chunks: VecDeque::new(),
                buffered: Buffered { n: 0, gauge: None },
                to_consume: 0,
                trailers: None,
                end,
                failure: None,
                body_dropped: false,
                detached: false,
                reader: None,
            }),
            ext: X::default(),
        })
    }
}

impl<X> Stream<X> {
    /// What the serving side keeps with the stream.
    pub(crate) fn ext(&self) -> &X {
        &self.ext
    }

    /// The stream id ([`StreamId::CONNECTION`] while a client's request
    /// waits to be submitted).
    pub(crate) fn id(&self) -> StreamId {
        StreamId::new(self.id.load(Ordering::Acquire) as u32).unwrap_or_default()
    }

    /// Fills the receive queue of a stream whose body was read before the
    /// stream existed (the HTTP/1.1 request an `Upgrade: h2c` turns into
    /// stream 1): complete, and outside HTTP/2 flow control. `stats`, when
    /// given, counts its bytes until they are read.
    pub(crate) fn preload(
        &self,
        body: Bytes,
        trailers: Option<HeaderMap>,
        stats: Option<&Arc<StatsInner>>,
    ) {
        let mut st = self.state();
        st.detached = true;
        st.end = true;
        st.trailers = trailers.map(Box::new);
        if !body.is_empty() {
            st.buffered.add(body.len(), stats);
            st.chunks.push_back(body);
        }
    }

    /// Records the id nghttp2 gave a client's request.
    pub(crate) fn set_id(&self, id: StreamId) {
        self.id.store(id.get() as i32, Ordering::Release);
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, RecvState> {
        // A poisoned lock only means a panic elsewhere while it was held;
        // the state is updated field by field and stays consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the stream for the connection task (once until it is taken).
    pub(crate) fn schedule(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.scheduler.push(self.clone());
        }
    }

    /// Queues the stream with a poll asked for.
    pub(crate) fn schedule_poll(self: &Arc<Self>) {
        self.poll_needed.store(true, Ordering::Release);
        self.schedule();
    }

    /// Called by the task when it takes the stream off the scheduler:
    /// answers whether a poll was asked for.
    pub(crate) fn take_poll_needed(&self) -> bool {
        self.queued.store(false, Ordering::Release);
        self.poll_needed.swap(false, Ordering::AcqRel)
    }

    /// Bytes read since the task last asked, to give back to the windows.
    pub(crate) fn take_consumed(&self) -> usize {
        std::mem::take(&mut self.state().to_consume)
    }

    // --- The connection task's side, inside nghttp2's callbacks. ---------

    /// A chunk of DATA arrived on stream `id`, known as `stream` (or not:
    /// a stream this side no longer tracks). It is queued for the reader,
    /// or, when nobody will read it, given back to the windows at once.
    /// `stats`, when given, counts it until it is read.
    pub(crate) fn recv_data_on(
        stream: Option<&Stream<X>>,
        cx: &mut SessionRef,
        id: StreamId,
        data: &[u8],
        stats: Option<&Arc<StatsInner>>,
    ) {
        match stream {
            Some(stream) => stream.recv_data(cx, data, stats),
            None => {
                let _ = cx.consume(id, data.len());
            }
        }
    }

    /// A chunk of DATA arrived. It is queued for the reader, or, when
    /// nobody will read it, given back to the windows at once.
    fn recv_data(&self, cx: &mut SessionRef, data: &[u8], stats: Option<&Arc<StatsInner>>) {
        let mut st = self.state();
        if st.body_dropped || st.failure.is_some() {
            drop(st);
            let _ = cx.consume(self.id(), data.len());
            return;
        }
        st.chunks.push_back(Bytes::copy_from_slice(data));
        st.buffered.add(data.len(), stats);
        let reader = st.reader.take();
        drop(st);
        if let Some(w) = reader {
            w.wake();
        }
    }

    /// The body is complete (END_STREAM), with trailer fields if any came.
    pub(crate) fn recv_end(&self, trailers: Option<HeaderMap>) {
        let reader = {
            let mut st = self.state();
            if trailers.is_some() {
                st.trailers = trailers.map(Box::new);
            }
            st.end = true;
            st.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }

    /// The stream closed; a body not complete fails with `failure`. Gives
    /// back to the connection window what was received and not consumed.
    pub(crate) fn close(&self, cx: &mut SessionRef, failure: Option<Failure>) {
        let (unconsumed, reader) = {
            let mut st = self.state();
            let mut unconsumed = std::mem::take(&mut st.to_consume);
            if !st.detached {
                unconsumed += st.buffered.n;
            }
            st.detached = true;
            if let Some(failure) = failure {
                if !st.end && st.failure.is_none() {
                    st.failure = Some(failure);
                    st.clear();
                }
            }
            (unconsumed, st.reader.take())
        };
        if unconsumed > 0 {
            // The stream is gone; this gives back the connection window.
            let _ = cx.consume(self.id(), unconsumed);
        }
        if let Some(w) = reader {
            w.wake();
        }
    }

    /// The connection is gone: a body not complete fails with `failure`.
    pub(crate) fn fail(&self, failure: Failure) {
        let reader = {
            let mut st = self.state();
            st.detached = true;
            if !st.end && st.failure.is_none() {
                st.failure = Some(failure);
                st.clear();
            }
            st.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }

    // --- The reader's side. ------------------------------------------------

    /// The next chunk of the body; `Ready(None)` at its end (the trailers
    /// are then in [`take_trailers`](Stream::take_trailers)).
    pub(crate) fn poll_data(
        self: &Arc<Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Error>>> {
        let mut st = self.state();
        if let Some(chunk) = st.chunks.pop_front() {
            let n = st.buffered.n - chunk.len();
            st.buffered.set(n);
            let release = !st.detached;
            if release {
                st.to_consume += chunk.len();
            }
            drop(st);
            if release {
                self.schedule();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(failure) = &st.failure {
            return Poll::Ready(Some(Err(failure.to_error())));
        }
        if st.end {
            return Poll::Ready(None);
        }
        match &st.reader {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.reader = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The trailer fields, once (after the body's end).
    pub(crate) fn take_trailers(&self) -> Option<HeaderMap> {
        self.state().trailers.take().map(|t| *t)
    }

    /// The trailer fields, if the body was read to its end.
    pub(crate) fn trailers(&self) -> Option<HeaderMap> {
        let st = self.state();
        if st.end && st.chunks.is_empty() {
            st.trailers.as_deref().cloned()
        } else {
            None
        }
    }

    /// Nothing more will come out of the body.
    pub(crate) fn is_end_stream(&self) -> bool {
        let st = self.state();
        (st.end && st.chunks.is_empty() && st.trailers.is_none()) || st.failure.is_some()
    }

    /// The reader dropped the body: what it did not read goes back to the
    /// windows at once, and so does whatever arrives later. The task is
    /// told (so a client can also cancel the stream).
    pub(crate) fn drop_reader(self: &Arc<Self>) {
        let mut st = self.state();
        st.body_dropped = true;
        st.reader = None;
        let n = st.clear();
        let live = !st.detached;
        if live {
            st.to_consume += n;
        }
        drop(st);
        if live {
            self.schedule();
        }
    }
}

impl<X: Send + Sync + 'static> Wake for Stream<X> {
    fn wake(self: Arc<Self>) {
        self.schedule_poll();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule_poll();
    }
}

impl<X> fmt::Debug for Stream<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("id", &self.id()).finish()
    }
}
