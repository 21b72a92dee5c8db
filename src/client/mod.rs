//! An HTTP/2 client on nghttp2's engine, on tokio.
//!
//! Two levels:
//!
//! - [`Client`]: what most users want. A pool of connections, one per
//!   origin, opened on first use and replaced after a GOAWAY or a close;
//!   requests the server refused retried once; connect, request and idle
//!   timeouts; opt-in redirects ([`redirect::Policy`]) and decompression
//!   (`gzip`, `deflate`, `br`); `client.get(url)`; a `tower::Service`.
//!   See the [`Client`] docs.
//! - [`Builder::connect`] and [`SendRequest`]: one connection, as below.
//!
//! A server that does not speak HTTP/2 (it answers in HTTP/1.x, or TLS
//! ALPN chose another protocol) gives an error whose
//! [`is_not_http2`](crate::Error::is_not_http2) is true and whose text
//! says what it answered, rather than a protocol error.
//!
//! ```no_run
//! use http_body_util::{BodyExt, Empty};
//! use nghttp2::client::Builder;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let uri: http::Uri = "https://nghttp2.org/".parse()?;
//! let client = Builder::new().connect(&uri).await?;
//! let request = http::Request::get(uri).body(Empty::<bytes::Bytes>::new())?;
//! let response = client.send(request).await?;
//! println!("{}", response.status());
//! let body = response.into_body().collect().await?.to_bytes();
//! println!("{} bytes", body.len());
//! client.close();
//! client.closed().await?;
//! # Ok(()) }
//! ```
//!
//! [`Builder::connect`] opens one connection (`https://`: TLS with ALPN
//! `h2`, certificates checked against the system's roots unless told
//! otherwise; `http://`: cleartext HTTP/2 with prior knowledge) and spawns
//! the tokio task that drives it. [`SendRequest`] is a cheap, cloneable
//! handle to that connection: any number of tasks may send requests on it
//! at once.
//!
//! # Architecture
//!
//! As in the [server](crate::server), one task owns the connection's
//! [`Session`](crate::session::Session); handles talk to it through a
//! channel (requests, PINGs, wake-ups of streams), never through a lock on
//! the session. Requests beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS
//! wait in nghttp2's queue and go out as earlier streams close; before the
//! server's first SETTINGS arrive only one request is sent, so a server
//! with a small limit never has to refuse streams.
//!
//! Request bodies are pulled inside nghttp2's data callback as the
//! server's window allows; response bodies are read under
//! `no_auto_window_update`: DATA is given back to the server's windows
//! (`nghttp2_session_consume`) only as [`ResponseBody`] is read.
//!
//! After a GOAWAY from the server, requests on streams above its last
//! stream id fail with an error whose
//! [`is_retryable`](crate::Error::is_retryable) is true (and whose text
//! says so).

mod body;
mod conn;
mod decompress;
mod duplex;
mod expect;

mod head;
mod informational;
mod pool;
pub mod redirect;
mod replay;
mod sniff;
mod tls;
mod upgrade;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use http_body::Body;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::PollSender;

pub use body::{body_channel, BodySender, ChannelBody, ResponseBody};
pub use decompress::Incoming;
pub use duplex::Duplex;
pub use informational::{informational, InformationalResponses};
pub use pool::{Client, ClientBuilder};

use crate::error::{Error, Kind};
use crate::proto::hexdump;
use crate::proto::scheduler::Scheduler;
use crate::proto::stream::{Failure, Stream};
use crate::session::StreamId;
use crate::session::{DataSource, Setting, SettingId};
use crate::trace::Tracer;
use body::BodySource;
use sniff::{Answer, Sniff};

/// How many requests (and PINGs) may wait for the connection task at once;
/// past that, [`SendRequest::send`] waits and
/// [`SendRequest::poll_ready`] answers `Pending`.
const REQUEST_QUEUE: usize = 64;

/// A message from a handle to the connection task. Stream wake-ups do not
/// come this way but through the connection's scheduler.
// A request is not boxed: it is built in its slot of the queue (see
// `SendRequest::send`), and a box per request cost more than its moves.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    /// Submit a request.
    Request(Submit),
    /// Send a PING and answer with the round-trip time.
    Ping(oneshot::Sender<Result<Duration, Error>>),
    /// Close the connection once the streams in flight are done.
    Close,
}

/// A request on its way to the connection task.
pub(crate) struct Submit {
    pub(crate) head: head::RequestHead,
    pub(crate) body: Option<Box<dyn DataSource>>,
    pub(crate) stream: Arc<Stream>,
    pub(crate) head_request: bool,
    pub(crate) reply: oneshot::Sender<Result<Response<ResponseBody>, Error>>,
    /// Told when `100 Continue` arrives (the request has
    /// `expect: 100-continue` and its body waits for it).
    pub(crate) on_continue: Option<oneshot::Sender<()>>,
    /// Where 1xx responses go, when the caller asked for them.
    pub(crate) informational: Option<informational::InformationalSender>,
}

/// Where a request's response head arrives.
type ResponseReceiver = oneshot::Receiver<Result<Response<ResponseBody>, Error>>;

/// How a connection ended, as handles see it.
#[derive(Clone, Debug)]
pub(crate) enum End {
    Clean,
    /// Closed after the peer's GOAWAY (with this last stream id): later
    /// requests are safe to retry elsewhere.
    GoneAway(StreamId),
    Failed(Failure),
}

/// Configures and opens client connections.
#[derive(Debug)]
pub struct Builder {
    tls: tls::TlsConfig,
    header_table_size: Option<u32>,
    max_concurrent_streams: u32,
    initial_window_size: u32,
    connection_window_size: Option<u32>,
    write_high_water: usize,
    read_buffer_size: usize,
    tracer: Option<Tracer>,
    hexdump: Option<hexdump::Sink>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            tls: tls::TlsConfig::default(),
            header_table_size: None,
            max_concurrent_streams: 100,
            initial_window_size: 65_535,
            connection_window_size: None,
            write_high_water: 64 * 1024,
            read_buffer_size: 32 * 1024,
            tracer: None,
            hexdump: None,
        }
    }
}

impl Builder {
    /// The defaults, which are `nghttp`'s: SETTINGS_MAX_CONCURRENT_STREAMS
    /// 100 and SETTINGS_INITIAL_WINDOW_SIZE 65535, the connection window
    /// left at 65535, certificates verified against the system's roots.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Trust the CA certificates in this PEM file (in addition to the
    /// system's roots).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// Do not verify the server's certificate (for tests and self-signed
    /// servers only).
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> Self {
        self.tls.insecure = on;
        self
    }

    /// Present this client certificate (a PEM file, leaf first, then any
    /// intermediates) with its private key (a PEM file) when the server
    /// asks for one. Checked at connect time: a file that cannot be read,
    /// holds no PEM, or a key that does not match the certificate is an
    /// error that says so.
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// Writes every read from the server (decrypted, for TLS) to `out` in
    /// the canonical hex+ASCII display, as `nghttp --hexdump` does: each
    /// read from offset 0, ending with its length.
    pub fn hexdump(mut self, out: impl std::io::Write + Send + 'static) -> Self {
        self.hexdump = Some(hexdump::Sink::new(out));
        self
    }

    /// SETTINGS_HEADER_TABLE_SIZE this side announces: the most the
    /// server's HPACK encoder may use of this side's decoder table
    /// (`nghttp -c`; default: not sent, 4096).
    pub fn header_table_size(mut self, n: u32) -> Self {
        self.header_table_size = Some(n);
        self
    }

    /// SETTINGS_MAX_CONCURRENT_STREAMS this side announces (server pushes;
    /// default 100).
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.max_concurrent_streams = n;
        self
    }

    /// SETTINGS_INITIAL_WINDOW_SIZE: how much of one response body may be
    /// unread at once (default 65535, at most 2^31-1).
    pub fn initial_window_size(mut self, n: u32) -> Self {
        self.initial_window_size = n.min(i32::MAX as u32);
        self
    }

    /// The stream window as `nghttp -w BITS` sets it: 2^bits - 1 (bits up
    /// to 30).
    pub fn window_bits(self, bits: u32) -> Self {
        self.initial_window_size(((1u64 << bits.min(30)) - 1) as u32)
    }

    /// The connection's receive window: how much of all response bodies
    /// together may be unread (default 65535). Sent as a WINDOW_UPDATE on
    /// stream 0 after SETTINGS.
    pub fn connection_window_size(mut self, n: u32) -> Self {
        self.connection_window_size = Some(n.clamp(65_535, i32::MAX as u32));
        self
    }

    /// The connection window as `nghttp -W BITS` sets it: 2^bits - 1 (bits
    /// up to 30).
    pub fn connection_window_bits(self, bits: u32) -> Self {
        self.connection_window_size(((1u64 << bits.min(30)) - 1) as u32)
    }

    /// How many bytes of output the connection buffers before it stops
    /// reading its socket until they are written (default 64 KiB).
    pub fn write_high_water(mut self, n: usize) -> Self {
        self.write_high_water = n.max(1024);
        self
    }

    /// Traces every frame of the connection (`nghttp -v`'s format, and
    /// JSON lines if the tracer has them). `Connected` is traced once the
    /// transport is up, as nghttp does.
    pub fn tracer(mut self, tracer: Tracer) -> Self {
        self.tracer = Some(tracer);
        self
    }

    /// A copy of the settings, without the tracer (which is one
    /// connection's).
    fn config_clone(&self) -> Builder {
        Builder {
            tls: self.tls.clone(),
            header_table_size: self.header_table_size,
            max_concurrent_streams: self.max_concurrent_streams,
            initial_window_size: self.initial_window_size,
            connection_window_size: self.connection_window_size,
            write_high_water: self.write_high_water,
            read_buffer_size: self.read_buffer_size,
            tracer: None,
            hexdump: None,
        }
    }

    fn settings(&self) -> Vec<Setting> {
        let mut settings = vec![
            Setting::new(
                SettingId::MAX_CONCURRENT_STREAMS,
                self.max_concurrent_streams,
            ),
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, self.initial_window_size),
        ];
        if let Some(n) = self.header_table_size {
            settings.push(Setting::new(SettingId::HEADER_TABLE_SIZE, n));
        }
        settings
    }

    /// Connects to `uri`'s origin (`https://` or `http://`; the port
    /// defaults to 443 or 80) and starts the connection's task, which must
    /// run inside a tokio runtime.
    ///
    /// Errors: the name does not resolve, the connection is refused, the
    /// TLS handshake fails (say, the certificate does not verify, with
    /// OpenSSL's reason), or the server does not offer `h2` by ALPN.
    pub async fn connect(self, uri: &Uri) -> Result<SendRequest, Error> {
        let origin = Origin::from_uri(uri)?;
        let tcp = origin.connect().await?;
        if origin.tls {
            let stream = tls::connect(tcp, &origin.host, &origin.authority, &self.tls).await?;
            Ok(self
                .start(stream, origin.scheme(), &origin.authority, Some("h2"), None)?
                .0)
        } else {
            Ok(self
                .start(tcp, origin.scheme(), &origin.authority, None, None)?
                .0)
        }
    }

    /// Connects to an `http://` URI's origin and asks for HTTP/2 by
    /// HTTP/1.1 `Upgrade: h2c` with `request` (RFC 7540 section 3.2, as
    /// `nghttp -u`): `request` goes out in HTTP/1.1 with this side's
    /// SETTINGS in `HTTP2-Settings`; once the server answers `101
    /// Switching Protocols` the connection is HTTP/2 and the response to
    /// `request` arrives on stream 1. Returns the connection and that
    /// response.
    ///
    /// `request` has no body (the upgrade request cannot carry one here);
    /// its method, path and fields are sent as they are. The tracer shows
    /// nghttp's `HTTP Upgrade request`, `HTTP Upgrade response` and
    /// `HTTP Upgrade success` lines.
    ///
    /// Errors: the URI is not `http://`; connecting failed; the server did
    /// not switch ([`is_not_http2`](Error::is_not_http2), with what it
    /// answered).
    pub async fn connect_upgrade(
        mut self,
        request: Request<()>,
    ) -> Result<(SendRequest, Response<ResponseBody>), Error> {
        let origin = Origin::from_uri(request.uri())?;
        if origin.tls {
            return Err(Error::user(format!(
                "{}: the h2c upgrade is for http:// URLs (https:// negotiates h2 by ALPN)",
                request.uri()
            )));
        }
        let mut tcp = origin.connect().await?;
        let mut tracer = self.tracer.take().unwrap_or_default();
        tracer.message("Connected");
        let payload = upgrade::settings_payload(&self.settings());
        let head = upgrade::request_head(&request, &origin.authority, &payload);
        tracer.message("HTTP Upgrade request");
        tracer.line(&head.replace("\r\n", "\n"));
        let (answer, rest) = upgrade::handshake(&mut tcp, &head, &origin.authority).await?;
        tracer.message("HTTP Upgrade response");
        tracer.line(&answer.replace("\r\n", "\n"));
        tracer.message("HTTP Upgrade success");
        self.tracer = Some(tracer);
        let head_request = request.method() == Method::HEAD;
        let io = crate::proto::rewind::Rewind::new(tcp, rest);
        let (send, response) = self.start(
            io,
            origin.scheme(),
            &origin.authority,
            None,
            Some((payload, head_request)),
        )?;
        let response = response.expect("an upgrade has a response");
        match response.await {
            Ok(result) => Ok((send.clone(), result.map_err(|e| send.explain(e))?)),
            Err(_) => Err(send.gone()),
        }
    }

    /// Starts HTTP/2 on an established transport (a TCP stream for h2c with
    /// prior knowledge, a TLS stream that negotiated `h2`, an in-memory
    /// pipe): sends the preface and SETTINGS and spawns the connection's
    /// task. `scheme` and `authority` fill in requests whose URI has none.
    ///
    /// A server that does not answer in HTTP/2 (an HTTP/1.x status line, a
    /// TLS record, text) fails the requests with an error whose
    /// [`is_not_http2`](Error::is_not_http2) is true.
    pub fn handshake<I>(self, io: I, scheme: &str, authority: &str) -> Result<SendRequest, Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Ok(self.start(io, scheme, authority, None, None)?.0)
    }

    /// [`handshake`](Builder::handshake), tracing the protocol TLS
    /// negotiated as nghttp does.
    /// With `upgrade` (the HTTP2-Settings payload sent, and whether the
    /// request was HEAD), stream 1 is the upgrade request, whose response
    /// head arrives through the returned receiver.
    fn start<I>(
        self,
        io: I,
        scheme: &str,
        authority: &str,
        alpn: Option<&str>,
        upgrade: Option<(Vec<u8>, bool)>,
    ) -> Result<(SendRequest, Option<ResponseReceiver>), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let scheduler = Arc::new(Scheduler::default());
        let (end_tx, end_rx) = watch::channel(None);
        let config = conn::Config {
            settings: self.settings(),
            connection_window_size: self.connection_window_size,
            write_high_water: self.write_high_water,
            read_buffer_size: self.read_buffer_size,
            upgrade: upgrade.clone(),
            scheme: scheme.to_string(),
            authority: authority.to_string(),
        };
        let mut tracer = self.tracer.unwrap_or_default();
        if upgrade.is_none() {
            tracer.message("Connected");
        }
        if let Some(protocol) = alpn {
            tracer.line(&format!("The negotiated protocol: {protocol}"));
        }
        let answer = Answer::default();
        let upgraded = upgrade.map(|(_, head)| {
            let (reply, response) = oneshot::channel();
            let stream = Stream::new(None, scheduler.clone());
            (head, stream, reply, response)
        });
        let mut response = None;
        macro_rules! spawn_conn {
            ($io:expr) => {{
                let mut conn =
                    conn::Conn::new($io, rx, scheduler.clone(), end_tx, tracer, &config)?;
                if let Some((head, stream, reply, receiver)) = upgraded {
                    conn.upgraded(head, stream, reply)?;
                    response = Some(receiver);
                }
                tokio::spawn(conn.run());
            }};
        }
        match self.hexdump {
            Some(sink) => spawn_conn!(Sniff::new(
                hexdump::Hexdump::new(io, Some(sink)),
                answer.clone()
            )),
            None => spawn_conn!(Sniff::new(io, answer.clone())),
        }
        let send = SendRequest {
            tx: PollSender::new(tx),
            scheduler,
            end: end_rx,
            defaults: Arc::new(Defaults {
                scheme: scheme.to_string(),
                authority: authority.to_string(),
                answer,
            }),
        };
        Ok((send, response))
    }
}

/// Where a URI points: scheme, host, port.
struct Origin {
    tls: bool,
    host: String,
    port: u16,
    authority: String,
}

impl Origin {
    fn from_uri(uri: &Uri) -> Result<Origin, Error> {
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => {
                return Err(Error::user(format!(
                    "unsupported scheme {other:?} in {uri} (use https:// or http://)"
                )))
            }
            None => return Err(Error::user(format!("{uri} has no scheme"))),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Error::user(format!("{uri} has no host")))?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_string();
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Origin {
            tls,
            host,
            port,
            authority: authority.as_str().to_string(),
        })
    }

    /// A TCP connection to the origin, with Nagle's algorithm off; the
    /// error names the origin in one line.
    async fn connect(&self) -> Result<TcpStream, Error> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                Error::new(Kind::Io(std::io::Error::new(
                    e.kind(),
                    format!(
                        "could not connect to {}: {}",
                        self.authority,
                        tls::io_text(&e)
                    ),
                )))
            })?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }

    fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }
}

#[derive(Debug)]
struct Defaults {
    scheme: String,
    authority: String,
    /// What the server answered, when it was not HTTP/2.
    answer: Answer,
}

/// A handle to one connection: sends requests, PINGs, and closes it.
/// Clones share the connection; it stays open while a handle, a response
/// body or a duplex stream of it lives, or until [`close`](SendRequest::close).
///
/// The connection takes requests through a bounded queue (64 at a time):
/// [`send`](SendRequest::send) waits while it is full, and
/// [`poll_ready`](SendRequest::poll_ready) says when there is room, so a
/// caller cannot pile up requests without limit.
#[derive(Clone)]
pub struct SendRequest {
    tx: PollSender<Msg>,
    scheduler: Arc<Scheduler>,
    end: watch::Receiver<Option<End>>,
    defaults: Arc<Defaults>,
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("scheme", &self.defaults.scheme)
            .field("authority", &self.defaults.authority)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SendRequest {
    /// `error`, or the clearer one when the server turned out not to speak
    /// HTTP/2.
    fn explain(&self, error: Error) -> Error {
        match self.defaults.answer.get() {
            Some(answer) => Error::new(Kind::NotHttp2 {
                authority: self.defaults.authority.clone(),
                answer: answer.clone(),
            }),
            None => error,
        }
    }

    /// True when both handles are of the same connection.
    pub(crate) fn same_connection(&self, other: &SendRequest) -> bool {
        Arc::ptr_eq(&self.defaults, &other.defaults)
    }

    /// A handle that does not keep the connection open.
    pub(crate) fn downgrade(&self) -> WeakSendRequest {
        WeakSendRequest {
            tx: self.tx.get_ref().map(|tx| tx.downgrade()),
            end: self.end.clone(),
        }
    }

    /// The error for a connection that is over (or going).
    fn gone(&self) -> Error {
        self.explain(self.gone_inner())
    }

    fn gone_inner(&self) -> Error {
        match &*self.end.borrow() {
            Some(End::Failed(failure)) => failure.to_error(),
            Some(End::GoneAway(last)) => Failure::Refused {
                stream_id: None,
                last_stream_id: Some(*last),
            }
            .to_error(),
            _ => Error::user("the connection is closed"),
        }
    }

    /// Sends a request and waits for its response head; the body streams
    /// through the returned [`ResponseBody`]. The request body (any
    /// `http_body::Body`, with trailers if it yields them) is sent as the
    /// server's window allows; with `expect: 100-continue` it waits for
    /// the server's `100 Continue` (or a second) first. An empty body (`is_end_stream`) sends the
    /// request as a single HEADERS frame with END_STREAM.
    ///
    /// The URI may be absolute (`https://host/path`) or just a path; the
    /// connection's scheme and authority fill in what is missing.
    ///
    /// Errors: the stream was reset (with the code), the connection ended,
    /// or the server did not process the request
    /// ([`is_retryable`](Error::is_retryable)).
    pub async fn send<B>(&self, request: Request<B>) -> Result<Response<ResponseBody>, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // Room first, then the message: it is built in place rather than
        // carried through the wait.
        let permit = match self.tx.get_ref() {
            Some(tx) => tx.reserve().await.ok(),
            None => None,
        };
        let Some(permit) = permit else {
            return Err(self.gone());
        };
        let (msg, response) = self.prepare(request);
        permit.send(msg);
        match response.await {
            Ok(result) => result.map_err(|e| self.explain(e)),
            Err(_) => Err(self.gone()),
        }
    }

    /// The message that submits `request`, and where its response head
    /// will arrive.
    fn prepare<B>(&self, request: Request<B>) -> (Msg, ResponseReceiver)
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (mut parts, body) = request.into_parts();
        let informational = parts
            .extensions
            .remove::<informational::InformationalSender>();
        let stream = Stream::new(None, self.scheduler.clone());
        let mut on_continue = None;
        let body: Option<Box<dyn DataSource>> = if body.is_end_stream() {
            None
        } else if expect::asks(&parts.headers) {
            let (go, wait) = oneshot::channel();
            on_continue = Some(go);
            Some(Box::new(BodySource::new(
                Box::pin(expect::ExpectContinue::new(body, wait)),
                std::task::Waker::from(stream.clone()),
                stream.clone(),
                "request body",
            )))
        } else {
            Some(Box::new(BodySource::new(
                Box::pin(body),
                std::task::Waker::from(stream.clone()),
                stream.clone(),
                "request body",
            )))
        };
        let (reply, response) = oneshot::channel();
        let submit = Submit {
            head_request: parts.method == Method::HEAD,
            head: head::RequestHead {
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
            },
            body,
            stream,
            reply,
            on_continue,
            informational,
        };
        (Msg::Request(submit), response)
    }

    /// Opens a full-duplex stream, like Go's `h2conn.Connect`: sends the
    /// request head (a POST, say) without ending the stream, waits for the
    /// response head, and returns the response whose body is a [`Duplex`]:
    /// `AsyncRead` reads the response body, `AsyncWrite` writes the request
    /// body, `shutdown` ends it. The server must answer its headers before
    /// it has the whole request body.
    pub async fn duplex(&self, request: Request<()>) -> Result<Response<Duplex>, Error> {
        let (sender, body) = body_channel();
        let response = self.send(request.map(|()| body)).await?;
        Ok(response.map(|body| Duplex::new(body, sender)))
    }

    /// Sends a PING and answers with the time until its ACK arrived.
    pub async fn ping(&self) -> Result<Duration, Error> {
        let (reply, rtt) = oneshot::channel();
        if self.queue(Msg::Ping(reply)).await.is_err() {
            return Err(self.gone());
        }
        match rtt.await {
            Ok(result) => result.map_err(|e| self.explain(e)),
            Err(_) => Err(self.gone()),
        }
    }

    /// Closes the connection gracefully: new requests are refused, the
    /// streams in flight finish, then GOAWAY NO_ERROR is sent (as nghttp
    /// does when its requests are done) and the connection closes.
    pub fn close(&self) {
        if let Some(tx) = self.tx.get_ref() {
            if tx.try_send(Msg::Close).is_err() {
                // The queue is full: say it once there is room.
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Close).await;
                });
            }
        }
    }

    /// Waits until the connection is over; the error tells why, when it
    /// did not end cleanly.
    pub async fn closed(&self) -> Result<(), Error> {
        let mut end = self.end.clone();
        let result = end.wait_for(|e| e.is_some()).await;
        match result.as_deref() {
            Ok(Some(End::Failed(failure))) => Err(self.explain(failure.to_error())),
            _ => Ok(()),
        }
    }

    /// True once the connection is over.
    pub fn is_closed(&self) -> bool {
        self.end.borrow().is_some() || self.tx.is_closed()
    }

    /// Polls for room in the connection's request queue: `Ready(Ok)` once
    /// a request can be queued without waiting, `Ready(Err)` once the
    /// connection is over. The room is kept for this handle's next
    /// `tower::Service::call` (which must follow, as tower's contract
    /// says); [`send`](SendRequest::send) waits for room by itself.
    pub fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Error>> {
        match self.tx.poll_reserve(cx) {
            std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(Ok(())),
            std::task::Poll::Ready(Err(_)) => std::task::Poll::Ready(Err(self.gone())),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    /// Waits for room in the connection's request queue (see
    /// [`poll_ready`](SendRequest::poll_ready)).
    pub async fn ready(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await
    }

    /// Queues a message for the connection task, waiting for room.
    async fn queue(&self, msg: Msg) -> Result<(), ()> {
        match self.tx.get_ref() {
            Some(tx) => tx.send(msg).await.map_err(drop),
            None => Err(()),
        }
    }
}

/// A [`SendRequest`] is a `tower::Service`: `poll_ready` waits for room in
/// the connection's request queue and keeps it for the next `call`.
impl<B> tower_service::Service<Request<B>> for SendRequest
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<ResponseBody>, Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Error>> {
        SendRequest::poll_ready(self, cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (msg, response) = self.prepare(request);
        let queued = self.tx.send_item(msg).is_ok();
        let this = self.clone();
        Box::pin(async move {
            if !queued {
                return Err(this.gone());
            }
            match response.await {
                Ok(result) => result.map_err(|e| this.explain(e)),
                Err(_) => Err(this.gone()),
            }
        })
    }
}

/// A handle to a connection that does not keep it open (the pool's idle
/// timer holds one).
pub(crate) struct WeakSendRequest {
    tx: Option<mpsc::WeakSender<Msg>>,
    end: watch::Receiver<Option<End>>,
}

impl WeakSendRequest {
    /// Closes the connection gracefully, if it is still there.
    pub(crate) fn close(&self) {
        if let Some(tx) = self.tx.as_ref().and_then(|tx| tx.upgrade()) {
            if tx.try_send(Msg::Close).is_err() {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Close).await;
                });
            }
        }
    }

    /// True once the connection is over, or every strong handle is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.end.borrow().is_some() || self.tx.as_ref().is_none_or(|tx| tx.strong_count() == 0)
    }
}
