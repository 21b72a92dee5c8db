//! One connection: the [`Session`] handler that turns frames into requests,
//! and the pump that moves bytes between the socket and the session.

use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use http::header::{self, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, Reason};
use crate::server::body::{BodySource, ConnShared, RequestBody, Stream};
use crate::server::connect_info::ConnectionInfo;
use crate::server::informational::Informational;
use crate::server::service::HttpService;
use crate::server::stats::StatsInner;
use crate::server::upgrade::{self, H2Connect, Protocol};
use crate::server::Config;
use crate::session::StreamMap;
use crate::session::{
    CallbackResult, Context, DataSource, Flags, Frame, FrameHeader, FrameType, Handler, HeaderRef,
    HeadersCategory, Session,
};
use crate::trace::Traced;
use crate::write_buf::WriteBuf;

/// Where a stream's request is in its life, on the connection task's side.
// The request is held inline: boxing it would cost an allocation per
// request, and it moves into the service on the same pass of the pump.
#[allow(clippy::large_enum_variant)]
enum Phase<F> {
    /// Request header fields are arriving.
    Headers,
    /// The request is complete; the service has not taken it yet.
    New(Request<RequestBody>),
    /// The service's future runs.
    Running(Pin<Box<F>>),
    /// The response is submitted; its body (if any) is pulled by nghttp2.
    Responding,
    /// Nothing more to do on this side (rejected, failed, or done).
    Done,
}

/// The request head as its fields arrive.
#[derive(Default)]
struct Head {
    method: Option<Method>,
    scheme: Option<Scheme>,
    authority: Option<Authority>,
    path: Option<PathAndQuery>,
    headers: HeaderMap,
    content_length: Option<u64>,
    /// The `:protocol` of an extended CONNECT (RFC 8441).
    protocol: Option<Protocol>,
    /// Bytes counted as SETTINGS_MAX_HEADER_LIST_SIZE counts them.
    size: usize,
    /// Why the request cannot be served, when a field was bad.
    reject: Option<StatusCode>,
}

struct Entry<F> {
    stream: Arc<Stream>,
    waker: Waker,
    phase: Phase<F>,
    head: Head,
    /// Trailer fields being received.
    trailers: Option<HeaderMap>,
    is_head: bool,
    /// A CONNECT: a 2xx answer has no content-length, and may upgrade.
    is_connect: bool,
}

/// The session handler of a server connection. It never runs user code:
/// callbacks only record state; services and bodies are polled by the
/// connection task between session calls.
pub(crate) struct ConnHandler<S: HttpService> {
    service: S,
    streams: StreamMap<Entry<S::Future>>,
    shared: Arc<ConnShared>,
    max_header_list_size: usize,
    /// Entries of closed streams, dropped outside nghttp2's callbacks
    /// (their futures run user code when dropped).
    closed: Vec<Entry<S::Future>>,
    /// Streams whose service said "not ready".
    waiting_ready: Vec<i32>,
    got_settings: bool,
    settings_acked: bool,
    /// Put into every request's extensions.
    info: Option<ConnectionInfo>,
    /// The `server` response header.
    server_header: Option<HeaderValue>,
    /// The largest stream id a client HEADERS frame named so far.
    last_client_stream: i32,
    /// Ranges of client stream ids skipped over (so never opened), for
    /// RFC 9113 section 5.1.1: a HEADERS on one of them is a stream id
    /// going backwards. Only the first few gaps are kept; nghttp2 itself
    /// ignores such HEADERS.
    id_gaps: Vec<(i32, i32)>,
}

/// How many skipped stream id ranges a connection remembers.
const MAX_ID_GAPS: usize = 16;

impl<S: HttpService> ConnHandler<S> {
    fn stats(&self) -> &StatsInner {
        &self.shared.stats
    }

    /// Completes a request head: the stream gets its request, or an error
    /// response when the head was bad.
    fn finish_head(&mut self, cx: &mut Context, id: i32, end_stream: bool) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        if end_stream {
            entry.stream.state().end = true;
        }
        let head = std::mem::take(&mut entry.head);
        match build_request(head, &entry.stream) {
            Ok(mut request) => {
                let extensions = request.extensions_mut();
                if let Some(info) = &self.info {
                    extensions.insert(info.clone());
                }
                extensions.insert(Informational::new(entry.stream.clone()));
                entry.is_head = request.method() == Method::HEAD;
                entry.is_connect = request.method() == Method::CONNECT;
                if entry.is_connect && request.extensions().get::<Protocol>().is_some() {
                    request.extensions_mut().insert(H2Connect {
                        stream: entry.stream.clone(),
                    });
                }
                entry.phase = Phase::New(request);
                self.shared.stats.count_request();
                self.shared.stats.add_live_handlers(1);
                entry.stream.schedule_poll();
            }
            Err(status) => {
                tracing::debug!(stream = id, %status, "rejecting request");
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

    /// Makes stream 1 of the HTTP/1.1 request that upgraded the
    /// connection (nghttp2 opened the stream half-closed); its body was
    /// read already.
    fn adopt_upgraded(&mut self, upgrade: Upgrade) {
        let stream = Stream::new(1, self.shared.clone(), true);
        {
            let mut st = stream.state();
            // Bytes HTTP/2 flow control never counted: nothing to give back.
            st.detached = true;
            if !upgrade.body.is_empty() {
                st.buffered = upgrade.body.len();
                st.chunks.push_back(upgrade.body);
            }
            st.trailers = upgrade.trailers;
        }
        self.stats().add_recv_buffered(stream.state().buffered);
        let content_length = stream.state().buffered as u64;
        let mut parts = upgrade.parts;
        parts.version = Version::HTTP_2;
        let is_head = parts.method == Method::HEAD;
        let request = Request::from_parts(
            parts,
            RequestBody::new(stream.clone(), Some(content_length)),
        );
        let waker = Waker::from(stream.clone());
        self.last_client_stream = 1;
        self.streams.insert(
            1,
            Entry {
                stream: stream.clone(),
                waker,
                phase: Phase::New(request),
                head: Head::default(),
                trailers: None,
                is_head,
                is_connect: false,
            },
        );
        // Counted as a request when HTTP/1.1 read it.
        self.stats().add_open_streams(1);
        self.stats().add_live_handlers(1);
        stream.schedule_poll();
    }

    /// Polls a stream's service: readiness, the call, the future, and
    /// submits the response it gives.
    fn poll_stream(&mut self, cx: &mut Context, id: i32) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        match poll_entry(
            &mut self.service,
            entry,
            cx,
            &self.shared.stats,
            self.server_header.as_ref(),
        ) {
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
    cx: &mut Context,
    stats: &StatsInner,
    server_header: Option<&HeaderValue>,
) -> Polled {
    let id = entry.stream.id;
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
                        fail_stream(cx, entry, stats);
                        return outcome;
                    }
                    Err(_) => {
                        tracing::warn!(stream = id, "service panicked in poll_ready");
                        fail_stream(cx, entry, stats);
                        return outcome;
                    }
                }
                let Phase::New(request) = std::mem::replace(&mut entry.phase, Phase::Done) else {
                    return outcome;
                };
                match catch_unwind(AssertUnwindSafe(|| service.call(request))) {
                    Ok(future) => entry.phase = Phase::Running(Box::pin(future)),
                    Err(_) => {
                        tracing::warn!(stream = id, "service panicked in call");
                        stats.sub_live_handlers(1);
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
                        stats.sub_live_handlers(1);
                        entry.phase = Phase::Responding;
                        submit_response(cx, entry, response, server_header);
                    }
                    Ok(Poll::Ready(Err(e))) => {
                        let e: crate::server::BoxError = e.into();
                        tracing::debug!(stream = id, error = %e, "handler failed");
                        fail_stream(cx, entry, stats);
                    }
                    Err(_) => {
                        tracing::warn!(stream = id, "handler panicked; resetting its stream");
                        fail_stream(cx, entry, stats);
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
fn fail_stream<F>(cx: &mut Context, entry: &mut Entry<F>, stats: &StatsInner) {
    if matches!(entry.phase, Phase::New(_) | Phase::Running(_)) {
        stats.sub_live_handlers(1);
    }
    entry.phase = Phase::Done;
    let _ = cx.submit_rst_stream(entry.stream.id, Reason::INTERNAL_ERROR);
}

/// True for header fields HTTP/2 forbids (RFC 9113 section 8.2.2).
fn is_connection_specific(name: &HeaderName, value: &HeaderValue) -> bool {
    *name == header::CONNECTION
        || *name == header::TRANSFER_ENCODING
        || *name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
        || (*name == header::TE && value.as_bytes() != b"trailers")
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

/// Submits the informational (1xx) responses a handler queued.
fn submit_informational(cx: &mut Context, id: i32, heads: Vec<(StatusCode, HeaderMap)>) {
    for (status, headers) in heads {
        let fields = std::iter::once(HeaderRef::new(b":status", status.as_str().as_bytes())).chain(
            headers
                .iter()
                .filter(|(name, value)| !is_connection_specific(name, value))
                .map(|(name, value)| HeaderRef::new(name.as_str().as_bytes(), value.as_bytes())),
        );
        if let Err(e) = cx.submit_headers(id, fields, false) {
            tracing::debug!(stream = id, %status, error = %e, "informational response not submitted");
        }
    }
}

fn submit_response<F, B>(
    cx: &mut Context,
    entry: &mut Entry<F>,
    response: Response<B>,
    server_header: Option<&HeaderValue>,
) where
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::server::BoxError>,
{
    let id = entry.stream.id;
    let (informational, upgrade) = {
        let mut st = entry.stream.state();
        st.responded = true;
        (std::mem::take(&mut st.informational), st.upgrade.take())
    };
    submit_informational(cx, id, informational);
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
    let date = crate::server::date::now();
    let mut digits = [0u8; 20];
    let length = match body.size_hint().exact() {
        Some(n)
            if !tunnel && !parts.headers.contains_key(header::CONTENT_LENGTH) && status != 204 =>
        {
            Some(HeaderRef::new(b"content-length", decimal(n, &mut digits)))
        }
        _ => None,
    };
    let fields = std::iter::once(HeaderRef::new(b":status", status.as_str().as_bytes()))
        .chain(length)
        .chain(
            (!parts.headers.contains_key(header::DATE))
                .then(|| HeaderRef::new(b"date", date.as_bytes())),
        )
        .chain(
            server_header
                .filter(|_| !parts.headers.contains_key(header::SERVER))
                .map(|v| HeaderRef::new(b"server", v.as_bytes())),
        )
        .chain(
            parts
                .headers
                .iter()
                .filter(|(name, value)| !is_connection_specific(name, value))
                .map(|(name, value)| HeaderRef::new(name.as_str().as_bytes(), value.as_bytes())),
        );
    let source: Option<Box<dyn DataSource>> = if let Some(reader) = upgraded {
        Some(Box::new(BodySource::new(
            Box::pin(reader),
            entry.waker.clone(),
            entry.stream.clone(),
            "upgraded stream",
        )))
    } else if no_body {
        None
    } else {
        Some(Box::new(BodySource::new(
            Box::pin(body),
            entry.waker.clone(),
            entry.stream.clone(),
            "response body",
        )))
    };
    if let Err(e) = cx.submit_response(id, fields, source) {
        tracing::debug!(stream = id, error = %e, "response not submitted");
        entry.phase = Phase::Done;
    }
}

fn build_request(mut head: Head, stream: &Arc<Stream>) -> Result<Request<RequestBody>, StatusCode> {
    if let Some(status) = head.reject {
        return Err(status);
    }
    let method = head.method.take().ok_or(StatusCode::BAD_REQUEST)?;
    let mut parts = http::uri::Parts::default();
    let authority = match head.authority.take() {
        Some(a) => Some(a),
        None => head
            .headers
            .get(header::HOST)
            .and_then(|h| Authority::try_from(h.as_bytes()).ok()),
    };
    if authority.is_some() {
        parts.scheme = head.scheme.take();
    }
    parts.authority = authority;
    parts.path_and_query = head.path.take();
    let uri = Uri::from_parts(parts).map_err(|_| StatusCode::BAD_REQUEST)?;
    let mut request = Request::new(RequestBody::new(stream.clone(), head.content_length));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_2;
    *request.headers_mut() = head.headers;
    if let Some(protocol) = head.protocol.take() {
        request.extensions_mut().insert(protocol);
    }
    Ok(request)
}

impl<S: HttpService> Handler for ConnHandler<S> {
    fn on_begin_frame(&mut self, cx: &mut Context, header: &FrameHeader) -> CallbackResult {
        let id = header.stream_id;
        if header.frame_type != FrameType::HEADERS || id % 2 == 0 {
            return Ok(());
        }
        if id > self.last_client_stream {
            if id > self.last_client_stream + 2 && self.id_gaps.len() < MAX_ID_GAPS {
                self.id_gaps.push((self.last_client_stream + 2, id - 2));
            }
            self.last_client_stream = id;
        } else if self.id_gaps.iter().any(|&(lo, hi)| lo <= id && id <= hi) {
            // A stream the client skipped is closed (section 5.1.1);
            // opening it now is a stream id going backwards.
            tracing::debug!(stream = id, "stream id going backwards");
            let _ = cx.terminate(Reason::PROTOCOL_ERROR);
        }
        Ok(())
    }

    fn on_begin_headers(&mut self, _cx: &mut Context, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        if frame.headers_category() == Some(HeadersCategory::Request) {
            let stream = Stream::new(id, self.shared.clone(), false);
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
                    is_connect: false,
                },
            );
            self.stats().add_open_streams(1);
        } else if let Some(entry) = self.streams.get_mut(&id) {
            entry.trailers = Some(HeaderMap::new());
            entry.head.size = 0;
        }
        Ok(())
    }

    fn on_header(
        &mut self,
        _cx: &mut Context,
        frame: &Frame<'_>,
        field: HeaderRef<'_>,
    ) -> CallbackResult {
        let Some(entry) = self.streams.get_mut(&frame.stream_id()) else {
            return Ok(());
        };
        let head = &mut entry.head;
        if head.reject.is_some() {
            return Ok(());
        }
        head.size += field.name.len() + field.value.len() + 32;
        if head.size > self.max_header_list_size {
            head.reject = Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            return Ok(());
        }
        let bad = Some(StatusCode::BAD_REQUEST);
        if let Some(trailers) = &mut entry.trailers {
            match (
                HeaderName::from_bytes(field.name),
                HeaderValue::from_bytes(field.value),
            ) {
                (Ok(name), Ok(value)) => {
                    trailers.append(name, value);
                }
                _ => return Err(crate::session::CallbackError::ResetStream),
            }
            return Ok(());
        }
        match field.name {
            b":method" => head.method = Method::from_bytes(field.value).ok(),
            b":scheme" => head.scheme = Scheme::try_from(field.value).ok(),
            b":authority" => match Authority::try_from(field.value) {
                Ok(a) => head.authority = Some(a),
                Err(_) => head.reject = bad,
            },
            b":path" => match PathAndQuery::try_from(field.value) {
                Ok(p) => head.path = Some(p),
                Err(_) => head.reject = bad,
            },
            b":protocol" => head.protocol = Some(Protocol::from_bytes(field.value)),
            name => match (
                HeaderName::from_bytes(name),
                HeaderValue::from_bytes(field.value),
            ) {
                (Ok(name), Ok(value)) => {
                    if name == header::CONTENT_LENGTH {
                        head.content_length = std::str::from_utf8(field.value)
                            .ok()
                            .and_then(|v| v.parse().ok());
                    }
                    head.headers.append(name, value);
                }
                _ => head.reject = bad,
            },
        }
        Ok(())
    }

    fn on_frame_recv(&mut self, cx: &mut Context, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        match frame.frame_type() {
            FrameType::HEADERS => {
                let Some(entry) = self.streams.get_mut(&id) else {
                    return Ok(());
                };
                if let Some(trailers) = entry.trailers.take() {
                    let reader = {
                        let mut st = entry.stream.state();
                        st.trailers = Some(trailers);
                        st.end = true;
                        st.reader.take()
                    };
                    if let Some(w) = reader {
                        w.wake();
                    }
                } else if matches!(entry.phase, Phase::Headers) {
                    self.finish_head(cx, id, frame.is_end_stream());
                }
            }
            FrameType::DATA if frame.is_end_stream() => {
                if let Some(entry) = self.streams.get(&id) {
                    let reader = {
                        let mut st = entry.stream.state();
                        st.end = true;
                        st.reader.take()
                    };
                    if let Some(w) = reader {
                        w.wake();
                    }
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
        cx: &mut Context,
        stream_id: i32,
        data: &[u8],
        _flags: Flags,
    ) -> CallbackResult {
        let Some(entry) = self.streams.get(&stream_id) else {
            let _ = cx.consume(stream_id, data.len());
            return Ok(());
        };
        let mut st = entry.stream.state();
        if st.body_dropped || st.reset.is_some() {
            drop(st);
            let _ = cx.consume(stream_id, data.len());
            return Ok(());
        }
        st.chunks.push_back(bytes::Bytes::copy_from_slice(data));
        st.buffered += data.len();
        let reader = st.reader.take();
        drop(st);
        self.shared.stats.add_recv_buffered(data.len());
        if let Some(w) = reader {
            w.wake();
        }
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        cx: &mut Context,
        stream_id: i32,
        reason: Reason,
    ) -> CallbackResult {
        let Some(entry) = self.streams.remove(&stream_id) else {
            return Ok(());
        };
        let stats = &self.shared.stats;
        stats.sub_open_streams(1);
        if matches!(entry.phase, Phase::New(_) | Phase::Running(_)) {
            tracing::debug!(stream = stream_id, %reason, "stream closed; cancelling its handler");
            stats.sub_live_handlers(1);
        }
        let (unconsumed, dropped, reader) = {
            let mut st = entry.stream.state();
            let mut unconsumed = std::mem::take(&mut st.to_consume);
            let mut dropped = 0;
            if !st.detached {
                unconsumed += st.buffered;
            }
            st.detached = true;
            if !st.end {
                st.reset = Some(if reason == Reason::NO_ERROR {
                    Reason::CANCEL
                } else {
                    reason
                });
                st.chunks.clear();
                dropped = std::mem::take(&mut st.buffered);
            }
            (unconsumed, dropped, st.reader.take())
        };
        stats.sub_recv_buffered(dropped);
        if unconsumed > 0 {
            // The stream is gone; this returns the connection window.
            let _ = cx.consume(stream_id, unconsumed);
        }
        if let Some(w) = reader {
            w.wake();
        }
        self.closed.push(entry);
        Ok(())
    }
}

impl<S: HttpService> Drop for ConnHandler<S> {
    fn drop(&mut self) {
        // Nothing is served any more: wake-ups from now on (a handler's
        // task dropping an upgraded stream's writer, say) must not queue
        // streams, whose `Arc`s back to the queue would then never be
        // freed when the connection's task was dropped without ending.
        self.shared.close();
        let stats = &self.shared.stats;
        for (_, entry) in self.streams.drain() {
            stats.sub_open_streams(1);
            if matches!(entry.phase, Phase::New(_) | Phase::Running(_)) {
                stats.sub_live_handlers(1);
            }
            let reader = {
                let mut st = entry.stream.state();
                st.detached = true;
                if !st.end {
                    st.reset = Some(Reason::CANCEL);
                    st.chunks.clear();
                    stats.sub_recv_buffered(std::mem::take(&mut st.buffered));
                }
                st.reader.take()
            };
            if let Some(w) = reader {
                w.wake();
            }
            let _ = catch_unwind(AssertUnwindSafe(|| drop(entry)));
        }
    }
}

/// What the connection does once the session exists.
pub(crate) struct Setup<'a> {
    /// Bytes already read from the socket (the sniffed preface).
    pub(crate) initial: &'a [u8],
    /// End the connection at once with this code (TLS rules not met).
    pub(crate) fail: Option<Reason>,
    /// The connection was upgraded from HTTP/1.1 (`Upgrade: h2c`).
    pub(crate) upgrade: Option<Upgrade>,
    /// The connection's tracer, when it was made already (for HTTP/1.1).
    pub(crate) tracer: Option<crate::trace::Tracer>,
    /// Put into every request's extensions.
    pub(crate) info: Option<ConnectionInfo>,
}

/// An HTTP/1.1 request that asked for `Upgrade: h2c`, its body read: it
/// becomes stream 1 (`nghttp2_session_upgrade2`).
pub(crate) struct Upgrade {
    /// The decoded `HTTP2-Settings`.
    pub(crate) settings: Vec<u8>,
    pub(crate) parts: http::request::Parts,
    pub(crate) body: bytes::Bytes,
    pub(crate) trailers: Option<HeaderMap>,
}

/// One connection's pump: owns the socket and the session.
pub(crate) struct Conn<I, S: HttpService> {
    io: I,
    session: Session<Traced<ConnHandler<S>>>,
    shared: Arc<ConnShared>,
    rbuf: Box<[u8]>,
    wbuf: WriteBuf,
    /// Bytes of `wbuf` last added to the stats.
    reported: usize,
    /// nghttp2's outbound queue length last added to the stats.
    reported_queue: usize,
    /// Stop reading; exit once the output is out.
    closing: bool,
    /// The session failed to send: nothing more can come out of it.
    failed: bool,
    dirty: Vec<Arc<Stream>>,
    reads: u64,
    /// Successful socket writes, for the idle and write timeouts.
    writes: u64,
    write_timeout: Duration,
    /// `writes` when the socket last refused bytes: the write timeout runs
    /// from then until a write succeeds.
    stall_mark: Option<u64>,
    /// The write timeout's timer, made on the first stall.
    write_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

pub(crate) async fn serve<I, S>(
    io: I,
    service: S,
    config: Arc<Config>,
    stats: Arc<StatsInner>,
    shutdown: Option<watch::Receiver<bool>>,
    setup: Setup<'_>,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: HttpService,
{
    let shared = Arc::new(ConnShared::new(stats.clone()));
    let handler = ConnHandler {
        service,
        streams: StreamMap::default(),
        shared: shared.clone(),
        max_header_list_size: config.max_header_list_size as usize,
        closed: Vec::new(),
        waiting_ready: Vec::new(),
        got_settings: false,
        settings_acked: false,
        info: setup.info,
        server_header: config.server_header.clone(),
        last_client_stream: 0,
        id_gaps: Vec::new(),
    };
    let tracer = match setup.tracer {
        Some(tracer) => tracer,
        None => config.trace.as_ref().map(|t| t.next()).unwrap_or_default(),
    };
    let mut session = Session::server(Traced::new(handler, tracer), &config.options())?;
    if let Some(upgrade) = setup.upgrade {
        let is_head = upgrade.parts.method == Method::HEAD;
        session.upgrade2(&upgrade.settings, is_head)?;
        session.handler_mut().inner_mut().adopt_upgraded(upgrade);
    }
    session.submit_settings(&config.settings())?;
    if config.initial_connection_window_size > 65_535 {
        session.set_local_window_size(0, config.initial_connection_window_size as i32)?;
    }
    if let Some(reason) = setup.fail {
        session.terminate(reason)?;
    }
    let mut conn = Conn {
        io,
        session,
        shared: shared.clone(),
        rbuf: vec![0; config.read_buffer_size].into_boxed_slice(),
        wbuf: WriteBuf::new(config.write_high_water),
        reported: 0,
        reported_queue: 0,
        closing: false,
        failed: false,
        dirty: Vec::new(),
        reads: 0,
        writes: 0,
        write_timeout: config.write_timeout,
        stall_mark: None,
        write_timer: None,
    };
    if !setup.initial.is_empty() && setup.fail.is_none() {
        conn.recv_bytes(setup.initial);
    }
    stats.add_connections(1);
    let result = conn.drive(&config, shutdown).await;
    let tracer = conn.session.handler_mut().tracer_mut();
    tracer.connection_closed();
    let _ = tracer.flush();
    stats.sub_connections(1);
    stats.sub_write_buffered(conn.reported);
    stats.sub_outbound_queued(conn.reported_queue);
    conn.reported = 0;
    conn.reported_queue = 0;
    if result.is_ok() {
        // Lingering close: the peer, having read the GOAWAY, closes first;
        // closing with its bytes unread would reset the connection and
        // could destroy the GOAWAY before it is read.
        let io = &mut conn.io;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let mut sink = [0u8; 4096];
            let mut total = 0;
            while total < 256 * 1024 {
                match io.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(1), conn.io.shutdown()).await;
    }
    shared.close();
    result
}

async fn wait_shutdown(rx: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = rx {
        loop {
            if *rx.borrow_and_update() {
                return;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    }
    std::future::pending::<()>().await
}

impl<I, S> Conn<I, S>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: HttpService,
{
    async fn drive(
        &mut self,
        config: &Config,
        mut shutdown: Option<watch::Receiver<bool>>,
    ) -> Result<(), Error> {
        let start = Instant::now();
        let far = start + Duration::from_secs(86_400 * 365);
        let handshake_deadline = start + config.handshake_timeout;
        let ack_deadline = start + config.settings_timeout;
        let mut grace_deadline: Option<Instant> = None;
        let mut idle_deadline = config.idle_timeout.map(|d| start + d);
        let mut seen_reads = 0;
        let mut seen_writes = 0;
        let first_tick = handshake_deadline
            .min(ack_deadline)
            .min(idle_deadline.unwrap_or(far));
        let mut timer = pin!(tokio::time::sleep_until(first_tick));
        loop {
            tokio::select! {
                biased;
                result = poll_fn(|cx| self.poll_pump(cx)) => return result,
                _ = wait_shutdown(&mut shutdown), if grace_deadline.is_none() => {
                    tracing::debug!("graceful shutdown: sending GOAWAY");
                    let last = self.session.last_proc_stream_id();
                    if self.session.submit_goaway(last, Reason::NO_ERROR, b"").is_err() {
                        self.closing = true;
                    }
                    grace_deadline = Some(Instant::now() + config.shutdown_grace);
                }
                _ = &mut timer => {
                    let now = Instant::now();
                    let (got_settings, acked) = {
                        let h = self.session.handler().inner();
                        (h.got_settings, h.settings_acked)
                    };
                    if !got_settings && now >= handshake_deadline {
                        tracing::debug!("no HTTP/2 preface in time; closing");
                        self.trace_limit(&format!(
                            "handshake timeout: no SETTINGS from the client within {:?}; closing",
                            config.handshake_timeout
                        ));
                        return Ok(());
                    }
                    if !acked && now >= ack_deadline && !self.closing {
                        tracing::debug!("SETTINGS not acknowledged in time");
                        self.trace_limit(&format!(
                            "settings timeout: SETTINGS not acknowledged within {:?}; GOAWAY SETTINGS_TIMEOUT",
                            config.settings_timeout
                        ));
                        let _ = self.session.terminate(Reason::SETTINGS_TIMEOUT);
                        self.closing = true;
                    }
                    if grace_deadline.is_some_and(|g| now >= g) {
                        tracing::debug!("shutdown grace period over; closing");
                        self.trace_limit(&format!(
                            "shutdown grace period of {:?} over; closing",
                            config.shutdown_grace
                        ));
                        let _ = self.session.terminate(Reason::NO_ERROR);
                        self.closing = true;
                        grace_deadline = Some(far);
                    }
                    if let (Some(idle), Some(deadline)) = (config.idle_timeout, idle_deadline) {
                        if self.reads != seen_reads || self.writes != seen_writes || self.busy() {
                            seen_reads = self.reads;
                            seen_writes = self.writes;
                            idle_deadline = Some(now + idle);
                        } else if now >= deadline {
                            let open = self.session.handler().inner().streams.len();
                            tracing::debug!(open, "idle connection; sending GOAWAY");
                            self.trace_limit(&format!(
                                "idle timeout: nothing sent or received for {idle:?}, {open} streams waiting on the client; GOAWAY"
                            ));
                            let last = self.session.last_proc_stream_id();
                            let _ = self.session.submit_goaway(last, Reason::NO_ERROR, b"");
                            self.closing = true;
                            idle_deadline = None;
                        }
                    }
                    let mut next = grace_deadline.unwrap_or(far).min(idle_deadline.unwrap_or(far));
                    if !got_settings {
                        next = next.min(handshake_deadline);
                    }
                    if !acked && !self.closing {
                        next = next.min(ack_deadline);
                    }
                    timer.as_mut().reset(next.max(now + Duration::from_millis(1)));
                }
            }
        }
    }

    /// Runs handlers' requests, fills and writes the output, reads and
    /// feeds input, until nothing moves (Pending) or the connection is
    /// over (Ready).
    fn poll_pump(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        loop {
            self.process_dirty();
            self.fill();
            let mut progress = false;
            match self.wbuf.poll_write(&mut self.io, cx) {
                Ok(written) => {
                    self.writes += written.writes as u64;
                    progress |= written.writes > 0;
                    if written.stalled && self.write_stalled(cx) {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::TimedOut).into()));
                    }
                }
                Err(e) => return Poll::Ready(Err(e.into())),
            }
            self.report_buffered();
            if self.wbuf.is_idle()
                && (self.failed
                    || self.session.is_done()
                    || (self.closing && !self.session.has_output()))
            {
                return Poll::Ready(Ok(()));
            }
            if !self.closing && self.session.want_read() && self.wbuf.has_room() {
                let mut buf = ReadBuf::new(&mut self.rbuf);
                match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) => {
                        let n = buf.filled().len();
                        if n == 0 {
                            // The peer closed its side: nothing more will
                            // come for the streams left.
                            return Poll::Ready(Ok(()));
                        }
                        self.reads += 1;
                        self.recv_own(n);
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => {}
                }
            }
            if !progress && self.shared.park(cx.waker()) {
                return Poll::Pending;
            }
        }
    }

    /// Feeds `rbuf[..n]` to the session.
    fn recv_own(&mut self, n: usize) {
        let Conn { session, rbuf, .. } = self;
        let result = catch_unwind(AssertUnwindSafe(|| session.recv(&rbuf[..n])));
        self.after_recv(result);
    }

    fn recv_bytes(&mut self, data: &[u8]) {
        let session = &mut self.session;
        let result = catch_unwind(AssertUnwindSafe(|| session.recv(data)));
        self.after_recv(result);
    }

    fn after_recv(&mut self, result: std::thread::Result<Result<usize, Error>>) {
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "connection error");
                self.trace_limit(&format!("connection error: {e}; closing"));
                self.closing = true;
            }
            Err(_) => {
                tracing::warn!("panic while receiving; closing the connection");
                self.closing = true;
                self.failed = true;
            }
        }
        self.reap();
    }

    /// Drops the entries of closed streams, outside nghttp2's callbacks.
    fn reap(&mut self) {
        let closed = &mut self.session.handler_mut().inner_mut().closed;
        if !closed.is_empty() {
            let closed = std::mem::take(closed);
            if catch_unwind(AssertUnwindSafe(|| drop(closed))).is_err() {
                tracing::warn!("a handler panicked while being dropped");
            }
        }
    }

    /// Serves the streams handlers and bodies woke.
    fn process_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        self.shared.take_dirty(&mut dirty);
        for stream in dirty.drain(..) {
            let poll = stream.take_poll_needed();
            let (to_consume, informational) = {
                let mut st = stream.state();
                (
                    std::mem::take(&mut st.to_consume),
                    std::mem::take(&mut st.informational),
                )
            };
            let (handler, cx) = self.session.parts_mut();
            if to_consume > 0 {
                let _ = cx.consume(stream.id, to_consume);
            }
            if !informational.is_empty() {
                // Queued before the final response (which takes the rest
                // itself), on a stream that is open (`send` checks both).
                submit_informational(cx, stream.id, informational);
            }
            if poll {
                handler.inner_mut().poll_stream(cx, stream.id);
            }
        }
        self.dirty = dirty;
        self.reap();
    }

    /// Moves the session's output into the write buffer, up to the
    /// high-water mark.
    fn fill(&mut self) {
        if self.failed {
            return;
        }
        match self.wbuf.fill(&mut self.session) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "session failed to send");
                self.closing = true;
                self.failed = true;
            }
            Err(_) => {
                tracing::warn!("panic while sending; closing the connection");
                self.closing = true;
                self.failed = true;
            }
        }
        self.reap();
    }

    /// The socket refused bytes: starts the write timeout unless it runs
    /// since the last successful write, and answers true once it expired.
    fn write_stalled(&mut self, cx: &mut TaskContext<'_>) -> bool {
        let timeout = self.write_timeout;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if self.stall_mark != Some(self.writes) {
            self.stall_mark = Some(self.writes);
            timer.as_mut().reset(Instant::now() + timeout);
        }
        if timer.as_mut().poll(cx).is_pending() {
            return false;
        }
        tracing::debug!("write timeout: the peer reads nothing; closing");
        self.trace_limit(&format!(
            "write timeout: the client read nothing for {timeout:?}; closing"
        ));
        true
    }

    /// True while a stream waits on this side rather than on the peer: a
    /// handler at work (not just waiting for request body), or a response
    /// body the peer's windows would let through but the handler has not
    /// produced yet. Streams that wait only on the peer (for its request
    /// body, its window, or the end of its request) do not keep a
    /// connection from being idle. Looked at on idle-timer ticks only.
    fn busy(&self) -> bool {
        let cx: &Context = &self.session;
        let window_open = cx.remote_window_size() > 0;
        let streams = &self.session.handler().inner().streams;
        // The handler (or its response body, echoing it) last found the
        // request body empty and waits for the client to send more.
        let waits_for_body = |entry: &Entry<S::Future>| {
            let st = entry.stream.state();
            st.reader.is_some() && st.chunks.is_empty() && !st.end && st.reset.is_none()
        };
        streams.iter().any(|(&id, entry)| match entry.phase {
            Phase::New(_) => true,
            Phase::Running(_) => !waits_for_body(entry),
            Phase::Responding => {
                window_open
                    && cx.body_unfinished(id)
                    && cx.stream_remote_window_size(id).is_ok_and(|w| w > 0)
                    && !waits_for_body(entry)
            }
            Phase::Headers | Phase::Done => false,
        })
    }

    /// Says in the connection's trace (`-v`) which limit ended or is
    /// ending it, as nghttpd's `[ERROR]` lines do.
    fn trace_limit(&mut self, text: &str) {
        let tracer = self.session.handler_mut().tracer_mut();
        tracer.message(&format!("[ERROR] {text}"));
    }

    fn report_buffered(&mut self) {
        let now = self.wbuf.unsent();
        if now != self.reported {
            let stats = &self.shared.stats;
            if now > self.reported {
                stats.add_write_buffered(now - self.reported);
            } else {
                stats.sub_write_buffered(self.reported - now);
            }
            self.reported = now;
        }
        let queued = self.session.outbound_queue_size();
        if queued != self.reported_queue {
            let stats = &self.shared.stats;
            if queued > self.reported_queue {
                stats.add_outbound_queued(queued - self.reported_queue);
            } else {
                stats.sub_outbound_queued(self.reported_queue - queued);
            }
            self.reported_queue = queued;
        }
    }
}
