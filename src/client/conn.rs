//! One client connection: the [`Session`] handler that turns response
//! frames into responses, and the pump that moves bytes between the socket
//! and the session.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use http::{HeaderMap, Response, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot, watch};

use crate::client::body::ResponseBody;
use crate::client::informational::InformationalSender;
use crate::client::{End, Msg, Submit};
use crate::error::{Error, Initiator, LibError, Reason};
use crate::proto::fields::FieldCache;
use crate::proto::scheduler::Scheduler;
use crate::proto::stream::{Failure, Stream};
use crate::session::stream_map::StreamMap;
use crate::session::StreamId;
use crate::session::{
    CallbackError, CallbackResult, Flags, Frame, FrameType, Handler, HeaderRef, HeadersCategory,
    Options, Session, SessionRef, Setting,
};
use crate::trace::{Traced, Tracer};
use crate::write_buf::{with_read_buf, WriteBuf};

/// What a connection needs from the [`Builder`](crate::client::Builder).
pub(crate) struct Config {
    pub(crate) settings: Vec<Setting>,
    pub(crate) connection_window_size: Option<u32>,
    pub(crate) write_high_water: usize,
    pub(crate) read_buffer_size: usize,
    /// After an HTTP/1.1 `Upgrade: h2c`: the HTTP2-Settings payload sent,
    /// and whether the request was HEAD. `nghttp2_session_upgrade2` then
    /// opens stream 1 and submits the SETTINGS itself.
    pub(crate) upgrade: Option<(Vec<u8>, bool)>,
    /// The scheme and authority of requests whose URI has none.
    pub(crate) scheme: String,
    pub(crate) authority: String,
}

/// A request stream, on the connection task's side.
struct Entry {
    stream: Arc<Stream>,
    /// Where the response head goes; `None` once it went.
    reply: Option<oneshot::Sender<Result<Response<ResponseBody>, Error>>>,
    head_request: bool,
    /// This side reset the stream.
    cancelled: bool,
    /// Told when `100 Continue` arrives.
    on_continue: Option<oneshot::Sender<()>>,
    /// Where 1xx responses go, when the caller asked for them; dropped
    /// with the final response, which ends the caller's receiver.
    informational: Option<InformationalSender>,
}

impl Entry {
    /// A request stream whose response head goes to `reply`.
    fn new(
        stream: Arc<Stream>,
        reply: oneshot::Sender<Result<Response<ResponseBody>, Error>>,
        head_request: bool,
        on_continue: Option<oneshot::Sender<()>>,
        informational: Option<InformationalSender>,
    ) -> Entry {
        Entry {
            stream,
            reply: Some(reply),
            head_request,
            cancelled: false,
            on_continue,
            informational,
        }
    }
}

/// The header block being received. There is at most one per
/// connection: a HEADERS frame without END_HEADERS is followed by its
/// CONTINUATION frames, with no other frame between (RFC 9113 section
/// 6.10), so the fields gather here rather than in their stream's entry,
/// found again for each field.
struct Block {
    id: StreamId,
    /// Trailer fields (the response head went already), not a head.
    trailers: bool,
    status: Option<StatusCode>,
    headers: HeaderMap,
    /// A head's `content-length`, when it has a valid one.
    content_length: Option<u64>,
    /// A `content-length` came (the first one counts).
    content_length_seen: bool,
}

/// A PING in flight.
struct Ping {
    data: [u8; 8],
    sent: Instant,
    reply: oneshot::Sender<Result<Duration, Error>>,
}

/// The session handler of a client connection. It never runs user code:
/// callbacks only record state and hand responses over.
pub(crate) struct ConnHandler {
    streams: StreamMap<Entry>,
    /// The header block being received on a stream of `streams`.
    block: Option<Block>,
    fields: FieldCache,
    pings: VecDeque<Ping>,
    got_settings: bool,
}

impl ConnHandler {
    /// The failure of a stream that closed with `reason` before its end.
    fn failure(cx: &SessionRef, entry: &Entry, id: StreamId, reason: Reason) -> Failure {
        let goaway_last = cx.remote_goaway().map(|(last, _)| last);
        if reason == Reason::REFUSED_STREAM || goaway_last.is_some_and(|last| id > last) {
            return Failure::Refused {
                stream_id: Some(id),
                last_stream_id: goaway_last,
            };
        }
        let initiator = if entry.cancelled {
            Initiator::Local
        } else {
            Initiator::Remote
        };
        let reason = if reason == Reason::NO_ERROR {
            Reason::CANCEL
        } else {
            reason
        };
        Failure::Reset(id, reason, initiator)
    }

    /// A response head is complete: hand it over.
    fn respond(&mut self, cx: &mut SessionRef, block: Block, end_stream: bool) {
        let id = block.id;
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        let Some(status) = block.status else {
            let _ = cx.submit_rst_stream(id, Reason::PROTOCOL_ERROR);
            entry.cancelled = true;
            return;
        };
        let headers = block.headers;
        if status.is_informational() {
            // 1xx: the real response follows; 100 lets a waiting request
            // body go.
            if status == StatusCode::CONTINUE {
                if let Some(go) = entry.on_continue.take() {
                    let _ = go.send(());
                }
            }
            if let Some(to) = &entry.informational {
                to.deliver(status, headers);
            }
            return;
        }
        entry.informational = None;
        if end_stream {
            entry.stream.recv_end(None);
        }
        let length = if entry.head_request {
            None
        } else {
            block.content_length
        };
        let mut response = Response::new(ResponseBody::new(entry.stream.clone(), length));
        *response.status_mut() = status;
        *response.version_mut() = Version::HTTP_2;
        *response.headers_mut() = headers;
        if let Some(reply) = entry.reply.take() {
            if reply.send(Ok(response)).is_err() {
                // Nobody waits for it any more: the body was dropped with
                // the response, which cancels the stream.
                tracing::debug!(stream = %id, "response not wanted");
            }
        }
    }
}

impl Handler for ConnHandler {
    fn on_begin_headers(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        // Not a PUSH_PROMISE (whose stream id is the associated stream's):
        // pushed streams are not taken.
        self.block = match self.streams.get(&id) {
            Some(entry) if frame.frame_type() == FrameType::HEADERS => Some(Block {
                id,
                trailers: entry.reply.is_none(),
                status: None,
                headers: HeaderMap::new(),
                content_length: None,
                content_length_seen: false,
            }),
            _ => None,
        };
        Ok(())
    }

    fn on_header(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        field: HeaderRef<'_>,
    ) -> CallbackResult {
        let Some(block) = self.block.as_mut().filter(|b| b.id == frame.stream_id()) else {
            return Ok(());
        };
        if field.name == b":status" {
            if block.trailers {
                return Err(CallbackError::ResetStream);
            }
            block.status =
                Some(StatusCode::from_bytes(field.value).map_err(|_| CallbackError::ResetStream)?);
            return Ok(());
        }
        if !self
            .fields
            .append(&mut block.headers, field.name, field.value, field.sensitive)
        {
            return Err(CallbackError::ResetStream);
        }
        if field.name == b"content-length" && !block.trailers && !block.content_length_seen {
            // The first one, as `HeaderMap::get` would find it.
            block.content_length_seen = true;
            block.content_length = std::str::from_utf8(field.value)
                .ok()
                .and_then(|v| v.parse().ok());
        }
        Ok(())
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let id = frame.stream_id();
        match frame.frame_type() {
            FrameType::SETTINGS if !frame.is_ack() => self.got_settings = true,
            FrameType::HEADERS => match self.block.take().filter(|b| b.id == id) {
                Some(block) if block.trailers => {
                    if let Some(entry) = self.streams.get(&id) {
                        entry.stream.recv_end(Some(block.headers));
                    }
                }
                Some(block)
                    if matches!(
                        frame.headers_category(),
                        Some(HeadersCategory::Response | HeadersCategory::Headers)
                    ) =>
                {
                    self.respond(cx, block, frame.is_end_stream())
                }
                _ => {}
            },
            FrameType::DATA if frame.is_end_stream() => {
                if let Some(entry) = self.streams.get(&id) {
                    entry.stream.recv_end(None);
                }
            }
            FrameType::PING if frame.is_ack() => {
                if let Some(data) = frame.ping_data() {
                    if let Some(at) = self.pings.iter().position(|p| p.data == data) {
                        if let Some(ping) = self.pings.remove(at) {
                            let _ = ping.reply.send(Ok(ping.sent.elapsed()));
                        }
                    }
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
        let stream = self.streams.get(&stream_id).map(|e| &*e.stream);
        Stream::recv_data_on(stream, cx, stream_id, data, None);
        Ok(())
    }

    fn on_frame_send(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        if frame.frame_type() == FrameType::PING && !frame.is_ack() {
            if let Some(data) = frame.ping_data() {
                if let Some(ping) = self.pings.iter_mut().find(|p| p.data == data) {
                    ping.sent = Instant::now();
                }
            }
        }
        Ok(())
    }

    fn on_frame_not_send(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        if frame.frame_type() != FrameType::HEADERS {
            return Ok(());
        }
        let id = frame.stream_id();
        let Some(mut entry) = self.streams.remove(&id) else {
            return Ok(());
        };
        let goaway_last = cx.remote_goaway().map(|(last, _)| last);
        let failure = if goaway_last.is_some() || error == LibError::START_STREAM_NOT_ALLOWED {
            Failure::Refused {
                stream_id: Some(id),
                last_stream_id: goaway_last,
            }
        } else {
            Failure::Connection(format!("the request could not be sent: {error}"))
        };
        match entry.reply.take() {
            Some(reply) => {
                let _ = reply.send(Err(failure.to_error()));
            }
            None => entry.stream.fail(failure),
        }
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        let Some(mut entry) = self.streams.remove(&stream_id) else {
            return Ok(());
        };
        let failure = Self::failure(cx, &entry, stream_id, reason);
        match entry.reply.take() {
            Some(reply) => {
                entry.stream.close(cx, None);
                let _ = reply.send(Err(failure.to_error()));
            }
            None => entry.stream.close(cx, Some(failure)),
        }
        Ok(())
    }
}

type ClientSession = Session<Traced<ConnHandler>>;

/// One connection's pump: owns the transport and the session.
pub(crate) struct Conn<I> {
    io: I,
    session: ClientSession,
    rx: mpsc::Receiver<Msg>,
    scheduler: Arc<Scheduler>,
    /// Streams taken off the scheduler, kept to reuse the allocation.
    dirty: Vec<Arc<Stream>>,
    end: watch::Sender<Option<End>>,
    /// The size of the thread's read buffer this connection reads with.
    read_buffer_size: usize,
    wbuf: WriteBuf,
    /// Requests held until the server's SETTINGS arrive.
    held: VecDeque<Submit>,
    /// Close once no stream is left.
    closing: bool,
    /// GOAWAY submitted by `terminate`: exit once it is out.
    terminated: bool,
    /// All handles are gone.
    rx_closed: bool,
    ping_seq: u64,
    /// The connection failed; exit with this once the output is out.
    failed: Option<Error>,
    /// The scheme and authority of requests whose URI has none.
    scheme: String,
    authority: String,
}

impl<I> Drop for Conn<I> {
    fn drop(&mut self) {
        // A connection task dropped before it ended (its runtime shut
        // down, say): streams queued on the scheduler hold it, and it holds
        // them.
        self.scheduler.close();
    }
}

impl<I> Conn<I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(crate) fn new(
        io: I,
        rx: mpsc::Receiver<Msg>,
        scheduler: Arc<Scheduler>,
        end: watch::Sender<Option<End>>,
        tracer: Tracer,
        config: &Config,
    ) -> Result<Conn<I>, Error> {
        let handler = ConnHandler {
            streams: StreamMap::default(),
            block: None,
            fields: FieldCache::default(),
            pings: VecDeque::new(),
            got_settings: false,
        };
        // The glitch limit of nghttp2 1.69, not the vendored 1.68.1's: a
        // cancelled download leaves a window's worth of DATA in flight,
        // which 1.68.1 counts as glitches (see GLITCH_RATE_LIMIT).
        let (burst, rate) = crate::session::GLITCH_RATE_LIMIT;
        let options = Options::new()
            .no_auto_window_update(true)
            .glitch_rate_limit(burst, rate);
        let mut session = Session::client(Traced::new(handler, tracer), &options)?;
        match &config.upgrade {
            Some((payload, head_request)) => session.upgrade(payload, *head_request)?,
            None => session.submit_settings(&config.settings)?,
        }
        if let Some(size) = config.connection_window_size {
            session.set_local_window_size(StreamId::CONNECTION, size as i32)?;
        }
        let vectored = io.is_write_vectored();
        Ok(Conn {
            io,
            session,
            rx,
            scheduler,
            dirty: Vec::new(),
            end,
            read_buffer_size: config.read_buffer_size,
            wbuf: WriteBuf::new(config.write_high_water, vectored),
            held: VecDeque::new(),
            closing: false,
            terminated: false,
            rx_closed: false,
            ping_seq: 0,
            failed: None,
            scheme: config.scheme.clone(),
            authority: config.authority.clone(),
        })
    }

    fn handler(&mut self) -> &mut ConnHandler {
        self.session.handler_mut().inner_mut()
    }

    /// After an HTTP/1.1 `Upgrade: h2c` (RFC 7540 section 3.2; the
    /// session was made with [`Config::upgrade`]): stream 1 is the request
    /// that asked for it, half-closed on this side; its response arrives
    /// through `reply`, its body through `stream`.
    pub(crate) fn upgraded(
        &mut self,
        head_request: bool,
        stream: Arc<Stream>,
        reply: oneshot::Sender<Result<Response<ResponseBody>, Error>>,
    ) -> Result<(), Error> {
        let id = StreamId::new(1).expect("1 is a stream id");
        stream.set_id(id);
        self.handler()
            .streams
            .insert(id, Entry::new(stream, reply, head_request, None, None));
        Ok(())
    }

    /// Drives the connection to its end, then tells every waiter how it
    /// ended.
    pub(crate) async fn run(mut self) {
        let result = poll_fn(|cx| self.poll_pump(cx)).await;
        let goaway = self.session.remote_goaway().map(|(last, _)| last);
        let failure = match &result {
            Ok(()) => goaway.map(|last| Failure::Refused {
                stream_id: None,
                last_stream_id: Some(last),
            }),
            Err(e) => {
                tracing::debug!(error = %e, "client connection failed");
                Some(Failure::Connection(format!("connection error: {e}")))
            }
        };
        if result.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), self.io.shutdown()).await;
        }
        let _ = self.session.handler_mut().tracer_mut().flush();
        self.fail_all(failure.clone());
        // Streams queued for the task hold the scheduler, which holds them.
        self.scheduler.close();
        let _ = self.end.send(Some(match (result, goaway) {
            (Ok(()), Some(last)) => End::GoneAway(last),
            (Ok(()), None) => End::Clean,
            (Err(e), _) => End::Failed(Failure::Connection(format!("connection error: {e}"))),
        }));
    }

    /// Fails whatever still waits: streams, held requests, PINGs.
    fn fail_all(&mut self, failure: Option<Failure>) {
        let goaway_last = self.session.remote_goaway().map(|(last, _)| last);
        let why = failure.clone().unwrap_or_else(|| {
            Failure::Connection("the connection closed before the response was complete".into())
        });
        let handler = self.handler();
        let streams: Vec<(StreamId, Entry)> = handler.streams.drain().collect();
        let pings: Vec<Ping> = handler.pings.drain(..).collect();
        for (id, mut entry) in streams {
            let failure = match goaway_last {
                Some(last) if id > last => Failure::Refused {
                    stream_id: Some(id),
                    last_stream_id: Some(last),
                },
                _ => why.clone(),
            };
            match entry.reply.take() {
                Some(reply) => {
                    let _ = reply.send(Err(failure.to_error()));
                }
                None => entry.stream.fail(failure),
            }
        }
        for ping in pings {
            let _ = ping.reply.send(Err(why.to_error()));
        }
        for submit in self.held.drain(..) {
            let _ = submit.reply.send(Err(why.to_error()));
        }
        self.rx.close();
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Request(submit) => {
                    let _ = submit.reply.send(Err(why.to_error()));
                }
                Msg::Ping(reply) => {
                    let _ = reply.send(Err(why.to_error()));
                }
                Msg::Close => {}
            }
        }
    }

    /// Takes the handles' messages.
    fn poll_messages(&mut self, cx: &mut TaskContext<'_>) -> bool {
        let mut progress = false;
        while !self.rx_closed {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(msg)) => {
                    progress = true;
                    self.handle(msg);
                }
                Poll::Ready(None) => {
                    self.rx_closed = true;
                    self.closing = true;
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        progress
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Request(submit) => {
                if self.closing || self.terminated {
                    let _ = submit
                        .reply
                        .send(Err(Error::user("the connection is closing")));
                } else if let Some((last, _)) = self.session.remote_goaway() {
                    let _ = submit.reply.send(Err(Failure::Refused {
                        stream_id: None,
                        last_stream_id: Some(last),
                    }
                    .to_error()));
                } else if !self.handler().got_settings
                    && (!self.handler().streams.is_empty() || !self.held.is_empty())
                {
                    // Until the server's SETTINGS say how many streams it
                    // takes, one request at a time.
                    self.held.push_back(submit);
                } else {
                    self.submit(submit);
                }
            }
            Msg::Ping(reply) => {
                self.ping_seq += 1;
                let data = self.ping_seq.to_be_bytes();
                match self.session.submit_ping(false, data) {
                    Ok(()) => self.handler().pings.push_back(Ping {
                        data,
                        sent: Instant::now(),
                        reply,
                    }),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Msg::Close => self.closing = true,
        }
    }

    fn submit(&mut self, submit: Submit) {
        let Submit {
            head,
            body,
            stream,
            head_request,
            reply,
            on_continue,
            informational,
        } = submit;
        match self
            .session
            .submit_request(head.fields(&self.scheme, &self.authority), body)
        {
            Ok(id) => {
                stream.set_id(id);
                self.handler().streams.insert(
                    id,
                    Entry::new(stream, reply, head_request, on_continue, informational),
                );
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Serves the streams that woke: their response bodies were read or
    /// dropped, or their request bodies have more to send.
    fn process_dirty(&mut self) -> bool {
        let mut dirty = std::mem::take(&mut self.dirty);
        self.scheduler.take_dirty(&mut dirty);
        let progress = !dirty.is_empty();
        for stream in dirty.drain(..) {
            self.wake(&stream);
        }
        self.dirty = dirty;
        progress
    }

    /// A stream's body was read or dropped, or its request body woke.
    fn wake(&mut self, stream: &Arc<Stream>) {
        let resume = stream.take_poll_needed();
        let id = stream.id();
        if id.is_connection() {
            return;
        }
        let to_consume = stream.take_consumed();
        let cancel = {
            let st = stream.state();
            st.body_dropped && !st.end && !st.is_detached()
        };
        if to_consume > 0 {
            let _ = self.session.consume(id, to_consume);
        }
        if cancel {
            let cancelled = match self.handler().streams.get_mut(&id) {
                Some(entry) if !entry.cancelled => {
                    entry.cancelled = true;
                    true
                }
                _ => false,
            };
            if cancelled {
                let _ = self.session.submit_rst_stream(id, Reason::CANCEL);
            }
        }
        if resume {
            let _ = self.session.resume_data(id);
        }
    }

    /// Submits held requests once the server's SETTINGS arrived, and ends
    /// the session when closing and no stream is left.
    fn housekeeping(&mut self) {
        if self.handler().got_settings {
            while let Some(submit) = self.held.pop_front() {
                self.submit(submit);
            }
        }
        if self.closing
            && !self.terminated
            && self.held.is_empty()
            && self.handler().streams.is_empty()
        {
            // As nghttp does once its requests are done: GOAWAY NO_ERROR
            // with the last stream id this side processed (0 for a client).
            let _ = self.session.terminate(Reason::NO_ERROR);
            self.terminated = true;
        }
    }

    /// Moves messages, output and input until nothing moves (Pending) or
    /// the connection is over (Ready).
    fn poll_pump(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        loop {
            let mut progress = self.poll_messages(cx);
            progress |= self.process_dirty();
            self.housekeeping();
            if let Err(e) = self.fill() {
                return Poll::Ready(Err(e));
            }
            match self.wbuf.poll_write(&mut self.io, cx) {
                Ok(written) => progress |= written.writes > 0,
                Err(e) => return Poll::Ready(Err(e.into())),
            }
            if self.wbuf.is_idle() {
                if let Some(e) = self.failed.take() {
                    return Poll::Ready(Err(e));
                }
                if self.session.is_done() || (self.terminated && !self.session.has_output()) {
                    return Poll::Ready(self.close_result());
                }
            }
            if self.failed.is_none() && self.session.want_read() && self.wbuf.has_room() {
                // The thread's read buffer: an idle connection holds none.
                let read = with_read_buf(self.read_buffer_size, |rbuf| {
                    let mut buf = ReadBuf::new(rbuf);
                    let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
                    let n = buf.filled().len();
                    if let Poll::Ready(Ok(())) = polled {
                        if n > 0 {
                            self.recv(&rbuf[..n]);
                        }
                    }
                    polled.map_ok(|()| n)
                });
                match read {
                    Poll::Ready(Ok(0)) => return Poll::Ready(self.eof_result()),
                    Poll::Ready(Ok(_)) => progress = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => {}
                }
            }
            if !progress && self.scheduler.park(cx.waker()) {
                return Poll::Pending;
            }
        }
    }

    /// The session is over: clean, unless a GOAWAY with an error went
    /// either way.
    fn close_result(&self) -> Result<(), Error> {
        match self.session.close_reason() {
            Some(e) if e.is_fatal() => Err(e),
            _ => Ok(()),
        }
    }

    /// The server closed the connection.
    fn eof_result(&mut self) -> Result<(), Error> {
        if let Some(e) = self.session.close_reason().filter(|e| e.is_fatal()) {
            return Err(e);
        }
        if self.handler().streams.is_empty() && self.held.is_empty() {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )
        .into())
    }

    /// Feeds `data` to the session. On a connection error nghttp2
    /// has queued a GOAWAY: it is written, then the connection ends.
    fn recv(&mut self, data: &[u8]) {
        let session = &mut self.session;
        match catch_unwind(AssertUnwindSafe(|| session.recv(data))) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "connection error");
                self.failed = Some(self.session.close_reason().unwrap_or(e));
            }
            Err(_) => self.failed = Some(Error::user("panic while receiving")),
        }
    }

    /// Moves the session's output into the write buffer, up to the
    /// high-water mark.
    fn fill(&mut self) -> Result<(), Error> {
        match self.wbuf.fill(&mut self.session) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.failed.take().unwrap_or(e)),
            Err(_) => Err(Error::user("panic while sending")),
        }
    }
}
