//! [`ConnHandler`]: the session handler of a server connection. It turns
//! frames into requests for the service and the service's responses into
//! frames; its callbacks only record state, and services and bodies are
//! polled by the connection task between session calls.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body::Body;

use crate::error::{Initiator, LibError, Reason};
use crate::proto::headers::is_connection_specific;
use crate::proto::scheduler::Scheduler;
use crate::proto::stats::StatsInner;
use crate::proto::stream::{Failure, Stream};
use crate::server::asks::{Asks, H2Stream};
use crate::server::body::{BodySource, RequestBody};
use crate::server::conn::Upgrade;
use crate::server::connect_info::ConnectionInfo;
use crate::server::date::{self, DateText};
use crate::server::informational::Informational;
use crate::server::push::{self, Push};
use crate::server::request::{add_trailer, Head, Repeated};
use crate::server::service::HttpService;
use crate::server::upgrade::{self, H2Connect, Protocol};
use crate::server::{Priority, StreamEnd, StreamOutcome};
use crate::session::stream_map::StreamMap;
use crate::session::{
    CallbackError, CallbackResult, DataSource, Flags, Frame, FrameHeader, FrameType, Handler,
    HeaderBlock, HeaderRef, HeadersCategory, SessionRef, StreamId,
};

/// Where a stream's request is in its life, on the connection task's side.
// The request is held inline: boxing it would cost an allocation per
// request, and it moves into the service on the same pass of the pump.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Phase<F> {
    /// Request header fields are arriving.
    Headers,
    /// The request is complete; the service has not taken it yet. Boxed,
    /// where it was made: a request is 256 bytes, and every move of it
    /// is a copy.
    New(Box<Request<RequestBody>>),
    /// The service's future runs.
    Running(Pin<Box<F>>),
    /// The response is submitted; its body (if any) is pulled by the
    /// session as the client's windows open.
    Responding,
    /// Nothing more to do on this side (rejected, failed, or done).
    Done,
}

/// One request stream, on the connection task's side.
pub(crate) struct Entry<F> {
    /// The stream, with the 1xx responses, the upgrade and the pushes the
    /// handler asks for.
    stream: Arc<H2Stream>,
    /// Wakes the connection task for this stream: for the service's
    /// future, then for the response body, which takes it over.
    waker: Waker,
    pub(crate) phase: Phase<F>,
    is_head: bool,
    /// A CONNECT: a 2xx answer has no content-length, and may upgrade.
    is_connect: bool,
}

impl<F> Entry<F> {
    /// The stream: its id, its received body, its wake-ups, its asks.
    pub(crate) fn stream(&self) -> &Arc<H2Stream> {
        &self.stream
    }

    /// What the handler asks of the stream.
    pub(crate) fn asks(&self) -> &Asks {
        self.stream.ext()
    }

    /// The stream's waker, for the response body's source: once the
    /// response is submitted, the entry polls no future, so the waker
    /// moves rather than being copied (a reference count written twice
    /// fewer per response).
    fn take_waker(&mut self) -> Waker {
        std::mem::replace(&mut self.waker, Waker::noop().clone())
    }

    /// The service works on the request (counted in `live_handlers`).
    fn is_live(&self) -> bool {
        matches!(self.phase, Phase::New(_) | Phase::Running(_))
    }
}

/// The header block being received. nghttp2 delivers one block at a time
/// on a connection (CONTINUATION frames may not interleave), so its fields
/// are gathered here rather than in the stream's entry: no stream lookup
/// per field.
#[derive(Default)]
struct Block {
    /// The stream the block belongs to ([`StreamId::CONNECTION`]: none,
    /// its fields are not kept).
    stream: StreamId,
    /// The request head, or (for trailers) just the size count.
    head: Head,
    /// Trailer fields, when the block is a request's trailers.
    trailers: Option<HeaderMap>,
}

/// The session handler of a server connection.
pub(crate) struct ConnHandler<S: HttpService> {
    service: S,
    pub(crate) streams: StreamMap<Box<Entry<S::Future>>>,
    /// The header block being received.
    block: Block,
    /// Request fields this connection's requests repeat, parsed once.
    repeated: Repeated,
    scheduler: Arc<Scheduler<Asks>>,
    stats: Arc<StatsInner>,
    max_header_list_size: usize,
    /// Entries of closed streams, dropped outside nghttp2's callbacks
    /// (their futures run user code when dropped).
    // Boxed as in `streams`: moving an entry here moves a pointer.
    #[allow(clippy::vec_box)]
    pub(crate) closed: Vec<Box<Entry<S::Future>>>,
    /// Streams whose service said "not ready".
    waiting_ready: Vec<StreamId>,
    /// Streams whose request became complete in this turn: their services
    /// are called once the C call returns. Queued here, not through the
    /// scheduler (which serves wake-ups from other tasks and threads): a
    /// request costs no lock, reference count or wake-up to get polled
    /// ([`poll_new_requests`](ConnHandler::poll_new_requests)).
    to_poll: Vec<StreamId>,
    pub(crate) got_settings: bool,
    pub(crate) settings_acked: bool,
    /// Put into every request's extensions.
    info: Option<ConnectionInfo>,
    /// The `server` and `date` header values responses get.
    stamps: Stamps,
    /// The largest stream id a client HEADERS frame named so far.
    last_client_stream: StreamId,
    /// Ranges of client stream ids skipped over (so never opened), for
    /// RFC 9113 section 5.1.1: a HEADERS on one of them is a stream id
    /// going backwards. Only the first few gaps are kept; nghttp2 itself
    /// ignores such HEADERS.
    id_gaps: Vec<(u32, u32)>,
    /// Requests carry a [`Push`] (when their client allows push).
    pub(crate) push: bool,
    /// Requests carry an [`Informational`], a [`StreamOutcome`] and the
    /// [`ConnectionInfo`] (`Builder::request_extensions`).
    pub(crate) request_extensions: bool,
}

/// How many skipped stream id ranges a connection remembers.
const MAX_ID_GAPS: usize = 16;

/// RFC 9218's `priority` field, not one of `http`'s standard names: each
/// response field is compared with it as a `HeaderName`, which for a
/// standard name is one tag comparison (comparing texts had to look up
/// each standard name's text first).
const PRIORITY: header::HeaderName = header::HeaderName::from_static("priority");

impl<S: HttpService> ConnHandler<S> {
    pub(crate) fn new(
        service: S,
        scheduler: Arc<Scheduler<Asks>>,
        stats: Arc<StatsInner>,
        max_header_list_size: usize,
        info: Option<ConnectionInfo>,
        server_header: Option<HeaderValue>,
    ) -> Self {
        ConnHandler {
            service,
            streams: StreamMap::default(),
            block: Block::default(),
            repeated: Repeated::default(),
            scheduler,
            stats,
            max_header_list_size,
            closed: Vec::new(),
            waiting_ready: Vec::new(),
            to_poll: Vec::new(),
            got_settings: false,
            settings_acked: false,
            info,
            stamps: Stamps {
                server: server_header,
                date: None,
            },
            last_client_stream: StreamId::CONNECTION,
            id_gaps: Vec::new(),
            push: true,
            request_extensions: true,
        }
    }

    /// The open streams (nghttp2 has not closed them) and, of those, the
    /// ones whose service works on the request: what the connection
    /// counts in the server's `open_streams` and `live_handlers`.
    pub(crate) fn stream_counts(&self) -> (usize, usize) {
        let live = self.streams.values().filter(|e| e.is_live()).count();
        (self.streams.len(), live)
    }

    /// Requests completed in this turn wait for their services.
    pub(crate) fn has_new_requests(&self) -> bool {
        !self.to_poll.is_empty()
    }

    /// Calls the services of the requests completed in this turn, once the
    /// C call that completed them has returned; the server's request count
    /// counts them all at once, as they are handed over.
    pub(crate) fn poll_new_requests(&mut self, cx: &mut SessionRef) {
        let mut to_poll = std::mem::take(&mut self.to_poll);
        self.stats.count_requests(to_poll.len());
        for id in to_poll.drain(..) {
            self.poll_stream(cx, id);
        }
        // Kept for the next turn's requests (nothing queues here while
        // services are polled: requests complete in nghttp2's callbacks).
        self.to_poll = to_poll;
    }

    /// Starts a turn of the connection's loop: responses made from now on
    /// read the clock again for their `date`.
    pub(crate) fn new_turn(&mut self) {
        self.stamps.date = None;
    }

    /// Completes a request head: the stream gets its request, or an error
    /// response when the head was bad.
    /// The head is the one in `self.block`, whose fields it takes.
    fn finish_head(&mut self, cx: &mut SessionRef, id: StreamId, end_stream: bool) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        // With `end_stream`, the stream was made ended (`on_begin_headers`).
        match self.block.head.take_request(entry.stream(), end_stream) {
            Ok(mut request) => {
                if self.request_extensions {
                    let extensions = request.extensions_mut();
                    if let Some(info) = &self.info {
                        extensions.insert(info.clone());
                    }
                    extensions.insert(Informational::new(entry.stream.clone()));
                    extensions.insert(StreamOutcome::of(&entry.stream));
                }
                if self.push {
                    Push::offer(cx, &entry.stream, &mut request);
                }
                entry.is_head = request.method() == Method::HEAD;
                entry.is_connect = request.method() == Method::CONNECT;
                if entry.is_connect && request.extensions().get::<Protocol>().is_some() {
                    request.extensions_mut().insert(H2Connect {
                        stream: entry.stream.clone(),
                    });
                }
                entry.phase = Phase::New(request);
                // Counted when handed to the service (`to_poll`).
                self.to_poll.push(id);
            }
            Err(status) => {
                // What the bad head kept goes now, not with the next head.
                self.block.head = Head::default();
                tracing::debug!(stream = %id, %status, "rejecting request");
                entry.phase = Phase::Done;
                entry.stream().state().body_dropped = true;
                let _ = cx.submit_response(
                    id,
                    [HeaderRef::new(b":status", status.as_str().as_bytes())],
                    None,
                );
            }
        }
    }

    /// Makes stream 1 of the HTTP/1.1 request that upgraded the
    /// connection (nghttp2 opened the stream half-closed); its body was
    /// read already.
    pub(crate) fn adopt_upgraded(&mut self, upgrade: Upgrade) {
        let id = StreamId::new(1).unwrap_or_default();
        let stream = Stream::new(Some(id), self.scheduler.clone());
        let content_length = upgrade.body.len() as u64;
        // Bytes HTTP/2 flow control never counted: nothing to give back.
        stream.preload(upgrade.body, upgrade.trailers, Some(&self.stats));
        let mut parts = upgrade.parts;
        parts.version = Version::HTTP_2;
        let request = Request::from_parts(
            parts,
            RequestBody::new(stream.clone(), Some(content_length)),
        );
        self.last_client_stream = id;
        // Counted as a request when HTTP/1.1 read it.
        self.insert_complete(id, stream.clone(), request);
        stream.schedule_poll();
    }

    /// Adds the entry of a stream whose request is complete already (an
    /// upgraded or a pushed one): it waits for the service.
    fn insert_complete(
        &mut self,
        id: StreamId,
        stream: Arc<H2Stream>,
        mut request: Request<RequestBody>,
    ) {
        let is_head = request.method() == Method::HEAD;
        if self.request_extensions {
            request.extensions_mut().insert(StreamOutcome::of(&stream));
        }
        self.streams.insert(
            id,
            Box::new(Entry {
                waker: Waker::from(stream.clone()),
                stream,
                phase: Phase::New(Box::new(request)),
                is_head,
                is_connect: false,
            }),
        );
    }

    /// Makes the entry of stream `id`, promised by a PUSH_PROMISE just
    /// submitted (server push): its request, complete and without a body,
    /// goes to the service once the PUSH_PROMISE is sent
    /// ([`promise_sent`](ConnHandler::promise_sent)).
    pub(crate) fn adopt_pushed(&mut self, id: StreamId, parts: http::request::Parts) {
        let stream = Stream::new(Some(id), self.scheduler.clone());
        // No body, and none to count in the windows.
        stream.preload(bytes::Bytes::new(), None, None);
        let mut request = Request::from_parts(parts, RequestBody::empty());
        if let Some(info) = self.info.as_ref().filter(|_| self.request_extensions) {
            request.extensions_mut().insert(info.clone());
        }
        self.stats.count_request();
        self.insert_complete(id, stream, request);
    }

    /// Sends the informational responses stream `id`'s handler queued.
    pub(crate) fn send_informational(&mut self, cx: &mut SessionRef, id: StreamId) {
        if let Some(entry) = self.streams.get(&id) {
            let heads = entry.asks().take_informational();
            if !heads.is_empty() {
                // Queued before the final response (which takes the rest
                // itself), on a stream that is open.
                submit_informational(cx, id, heads);
            }
        }
    }

    /// Polls a stream's service: readiness, the call, the future, and
    /// submits the response it gives.
    pub(crate) fn poll_stream(&mut self, cx: &mut SessionRef, id: StreamId) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        let polled = poll_entry(&mut self.service, entry, cx, &mut self.stamps);
        // Pushes the handler made (`Push::push` asks for a poll).
        let pushes = entry.asks().promises.waiting();
        match polled {
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
                        e.stream().schedule_poll();
                    }
                }
            }
            _ => {}
        }
        if pushes {
            self.send_pushes(cx, id);
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
    stamps: &mut Stamps,
) -> Polled {
    let id = entry.stream().id();
    let mut tcx = TaskContext::from_waker(&entry.waker);
    let mut outcome = Polled::Other;
    loop {
        match &mut entry.phase {
            Phase::New(_) => {
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
                let Phase::New(request) = std::mem::replace(&mut entry.phase, Phase::Done) else {
                    return outcome;
                };
                // The future is made straight into its box where the
                // compiler can: a future is often large, and
                // `Box::pin(call())` copies it from the stack.
                let slot = Box::new_uninit();
                match catch_unwind(AssertUnwindSafe(|| {
                    Box::write(slot, service.call(*request))
                })) {
                    Ok(future) => entry.phase = Phase::Running(Box::into_pin(future)),
                    Err(_) => {
                        tracing::warn!(stream = %id, "service panicked in call");
                        let _ = cx.submit_rst_stream(id, Reason::INTERNAL_ERROR);
                        return outcome;
                    }
                }
                outcome = Polled::Called;
            }
            Phase::Running(future) => {
                let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut tcx)));
                match polled {
                    Ok(Poll::Pending) => {}
                    Ok(Poll::Ready(Ok(response))) => {
                        entry.phase = Phase::Responding;
                        submit_response(cx, entry, response, stamps);
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
    let _ = cx.submit_rst_stream(entry.stream().id(), Reason::INTERNAL_ERROR);
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

/// The `server` and `date` values the server adds to responses.
struct Stamps {
    server: Option<HeaderValue>,
    /// Now, read once per turn of the connection's loop (as nghttpd reads
    /// the time once per event loop iteration): a clock read per response
    /// cost 1.5% of the server's time under h2load. `None` until read in
    /// this turn.
    date: Option<Option<DateText>>,
}

impl Stamps {
    fn date(&mut self) -> Option<DateText> {
        *self.date.get_or_insert_with(date::now_text)
    }
}

/// A response's header block, read in place by nghttp2 until the HEADERS
/// frame is sent (no copy of names and values).
struct ResponseHead {
    status: StatusCode,
    /// The content-length digits, right-aligned from `length_from`.
    digits: [u8; 20],
    length_from: Option<usize>,
    date: Option<DateText>,
    server: Option<HeaderValue>,
    headers: HeaderMap,
}

impl HeaderBlock for ResponseHead {
    fn for_each_field<'a>(&'a self, field: &mut dyn FnMut(HeaderRef<'a>)) {
        field(HeaderRef::new(b":status", self.status.as_str().as_bytes()));
        if let Some(from) = self.length_from {
            field(HeaderRef::new(b"content-length", &self.digits[from..]));
        }
        if let Some(date) = &self.date {
            field(HeaderRef::new(b"date", date));
        }
        if let Some(server) = &self.server {
            field(HeaderRef::new(b"server", server.as_bytes()));
        }
        for (name, value) in &self.headers {
            if !is_connection_specific(name, value) {
                field(HeaderRef::new(name.as_str().as_bytes(), value.as_bytes()));
            }
        }
    }
}

/// Submits informational (1xx) responses.
fn submit_informational(cx: &mut SessionRef, id: StreamId, heads: Vec<(StatusCode, HeaderMap)>) {
    for (status, headers) in heads {
        let fields = std::iter::once(HeaderRef::new(b":status", status.as_str().as_bytes())).chain(
            headers
                .iter()
                .filter(|(name, value)| !is_connection_specific(name, value))
                .map(|(name, value)| HeaderRef::new(name.as_str().as_bytes(), value.as_bytes())),
        );
        if let Err(e) = cx.submit_headers(Some(id), fields, false) {
            tracing::debug!(stream = %id, %status, error = %e, "informational response not submitted");
        }
    }
}

/// Submits the service's response: the informational responses still
/// queued, its head now, its body as a data source the session pulls as
/// the client's windows open (or, when the handler upgraded an extended
/// CONNECT, the pipe its writes go through).
fn submit_response<F, B>(
    cx: &mut SessionRef,
    entry: &mut Entry<F>,
    response: Response<B>,
    stamps: &mut Stamps,
) where
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::server::BoxError>,
{
    let id = entry.stream().id();
    let (informational, upgrade) = entry.asks().respond();
    submit_informational(cx, id, informational);
    // RFC 9113 section 8.4: promises before the response that may refer
    // to them.
    if entry.asks().promises.waiting() {
        push::submit(cx, &entry.stream);
    }
    let (parts, body) = response.into_parts();
    let status = parts.status;
    // RFC 9110 section 9.3.6: a 2xx to CONNECT has no content-length; its
    // stream goes on as a tunnel, the upgrade's when the handler asked.
    let tunnel = entry.is_connect && status.is_success();
    let upgraded = match upgrade {
        Some(tx) if tunnel => {
            let (writer, reader) = upgrade::pipe();
            tx.send(writer).is_ok().then_some(reader)
        }
        _ => None,
    };
    let no_body = upgraded.is_none()
        && (entry.is_head
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || body.is_end_stream());
    // Which of the fields the server adds the handler set itself, and its
    // `priority` field: one pass over its (few) fields, not a hashed
    // lookup for each.
    let (mut has_date, mut has_server, mut has_length) = (false, false, false);
    let mut priority_field = None;
    for (name, value) in &parts.headers {
        has_date |= name == header::DATE;
        has_server |= name == header::SERVER;
        has_length |= name == header::CONTENT_LENGTH;
        if *name == PRIORITY {
            priority_field.get_or_insert(value);
        }
    }
    let priority = Priority::of_response(&parts.extensions, priority_field);
    let mut head = ResponseHead {
        status,
        digits: [0u8; 20],
        length_from: None,
        date: if has_date { None } else { stamps.date() },
        server: stamps.server.as_ref().filter(|_| !has_server).cloned(),
        headers: parts.headers,
    };
    if let Some(n) = body.size_hint().exact() {
        if !tunnel && !has_length && status != 204 {
            head.length_from = Some(20 - decimal(n, &mut head.digits).len());
        }
    }
    let source: Option<Box<dyn DataSource>> = if let Some(reader) = upgraded {
        Some(Box::new(BodySource::new(
            Box::pin(reader),
            entry.take_waker(),
            id,
            "upgraded stream",
        )))
    } else if no_body {
        None
    } else {
        Some(Box::new(BodySource::new(
            Box::pin(body),
            entry.take_waker(),
            id,
            "response body",
        )))
    };
    // RFC 9218: the handler's priority for its response, applied before
    // the response so that its first DATA is scheduled by it; from now on
    // the client's PRIORITY_UPDATEs for the stream are ignored (nghttpx's
    // `ignore_client_signal`). A no-op unless the server sent
    // SETTINGS_NO_RFC7540_PRIORITIES=1.
    if let Some(p) = priority {
        if let Err(e) = cx.change_extpri_stream_priority(id, p.urgency, p.incremental, true) {
            tracing::debug!(stream = %id, error = %e, "response priority not applied");
        }
    }
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
        // A request head, or its trailers.
        let trailers = if frame.headers_category() == Some(HeadersCategory::Request) {
            let stream = if frame.is_end_stream() {
                Stream::new_without_body(id, self.scheduler.clone())
            } else {
                Stream::new(Some(id), self.scheduler.clone())
            };
            self.streams.insert(
                id,
                Box::new(Entry {
                    waker: Waker::from(stream.clone()),
                    stream,
                    phase: Phase::Headers,
                    is_head: false,
                    is_connect: false,
                }),
            );
            None
        } else if self.streams.contains_key(&id) {
            Some(HeaderMap::new())
        } else {
            // Not a stream of ours: its fields are not kept.
            self.block.stream = StreamId::CONNECTION;
            return Ok(());
        };
        self.block = Block {
            stream: id,
            head: Head::default(),
            trailers,
        };
        Ok(())
    }

    fn on_header(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        field: HeaderRef<'_>,
    ) -> CallbackResult {
        let block = &mut self.block;
        if frame.stream_id() != block.stream || !block.head.count(&field, self.max_header_list_size)
        {
            return Ok(());
        }
        match &mut block.trailers {
            Some(trailers) => add_trailer(trailers, field).map_err(|()| CallbackError::ResetStream),
            None => {
                block.head.add_field(field, &mut self.repeated);
                Ok(())
            }
        }
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        match frame.frame_type() {
            FrameType::HEADERS => {
                if self.block.stream != id {
                    return Ok(());
                }
                // The block is done with; `on_begin_headers` starts the
                // next one afresh.
                self.block.stream = StreamId::CONNECTION;
                let trailers = self.block.trailers.take();
                let Some(entry) = self.streams.get_mut(&id) else {
                    return Ok(());
                };
                if let Some(trailers) = trailers {
                    entry.stream().recv_end(Some(trailers));
                } else if matches!(entry.phase, Phase::Headers) {
                    self.finish_head(cx, id, frame.is_end_stream());
                }
            }
            FrameType::DATA if frame.is_end_stream() => {
                if let Some(entry) = self.streams.get(&id) {
                    entry.stream().recv_end(None);
                }
            }
            FrameType::RST_STREAM => {
                if let (Some(entry), Some(reason)) = (self.streams.get(&id), frame.error_code()) {
                    entry.asks().end.set(StreamEnd::Reset {
                        reason,
                        initiator: Initiator::Remote,
                    });
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

    fn on_frame_send(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        if frame.frame_type() == FrameType::PUSH_PROMISE {
            self.promise_sent(frame);
        }
        Ok(())
    }

    fn on_frame_not_send(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        if frame.frame_type() == FrameType::PUSH_PROMISE {
            self.promise_not_sent(frame, error);
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
        let stream = self.streams.get(&stream_id).map(|e| &**e.stream());
        Stream::recv_data_on(stream, cx, stream_id, data, Some(&self.stats));
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        if self.block.stream == stream_id {
            // Reset in the middle of its header block.
            self.block = Block::default();
        }
        let Some(entry) = self.streams.remove(&stream_id) else {
            return Ok(());
        };
        // Out of `streams`, the stream no longer counts as open, nor its
        // handler as live, though the entry (and the handler's future) is
        // dropped only once the C call returns.
        // A reset by the client was recorded when it arrived.
        entry.asks().end.set(if reason == Reason::NO_ERROR {
            StreamEnd::Complete
        } else {
            StreamEnd::Reset {
                reason,
                initiator: Initiator::Local,
            }
        });
        if matches!(entry.phase, Phase::New(_) | Phase::Running(_)) {
            tracing::debug!(stream = %stream_id, %reason, "stream closed; cancelling its handler");
        }
        let reason = if reason == Reason::NO_ERROR {
            Reason::CANCEL
        } else {
            reason
        };
        entry.stream().close(
            cx,
            Some(Failure::Reset(stream_id, reason, Initiator::Remote)),
        );
        self.closed.push(entry);
        Ok(())
    }
}

impl<S: HttpService> Drop for ConnHandler<S> {
    fn drop(&mut self) {
        // Nothing is served any more: wake-ups from now on (a handler's
        // task dropping an upgraded stream's writer, say) must not queue
        // streams, whose `Arc`s back to the scheduler would then never be
        // freed when the connection's task was dropped without ending.
        self.scheduler.close();
        for (id, entry) in self.streams.drain() {
            entry
                .stream()
                .fail(Failure::Reset(id, Reason::CANCEL, Initiator::Remote));
            let _ = catch_unwind(AssertUnwindSafe(|| drop(entry)));
        }
    }
}
