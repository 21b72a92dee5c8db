//! [`Client`] and [`ClientBuilder`]: the pool, retries, timeouts,
//! redirects and decompression.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, Uri};
use http_body::Body;
use http_body_util::Empty;

use super::decompress::{Encoding, Incoming};
use super::redirect::{self, Policy};
use super::replay::{Attempt, Replay};
use super::{Builder, Origin, ResponseBody, SendRequest, WeakSendRequest};
use crate::error::{Error, Kind};
use crate::trace::Tracer;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type MakeTracer = Arc<dyn Fn(&Uri) -> Tracer + Send + Sync>;

/// Configures a [`Client`].
pub struct ClientBuilder {
    /// Behind a lock only to be `Sync` (a `Builder` may hold a tracer);
    /// it holds none here.
    conn: Mutex<Builder>,
    tracer: Option<MakeTracer>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    redirect: Policy,
    encodings: Vec<Encoding>,
    replay_limit: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("connection", &self.conn_config())
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("redirect", &self.redirect)
            .field("encodings", &self.encodings)
            .field("replay_limit", &self.replay_limit)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            conn: Mutex::new(Builder::new()),
            tracer: None,
            connect_timeout: None,
            request_timeout: None,
            idle_timeout: Some(Duration::from_secs(90)),
            redirect: Policy::none(),
            encodings: Vec::new(),
            replay_limit: 64 * 1024,
        }
    }
}

impl ClientBuilder {
    /// The defaults: connections as [`Builder::new`] opens them, no
    /// connect or request timeout, idle connections closed after 90 s, no
    /// redirects followed, nothing decompressed, request bodies replayable
    /// up to 64 KiB.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// How each connection is opened: TLS trust, HTTP/2 settings, windows
    /// (a [`Builder`]'s tracer is not used: see
    /// [`tracer`](ClientBuilder::tracer)).
    pub fn connection(mut self, builder: Builder) -> Self {
        self.conn = Mutex::new(builder.config_clone());
        self
    }

    /// A new connection's settings.
    fn conn_config(&self) -> Builder {
        self.conn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .config_clone()
    }

    /// Trust the CA certificates in this PEM file (in addition to the
    /// system's roots).
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.conn = Mutex::new(self.conn_config().ca_file(path));
        self
    }

    /// Do not verify servers' certificates (for tests and self-signed
    /// servers only).
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> Self {
        self.conn = Mutex::new(self.conn_config().danger_accept_invalid_certs(on));
        self
    }

    /// Traces each new connection's frames with the tracer `make` returns
    /// for the connection's first URI.
    pub fn tracer(mut self, make: impl Fn(&Uri) -> Tracer + Send + Sync + 'static) -> Self {
        self.tracer = Some(Arc::new(make));
        self
    }

    /// The most time for opening a connection: name resolution, TCP and
    /// the TLS handshake. Exceeded: an error whose
    /// [`is_timeout`](Error::is_timeout) is true.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The most time for a whole request, from sending it to the end of
    /// its response body (redirects and a retry included). Exceeded while
    /// waiting for the response: an error whose
    /// [`is_timeout`](Error::is_timeout) is true; while reading the body:
    /// the body's next read fails with such an error (and the stream is
    /// cancelled).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Closes a pooled connection once no request was in flight on it for
    /// this long (default 90 s; `None`: keep it until it closes).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Which redirects to follow (default [`Policy::none`]).
    pub fn redirect(mut self, policy: Policy) -> Self {
        self.redirect = policy;
        self
    }

    fn encoding(mut self, encoding: Encoding, on: bool) -> Self {
        self.encodings.retain(|e| *e != encoding);
        if on {
            self.encodings.push(encoding);
        }
        self
    }

    /// Ask for and decode `gzip` (off by default).
    pub fn gzip(self, on: bool) -> Self {
        self.encoding(Encoding::Gzip, on)
    }

    /// Ask for and decode `deflate` (off by default).
    pub fn deflate(self, on: bool) -> Self {
        self.encoding(Encoding::Deflate, on)
    }

    /// Ask for and decode `br` (off by default).
    pub fn brotli(self, on: bool) -> Self {
        self.encoding(Encoding::Brotli, on)
    }

    /// Ask for and decode `gzip`, `deflate` and `br`: requests without an
    /// `accept-encoding` field get `accept-encoding: gzip, deflate, br`,
    /// and responses in one of these codings are decoded (their
    /// `content-encoding` and `content-length` fields removed).
    pub fn decompress(self, on: bool) -> Self {
        self.gzip(on).deflate(on).brotli(on)
    }

    /// How much of a request body is kept so that the request can be sent
    /// again (after a refused stream, or a 307/308 redirect); default
    /// 64 KiB. The kept chunks are shared, not copied, and let go once the
    /// response arrives.
    pub fn replay_limit(mut self, bytes: usize) -> Self {
        self.replay_limit = bytes;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Arc::new(Shared {
                config: self,
                pool: Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// One origin's connection, while it lasts.
type Slot = tokio::sync::Mutex<Option<Pooled>>;

#[derive(Clone)]
struct Pooled {
    send: SendRequest,
    activity: Arc<Activity>,
}

/// Requests in flight on a connection, and since when there are none.
struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.idle_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long no request was in flight; `None` while one is.
    fn idle_for(&self) -> Option<Duration> {
        let since = self.lock();
        (self.in_flight.load(Ordering::Acquire) == 0).then(|| since.elapsed())
    }
}

/// A request in flight: counted until its response body ends or is
/// dropped.
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut since = self.0.lock();
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *since = Instant::now();
        }
    }
}

struct Shared {
    config: ClientBuilder,
    pool: Mutex<HashMap<String, Arc<Slot>>>,
}

/// An HTTP/2 client: a pool of connections, one per origin. Cheap to
/// clone; clones share the pool.
///
/// ```no_run
/// use nghttp2::client::{redirect, Client};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(30))
///     .redirect(redirect::Policy::limited(10))
///     .decompress(true)
///     .build();
/// let response = client.get("https://nghttp2.org/").await?;
/// println!("{}", response.status());
/// let body = response.into_body().bytes().await?;
/// println!("{} bytes", body.len());
/// # Ok(()) }
/// ```
///
/// The first request to an origin (scheme, host, port) opens its
/// connection; later requests, from any clone of the client, share it
/// (HTTP/2 multiplexes them; requests beyond the server's
/// SETTINGS_MAX_CONCURRENT_STREAMS wait their turn). Concurrent first
/// requests wait for the one connection rather than each opening their
/// own. A connection that closed, or whose server sent GOAWAY, is replaced
/// by a new one on the next request; one with no request in flight for the
/// idle timeout is closed.
///
/// A request the server did not process (its stream was above the last
/// stream id of the server's GOAWAY, or reset with REFUSED_STREAM: RFC 9113
/// section 8.7) is sent once more, on a new connection, when its body can
/// be sent again: an empty body always can, a streamed one when no more
/// than [`ClientBuilder::replay_limit`] bytes of it had been read.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<String> = self
            .inner
            .pool
            .lock()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Client")
            .field("origins", &origins)
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

/// The pool's key for `uri`'s origin.
fn origin_key(uri: &Uri) -> Result<String, Error> {
    let origin = Origin::from_uri(uri)?;
    Ok(format!(
        "{}://{}:{}",
        origin.scheme(),
        origin.host.to_ascii_lowercase(),
        origin.port
    ))
}

impl Client {
    /// A client with the defaults of [`ClientBuilder::new`].
    pub fn new() -> Client {
        ClientBuilder::new().build()
    }

    /// Configures a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// `GET uri`.
    pub async fn get<U>(&self, uri: U) -> Result<Response<Incoming>, Error>
    where
        U: TryInto<Uri>,
        U::Error: Into<http::Error>,
    {
        let request = Request::get(uri)
            .body(Empty::<Bytes>::new())
            .map_err(|e| Error::user(format!("invalid request: {e}")))?;
        self.send(request).await
    }

    /// Sends `request` (its URI absolute: `https://host/path` or
    /// `http://host/path`, the latter as cleartext HTTP/2 with prior
    /// knowledge) on its origin's connection and waits for the response
    /// head; the body streams through [`Incoming`]. Refused requests are
    /// retried and redirects followed as configured.
    ///
    /// Errors: the URI is not absolute or its scheme is neither `https`
    /// nor `http`; connecting failed (see [`Builder::connect`]), or the
    /// server does not speak HTTP/2
    /// ([`is_not_http2`](Error::is_not_http2)); a time limit ran out
    /// ([`is_timeout`](Error::is_timeout)); the stream was reset or the
    /// connection failed; too many redirects.
    pub async fn send<B>(&self, request: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let Some(limit) = self.inner.config.request_timeout else {
            return self.execute(request, None).await;
        };
        let deadline = tokio::time::Instant::now() + limit;
        let what = format!(
            "after {limit:?} waiting for the response to {} {}",
            request.method(),
            request.uri()
        );
        match tokio::time::timeout_at(deadline, self.execute(request, Some(deadline))).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(Kind::Timeout(what))),
        }
    }

    async fn execute<B>(
        &self,
        request: Request<B>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let config = &self.inner.config;
        let (mut parts, body) = request.into_parts();
        origin_key(&parts.uri)?;
        if !config.encodings.is_empty() && !parts.headers.contains_key(header::ACCEPT_ENCODING) {
            let tokens: Vec<&str> = config.encodings.iter().map(|e| e.token()).collect();
            parts.headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(&tokens.join(", ")).expect("tokens are ASCII"),
            );
        }
        let replay = Replay::new(body, config.replay_limit);
        // `None`: no body (after a redirect that drops it).
        let mut body = Some(replay.first());
        let mut redirects = 0;
        loop {
            let (response, in_flight) = self.send_retrying(&parts, &replay, body.take()).await?;
            let next = (config.redirect.max() > 0)
                .then(|| {
                    redirect::next(
                        &parts.method,
                        &parts.uri,
                        response.status(),
                        response.headers(),
                    )
                })
                .flatten();
            let next_body = match &next {
                Some(next) if next.keep_body => replay.again().map(Some),
                Some(_) => Some(None),
                None => None,
            };
            let (Some(next), Some(next_body)) = (next, next_body) else {
                replay.done();
                return Ok(self.finish(response, in_flight, deadline, &parts));
            };
            if redirects >= config.redirect.max() {
                replay.done();
                return Err(Error::user(format!(
                    "stopped after {redirects} redirects (the next to {})",
                    next.uri
                )));
            }
            redirects += 1;
            drop(response);
            drop(in_flight);
            if !redirect::same_origin(&parts.uri, &next.uri) {
                redirect::strip_credentials(&mut parts.headers);
            }
            if !next.keep_body {
                for name in [
                    header::CONTENT_LENGTH,
                    header::CONTENT_TYPE,
                    header::CONTENT_ENCODING,
                    header::TRANSFER_ENCODING,
                ] {
                    parts.headers.remove(name);
                }
            }
            parts.method = next.method;
            parts.uri = next.uri;
            body = next_body;
        }
    }

    /// The response as the user gets it: decoded, bounded by the deadline.
    fn finish(
        &self,
        response: Response<ResponseBody>,
        in_flight: InFlight,
        deadline: Option<tokio::time::Instant>,
        parts: &http::request::Parts,
    ) -> Response<Incoming> {
        let config = &self.inner.config;
        let (mut head, body) = response.into_parts();
        let encoding = Encoding::of(&head.headers, &config.encodings);
        if encoding.is_some() {
            head.headers.remove(header::CONTENT_ENCODING);
            head.headers.remove(header::CONTENT_LENGTH);
        }
        let deadline = deadline.zip(config.request_timeout).map(|(at, limit)| {
            (
                Box::pin(tokio::time::sleep_until(at)),
                format!(
                    "after {limit:?} reading the response body of {} {}",
                    parts.method, parts.uri
                ),
            )
        });
        Response::from_parts(
            head,
            Incoming::new(body, encoding, deadline, Some(in_flight)),
        )
    }

    /// Sends one request; once more on a new connection when the server
    /// did not process it and the body can be sent again.
    async fn send_retrying<B>(
        &self,
        parts: &http::request::Parts,
        replay: &Replay<B>,
        body: Option<Attempt<B>>,
    ) -> Result<(Response<ResponseBody>, InFlight), Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let has_body = body.is_some();
        let (send, in_flight) = self.connection(&parts.uri).await?;
        let request = Request::from_parts(parts.clone(), body.unwrap_or_else(Attempt::empty));
        let error = match send.send(request).await {
            Ok(response) => return Ok((response, in_flight)),
            Err(e) => e,
        };
        drop(in_flight);
        if send.is_closed() || error.is_retryable() {
            self.evict(&parts.uri, &send).await;
        }
        if !error.is_retryable() {
            return Err(error);
        }
        let body = if has_body {
            match replay.again() {
                Some(body) => body,
                None => return Err(error),
            }
        } else {
            Attempt::empty()
        };
        tracing::debug!(%error, uri = %parts.uri, "retrying on a new connection");
        let (send, in_flight) = self.connection(&parts.uri).await?;
        match send.send(Request::from_parts(parts.clone(), body)).await {
            Ok(response) => Ok((response, in_flight)),
            Err(e) => {
                drop(in_flight);
                if send.is_closed() || e.is_retryable() {
                    self.evict(&parts.uri, &send).await;
                }
                Err(e)
            }
        }
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut pool = self.inner.pool.lock().unwrap_or_else(|e| e.into_inner());
        pool.entry(key.to_string()).or_default().clone()
    }

    /// The origin's connection (opened now if there is none, or it
    /// closed), counted as in use by one more request.
    async fn connection(&self, uri: &Uri) -> Result<(SendRequest, InFlight), Error> {
        let key = origin_key(uri)?;
        let slot = self.slot(&key);
        let mut current = slot.lock().await;
        if let Some(pooled) = current.as_ref() {
            if !pooled.send.is_closed() {
                return Ok((pooled.send.clone(), InFlight::new(&pooled.activity)));
            }
        }
        *current = None;
        let config = &self.inner.config;
        let mut builder = config.conn_config();
        if let Some(make) = &config.tracer {
            builder = builder.tracer(make(uri));
        }
        let send = match config.connect_timeout {
            None => builder.connect(uri).await?,
            Some(limit) => match tokio::time::timeout(limit, builder.connect(uri)).await {
                Ok(result) => result?,
                Err(_) => {
                    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
                    return Err(Error::new(Kind::Timeout(format!(
                        "connecting to {authority} (after {limit:?})"
                    ))));
                }
            },
        };
        let pooled = Pooled {
            send,
            activity: Arc::new(Activity {
                in_flight: AtomicUsize::new(0),
                idle_since: Mutex::new(Instant::now()),
            }),
        };
        let in_flight = InFlight::new(&pooled.activity);
        if let Some(idle) = config.idle_timeout {
            tokio::spawn(close_when_idle(
                Arc::downgrade(&slot),
                pooled.send.downgrade(),
                pooled.activity.clone(),
                idle,
            ));
        }
        let send = pooled.send.clone();
        *current = Some(pooled);
        Ok((send, in_flight))
    }

    /// Takes `send`'s connection out of the pool (if it is still the
    /// origin's) and closes it gracefully: streams in flight finish.
    async fn evict(&self, uri: &Uri, send: &SendRequest) {
        let Ok(key) = origin_key(uri) else { return };
        let slot = self.slot(&key);
        let mut current = slot.lock().await;
        if current
            .as_ref()
            .is_some_and(|p| p.send.same_connection(send))
        {
            *current = None;
        }
        send.close();
    }

    /// How many origins have an open connection in the pool.
    pub fn open_connections(&self) -> usize {
        let slots: Vec<Arc<Slot>> = self
            .inner
            .pool
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default();
        slots
            .iter()
            .filter(|slot| {
                slot.try_lock()
                    .map(|s| s.as_ref().is_some_and(|p| !p.send.is_closed()))
                    .unwrap_or(true)
            })
            .count()
    }
}

/// Closes a pooled connection once it was idle for `idle`; ends when the
/// connection does.
async fn close_when_idle(
    slot: Weak<Slot>,
    conn: WeakSendRequest,
    activity: Arc<Activity>,
    idle: Duration,
) {
    loop {
        let wait = match activity.idle_for() {
            Some(for_) => idle.saturating_sub(for_),
            None => idle,
        };
        tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        if conn.is_closed() {
            return;
        }
        let Some(slot) = slot.upgrade() else {
            conn.close();
            return;
        };
        let mut current = slot.lock().await;
        // Checked under the slot's lock: no request can take the
        // connection meanwhile.
        if activity.idle_for().is_some_and(|d| d >= idle) {
            if current
                .as_ref()
                .is_some_and(|p| Arc::ptr_eq(&p.activity, &activity))
            {
                *current = None;
            }
            conn.close();
            return;
        }
    }
}

impl<B> tower_service::Service<Request<B>> for Client
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Incoming>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Incoming>, Error>> + Send>>;

    /// Always ready: connections are opened as requests need them.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    /// [`Client::send`].
    fn call(&mut self, request: Request<B>) -> Self::Future {
        let client = self.clone();
        Box::pin(async move { client.send(request).await })
    }
}
