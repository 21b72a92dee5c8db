//! An HTTP server on tokio: HTTP/2 on nghttp2's engine, and HTTP/1.1 on
//! hyper's `http1` server beside it, on the same port, with the same
//! service.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::Response;
//! use http_body_util::Full;
//! use nghttp2::server::{service_fn, tls, Builder};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let cert = tls::SelfSigned::localhost()?;
//! println!("certificate SHA-256 {}", cert.fingerprint_sha256());
//! let hello = service_fn(|_req| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello world"))))
//! });
//! Builder::new()
//!     .max_concurrent_streams(100)
//!     .serve_tls(listener, cert.acceptor()?, hello)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Handlers are `tower_service::Service`s over `http::Request<RequestBody>`
//! answering `http::Response<B>` with any `http_body::Body<Data = Bytes>`;
//! [`service_fn`] makes one from an async function, and an axum `Router`
//! is one. [`RequestBody`] streams the request's body and trailers,
//! whichever protocol carried them. Every request carries a
//! [`ConnectionInfo`] in its extensions (peer and local address; ALPN, SNI
//! and cipher over TLS), unless [`Builder::request_extensions`] turned the
//! server's handles off; [`Server::serve_make`] takes a make-service
//! instead, such as axum's
//! `router.into_make_service_with_connect_info::<SocketAddr>()`, so that
//! `ConnectInfo<SocketAddr>` answers. `serve*` return a [`Serve`] future;
//! [`Serve::with_graceful_shutdown`] ends it on a signal, as
//! `axum::serve` does, and [`Server::shutdown`] does the same from
//! anywhere.
//!
//! `TcpListener::bind` (std's and tokio's) listens with a backlog of 128
//! connections; a server that may see bursts of new clients should make
//! its listener with [`tokio::net::TcpSocket::listen`] and a larger one,
//! as `h2serve` does (4096): connections beyond the backlog are dropped
//! and retried by the client only after a second.
//!
//! [`Serve::workers`]`(n)` serves on `n` event loops of their own, as
//! nghttpd's `-n` workers: threads with a current-thread runtime each, to
//! which the accepting task hands connections in turn. A connection then
//! never leaves its thread; on two cores this serves about 13% more
//! requests per second than a multi-threaded runtime's work stealing
//! (`h2serve -n 2`, `h2load -c 10` and `-c 100`).
//!
//! # Protocols
//!
//! - Cleartext: the first bytes decide. The HTTP/2 preface starts HTTP/2
//!   (prior knowledge); an HTTP/1.x request line goes to hyper's HTTP/1
//!   server; anything else gets SETTINGS and GOAWAY PROTOCOL_ERROR (RFC
//!   9113 section 3.4). An HTTP/1.1 request with `Upgrade: h2c`, a valid
//!   `HTTP2-Settings` and a body of at most the stream window (read whole
//!   first) is answered `101 Switching Protocols` and goes on as stream 1
//!   of an HTTP/2 connection (`nghttp2_session_upgrade2`); one with a
//!   missing or malformed `HTTP2-Settings` is served as plain HTTP/1.1
//!   (RFC 7540 section 3.2).
//! - TLS: ALPN decides. [`tls`]'s acceptors offer `h2` then `http/1.1`;
//!   `h2` gets HTTP/2 (with RFC 9113 section 9.2's checks), `http/1.1` or
//!   no ALPN gets HTTP/1.1.
//! - [`Builder::http1`]`(false)` keeps the server HTTP/2-only: an HTTP/1.x
//!   request gets a short `505 HTTP Version Not Supported` (which a person
//!   using curl or a browser can read, where a GOAWAY frame would show as
//!   garbage) and is disconnected.
//!
//! - Upgrades: [`upgrade::on`] gives a handler a full-duplex byte stream
//!   (`AsyncRead + AsyncWrite`) for an HTTP/1.1 `Upgrade` it answers with
//!   101, and for an HTTP/2 extended CONNECT (RFC 8441, after
//!   [`Builder::enable_connect_protocol`]) it answers with 2xx: WebSocket
//!   on either protocol (`examples/websocket_echo.rs`).
//! - Informational responses: an HTTP/2 request carries an
//!   [`Informational`] handle that sends `103 Early Hints` (or another
//!   1xx) before the final response.
//! - Server push: an HTTP/2 request whose client allows push carries a
//!   [`Push`] handle; a pushed request is served by the same service, its
//!   response on the promised stream, and carries [`Pushed`].
//!
//! Every response gets a `date` (formatted once a second) and, when
//! [`Builder::server_header`] set one, a `server` header, unless the
//! handler set its own; `content-length` when the body's size is known;
//! no body for HEAD. The `-v` trace ([`Builder::trace`]) shows an HTTP/1.1
//! connection as `http/1.1 connection`, `HTTP/1.1 request: GET /` and
//! `HTTP/1.1 response: 200 OK` lines, and an upgrade as a line before the
//! HTTP/2 frames.
//!
//! # Architecture
//!
//! One tokio task per connection owns that connection's
//! [`Session`](crate::session::Session); nothing else touches it (it is
//! never put behind a lock). The task runs a pump: it serves the streams
//! whose handlers woke, drains the session's output into a write buffer up
//! to a high-water mark and writes it, and reads the socket only while the
//! write buffer is below that mark, so a peer that does not read stops
//! being read from. It stops when the session is done (after a GOAWAY
//! drained the open streams, say), on a fatal error, or when the peer
//! closes.
//!
//! Each request's service future, and then its response body, is polled
//! *by the connection task itself*, not in a task of its own. A small
//! scheduler in the connection (a list of woken streams, each stream's
//! shared state doubling as the waker of its future) polls exactly the
//! streams that woke. The reasons:
//!
//! - a request whose handler answers at once is answered in the same pass
//!   of the pump that read it: no task spawn, no cross-task wake-up, no
//!   channel per request, which is what a small-response benchmark
//!   measures;
//! - a response body is polled by the same pump, right before the
//!   session writes frames (never inside one of nghttp2's callbacks), and
//!   only as far as the client's windows let it go: at most two DATA
//!   frames' worth (32 KiB) of a body is held per stream, and its `Bytes` go into
//!   the write buffer through `NO_COPY` without passing through nghttp2's
//!   frame buffer;
//! - cancelling a stream is dropping its future, synchronously, when the
//!   RST_STREAM is processed.
//!
//! The cost is that one connection's handlers share one thread; a handler
//! that does heavy CPU work should `tokio::spawn` (or `spawn_blocking`) it.
//! The per-stream state (`Arc<Mutex<..>>` plus a waker) still makes
//! [`RequestBody`] `Send`, so a handler may move it to another task.
//!
//! Request bodies are read under `no_auto_window_update`: received DATA is
//! queued per stream and given back to the peer's windows
//! (`nghttp2_session_consume`) only as the handler reads it. A handler
//! that panics or fails resets its own stream with INTERNAL_ERROR; a
//! stream the client resets has its handler future dropped.
//!
//! # Limits
//!
//! Every limit a connection applies, its [`Builder`] setting, the
//! `h2serve` flag where there is one, its default, and what the client
//! sees when it is passed. Each shows in the `-v` trace
//! ([`Builder::trace`]): as the GOAWAY or RST_STREAM frame sent, and for
//! the limits the server itself enforces as an `[ERROR]` line saying
//! which (`[ERROR] idle timeout: ...`).
//!
//! | Limit | Builder | h2serve | Default | When passed |
//! |---|---|---|---|---|
//! | Concurrent streams | [`max_concurrent_streams`](Builder::max_concurrent_streams) | `-m` | 100 | GOAWAY PROTOCOL_ERROR (RST_STREAM REFUSED_STREAM before the client acknowledged the setting) |
//! | Stream receive window (request body unread per stream) | [`initial_window_size`](Builder::initial_window_size) | `-w` | 256 KiB | GOAWAY FLOW_CONTROL_ERROR |
//! | Connection receive window (request body unread per connection) | [`initial_connection_window_size`](Builder::initial_connection_window_size) | `-W` | 1 MiB | GOAWAY FLOW_CONTROL_ERROR |
//! | Header list size (request headers or trailers, RFC 9113 section 6.5.2) | [`max_header_list_size`](Builder::max_header_list_size) | `--max-header-list-size` | 64 KiB | response 431, the handler is not called; fields past the limit are not kept |
//! | One header field (nghttp2's HPACK decoder) | — | — | 64 KiB | GOAWAY COMPRESSION_ERROR |
//! | Frame size | [`max_frame_size`](Builder::max_frame_size) | — | 16 KiB | GOAWAY FRAME_SIZE_ERROR |
//! | CONTINUATION frames after one HEADERS | [`max_continuations`](Builder::max_continuations) | — | 8 | GOAWAY ENHANCE_YOUR_CALM, `[ERROR] connection error` |
//! | Stream resets by the client (rapid reset) | [`stream_reset_rate_limit`](Builder::stream_reset_rate_limit) | — | burst 1000, then 33/s | GOAWAY INTERNAL_ERROR (nghttp2's code), close once open streams end |
//! | Glitches: frames that are legal but useless, refused streams, DATA on closed streams | [`glitch_rate_limit`](Builder::glitch_rate_limit) | — | burst 10000, then 330/s (nghttp2 1.69's default; 1.68.1's 1000, 33 cuts off slow clients) | GOAWAY ENHANCE_YOUR_CALM |
//! | Queued SETTINGS and PING ACKs (outbound queue) | [`max_outbound_ack`](Builder::max_outbound_ack) | — | 1000 | GOAWAY ENHANCE_YOUR_CALM, `[ERROR] connection error` |
//! | Pushed streams (server push, [`Push`]) | — | `-p` | the client's SETTINGS_MAX_CONCURRENT_STREAMS, which nghttp2 applies to them | the pushed responses wait; the client may refuse a push with RST_STREAM |
//! | Pushes one handler has waiting for the connection | — | — | 100 | [`Push::push`] fails |
//! | Output buffered per connection | [`write_high_water`](Builder::write_high_water) | — | 64 KiB (+ one frame) | the connection stops reading its socket until output drains |
//! | Response body held per stream | — | — | two DATA frames (32 KiB) | bodies are polled only as the client's windows allow |
//! | Request body size | — | — | none in total; unread bytes bounded by the windows above | — |
//! | Handshake (TLS, preface, first SETTINGS) | [`handshake_timeout`](Builder::handshake_timeout) | `--handshake-timeout` | 10 s | connection closed, `[ERROR] handshake timeout` |
//! | SETTINGS acknowledgement | [`settings_timeout`](Builder::settings_timeout) | — | 10 s | GOAWAY SETTINGS_TIMEOUT, `[ERROR] settings timeout` |
//! | Idle connection (nothing read or written, nothing to do server-side) | [`idle_timeout`](Builder::idle_timeout) | `--idle-timeout` | 120 s | GOAWAY NO_ERROR, `[ERROR] idle timeout` |
//! | Client not reading pending output | [`write_timeout`](Builder::write_timeout) | `--write-timeout` | 30 s | connection closed, `[ERROR] write timeout` |
//! | In-flight streams after a graceful shutdown | [`shutdown_grace`](Builder::shutdown_grace) | — | 30 s | GOAWAY NO_ERROR, then close, `[ERROR] shutdown grace` |
//!
//! On HTTP/1.1 (hyper) the same settings apply as follows:
//!
//! | Limit | Builder | Default | When passed |
//! |---|---|---|---|
//! | Request head size (request line and header fields) | [`max_header_list_size`](Builder::max_header_list_size) | 64 KiB | hyper's `431 Request Header Fields Too Large`, close |
//! | Broken request head | — | — | hyper's `400 Bad Request`, close |
//! | Request head time, and idle time between requests | [`handshake_timeout`](Builder::handshake_timeout) | 10 s | close (hyper's header read timeout) |
//! | Client not reading the response | [`write_timeout`](Builder::write_timeout) | 30 s | close |
//! | Pipelined requests | — | one at a time | the next request is read once the last response is written |
//! | Request body of an `Upgrade: h2c` | [`initial_window_size`](Builder::initial_window_size) | 256 KiB | larger bodies are served as plain HTTP/1.1 |
//! | Request in flight after a graceful shutdown | [`shutdown_grace`](Builder::shutdown_grace) | 30 s | answered, then close |
//!
//! A request body is read only as the handler reads it, so its size is
//! not limited and its memory is; its time is not limited on HTTP/1.1
//! (the idle timeout is HTTP/2's).
//!
//! nghttp2 1.68 answers most HTTP messaging errors that RFC 9113 makes
//! stream errors (a body longer or shorter than its content-length, a
//! pseudo-header in trailers, DATA on a half-closed stream, a zero
//! WINDOW_UPDATE) with a connection error instead, which section 5.4.1
//! allows; that is what leaves no reset to provoke in "MadeYouReset"
//! (CVE-2025-8671). The server adds the check nghttp2 leaves out: a HEADERS
//! on a stream id the client skipped is a stream id going backwards,
//! GOAWAY PROTOCOL_ERROR. `tests/hostile.rs` runs each attack.
//!
//! # RFC 9113 rules enforced on top of nghttp2
//!
//! nghttp2 1.65+ forgets closed streams and RFC 7540 priorities, so the
//! session layer answers what it no longer does (every connection, server
//! and client; the table, the choice of connection errors and the memory
//! bound are in [`session::conformance`](crate::session::conformance)):
//!
//! | Client sends | Answer |
//! |---|---|
//! | DATA or HEADERS on a stream it ended with END_STREAM | GOAWAY STREAM_CLOSED |
//! | any frame but PRIORITY on a stream it reset | GOAWAY STREAM_CLOSED |
//! | anything on a stream the server reset (the client may have sent it first) | ignored |
//! | PRIORITY on stream 0 | GOAWAY PROTOCOL_ERROR |
//! | PRIORITY on its own stream as dependency | RST_STREAM PROTOCOL_ERROR (GOAWAY if the stream is idle or closed) |
//!
//! # How a stream ended
//!
//! Every HTTP/2 request carries a [`StreamOutcome`] in its extensions
//! (unless [`Builder::request_extensions`] is off): a service
//! that keeps it (in its response body, say) learns on drop whether the
//! response went out in full, was reset (by whom, with what code, refused
//! included) or was cut by a GOAWAY or the connection closing. `h2serve`'s
//! access log uses it, so a request whose response was never sent is not
//! logged as `GET / 200 0 bytes`.

mod asks;
mod body;
mod conn;
mod connect_info;
mod date;
mod deadlines;
pub mod files;
mod handler;
mod http1;
mod informational;
mod outcome;
mod priority;
mod push;
mod request;
mod serve;
mod service;
mod stats;
#[cfg(feature = "tls")]
pub mod tls;
pub mod upgrade;
mod workers;

use std::future::Future;
use std::io;
#[cfg(feature = "tls")]
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "tls")]
use openssl::ssl::{Ssl, SslAcceptor};
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
#[cfg(feature = "tls")]
use tokio_openssl::SslStream;

pub use body::RequestBody;
pub use connect_info::{ConnectionInfo, TlsInfo};
pub use informational::Informational;
pub use outcome::{StreamEnd, StreamOutcome};
pub use priority::Priority;
pub use push::{Push, Pushed};
pub use serve::{Serve, WithGracefulShutdown};
pub use service::{service_fn, BoxError, HttpService, ServiceFn};
pub use stats::Stats;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Reason};
use crate::proto::hexdump::{Hexdump, Sink};
use crate::proto::stats::StatsInner;
use crate::session::{FrameType, Options, Setting, SettingId};
use crate::trace::Tracer;

/// The settings of a server, made by [`Builder`].
#[derive(Clone, Debug)]
pub(crate) struct Config {
    max_concurrent_streams: u32,
    initial_window_size: u32,
    initial_connection_window_size: u32,
    max_header_list_size: u32,
    max_frame_size: Option<u32>,
    write_high_water: usize,
    read_buffer_size: usize,
    idle_timeout: Option<Duration>,
    write_timeout: Duration,
    settings_timeout: Duration,
    handshake_timeout: Duration,
    shutdown_grace: Duration,
    stream_reset_rate_limit: Option<(u64, u64)>,
    glitch_rate_limit: Option<(u64, u64)>,
    max_continuations: Option<usize>,
    max_outbound_ack: Option<usize>,
    http1: bool,
    server_header: Option<http::HeaderValue>,
    enable_connect_protocol: bool,
    header_table_size: Option<u32>,
    encoder_header_table_size: Option<usize>,
    rfc9218_priorities: bool,
    trace: Option<TraceFactory>,
    /// Where `--hexdump` writes what connections read.
    hexdump: Option<Sink>,
    /// Requests carry [`ConnectionInfo`], [`Informational`] and
    /// [`StreamOutcome`].
    request_extensions: bool,
    /// Requests carry a [`Push`].
    push: bool,
}

/// Makes the [`Tracer`] of each connection, given its number (1, 2, ...).
#[derive(Clone)]
pub(crate) struct TraceFactory {
    make: Arc<dyn Fn(u64) -> Tracer + Send + Sync>,
    next_id: Arc<AtomicU64>,
}

impl TraceFactory {
    /// The tracer of the next connection.
    pub(crate) fn next(&self) -> Tracer {
        (self.make)(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

impl std::fmt::Debug for TraceFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceFactory")
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_concurrent_streams: 100,
            initial_window_size: 256 * 1024,
            initial_connection_window_size: 1024 * 1024,
            max_header_list_size: 64 * 1024,
            max_frame_size: None,
            write_high_water: 64 * 1024,
            read_buffer_size: 32 * 1024,
            idle_timeout: Some(Duration::from_secs(120)),
            write_timeout: Duration::from_secs(30),
            settings_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            stream_reset_rate_limit: None,
            // nghttp2 1.68.1 (what libnghttp2-sys vendors) defaults to a
            // burst of 1000 and 33/s, and counts each DATA frame it ignores
            // on a closed stream: a client on a slow or high-latency link
            // whose uploads are reset (handler error, refused stream) has a
            // window's worth of DATA in flight per stream, and a few dozen
            // such streams end the connection. 1.69 raised the default to
            // 10000, 330 (and stopped counting ignored DATA); so does this.
            // See session::options::GLITCH_RATE_LIMIT.
            glitch_rate_limit: Some(crate::session::GLITCH_RATE_LIMIT),
            max_continuations: None,
            max_outbound_ack: None,
            http1: true,
            server_header: None,
            enable_connect_protocol: false,
            header_table_size: None,
            encoder_header_table_size: None,
            rfc9218_priorities: true,
            trace: None,
            hexdump: None,
            push: true,
            request_extensions: true,
        }
    }
}

impl Config {
    /// The largest request body an `Upgrade: h2c` may carry: the server
    /// reads it whole before switching (the stream window's size).
    fn h2c_body_limit(&self) -> u64 {
        u64::from(self.initial_window_size)
    }

    fn options(&self) -> Options {
        let mut options = Options::new()
            .no_auto_window_update(true)
            .no_closed_streams(true);
        if let Some((burst, rate)) = self.stream_reset_rate_limit {
            options = options.stream_reset_rate_limit(burst, rate);
        }
        if let Some((burst, rate)) = self.glitch_rate_limit {
            options = options.glitch_rate_limit(burst, rate);
        }
        if let Some(n) = self.max_continuations {
            options = options.max_continuations(n);
        }
        if let Some(n) = self.max_outbound_ack {
            options = options.max_outbound_ack(n);
        }
        if let Some(n) = self.encoder_header_table_size {
            options = options.max_deflate_dynamic_table_size(n);
        }
        if self.rfc9218_priorities {
            options = options.recv_extension(FrameType::PRIORITY_UPDATE);
        }
        options
    }

    fn settings(&self) -> Vec<Setting> {
        let mut settings = vec![
            Setting::new(
                SettingId::MAX_CONCURRENT_STREAMS,
                self.max_concurrent_streams,
            ),
            Setting::new(SettingId::MAX_HEADER_LIST_SIZE, self.max_header_list_size),
            Setting::new(SettingId::ENABLE_PUSH, 0),
        ];
        if self.initial_window_size != 65_535 {
            settings.push(Setting::new(
                SettingId::INITIAL_WINDOW_SIZE,
                self.initial_window_size,
            ));
        }
        if let Some(n) = self.max_frame_size {
            settings.push(Setting::new(SettingId::MAX_FRAME_SIZE, n));
        }
        if let Some(n) = self.header_table_size {
            settings.push(Setting::new(SettingId::HEADER_TABLE_SIZE, n));
        }
        if self.enable_connect_protocol {
            settings.push(Setting::new(SettingId::ENABLE_CONNECT_PROTOCOL, 1));
        }
        if self.rfc9218_priorities {
            settings.push(Setting::new(SettingId::NO_RFC7540_PRIORITIES, 1));
        }
        settings
    }
}

/// Configures a server. Every limit has a safe default; nghttp2's
/// rapid-reset, glitch and CONTINUATION limits stay on unless changed here.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: Config,
}

impl Builder {
    /// The defaults: 100 concurrent streams, 256 KiB stream and 1 MiB
    /// connection windows, 64 KiB header lists, 64 KiB write high-water
    /// mark, 120 s idle timeout, 30 s write timeout, 10 s SETTINGS-ACK and
    /// handshake timeouts, 30 s shutdown grace; see the
    /// [module documentation](crate::server#limits) for the full table.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// SETTINGS_MAX_CONCURRENT_STREAMS (default 100).
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.config.max_concurrent_streams = n;
        self
    }

    /// SETTINGS_INITIAL_WINDOW_SIZE: how much request body a client may send
    /// on one stream before the handler reads it (default 256 KiB, at most
    /// 2^31-1).
    pub fn initial_window_size(mut self, n: u32) -> Self {
        self.config.initial_window_size = n.min(i32::MAX as u32);
        self
    }

    /// The connection's receive window: how much request body all streams
    /// together may have unread (default 1 MiB, at least 65535).
    pub fn initial_connection_window_size(mut self, n: u32) -> Self {
        self.config.initial_connection_window_size = n.clamp(65_535, i32::MAX as u32);
        self
    }

    /// SETTINGS_MAX_HEADER_LIST_SIZE; larger requests get 431 (default 64
    /// KiB).
    pub fn max_header_list_size(mut self, n: u32) -> Self {
        self.config.max_header_list_size = n;
        self
    }

    /// SETTINGS_MAX_FRAME_SIZE this side accepts (default 16384).
    pub fn max_frame_size(mut self, n: u32) -> Self {
        self.config.max_frame_size = Some(n.clamp(16_384, 16_777_215));
        self
    }

    /// How many bytes of output a connection buffers before it stops
    /// reading from its socket until they are written (default 64 KiB).
    pub fn write_high_water(mut self, n: usize) -> Self {
        self.config.write_high_water = n.max(1024);
        self
    }

    /// The size of a connection's socket read buffer (default 32 KiB).
    pub fn read_buffer_size(mut self, n: usize) -> Self {
        self.config.read_buffer_size = n.max(1024);
        self
    }

    /// Close a connection (GOAWAY NO_ERROR) after this long with nothing
    /// read or written and nothing to do on the server's side; `None`
    /// never does (default 120 s).
    ///
    /// Streams that wait only on the client do not keep a connection busy:
    /// a handler waiting for request body that does not come, a response
    /// held up by a window the client does not open, a request whose end
    /// does not come. A handler at work (its future pending on anything
    /// else, or its response body not ready) does.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Close a connection when its socket has taken no byte of pending
    /// output for this long: the client stopped reading (default 30 s).
    /// This also bounds how long a GOAWAY may wait to be read.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// End a connection with GOAWAY SETTINGS_TIMEOUT when the client has
    /// not acknowledged the server's SETTINGS after this long (default 10 s).
    pub fn settings_timeout(mut self, timeout: Duration) -> Self {
        self.config.settings_timeout = timeout;
        self
    }

    /// Close a connection whose TLS handshake and HTTP/2 preface (up to the
    /// client's first SETTINGS) take longer than this (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// How long a graceful shutdown lets in-flight streams run after the
    /// GOAWAY before connections are closed (default 30 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// nghttp2's token bucket for streams reset by the client (burst, per
    /// second; nghttp2's default 1000, 33). Past it the connection ends.
    pub fn stream_reset_rate_limit(mut self, burst: u64, rate: u64) -> Self {
        self.config.stream_reset_rate_limit = Some((burst, rate));
        self
    }

    /// nghttp2's token bucket for useless frames (burst, per second;
    /// default 10000, 330: nghttp2 1.69's default, in place of the vendored
    /// 1.68.1's 1000, 33, which cuts off clients on slow links because it
    /// also counts the DATA a client had in flight on a stream the server
    /// reset).
    pub fn glitch_rate_limit(mut self, burst: u64, rate: u64) -> Self {
        self.config.glitch_rate_limit = Some((burst, rate));
        self
    }

    /// The most CONTINUATION frames after one HEADERS (nghttp2's default
    /// 8). Past it the connection ends with GOAWAY ENHANCE_YOUR_CALM.
    pub fn max_continuations(mut self, n: usize) -> Self {
        self.config.max_continuations = Some(n);
        self
    }

    /// The most SETTINGS and PING acknowledgements a connection may have
    /// queued and not yet sent (nghttp2's default 1000): a client flooding
    /// either frame past it gets GOAWAY ENHANCE_YOUR_CALM.
    pub fn max_outbound_ack(mut self, n: usize) -> Self {
        self.config.max_outbound_ack = Some(n);
        self
    }

    /// Serve HTTP/1.x beside HTTP/2 (default true): on cleartext an
    /// HTTP/1.x request line goes to hyper's HTTP/1 server (and
    /// `Upgrade: h2c` to HTTP/2), over TLS a client that negotiates
    /// `http/1.1` by ALPN, or no ALPN, does. With `false` the server speaks
    /// HTTP/2 only: an HTTP/1.x request gets a short
    /// `505 HTTP Version Not Supported` (readable in a browser or curl)
    /// and is disconnected. Either way, bytes that are neither get GOAWAY
    /// PROTOCOL_ERROR (RFC 9113 section 3.4).
    pub fn http1(mut self, on: bool) -> Self {
        self.config.http1 = on;
        self
    }

    /// Sends SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441), so that HTTP/2
    /// clients may open extended CONNECT streams (WebSocket over HTTP/2):
    /// their `:protocol` reaches the handler as an
    /// [`upgrade::Protocol`] extension, and [`upgrade::on`] turns the
    /// stream into a byte stream. Off by default: nghttp2 then answers an
    /// extended CONNECT with GOAWAY PROTOCOL_ERROR.
    pub fn enable_connect_protocol(mut self, on: bool) -> Self {
        self.config.enable_connect_protocol = on;
        self
    }

    /// SETTINGS_HEADER_TABLE_SIZE this side announces: the most of its
    /// HPACK decoder's dynamic table a client's encoder may use (default:
    /// not sent, so 4096). nghttpd `-c`.
    pub fn header_table_size(mut self, n: u32) -> Self {
        self.config.header_table_size = Some(n);
        self
    }

    /// The most this side's HPACK encoder uses of its dynamic table for
    /// response headers, whatever larger size the client announces
    /// (default: what the client announces, 4096 unless it says
    /// otherwise; 0 indexes nothing). nghttpd `--encoder-header-table-size`.
    pub fn encoder_header_table_size(mut self, n: usize) -> Self {
        self.config.encoder_header_table_size = Some(n);
        self
    }

    /// RFC 9218 extensible priorities (default true): the server sends
    /// `SETTINGS_NO_RFC7540_PRIORITIES=1`, has nghttp2 read the client's
    /// PRIORITY_UPDATE frames (`nghttp2_option_set_builtin_recv_extension_type`),
    /// and applies the [`Priority`] a handler gives its response (with
    /// `nghttp2_session_change_extpri_stream_priority`, as nghttpx does).
    /// nghttp2's scheduler then sends a connection's DATA by urgency: an
    /// urgent small response overtakes a large low-urgency download.
    ///
    /// With `false` none of that happens: no setting, PRIORITY_UPDATE
    /// frames are skipped unread, a response's priority is not applied.
    /// nghttp2 (1.65 and later, which dropped RFC 7540's priority tree)
    /// still orders streams by the client's `priority` request header.
    pub fn rfc9218_priorities(mut self, on: bool) -> Self {
        self.config.rfc9218_priorities = on;
        self
    }

    /// The `server` header of every response that has none (default:
    /// none sent).
    pub fn server_header(mut self, value: Option<http::HeaderValue>) -> Self {
        self.config.server_header = value;
        self
    }

    /// Traces every connection's frames: `make(n)` gives the tracer of the
    /// n-th connection (1, 2, ...), for example
    /// `Tracer::stdout().connection_id(n)` for nghttpd's `-v` output. Off by
    /// default; an idle tracer costs a branch per event.
    pub fn trace(mut self, make: impl Fn(u64) -> Tracer + Send + Sync + 'static) -> Self {
        self.config.trace = Some(TraceFactory {
            make: Arc::new(make),
            next_id: Arc::new(AtomicU64::new(0)),
        });
        self
    }

    /// Offers server push to handlers: a [`Push`] in the extensions of
    /// every HTTP/2 request whose client allows push (default on). Off, no
    /// request carries one, which saves the handle's small cost per
    /// request (a clone of the request's authority and an extension) for
    /// a server that never pushes; `h2serve` turns it on with `-p` only.
    pub fn push(mut self, on: bool) -> Self {
        self.config.push = on;
        self
    }

    /// Puts the server's handles into every request's extensions (default
    /// on): a [`ConnectionInfo`], and on HTTP/2 an [`Informational`] and a
    /// [`StreamOutcome`]. Off, requests carry none of them, which saves
    /// what they cost a request for a service that uses none: the
    /// extensions' map and its table, a box per handle, and their
    /// reference counts (about 0.8k instructions, 5% of a small request's
    /// CPU, by `benches/perf.sh callgrind`). [`Push`] has its own switch
    /// ([`push`](Builder::push)), and a request that asks to upgrade
    /// carries what [`upgrade::on`] needs either way. `h2serve` keeps the
    /// handles for its access log only.
    pub fn request_extensions(mut self, on: bool) -> Self {
        self.config.request_extensions = on;
        self
    }

    /// Writes everything every connection reads (decrypted, over TLS) to
    /// `out` in the canonical hex+ASCII display, as `nghttpd --hexdump`
    /// does: each read from offset 0, ending with its length; one read's
    /// lines are never mixed with another connection's. Off by default.
    pub fn hexdump(mut self, out: impl std::io::Write + Send + 'static) -> Self {
        self.config.hexdump = Some(Sink::new(out));
        self
    }

    /// The server, with its stats and shutdown switch.
    pub fn build(self) -> Server {
        let (shutdown, _) = watch::channel(false);
        Server {
            config: Arc::new(self.config),
            stats: Arc::new(StatsInner::default()),
            shutdown: Arc::new(shutdown),
        }
    }

    /// Builds the server and serves cleartext HTTP on `listener`; see
    /// [`Server::serve`].
    pub fn serve<S>(self, listener: TcpListener, service: S) -> Serve
    where
        S: HttpService + Clone,
    {
        self.build().serve(listener, service)
    }

    #[cfg(feature = "tls")]
    /// Builds the server and serves HTTP over TLS on `listener`; see
    /// [`Server::serve_tls`].
    pub fn serve_tls<S>(self, listener: TcpListener, acceptor: SslAcceptor, service: S) -> Serve
    where
        S: HttpService + Clone,
    {
        self.build().serve_tls(listener, acceptor, service)
    }

    /// Builds the server and serves cleartext HTTP on `listener` with a
    /// service made per connection; see [`Server::serve_make`].
    pub fn serve_make<M, S>(self, listener: TcpListener, make: M) -> Serve
    where
        M: MakeService<S>,
        S: HttpService,
    {
        self.build().serve_make(listener, make)
    }

    #[cfg(feature = "tls")]
    /// Builds the server and serves HTTP over TLS on `listener` with a
    /// service made per connection; see [`Server::serve_tls_make`].
    pub fn serve_tls_make<M, S>(
        self,
        listener: TcpListener,
        acceptor: SslAcceptor,
        make: M,
    ) -> Serve
    where
        M: MakeService<S>,
        S: HttpService,
    {
        self.build().serve_tls_make(listener, acceptor, make)
    }
}

/// A make-service: a `tower_service::Service` that, given a connection's
/// peer address, makes the [`HttpService`] for that connection, as hyper
/// 0.14's `make_service_fn` and axum's
/// `Router::into_make_service_with_connect_info::<SocketAddr>()` do (so
/// axum's `ConnectInfo<SocketAddr>` extractor answers). Implemented for
/// every such service; not meant to be implemented by hand.
pub trait MakeService<S>:
    tower_service::Service<
        SocketAddr,
        Response = S,
        Error = Self::MakeError,
        Future = Self::MakeFuture,
    > + Clone
    + Send
    + 'static
{
    /// The make-service's error.
    type MakeError: Into<BoxError>;
    /// Its future.
    type MakeFuture: std::future::Future<Output = Result<S, Self::MakeError>> + Send + 'static;
}

impl<M, S> MakeService<S> for M
where
    M: tower_service::Service<SocketAddr, Response = S> + Clone + Send + 'static,
    M::Error: Into<BoxError>,
    M::Future: Send + 'static,
{
    type MakeError = M::Error;
    type MakeFuture = M::Future;
}

/// A configured server: serves listeners and connections, counts what it
/// does, and shuts down gracefully on request. Cheap to clone; clones share
/// stats and the shutdown switch.
#[derive(Clone, Debug)]
pub struct Server {
    config: Arc<Config>,
    stats: Arc<StatsInner>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl Default for Server {
    fn default() -> Server {
        Builder::new().build()
    }
}

/// The HTTP/2 client connection preface (RFC 9113 section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes on a connection say.
enum Sniffed {
    /// The HTTP/2 preface.
    H2,
    /// An HTTP/1.x request line.
    Http1,
    /// Something else: refuse.
    Other,
    /// The peer closed or stalled first.
    Nothing,
}

/// Reads until the bytes are known to start with the HTTP/2 preface, an
/// HTTP/1.x request line, or neither. `buf` gets everything read.
async fn sniff<I: AsyncRead + Unpin>(io: &mut I, buf: &mut Vec<u8>) -> io::Result<Sniffed> {
    loop {
        // Straight into `buf`: a stack array here would be part of every
        // connection's future for its whole life.
        buf.reserve(4096);
        let n = io.read_buf(buf).await?;
        if n == 0 {
            return Ok(Sniffed::Nothing);
        }
        let k = buf.len().min(PREFACE.len());
        if buf[..k] == PREFACE[..k] {
            if k == PREFACE.len() {
                // `buf` lives as long as the connection: keep only its bytes.
                buf.shrink_to_fit();
                return Ok(Sniffed::H2);
            }
            continue;
        }
        // A broken preface ("PRI * HTTP/2.0" then something else) is no
        // HTTP/1.x request either.
        if buf.starts_with(b"PRI ") {
            return Ok(Sniffed::Other);
        }
        match http1::looks_like_http1(buf) {
            Some(true) => return Ok(Sniffed::Http1),
            Some(false) => return Ok(Sniffed::Other),
            None => {}
        }
    }
}

/// Answers an HTTP/1.x client of an HTTP/2-only server with a short
/// HTTP/1.1 505, then closes.
async fn refuse_http1<I: AsyncRead + AsyncWrite + Unpin>(io: &mut I, why: &str) {
    let text = format!("This server speaks HTTP/2 only ({why}).\n");
    let answer = format!(
        "HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        io.write_all(answer.as_bytes()).await?;
        io.flush().await?;
        io.shutdown().await?;
        // Read what the client still sends so closing does not reset the
        // connection before it read the answer.
        // On the heap: an array here would be part of every connection's
        // future, idle or not.
        let mut sink = vec![0u8; 4096];
        let mut total = 0;
        while total < 64 * 1024 {
            match io.read(&mut sink).await? {
                0 => break,
                n => total += n,
            }
        }
        Ok::<_, io::Error>(())
    })
    .await;
}

impl Server {
    /// The server's counters now.
    pub fn stats(&self) -> Stats {
        Stats::of(&self.stats)
    }

    /// Starts a graceful shutdown: listeners stop accepting, every
    /// connection sends GOAWAY with the last stream id it processed, its
    /// in-flight streams may finish during the grace period, and then it
    /// is closed. `serve*` return once all their connections are closed.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// True once [`shutdown`](Server::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn shutdown_signal(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Serves cleartext HTTP on `listener`, one task per connection, each
    /// with a clone of `service`: HTTP/2 with prior knowledge (h2c), and
    /// unless [`Builder::http1`] turned it off, HTTP/1.x (with
    /// `Upgrade: h2c`), told apart by the first bytes. Bytes that are
    /// neither get GOAWAY PROTOCOL_ERROR. The [`Serve`] future ends after
    /// [`shutdown`](Server::shutdown) (or its
    /// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) signal),
    /// once every connection closed.
    pub fn serve<S>(&self, listener: TcpListener, service: S) -> Serve
    where
        S: HttpService + Clone,
    {
        Serve::new(
            self.clone(),
            listener,
            Box::new(move |server, tcp, info| {
                let service = service.clone();
                Box::pin(async move {
                    let addr = info.peer_addr();
                    if let Err(e) = server.serve_connection_with_info(tcp, info, service).await {
                        tracing::debug!(?addr, error = %e, "connection ended with an error");
                    }
                })
            }),
        )
    }

    #[cfg(feature = "tls")]
    /// Serves HTTP over TLS on `listener`. The acceptor should come from
    /// [`tls`] (or apply the same rules): a client that negotiates `h2` by
    /// ALPN gets HTTP/2, and GOAWAY INADEQUATE_SECURITY when its TLS
    /// session breaks RFC 9113 section 9.2; one that negotiates `http/1.1`,
    /// or no ALPN, gets HTTP/1.1 (unless [`Builder::http1`] turned it off).
    pub fn serve_tls<S>(&self, listener: TcpListener, acceptor: SslAcceptor, service: S) -> Serve
    where
        S: HttpService + Clone,
    {
        Serve::new(
            self.clone(),
            listener,
            Box::new(move |server, tcp, info| {
                let service = service.clone();
                let acceptor = acceptor.clone();
                Box::pin(async move {
                    let addr = info.peer_addr();
                    let served = server
                        .serve_tls_connection_with_info(tcp, info, &acceptor, service)
                        .await;
                    if let Err(e) = served {
                        tracing::debug!(?addr, error = %e, "connection ended with an error");
                    }
                })
            }),
        )
    }

    /// As [`serve`](Server::serve), with the service of each connection
    /// made by `make` from the peer's address: what axum's
    /// `router.into_make_service_with_connect_info::<SocketAddr>()` needs
    /// for its `ConnectInfo<SocketAddr>` extractor.
    pub fn serve_make<M, S>(&self, listener: TcpListener, make: M) -> Serve
    where
        M: MakeService<S>,
        S: HttpService,
    {
        Serve::new(
            self.clone(),
            listener,
            Box::new(move |server, tcp, info| {
                let make = make.clone();
                Box::pin(async move {
                    let addr = info.peer_addr();
                    let Some(service) = serve::make_service(make, addr).await else {
                        return;
                    };
                    if let Err(e) = server.serve_connection_with_info(tcp, info, service).await {
                        tracing::debug!(?addr, error = %e, "connection ended with an error");
                    }
                })
            }),
        )
    }

    #[cfg(feature = "tls")]
    /// As [`serve_tls`](Server::serve_tls), with the service of each
    /// connection made by `make` from the peer's address.
    pub fn serve_tls_make<M, S>(
        &self,
        listener: TcpListener,
        acceptor: SslAcceptor,
        make: M,
    ) -> Serve
    where
        M: MakeService<S>,
        S: HttpService,
    {
        Serve::new(
            self.clone(),
            listener,
            Box::new(move |server, tcp, info| {
                let make = make.clone();
                let acceptor = acceptor.clone();
                Box::pin(async move {
                    let addr = info.peer_addr();
                    let Some(service) = serve::make_service(make, addr).await else {
                        return;
                    };
                    let served = server
                        .serve_tls_connection_with_info(tcp, info, &acceptor, service)
                        .await;
                    if let Err(e) = served {
                        tracing::debug!(?addr, error = %e, "connection ended with an error");
                    }
                })
            }),
        )
    }

    async fn accept_loop(
        &self,
        listener: TcpListener,
        mut each: serve::Each,
        workers: usize,
    ) -> io::Result<()> {
        let mut loops = if workers > 1 {
            Some(workers::Workers::start(self, &each, workers)?)
        } else {
            None
        };
        let mut tasks = JoinSet::new();
        let mut down = std::pin::pin!(self.shutdown_signal());
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, addr)) => {
                        let _ = tcp.set_nodelay(true);
                        let info = ConnectionInfo::new(Some(addr), tcp.local_addr().ok());
                        match &mut loops {
                            Some(loops) => loops.hand_over(tcp, info),
                            None => {
                                tasks.spawn(each(self.clone(), tcp, info));
                            }
                        }
                    }
                    Err(e) => {
                        // Out of descriptors and the like: wait, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = &mut down => break,
            }
        }
        drop(listener);
        if let Some(loops) = loops {
            loops.finish().await;
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    }

    #[cfg(feature = "tls")]
    /// Serves one TLS connection: handshake (within the handshake
    /// timeout), then HTTP/2 (after the RFC 9113 section 9.2 checks) or
    /// HTTP/1.1, as ALPN settled. Requests carry a [`ConnectionInfo`]
    /// with no addresses; see
    /// [`serve_tls_connection_with_info`](Server::serve_tls_connection_with_info).
    pub async fn serve_tls_connection<I, S>(
        &self,
        io: I,
        acceptor: &SslAcceptor,
        service: S,
    ) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        self.serve_tls_connection_with_info(io, ConnectionInfo::default(), acceptor, service)
            .await
    }

    #[cfg(feature = "tls")]
    /// [`serve_tls_connection`](Server::serve_tls_connection), with the
    /// addresses `info` gives (the TLS part is filled in here) put into
    /// every request's extensions.
    pub async fn serve_tls_connection_with_info<I, S>(
        &self,
        io: I,
        info: ConnectionInfo,
        acceptor: &SslAcceptor,
        service: S,
    ) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        let ssl = Ssl::new(acceptor.context()).map_err(|e| Error::user(e.to_string()))?;
        let mut tls = SslStream::new(ssl, io).map_err(|e| Error::user(e.to_string()))?;
        let handshake =
            tokio::time::timeout(self.config.handshake_timeout, Pin::new(&mut tls).accept()).await;
        match handshake {
            Err(_) => {
                self.stats.count_refused();
                tracing::info!("TLS handshake timed out");
                if let Some(trace) = &self.config.trace {
                    trace.next().message(&format!(
                        "[ERROR] handshake timeout: TLS handshake not done within {:?}; closing",
                        self.config.handshake_timeout
                    ));
                }
                return Ok(());
            }
            Ok(Err(e)) => {
                self.stats.count_refused();
                tracing::info!(error = %e, "TLS handshake failed (no h2 or http/1.1 in ALPN?)");
                return Ok(());
            }
            Ok(Ok(())) => {}
        }
        let info = info.with_tls(TlsInfo::from_ssl(tls.ssl()));
        let checked = tls::check_session(tls.ssl());
        let mut tls = self.dumped(tls);
        let fail = match checked {
            Ok(true) => None,
            Ok(false) if self.config.http1 => {
                return http1::serve(self, tls, Vec::new(), service, info, false).await;
            }
            Ok(false) => {
                self.stats.count_refused();
                tracing::info!("refusing a TLS client that did not negotiate h2 by ALPN");
                refuse_http1(&mut tls, "no h2 in ALPN").await;
                return Ok(());
            }
            Err(tls::Refusal::InadequateSecurity(what)) => {
                tracing::info!(cipher = %what, "TLS session not allowed for HTTP/2");
                Some(Reason::INADEQUATE_SECURITY)
            }
        };
        if fail.is_some() {
            return self.serve_h2(tls, service, &[], fail, info).await;
        }
        self.serve_sniffed(tls, service, info, false).await
    }

    /// Serves an established transport (a TCP stream, or a TLS stream that
    /// negotiated `h2`): HTTP/2 when it starts with the preface, HTTP/1.x
    /// for a request line (unless [`Builder::http1`] turned it off), and
    /// GOAWAY PROTOCOL_ERROR for anything else. Requests carry a
    /// [`ConnectionInfo`] with no addresses; see
    /// [`serve_connection_with_info`](Server::serve_connection_with_info).
    /// Returns when the connection is over.
    pub async fn serve_connection<I, S>(&self, io: I, service: S) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        self.serve_sniffed(self.dumped(io), service, ConnectionInfo::default(), true)
            .await
    }

    /// [`serve_connection`](Server::serve_connection), with `info` put into
    /// every request's extensions.
    pub async fn serve_connection_with_info<I, S>(
        &self,
        io: I,
        info: ConnectionInfo,
        service: S,
    ) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        self.serve_sniffed(self.dumped(io), service, info, true)
            .await
    }

    /// `io`, its reads dumped when [`Builder::hexdump`] asked for it.
    fn dumped<I>(&self, io: I) -> Hexdump<I> {
        Hexdump::new(io, self.config.hexdump.clone())
    }

    /// Reads the first bytes and serves what they ask for. `cleartext`
    /// allows HTTP/1.x and its `Upgrade: h2c`; over TLS (ALPN `h2`) only
    /// the HTTP/2 preface is served.
    async fn serve_sniffed<I, S>(
        &self,
        mut io: I,
        service: S,
        info: ConnectionInfo,
        cleartext: bool,
    ) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        let mut first = Vec::new();
        let sniffed =
            tokio::time::timeout(self.config.handshake_timeout, sniff(&mut io, &mut first)).await;
        match sniffed {
            Ok(Ok(Sniffed::H2)) => self.serve_h2(io, service, &first, None, info).await,
            // On the heap: HTTP/1.1's future is larger than HTTP/2's, and
            // inline it would be part of every HTTP/2 connection's task.
            Ok(Ok(Sniffed::Http1)) if self.config.http1 && cleartext => {
                Box::pin(http1::serve(self, io, first, service, info, true)).await
            }
            Ok(Ok(Sniffed::Http1)) if cleartext => {
                self.stats.count_refused();
                tracing::info!(
                    first_line = %first_line(&first),
                    "refusing an HTTP/1.x client: HTTP/1 is off"
                );
                Box::pin(refuse_http1(&mut io, "HTTP/1 is off")).await;
                Ok(())
            }
            // Over TLS, ALPN said `h2`: an HTTP/1.x request is no preface.
            Ok(Ok(Sniffed::Http1 | Sniffed::Other)) => {
                self.stats.count_refused();
                tracing::info!(
                    first_line = %first_line(&first),
                    "neither the HTTP/2 preface nor an HTTP/1.x request; GOAWAY PROTOCOL_ERROR"
                );
                self.serve_h2(io, service, &[], Some(Reason::PROTOCOL_ERROR), info)
                    .await
            }
            Ok(Ok(Sniffed::Nothing)) => {
                tracing::debug!("connection closed before its first request");
                Ok(())
            }
            Err(_) => {
                self.stats.count_refused();
                tracing::debug!(
                    "no HTTP/2 preface or HTTP/1.x request within the handshake timeout"
                );
                if let Some(trace) = &self.config.trace {
                    let mut tracer = trace.next();
                    tracer.message(&format!(
                        "[ERROR] handshake timeout: {} bytes of a preface or request line within {:?}; closing",
                        first.len(),
                        self.config.handshake_timeout
                    ));
                }
                Ok(())
            }
            Ok(Err(e)) => Err(e.into()),
        }
    }

    /// Runs HTTP/2 on `io`, `initial` being the bytes already read. Not an
    /// `async fn`: its arguments would stay in the connection's future.
    fn serve_h2<I, S>(
        &self,
        io: I,
        service: S,
        initial: &[u8],
        fail: Option<Reason>,
        info: ConnectionInfo,
    ) -> impl Future<Output = Result<(), Error>>
    where
        I: AsyncRead + AsyncWrite + Unpin,
        S: HttpService,
    {
        conn::serve(
            io,
            service,
            self.config.clone(),
            self.stats.clone(),
            fail.is_none().then(|| self.shutdown.subscribe()),
            conn::Setup {
                initial,
                fail,
                upgrade: None,
                tracer: None,
                info: Some(info),
            },
        )
    }
}

/// The first line of `bytes`, for a log, at most 100 bytes of it.
fn first_line(bytes: &[u8]) -> String {
    let line = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(&[]);
    String::from_utf8_lossy(&line[..line.len().min(100)]).into_owned()
}
