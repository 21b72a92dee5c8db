//! [`ConnHandler`]: the session handler of a server connection. It turns
//! frames into requests for the service and the service's responses into
//! frames; its callbacks only record state, and services and bodies are
//! polled by the connection task between session calls.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use http::header;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;

use crate::error::{Initiator, Reason};
use crate::proto::headers::is_connection_specific;
use crate::proto::scheduler::Scheduler;
use crate::proto::stats::{Gauge, Held, StatsInner};
use crate::proto::stream::{Failure, Stream};
use crate::server::body::{BodySource, RequestBody, ResponseOwner};
use crate::server::request::{add_trailer, Head};
use crate::server::service::HttpService;
use crate::session::stream_map::StreamMap;
use crate::session::{
    CallbackError, CallbackResult, DataSource, Flags, Frame, FrameHeader, FrameType, Handler,
    HeaderBlock, HeaderRef, HeadersCategory, SessionRef, StreamId,
};

/// Where a stream's request is in its life, on the connection task's side.
/// While the service works on it (`New`, `Running`), it counts as a live
/// handler.
// The request is held inline: boxing it would cost an allocation per
// request, and it moves into the service on the same pass of the pump.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Phase<F> {
    /// Request header fields are arriving.
    Headers,
    /// The request is complete; the service has not taken it yet.
    New(Request<RequestBody>, Held),
    /// The service's future runs. (The `Held` is kept for its `Drop`.)
    #[allow(dead_code)]
    Running(Pin<Box<F>>, Held),
    /// The response is submitted; its body (if any) is pulled by the
    /// session as the client's windows open.
    Responding,
    /// Nothing more to do on this side (rejected, failed, or done).
    Done,
}

/// One request stream, on the connection task's side.
pub(crate) struct Entry<F> {
    pub(crate) stream: Arc<Stream>,
    waker: Waker,
    pub(crate) phase: Phase<F>,
    head: Head,
    /// Trailer fields being received.
    trailers: Option<HeaderMap>,
    is_head: bool,
    /// Counts the stream in the open streams while the entry lives.
    _open: Held,
}

/// The session handler of a server connection.
pub(crate) struct ConnHandler<S: HttpService> {
    service: S,
    pub(crate) streams: StreamMap<Entry<S::Future>>,
    scheduler: Arc<Scheduler>,
    stats: Arc<StatsInner>,
    max_header_list_size: usize,
    /// Entries of closed streams, dropped outside nghttp2's callbacks
    /// (their futures run user code when dropped).
    pub(crate) closed: Vec<Entry<S::Future>>,
    /// Streams whose service said "not ready".
    waiting_ready: Vec<StreamId>,
    pub(crate) got_settings: bool,
    pub(crate) settings_acked: bool,
    /// The largest stream id a client HEADERS frame named so far.
    last_client_stream: StreamId,
    /// Ranges of client stream ids skipped over (so never opened), for
    /// RFC 9113 section 5.1.1: a HEADERS on one of them is a stream id
    /// going backwards. Only the first few gaps are kept; nghttp2 itself
    /// ignores such HEADERS.
    id_gaps: Vec<(u32, u32)>,
}

/// How many skipped stream id ranges a connection remembers.
const MAX_ID_GAPS: usize = 16;

impl<S: HttpService> ConnHandler<S> {
    pub(crate) fn new(
        service: S,
        scheduler: Arc<Scheduler>,
        stats: Arc<StatsInner>,
        max_header_list_size: usize,
    ) -> Self {
        ConnHandler {
            service,
            streams: StreamMap::default(),
            scheduler,
            stats,
            max_header_list_size,
            closed: Vec::new(),
            waiting_ready: Vec::new(),
            got_settings: false,
            settings_acked: false,
            last_client_stream: StreamId::CONNECTION,
            id_gaps: Vec::new(),
        }
    }

    /// Completes a request head: the stream gets its request, or an error
    /// response when the head was bad.
    fn finish_head(&mut self, cx: &mut SessionRef, id: StreamId, end_stream: bool) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        if end_stream {
            entry.stream.recv_end(None);
        }
        let head = std::mem::take(&mut entry.head);
        match head.into_request(&entry.stream) {
            Ok(request) => {
                entry.is_head = request.method() == Method::HEAD;
                let live = Held::new(&self.stats, Gauge::LiveHandlers, 1);
                entry.phase = Phase::New(request, live);
                self.stats.count_request();
                entry.stream.schedule_poll();
            }
            Err(status) => {
                tracing::debug!(stream = %id, %status, "rejecting request");
                entry.phase = Phase::Done;
                entry.stream.state().body_dropped = true;
                let _ = cx.submit_response(
                    id,
                    [HeaderRef::new(b":status", status.as_str().as_bytes())],
                    None,
                );
            }
        }
    }

    /// Polls a stream's service: readiness, the call, the future, and
    /// submits the response it gives.
    pub(crate) fn poll_stream(&mut self, cx: &mut SessionRef, id: StreamId) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        match poll_entry(&mut self.service, entry, cx, &self.stats) {
            Polled::NotReady => self.waiting_ready.push(id),
            Polled::Called if !self.waiting_ready.is_empty() => {
                // The service is ready again: let the others try.
                let ConnHandler {
                    streams,
                    waiting_ready,
                    ..
                } = self;
                for other in waiting_ready.drain(..) {
                    if let Some(e) = streams.get(&other) {
                        e.stream.schedule_poll();
                    }
                }
            }
            _ => {}
        }
    }
}

/// What polling a stream did, for the readiness bookkeeping.
enum Polled {
    NotReady,
    Called,
    Other,
}

fn poll_entry<S: HttpService>(
    service: &mut S,
    entry: &mut Entry<S::Future>,
    cx: &mut SessionRef,
    stats: &Arc<StatsInner>,
) -> Polled {
    let id = entry.stream.id();
    let mut tcx = TaskContext::from_waker(&entry.waker);
    let mut outcome = Polled::Other;
    loop {
        match &mut entry.phase {
            Phase::New(..) => {
                match catch_unwind(AssertUnwindSafe(|| service.poll_ready(&mut tcx))) {
                    Ok(Poll::Pending) => return Polled::NotReady,
                    Ok(Poll::Ready(Ok(()))) => {}
                    Ok(Poll::Ready(Err(e))) => {
                        let e: crate::server::BoxError = e.into();
                        tracing::warn!(error = %e, "service failed");
                        fail_stream(cx, entry);
                        return outcome;
                    }
                    Err(_) => {
                        tracing::warn!(stream = %id, "service panicked in poll_ready");
                        fail_stream(cx, entry);
                        return outcome;
                    }
                }
                let Phase::New(request, live) = std::mem::replace(&mut entry.phase, Phase::Done)
                else {
                    return outcome;
                };
                match catch_unwind(AssertUnwindSafe(|| service.call(request))) {
                    Ok(future) => entry.phase = Phase::Running(Box::pin(future), live),
                    Err(_) => {
                        tracing::warn!(stream = %id, "service panicked in call");
                        let _ = cx.submit_rst_stream(id, Reason::INTERNAL_ERROR);
                        return outcome;
                    }
                }
                outcome = Polled::Called;
            }
            Phase::Running(future, _) => {
                let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut tcx)));
                match polled {
                    Ok(Poll::Pending) => {}
                    Ok(Poll::Ready(Ok(response))) => {
                        entry.phase = Phase::Responding;
                        submit_response(cx, entry, response, stats);
                    }
                    Ok(Poll::Ready(Err(e))) => {
                        let e: crate::server::BoxError = e.into();
                        tracing::debug!(stream = %id, error = %e, "handler failed");
                        fail_stream(cx, entry);
                    }
                    Err(_) => {
                        tracing::warn!(stream = %id, "handler panicked; resetting its stream");
                        fail_stream(cx, entry);
                    }
                }
                return outcome;
            }
            Phase::Responding => {
                // The body woke: it has data (or its end) for nghttp2.
                let _ = cx.resume_data(id);
                return outcome;
            }
            Phase::Headers | Phase::Done => return outcome,
        }
    }
}

/// The handler failed: reset its stream with INTERNAL_ERROR.
fn fail_stream<F>(cx: &mut SessionRef, entry: &mut Entry<F>) {
    entry.phase = Phase::Done;
    let _ = cx.submit_rst_stream(entry.stream.id(), Reason::INTERNAL_ERROR);
}

/// Formats `n` in decimal into `buf` and returns the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Submits the service's response: its head now, its body as a data
/// source the session pulls as the client's windows open.
/// A response's header block, read in place by nghttp2 until the HEADERS
/// frame is sent (no copy of names and values).
struct ResponseHead {
    status: StatusCode,
    /// The content-length digits, right-aligned from `length_from`.
    digits: [u8; 20],
    length_from: Option<usize>,
    headers: HeaderMap,
}

impl HeaderBlock for ResponseHead {
    fn for_each_field<'a>(&'a self, field: &mut dyn FnMut(HeaderRef<'a>)) {
        field(HeaderRef::new(b":status", self.status.as_str().as_bytes()));
        if let Some(from) = self.length_from {
            field(HeaderRef::new(b"content-length", &self.digits[from..]));
        }
        for (name, value) in &self.headers {
            if !is_connection_specific(name, value) {
                field(HeaderRef::new(name.as_str().as_bytes(), value.as_bytes()));
            }
        }
    }
}

fn submit_response<F, B>(
    cx: &mut SessionRef,
    entry: &mut Entry<F>,
    response: Response<B>,
    stats: &Arc<StatsInner>,
) where
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::server::BoxError>,
{
    let id = entry.stream.id();
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let no_body = entry.is_head
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || body.is_end_stream();
    let mut head = ResponseHead {
        status,
        digits: [0u8; 20],
        length_from: None,
        headers: parts.headers,
    };
    if let Some(n) = body.size_hint().exact() {
        if !head.headers.contains_key(header::CONTENT_LENGTH) && status != 204 {
            head.length_from = Some(20 - decimal(n, &mut head.digits).len());
        }
    }
    let source: Option<Box<dyn DataSource>> = if no_body {
        None
    } else {
        Some(Box::new(BodySource::new(
            Box::pin(body),
            entry.waker.clone(),
            ResponseOwner {
                stream: entry.stream.clone(),
                held: Held::new(stats, Gauge::SendBuffered, 0),
            },
            "response body",
        )))
    };
    if let Err(e) = cx.submit_response_block(id, Box::new(head), source) {
        tracing::debug!(stream = %id, error = %e, "response not submitted");
        entry.phase = Phase::Done;
    }
}

impl<S: HttpService> Handler for ConnHandler<S> {
    fn on_begin_frame(&mut self, cx: &mut SessionRef, header: &FrameHeader) -> CallbackResult {
        let id = header.stream_id;
        if header.frame_type != FrameType::HEADERS || !id.is_client_initiated() {
            return Ok(());
        }
        let (n, last) = (id.get(), self.last_client_stream.get());
        if n > last {
            if n > last + 2 && self.id_gaps.len() < MAX_ID_GAPS {
                self.id_gaps.push((last + 2, n - 2));
            }
            self.last_client_stream = id;
        } else if self.id_gaps.iter().any(|&(lo, hi)| lo <= n && n <= hi) {
            // A stream the client skipped is closed (section 5.1.1);
            // opening it now is a stream id going backwards.
            tracing::debug!(stream = %id, "stream id going backwards");
            let _ = cx.terminate(Reason::PROTOCOL_ERROR);
        }
        Ok(())
    }

    fn on_begin_headers(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        if frame.headers_category() == Some(HeadersCategory::Request) {
            let stream = Stream::new(Some(id), self.scheduler.clone(), Some(&self.stats));
            let waker = Waker::from(stream.clone());
            self.streams.insert(
                id,
                Entry {
                    stream,
                    waker,
                    phase: Phase::Headers,
                    head: Head::default(),
                    trailers: None,
                    is_head: false,
                    _open: Held::new(&self.stats, Gauge::OpenStreams, 1),
                },
            );
        } else if let Some(entry) = self.streams.get_mut(&id) {
            entry.trailers = Some(HeaderMap::new());
            entry.head.restart_count();
        }
        Ok(())
    }

    fn on_header(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        field: HeaderRef<'_>,
    ) -> CallbackResult {
        let Some(entry) = self.streams.get_mut(&frame.stream_id()) else {
            return Ok(());
        };
        if !entry.head.count(&field, self.max_header_list_size) {
            return Ok(());
        }
        match &mut entry.trailers {
            Some(trailers) => add_trailer(trailers, field).map_err(|()| CallbackError::ResetStream),
            None => {
                entry.head.add_field(field);
                Ok(())
            }
        }
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        match frame.frame_type() {
            FrameType::HEADERS => {
                let Some(entry) = self.streams.get_mut(&id) else {
                    return Ok(());
                };
                if let Some(trailers) = entry.trailers.take() {
                    entry.stream.recv_end(Some(trailers));
                } else if matches!(entry.phase, Phase::Headers) {
                    self.finish_head(cx, id, frame.is_end_stream());
                }
            }
            FrameType::DATA if frame.is_end_stream() => {
                if let Some(entry) = self.streams.get(&id) {
                    entry.stream.recv_end(None);
                }
            }
            FrameType::SETTINGS => {
                if frame.is_ack() {
                    self.settings_acked = true;
                } else {
                    self.got_settings = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_data_chunk_recv(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        data: &[u8],
        _flags: Flags,
    ) -> CallbackResult {
        match self.streams.get(&stream_id) {
            Some(entry) => entry.stream.recv_data(cx, data),
            None => {
                let _ = cx.consume(stream_id, data.len());
            }
        }
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        let Some(entry) = self.streams.remove(&stream_id) else {
            return Ok(());
        };
        if matches!(entry.phase, Phase::New(..) | Phase::Running(..)) {
            tracing::debug!(stream = %stream_id, %reason, "stream closed; cancelling its handler");
        }
        let reason = if reason == Reason::NO_ERROR {
            Reason::CANCEL
        } else {
            reason
        };
        entry.stream.close(
            cx,
            Some(Failure::Reset(stream_id, reason, Initiator::Remote)),
        );
        self.closed.push(entry);
        Ok(())
    }
}

impl<S: HttpService> Drop for ConnHandler<S> {
    fn drop(&mut self) {
        for (id, entry) in self.streams.drain() {
            entry
                .stream
                .fail(Failure::Reset(id, Reason::CANCEL, Initiator::Remote));
            let _ = catch_unwind(AssertUnwindSafe(|| drop(entry)));
        }
    }
}
