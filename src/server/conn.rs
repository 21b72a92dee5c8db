//! One server connection's pump: it owns the socket and the session, moves
//! bytes between them, runs the streams that woke, and keeps the
//! connection's deadlines.

use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, Kind, Reason};
use crate::proto::scheduler::Scheduler;
use crate::proto::stats::{Gauge, Held, StatsInner};
use crate::server::asks::{Asks, H2Stream};
use crate::server::connect_info::ConnectionInfo;
use crate::server::deadlines::{Activity, Deadlines, Expired};
use crate::server::handler::{ConnHandler, Entry, Phase};
use crate::server::service::HttpService;
use crate::server::{Config, StreamEnd};
use crate::session::{Session, SessionRef, StreamId};
use crate::trace::Traced;
use crate::write_buf::{with_read_buf, WriteBuf};

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
    pub(crate) trailers: Option<http::HeaderMap>,
}

/// What a connection counts in the server's gauges for itself.
struct ConnGauges {
    _connection: Held,
    write_buffered: Held,
    outbound_queued: Held,
}

/// What a connection counts in the server's gauges for its streams, set
/// from the session once per turn of the connection's loop (rather than
/// through a guard per stream and per body: six atomic writes per request
/// on counters all connections share). Given back when the connection,
/// and with it the streams' handlers and bodies, is dropped.
struct StreamGauges {
    open_streams: Held,
    live_handlers: Held,
    /// Response body bytes the session holds for the streams, not yet
    /// written.
    send_buffered: Held,
}

/// One connection's pump: owns the socket and the session.
pub(crate) struct Conn<I, S: HttpService> {
    io: I,
    session: Session<Traced<ConnHandler<S>>>,
    /// Declared after `session`, so dropped after the handlers and bodies
    /// it counts.
    stream_gauges: StreamGauges,
    scheduler: Arc<Scheduler<Asks>>,
    /// How much one socket read takes (into the thread's read buffer).
    read_buffer_size: usize,
    wbuf: WriteBuf,
    /// The connection's place in the server's gauges: itself, its write
    /// buffer, nghttp2's outbound queue. Given back before the lingering
    /// close.
    gauges: Option<ConnGauges>,
    /// Stop reading; exit once the output is out.
    closing: bool,
    /// The session failed to send: nothing more can come out of it.
    failed: bool,
    dirty: Vec<Arc<H2Stream>>,
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

/// Serves HTTP/2 on `io` until the connection is over.
///
/// The session is made here, before the future: an `async fn`'s
/// arguments stay in its future for its whole life, and what only the
/// set-up needs (the service before it moves into the handler, an
/// upgraded request, the tracer, the sniffed bytes) would otherwise be
/// part of every idle connection's task.
pub(crate) fn serve<I, S>(
    io: I,
    service: S,
    config: Arc<Config>,
    stats: Arc<StatsInner>,
    shutdown: Option<watch::Receiver<bool>>,
    setup: Setup<'_>,
) -> impl Future<Output = Result<(), Error>>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: HttpService,
{
    let conn = Conn::new(io, service, &config, &stats, setup);
    async move {
        let mut conn = conn?;
        let result = conn.drive(&config, shutdown).await;
        conn.finish(result.is_ok()).await;
        result
    }
}

impl<I, S> Conn<I, S>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: HttpService,
{
    /// The connection with its session made, its SETTINGS queued, and the
    /// bytes already read (`setup.initial`) received.
    fn new(
        io: I,
        service: S,
        config: &Config,
        stats: &Arc<StatsInner>,
        setup: Setup<'_>,
    ) -> Result<Conn<I, S>, Error> {
        let scheduler = Arc::new(Scheduler::default());
        let mut handler = ConnHandler::new(
            service,
            scheduler.clone(),
            stats.clone(),
            config.max_header_list_size as usize,
            setup.info,
            config.server_header.clone(),
        );
        handler.push = config.push;
        handler.request_extensions = config.request_extensions;
        let tracer = match setup.tracer {
            Some(tracer) => tracer,
            None => config.trace.as_ref().map(|t| t.next()).unwrap_or_default(),
        };
        let mut session = Session::server(Traced::new(handler, tracer), &config.options())?;
        if let Some(upgrade) = setup.upgrade {
            let is_head = upgrade.parts.method == http::Method::HEAD;
            session.upgrade(&upgrade.settings, is_head)?;
            session.handler_mut().inner_mut().adopt_upgraded(upgrade);
        }
        session.submit_settings(&config.settings())?;
        if config.initial_connection_window_size > 65_535 {
            session.set_local_window_size(
                StreamId::CONNECTION,
                config.initial_connection_window_size as i32,
            )?;
        }
        if let Some(reason) = setup.fail {
            session.terminate(reason)?;
        }
        let vectored = io.is_write_vectored();
        let mut conn = Conn {
            io,
            session,
            stream_gauges: StreamGauges {
                open_streams: Held::new(stats, Gauge::OpenStreams, 0),
                live_handlers: Held::new(stats, Gauge::LiveHandlers, 0),
                send_buffered: Held::new(stats, Gauge::SendBuffered, 0),
            },
            scheduler,
            read_buffer_size: config.read_buffer_size,
            wbuf: WriteBuf::new(config.write_high_water, vectored),
            gauges: Some(ConnGauges {
                _connection: Held::new(stats, Gauge::Connections, 1),
                write_buffered: Held::new(stats, Gauge::WriteBuffered, 0),
                outbound_queued: Held::new(stats, Gauge::OutboundQueued, 0),
            }),
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
        Ok(conn)
    }

    /// After the pump: tells the streams still open how they ended, ends
    /// the trace and, when the connection ended cleanly (`linger`), lets
    /// the peer read the GOAWAY before the socket closes.
    async fn finish(&mut self, linger: bool) {
        // Streams still open are cut by the connection's end: say so
        // before their response bodies are dropped (with the session,
        // after the lingering close below).
        let goaway = self.session.close_reason().and_then(|e| match e.kind() {
            Kind::GoAway {
                reason, initiator, ..
            } => Some((*reason, *initiator)),
            _ => None,
        });
        for entry in self.session.handler_mut().inner_mut().streams.values() {
            entry.asks().end.set(StreamEnd::ConnectionEnded { goaway });
        }
        let tracer = self.session.handler_mut().tracer_mut();
        tracer.connection_closed();
        let _ = tracer.flush();
        self.gauges = None;
        if linger {
            // Lingering close: the peer, having read the GOAWAY, closes
            // first; closing with its bytes unread would reset the
            // connection and could destroy the GOAWAY before it is read.
            // On the heap: this future would otherwise be part of every
            // connection's task, idle or not.
            Box::pin(linger_close(&mut self.io)).await;
        }
        self.scheduler.close();
    }
}

/// Reads (and drops) what the peer still sends, for up to a second, then
/// shuts the socket down.
async fn linger_close<I: AsyncRead + AsyncWrite + Unpin>(io: &mut I) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut sink = vec![0u8; 4096];
        let mut total = 0;
        while total < 256 * 1024 {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
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
        let mut deadlines = Deadlines::new(config, Instant::now());
        let mut timer = pin!(tokio::time::sleep_until(deadlines.next()));
        loop {
            tokio::select! {
                biased;
                result = poll_fn(|cx| self.poll_pump(cx)) => return result,
                _ = wait_shutdown(&mut shutdown), if !deadlines.in_grace() => {
                    tracing::debug!("graceful shutdown: sending GOAWAY");
                    let last = self.session.last_proc_stream_id();
                    if self.session.submit_goaway(last, Reason::NO_ERROR, b"").is_err() {
                        self.closing = true;
                    }
                    deadlines.start_grace(Instant::now(), config.shutdown_grace);
                    timer.as_mut().reset(deadlines.next());
                }
                _ = &mut timer => {
                    let now = Instant::now();
                    {
                        let h = self.session.handler().inner();
                        if h.got_settings {
                            deadlines.got_settings();
                        }
                        if h.settings_acked || self.closing {
                            deadlines.settings_acked();
                        }
                    }
                    let activity = Activity {
                        reads: self.reads,
                        writes: self.writes,
                        busy: self.busy(),
                    };
                    while let Some(expired) = deadlines.expired(now, activity) {
                        if self.expire(expired, config) {
                            return Ok(());
                        }
                    }
                    timer.as_mut().reset(deadlines.next().max(now + Duration::from_millis(1)));
                }
            }
        }
    }

    /// Acts on a deadline that passed; answers true when the connection
    /// ends at once.
    fn expire(&mut self, expired: Expired, config: &Config) -> bool {
        match expired {
            Expired::Handshake => {
                tracing::debug!("no HTTP/2 preface in time; closing");
                self.trace_limit(&format!(
                    "handshake timeout: no SETTINGS from the client within {:?}; closing",
                    config.handshake_timeout
                ));
                return true;
            }
            Expired::SettingsAck => {
                tracing::debug!("SETTINGS not acknowledged in time");
                self.trace_limit(&format!(
                    "settings timeout: SETTINGS not acknowledged within {:?}; GOAWAY SETTINGS_TIMEOUT",
                    config.settings_timeout
                ));
                let _ = self.session.terminate(Reason::SETTINGS_TIMEOUT);
            }
            Expired::Grace => {
                tracing::debug!("shutdown grace period over; closing");
                self.trace_limit(&format!(
                    "shutdown grace period of {:?} over; closing",
                    config.shutdown_grace
                ));
                let _ = self.session.terminate(Reason::NO_ERROR);
            }
            Expired::Idle => {
                let open = self.session.handler().inner().streams.len();
                tracing::debug!(open, "idle connection; sending GOAWAY");
                self.trace_limit(&format!(
                    "idle timeout: nothing sent or received for {:?}, {open} streams waiting on the client; GOAWAY",
                    config.idle_timeout.unwrap_or_default()
                ));
                let last = self.session.last_proc_stream_id();
                let _ = self.session.submit_goaway(last, Reason::NO_ERROR, b"");
            }
        }
        self.closing = true;
        false
    }

    /// Runs handlers' requests, fills and writes the output, reads and
    /// feeds input, until nothing moves (Pending) or the connection is
    /// over (Ready).
    fn poll_pump(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        loop {
            self.process_dirty();
            self.fill();
            // Before the responses go out: a client that got one sees its
            // stream counted as it now is.
            self.report_streams();
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
                // The thread's read buffer: an idle connection holds none.
                let read = with_read_buf(self.read_buffer_size, |rbuf| {
                    let mut buf = ReadBuf::new(rbuf);
                    let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
                    let n = buf.filled().len();
                    if let Poll::Ready(Ok(())) = polled {
                        if n > 0 {
                            self.reads += 1;
                            self.recv_bytes(&rbuf[..n]);
                        }
                    }
                    polled.map_ok(|()| n)
                });
                match read {
                    // The peer closed its side: nothing more will come for
                    // the streams left.
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                    Poll::Ready(Ok(_)) => progress = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => {}
                }
            }
            if !progress
                && !self.session.handler().inner().has_new_requests()
                && self.scheduler.park(cx.waker())
            {
                return Poll::Pending;
            }
        }
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
        // Cleared in place, keeping the allocation for the next stream.
        if !closed.is_empty() && catch_unwind(AssertUnwindSafe(|| closed.clear())).is_err() {
            tracing::warn!("a handler panicked while being dropped");
        }
    }

    /// Serves the streams handlers and bodies woke.
    fn process_dirty(&mut self) {
        self.session.handler_mut().inner_mut().new_turn();
        let mut dirty = std::mem::take(&mut self.dirty);
        self.scheduler.take_dirty(&mut dirty);
        for stream in dirty.drain(..) {
            let poll = stream.take_poll_needed();
            let to_consume = stream.take_consumed();
            let id = stream.id();
            let (handler, cx) = self.session.parts_mut();
            if to_consume > 0 {
                let _ = cx.consume(id, to_consume);
            }
            handler.inner_mut().send_informational(cx, id);
            if poll {
                handler.inner_mut().poll_stream(cx, id);
            }
        }
        self.dirty = dirty;
        let (handler, cx) = self.session.parts_mut();
        handler.inner_mut().poll_new_requests(cx);
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
        let cx: &SessionRef = &self.session;
        let window_open = cx.remote_window_size() > 0;
        let streams = &self.session.handler().inner().streams;
        // The handler (or its response body, echoing it) last found the
        // request body empty and waits for the client to send more.
        let waits_for_body = |entry: &Entry<S::Future>| entry.stream().state().waits_for_peer();
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

    /// Updates the connection's open streams and live handlers gauges.
    fn report_streams(&mut self) {
        let (open, live) = self.session.handler().inner().stream_counts();
        self.stream_gauges.open_streams.set(open);
        self.stream_gauges.live_handlers.set(live);
    }

    /// Updates the connection's gauges of bytes: its write buffer, nghttp2's
    /// outbound queue and the body bytes the session holds.
    fn report_buffered(&mut self) {
        let unsent = self.wbuf.unsent();
        let queued = self.session.outbound_queue_size();
        let bodies = self.session.buffered_body_bytes();
        self.stream_gauges.send_buffered.set(bodies);
        if let Some(gauges) = &mut self.gauges {
            gauges.write_buffered.set(unsent);
            gauges.outbound_queued.set(queued);
        }
    }
}
