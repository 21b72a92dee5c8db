//! HTTP/1.x on the same port, by hyper's `http1` server, with the same
//! service; and the HTTP/1.1 `Upgrade: h2c` that hands the connection to
//! nghttp2 (RFC 7540 section 3.2, `nghttp2_session_upgrade2`).

use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use crate::error::Error;
use crate::proto::rewind::Rewind;
use crate::proto::stats::{Gauge, Held};
use crate::server::conn::{self, Setup, Upgrade};
use crate::server::connect_info::ConnectionInfo;
use crate::server::service::{BoxError, HttpService};
use crate::server::Server;
use crate::trace::Tracer;

/// A transport whose writes fail with `TimedOut` once one has made no
/// progress for the write timeout: a peer that stopped reading.
#[derive(Debug)]
pub(crate) struct WriteTimeout<I> {
    io: I,
    timeout: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> WriteTimeout<I> {
    fn new(io: I, timeout: Duration) -> WriteTimeout<I> {
        WriteTimeout {
            io,
            timeout,
            timer: None,
        }
    }

    fn into_inner(self) -> I {
        self.io
    }

    /// `polled` is a write's outcome: a stall starts the timer (unless it
    /// runs), progress stops it, and an expired timer fails the write.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.timer = None;
            return polled;
        }
        let timeout = self.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::debug!("HTTP/1.1 write timeout: the peer reads nothing; closing");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("write timeout: the client read nothing for {timeout:?}"),
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteTimeout<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

/// How long a request-target may be before the sniffing stops waiting
/// for the rest of the request line and lets hyper answer (414 or 400).
const MAX_SNIFFED_TARGET: usize = 16 * 1024;

/// True when `bytes`, the first bytes of a connection, start an HTTP/1.x
/// request line (RFC 9112 section 3: a method token, a space, a
/// request-target, a space, `HTTP/1.` and a digit), false when they cannot
/// (RFC 9113 section 3.4 then asks for GOAWAY PROTOCOL_ERROR), `None`
/// while too few have arrived to tell.
pub(crate) fn looks_like_http1(bytes: &[u8]) -> Option<bool> {
    // RFC 9110 section 5.6.2: tchar.
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let token = bytes.iter().take_while(|&&b| tchar(b)).count();
    match bytes.get(token) {
        None if token < 32 => return None,
        Some(b' ') if token > 0 => {}
        _ => return Some(false),
    }
    let rest = &bytes[token + 1..];
    let target = rest.iter().take_while(|&&b| b > b' ' && b < 0x7f).count();
    match rest.get(target) {
        None if target < MAX_SNIFFED_TARGET => return None,
        None => return Some(true),
        Some(b' ') if target > 0 => {}
        _ => return Some(false),
    }
    const VERSION: &[u8] = b"HTTP/1.";
    let version = &rest[target + 1..];
    let n = version.len().min(VERSION.len());
    if version[..n] != VERSION[..n] {
        return Some(false);
    }
    version.get(VERSION.len()).map(u8::is_ascii_digit)
}

/// The service, shared by the HTTP/1.1 requests of one connection (which
/// come one at a time) and, after an h2c upgrade, its HTTP/2 streams.
pub(crate) struct Shared<S>(Arc<Mutex<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, S> {
        // A panic inside poll_ready or call is caught and fails only that
        // request; the service itself is still there.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S: HttpService> tower_service::Service<Request<crate::server::RequestBody>> for Shared<S> {
    type Response = Response<S::Body>;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.lock().poll_ready(cx)
    }

    fn call(&mut self, request: Request<crate::server::RequestBody>) -> S::Future {
        self.lock().call(request)
    }
}

/// An `Upgrade: h2c` answered with 101, waiting for hyper to give the
/// connection back.
struct PendingUpgrade {
    on_upgrade: hyper::upgrade::OnUpgrade,
    upgrade: Upgrade,
}

/// What the hyper service of one connection shares with the connection.
struct ConnState {
    tracer: Option<Tracer>,
    upgrade: Option<PendingUpgrade>,
}

/// The hyper service of one HTTP/1.x connection: turns hyper's request
/// into the crate's and calls the user's service.
struct H1Service<S> {
    service: Shared<S>,
    info: ConnectionInfo,
    server: Server,
    /// h2c upgrades are allowed (cleartext, HTTP/2 on).
    h2c: bool,
    state: Arc<Mutex<ConnState>>,
}

impl<S> Clone for H1Service<S> {
    fn clone(&self) -> Self {
        H1Service {
            service: self.service.clone(),
            info: self.info.clone(),
            server: self.server.clone(),
            h2c: self.h2c,
            state: self.state.clone(),
        }
    }
}

impl<S> H1Service<S> {
    fn state(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn trace(&self, text: impl FnOnce() -> String) {
        let mut state = self.state();
        if let Some(tracer) = state.tracer.as_mut() {
            tracer.message(&text());
        }
    }
}

type H1Body<B> = Either<B, Empty<Bytes>>;
type H1Future<B> = Pin<Box<dyn Future<Output = Result<Response<H1Body<B>>, BoxError>> + Send>>;

impl<S: HttpService> hyper::service::Service<Request<Incoming>> for H1Service<S> {
    type Response = Response<H1Body<S::Body>>;
    type Error = BoxError;
    type Future = H1Future<S::Body>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.server.stats.count_request();
        self.trace(|| {
            format!(
                "{:?} request: {} {}",
                request.version(),
                request.method(),
                request.uri()
            )
        });
        if self.h2c {
            if let Some(settings) = h2c_settings(&request, self.server.config.h2c_body_limit()) {
                return Box::pin(self.clone().upgrade(request, settings));
            }
        }
        let mut request = request.map(crate::server::RequestBody::http1);
        if self.server.config.request_extensions {
            request.extensions_mut().insert(self.info.clone());
        }
        let this = self.clone();
        Box::pin(async move {
            let service = this.service.clone();
            let ready = poll_fn(|cx| {
                match catch_unwind(AssertUnwindSafe(|| service.lock().poll_ready(cx))) {
                    Ok(polled) => polled.map_err(Into::into),
                    Err(_) => {
                        Poll::Ready(Err(BoxError::from("the service panicked in poll_ready")))
                    }
                }
            });
            ready.await?;
            let future = catch_unwind(AssertUnwindSafe(|| service.lock().call(request)))
                .map_err(|_| BoxError::from("the service panicked in call"))?;
            let mut future = pin!(future);
            let response =
                poll_fn(
                    |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                        Ok(Poll::Ready(Ok(response))) => Poll::Ready(Ok(response)),
                        Ok(Poll::Ready(Err(e))) => Poll::Ready(Err(e.into())),
                        Ok(Poll::Pending) => Poll::Pending,
                        Err(_) => Poll::Ready(Err(BoxError::from("the handler panicked"))),
                    },
                );
            let response = match response.await {
                Ok(response) => response,
                Err(e) => {
                    tracing::debug!(error = %e, "HTTP/1.1 handler failed; closing the connection");
                    this.trace(|| format!("[ERROR] handler failed: {e}; closing"));
                    return Err(e);
                }
            };
            let mut response = response.map(Either::Left);
            this.finish_head(&mut response);
            Ok(response)
        })
    }
}

impl<S: HttpService> H1Service<S> {
    /// Adds the `server` header and traces the response head.
    fn finish_head<B>(&self, response: &mut Response<B>) {
        if let Some(server) = &self.server.config.server_header {
            if !response.headers().contains_key(header::SERVER) {
                response
                    .headers_mut()
                    .insert(header::SERVER, server.clone());
            }
        }
        let status = response.status();
        self.trace(|| format!("HTTP/1.1 response: {status}"));
    }

    /// Answers an `Upgrade: h2c` request with 101 once its body is read,
    /// and leaves the request for HTTP/2's stream 1.
    async fn upgrade(
        self,
        mut request: Request<Incoming>,
        settings: Vec<u8>,
    ) -> Result<Response<H1Body<S::Body>>, BoxError> {
        let on_upgrade = hyper::upgrade::on(&mut request);
        let (mut parts, body) = request.into_parts();
        // The body is no larger than h2c_body_limit: h2c_settings checked
        // its content-length, and hyper holds the client to it.
        let collected = body.collect().await?;
        let trailers = collected.trailers().cloned();
        let body = collected.to_bytes();
        for name in [header::CONNECTION, header::UPGRADE] {
            parts.headers.remove(name);
        }
        parts.headers.remove("http2-settings");
        if self.server.config.request_extensions {
            parts.extensions.insert(self.info.clone());
        }
        self.trace(|| {
            "HTTP/1.1 Upgrade: h2c; 101 Switching Protocols, the request goes on as HTTP/2 stream 1"
                .to_string()
        });
        self.state().upgrade = Some(PendingUpgrade {
            on_upgrade,
            upgrade: Upgrade {
                settings,
                parts,
                body,
                trailers,
            },
        });
        let mut response = Response::new(Either::Right(Empty::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        Ok(response)
    }
}

/// The decoded `HTTP2-Settings` of a request that asks to upgrade to h2c
/// and may (RFC 7540 section 3.2): `Upgrade` names `h2c`, `Connection`
/// names `Upgrade` and `HTTP2-Settings`, exactly one `HTTP2-Settings` is a
/// valid base64url SETTINGS payload, and the body is known to be at most
/// `body_limit` bytes (the server reads it before switching). Any other
/// request is served as plain HTTP/1.1.
fn h2c_settings<B>(request: &Request<B>, body_limit: u64) -> Option<Vec<u8>> {
    let headers = request.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if request.version() != http::Version::HTTP_11
        || !has_token(header::UPGRADE, "h2c")
        || !has_token(header::CONNECTION, "upgrade")
        || !has_token(header::CONNECTION, "http2-settings")
        || headers.contains_key(header::TRANSFER_ENCODING)
    {
        return None;
    }
    let length = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => v.to_str().ok()?.parse::<u64>().ok()?,
        None => 0,
    };
    if length > body_limit {
        return None;
    }
    let mut values = headers.get_all("http2-settings").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let settings = engine.decode(value.as_bytes()).ok()?;
    (settings.len() % 6 == 0).then_some(settings)
}

/// Serves HTTP/1.x on `io` (whose first bytes, already read, are
/// `prefix`) with hyper, until the client closes, a limit ends it, the
/// server shuts down, or an h2c upgrade turns it into HTTP/2.
pub(crate) async fn serve<I, S>(
    server: &Server,
    io: I,
    prefix: Vec<u8>,
    service: S,
    info: ConnectionInfo,
    h2c: bool,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService,
{
    let config = &server.config;
    let tracer = config.trace.as_ref().map(|t| {
        let mut tracer = t.next();
        tracer.message("http/1.1 connection");
        tracer
    });
    let state = Arc::new(Mutex::new(ConnState {
        tracer,
        upgrade: None,
    }));
    let service = Shared(Arc::new(Mutex::new(service)));
    let h1 = H1Service {
        service: service.clone(),
        info: info.clone(),
        server: server.clone(),
        h2c,
        state: state.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.handshake_timeout)
        .max_header_size(config.max_header_list_size.max(1024) as usize)
        .max_buf_size((config.max_header_list_size as usize).max(8192 * 2));
    let connection = builder
        .serve_connection(
            TokioIo::new(WriteTimeout::new(
                Rewind::new(io, prefix),
                config.write_timeout,
            )),
            h1,
        )
        .with_upgrades();
    let mut connection = pin!(connection);
    let stats = &server.stats;
    let connected = Held::new(stats, Gauge::Connections, 1);
    let mut shutdown = server.shutdown.subscribe();
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = wait_for_shutdown(&mut shutdown) => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(config.shutdown_grace, connection.as_mut()).await {
                Ok(result) => result,
                Err(_) => Ok(()),
            }
        }
    };
    drop(connected);
    let (pending, tracer) = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        (state.upgrade.take(), state.tracer.take())
    };
    if let Err(e) = &result {
        tracing::debug!(error = %e, "HTTP/1.1 connection ended with an error");
    }
    let Some(pending) = pending else {
        if let Some(mut tracer) = tracer {
            if let Err(e) = &result {
                tracer.message(&format!("[ERROR] {e}"));
            }
            tracer.connection_closed();
            let _ = tracer.flush();
        }
        return Ok(());
    };
    let upgraded = pending
        .on_upgrade
        .await
        .map_err(|e| Error::new(crate::Kind::Io(io::Error::other(e))))?;
    let parts = upgraded
        .downcast::<TokioIo<WriteTimeout<Rewind<I>>>>()
        .map_err(|_| Error::user("the upgraded connection is not the one accepted"))?;
    let io = Rewind::new(parts.io.into_inner().into_inner(), parts.read_buf);
    conn::serve(
        io,
        service,
        config.clone(),
        stats.clone(),
        Some(server.shutdown.subscribe()),
        Setup {
            initial: &[],
            fail: None,
            upgrade: Some(pending.upgrade),
            tracer,
            info: Some(info),
        },
    )
    .await
}

async fn wait_for_shutdown(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|down| *down).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_told_from_other_bytes() {
        assert_eq!(looks_like_http1(b"GET / HTTP/1.1\r\n"), Some(true));
        assert_eq!(looks_like_http1(b"M-SEARCH * HTTP/1.1"), Some(true));
        assert_eq!(looks_like_http1(b"GE"), None);
        assert_eq!(looks_like_http1(b""), None);
        assert_eq!(looks_like_http1(b"\x16\x03\x01"), Some(false));
        assert_eq!(looks_like_http1(b" GET"), Some(false));
        assert_eq!(looks_like_http1(&[b'A'; 40]), Some(false));
        assert_eq!(looks_like_http1(b"GET / HTTP/1."), None);
        assert_eq!(looks_like_http1(b"GET /index.html"), None);
        assert_eq!(looks_like_http1(b"GET / HTTP/2.0\r\n"), Some(false));
        // RFC 9113 section 3.4's example of a bad preface: not HTTP/1.x.
        assert_eq!(
            looks_like_http1(b"INVALID CONNECTION PREFACE\r\n\r\n"),
            Some(false)
        );
        assert_eq!(looks_like_http1(b"PRI * HTTP/2.0\r\n"), Some(false));
    }

    fn upgrade_request(settings: &str) -> Request<()> {
        Request::builder()
            .uri("/")
            .header("upgrade", "h2c")
            .header("connection", "Upgrade, HTTP2-Settings")
            .header("http2-settings", settings)
            .body(())
            .unwrap()
    }

    #[test]
    fn h2c_settings_are_checked() {
        // curl's: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 10 MiB,
        // ENABLE_PUSH 0.
        let curl = "AAMAAABkAAQAoAAAAAIAAAAA";
        assert_eq!(
            h2c_settings(&upgrade_request(curl), 0).map(|s| s.len()),
            Some(18)
        );
        assert_eq!(h2c_settings(&upgrade_request(""), 0), Some(vec![]));
        assert_eq!(h2c_settings(&upgrade_request("AAMAAAB"), 0), None);
        assert_eq!(h2c_settings(&upgrade_request("not base64!"), 0), None);
        let mut no_connection = upgrade_request(curl);
        no_connection.headers_mut().remove("connection");
        assert_eq!(h2c_settings(&no_connection, 0), None);
        let mut big = upgrade_request(curl);
        big.headers_mut()
            .insert("content-length", HeaderValue::from_static("100"));
        assert_eq!(h2c_settings(&big, 99), None);
        assert!(h2c_settings(&big, 100).is_some());
    }
}
