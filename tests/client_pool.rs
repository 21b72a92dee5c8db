//! `nghttp2::client::Client`: the pool, retries, timeouts, redirects,
//! decompression, and a server that does not speak HTTP/2; against our
//! server, nghttpd, fake servers on a `Session`, and Python's
//! `http.server`.

mod support;

use std::collections::HashSet;
use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Request, Response, StatusCode, Uri};
use http_body::Frame;
use http_body_util::{BodyExt, Empty, Full};
use nghttp2::client::{redirect, Builder, Client};
use nghttp2::server::{self, service_fn, RequestBody};
use nghttp2::session::{HeaderRef, Options, Session, SessionRef, Setting, SettingId, StreamId};
use nghttp2::Reason;
use support::{peers, Recorder, StreamRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, server::BoxError>;

fn full(data: impl Into<Bytes>) -> BoxBody {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// A site served by our server, one `Server` per connection (so that one
/// connection can be shut down alone), counting connections opened and
/// closed.
struct Site {
    base: String,
    opened: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    changed: Arc<Notify>,
    servers: Arc<std::sync::Mutex<Vec<server::Server>>>,
}

impl Site {
    async fn start<F, Fut>(site: F) -> Site
    where
        F: FnMut(Request<RequestBody>) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = Result<Response<BoxBody>, Infallible>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (opened, closed, changed) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Notify::new()),
        );
        let servers = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (o, c, n, s) = (
            opened.clone(),
            closed.clone(),
            changed.clone(),
            servers.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                o.fetch_add(1, Ordering::SeqCst);
                let server = server::Builder::new().build();
                s.lock().unwrap().push(server.clone());
                let (c, n, site) = (c.clone(), n.clone(), site.clone());
                tokio::spawn(async move {
                    let _ = server.serve_connection(tcp, service_fn(site)).await;
                    c.fetch_add(1, Ordering::SeqCst);
                    n.notify_waiters();
                });
            }
        });
        Site {
            base,
            opened,
            closed,
            changed,
            servers,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    /// Waits until `n` connections have closed.
    async fn wait_closed(&self, n: usize) {
        loop {
            let notified = self.changed.notified();
            if self.closed.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

async fn text(response: Response<nghttp2::client::Incoming>) -> String {
    let body = response.into_body().bytes().await.unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

async fn hello(_req: Request<RequestBody>) -> Result<Response<BoxBody>, Infallible> {
    Ok(Response::new(full("hello")))
}

#[tokio::test]
async fn requests_share_one_connection_per_origin() {
    let (a, b) = (Site::start(hello).await, Site::start(hello).await);
    timeout(LIMIT, async {
        let client = Client::new();
        // Concurrent first requests wait for one connection.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (client, url) = (client.clone(), a.url("/"));
            tasks.push(tokio::spawn(async move {
                text(client.get(url).await.unwrap()).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), "hello");
        }
        for _ in 0..3 {
            assert_eq!(text(client.get(a.url("/x")).await.unwrap()).await, "hello");
        }
        assert_eq!(a.opened(), 1);
        assert_eq!(text(client.get(b.url("/")).await.unwrap()).await, "hello");
        assert_eq!(b.opened(), 1);
        assert_eq!(client.open_connections(), 2);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn nghttpd_serves_pooled_requests_over_one_connection() {
    let Some(bin) = peers::peer("nghttpd") else {
        return;
    };
    let dir = peers::TempDir::new("pool-htdocs");
    std::fs::write(dir.path().join("index.html"), b"hello\n").unwrap();
    let nghttpd = peers::start_nghttpd(&bin, dir.path(), &[]);
    let base = format!("http://127.0.0.1:{}", nghttpd.port);
    timeout(LIMIT, async {
        let client = Client::new();
        for _ in 0..3 {
            let response = client.get(format!("{base}/index.html")).await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(text(response).await, "hello\n");
        }
        let response = client.get(format!("{base}/missing")).await.unwrap();
        assert_eq!(response.status(), 404);
    })
    .await
    .expect("timed out");
    let trace = nghttpd.wait_output("four requests", |out| {
        out.matches("recv HEADERS frame").count() >= 4
    });
    let connections: HashSet<&str> = trace
        .lines()
        .filter_map(|l| l.strip_prefix("[id=")?.split(']').next())
        .collect();
    assert_eq!(connections.len(), 1, "{trace}");
}

type Behaviour = Arc<dyn Fn(usize, &mut SessionRef, StreamId, &StreamRecord) + Send + Sync>;

/// A server on a bare `Session`: for each complete request on its
/// `conn`-th connection, `behaviour` answers, refuses or goes away.
/// Returns the address and the number of connections so far.
async fn fake(behaviour: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let n = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let conn = n.fetch_add(1, Ordering::SeqCst);
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                let recorder =
                    Recorder::answering(move |cx, id, record| behaviour(conn, cx, id, record));
                let mut session = Session::server(recorder, &Options::new()).unwrap();
                session
                    .submit_settings(&[Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)])
                    .unwrap();
                let mut buf = vec![0; 16 * 1024];
                let mut out = Vec::new();
                loop {
                    out.clear();
                    if session.send(&mut out).is_err() || sock.write_all(&out).await.is_err() {
                        return;
                    }
                    if session.is_done() {
                        return;
                    }
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if session.recv(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (base, count)
}

/// Answers 200 with the request body (or `conn N` when it has none).
fn echo(conn: usize, cx: &mut SessionRef, id: StreamId, record: &StreamRecord) {
    let body = if record.body.is_empty() {
        format!("conn {conn}").into_bytes()
    } else {
        record.body.clone()
    };
    cx.submit_response(
        id,
        [HeaderRef::new(b":status", b"200")],
        Some(Box::new(body)),
    )
    .unwrap();
}

#[tokio::test]
async fn a_graceful_goaway_moves_later_requests_to_a_new_connection() {
    // The first connection answers its first request, then sends GOAWAY
    // with that stream as the last, and never answers another.
    let (base, connections) = fake(Arc::new(|conn, cx, id, record| {
        if conn == 0 && id.get() == 1 {
            echo(conn, cx, id, record);
            cx.submit_goaway(id, Reason::NO_ERROR, b"").unwrap();
        } else if conn > 0 {
            echo(conn, cx, id, record);
        }
    }))
    .await;
    timeout(LIMIT, async {
        let client = Client::new();
        assert_eq!(
            text(client.get(format!("{base}/1")).await.unwrap()).await,
            "conn 0"
        );
        assert_eq!(
            text(client.get(format!("{base}/2")).await.unwrap()).await,
            "conn 1"
        );
        assert_eq!(
            text(client.get(format!("{base}/3")).await.unwrap()).await,
            "conn 1"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 2);
    })
    .await
    .expect("timed out");
}

fn post(url: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(url).body(Full::new(body.into())).unwrap()
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn refused_streams_are_retried_once_on_a_new_connection_with_their_body() {
    // REFUSED_STREAM on every request of the first connection.
    let (refusing, refusing_count) = fake(Arc::new(|conn, cx, id, record| {
        if conn == 0 {
            cx.submit_rst_stream(id, Reason::REFUSED_STREAM).unwrap();
        } else {
            echo(conn, cx, id, record);
        }
    }))
    .await;
    // GOAWAY with last_stream_id 0 on the first connection.
    let (going, going_count) = fake(Arc::new(|conn, cx, id, record| {
        if conn == 0 {
            cx.submit_goaway(StreamId::CONNECTION, Reason::NO_ERROR, b"")
                .unwrap();
        } else {
            echo(conn, cx, id, record);
        }
    }))
    .await;
    timeout(LIMIT, async {
        let client = Client::new();
        let body = payload(20_000);
        for base in [&refusing, &going] {
            let response = client
                .send(post(&format!("{base}/echo"), body.clone()))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let echoed = response.into_body().bytes().await.unwrap();
            assert!(echoed == body, "the replayed body differs");
            // A GET (no body) too.
            assert_eq!(
                text(client.get(format!("{base}/")).await.unwrap()).await,
                "conn 1"
            );
        }
        assert_eq!(refusing_count.load(Ordering::SeqCst), 2);
        assert_eq!(going_count.load(Ordering::SeqCst), 2);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn a_refused_request_is_retried_only_once_and_only_when_replayable() {
    let (base, connections) = fake(Arc::new(|_conn, cx, id, _record| {
        cx.submit_rst_stream(id, Reason::REFUSED_STREAM).unwrap();
    }))
    .await;
    timeout(LIMIT, async {
        // Refused twice: the error, which says it is safe to retry.
        let client = Client::new();
        let err = client.get(format!("{base}/")).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(connections.load(Ordering::SeqCst), 2);
        // A body read past the replay limit (the refusal comes after the
        // whole body): no retry.
        let client = Client::builder().replay_limit(1024).build();
        let err = client
            .send(post(&format!("{base}/"), payload(100_000)))
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(connections.load(Ordering::SeqCst), 3);
    })
    .await
    .expect("timed out");
}

/// A body that sends one chunk and then never ends.
struct Forever(bool);

impl http_body::Body for Forever {
    type Data = Bytes;
    type Error = server::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, server::BoxError>>> {
        if self.0 {
            Poll::Pending
        } else {
            self.0 = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"start")))))
        }
    }
}

#[tokio::test]
async fn connect_request_and_body_timeouts() {
    let site = Site::start(|req: Request<RequestBody>| async move {
        match req.uri().path() {
            "/slow" => std::future::pending().await,
            "/endless" => Ok(Response::new(Forever(false).boxed_unsync())),
            _ => Ok(Response::new(full("quick"))),
        }
    })
    .await;
    // A listener that accepts and never answers: the TLS handshake hangs.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    timeout(LIMIT, async {
        let client = Client::builder()
            .connect_timeout(Duration::from_millis(300))
            .request_timeout(Duration::from_millis(500))
            .build();
        let err = client
            .get(format!("https://{silent_addr}/"))
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(err.to_string().contains("connecting to"), "{err}");

        let err = client.get(site.url("/slow")).await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(err.to_string().contains("GET"), "{err}");

        let response = client.get(site.url("/endless")).await.unwrap();
        assert_eq!(response.status(), 200);
        let err = response.into_body().bytes().await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(err.to_string().contains("response body"), "{err}");

        // The connection is still good.
        assert_eq!(
            text(client.get(site.url("/")).await.unwrap()).await,
            "quick"
        );
        assert_eq!(site.opened(), 1);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn idle_connections_are_closed_and_replaced() {
    let site = Site::start(hello).await;
    timeout(LIMIT, async {
        let client = Client::builder()
            .idle_timeout(Some(Duration::from_millis(200)))
            .build();
        assert_eq!(
            text(client.get(site.url("/")).await.unwrap()).await,
            "hello"
        );
        site.wait_closed(1).await;
        assert_eq!(client.open_connections(), 0);
        assert_eq!(
            text(client.get(site.url("/")).await.unwrap()).await,
            "hello"
        );
        assert_eq!(site.opened(), 2);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced() {
    let site = Site::start(hello).await;
    timeout(LIMIT, async {
        let client = Client::new();
        assert_eq!(
            text(client.get(site.url("/")).await.unwrap()).await,
            "hello"
        );
        // The server shuts the connection down gracefully (GOAWAY, close).
        site.servers.lock().unwrap()[0].shutdown();
        site.wait_closed(1).await;
        assert_eq!(
            text(client.get(site.url("/")).await.unwrap()).await,
            "hello"
        );
        assert_eq!(site.opened(), 2);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn redirects_follow_the_policy() {
    let other = Site::start(|req: Request<RequestBody>| async move {
        let auth = req.headers().contains_key(header::AUTHORIZATION);
        Ok(Response::new(full(format!("other, authorization: {auth}"))))
    })
    .await;
    let other_base = other.base.clone();
    let site = Site::start(move |req: Request<RequestBody>| {
        let other_base = other_base.clone();
        async move {
            let redirect = |status: u16, to: &str| {
                Ok(Response::builder()
                    .status(status)
                    .header(header::LOCATION, to)
                    .body(full(""))
                    .unwrap())
            };
            match req.uri().path() {
                "/a" => redirect(302, "/b"),
                "/loop" => redirect(302, "loop"),
                "/307" => redirect(307, "/echo"),
                "/away" => redirect(301, &format!("{other_base}/x")),
                "/b" | "/echo" => {
                    let method = req.method().to_string();
                    let auth = req.headers().contains_key(header::AUTHORIZATION);
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    Ok(Response::new(full(format!(
                        "{method} {} authorization: {auth}",
                        String::from_utf8_lossy(&body)
                    ))))
                }
                _ => Ok(Response::builder().status(404).body(full("")).unwrap()),
            }
        }
    })
    .await;
    timeout(LIMIT, async {
        // Off by default.
        let response = Client::new().get(site.url("/a")).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()[header::LOCATION], "/b");

        let client = Client::builder()
            .redirect(redirect::Policy::limited(5))
            .build();
        assert_eq!(
            text(client.get(site.url("/a")).await.unwrap()).await,
            "GET  authorization: false"
        );
        // 302 after a POST: a GET without the body.
        let response = client.send(post(&site.url("/a"), "payload")).await.unwrap();
        assert_eq!(text(response).await, "GET  authorization: false");
        // 307: the method and the body again.
        let response = client
            .send(post(&site.url("/307"), "payload"))
            .await
            .unwrap();
        assert_eq!(text(response).await, "POST payload authorization: false");
        // Credentials stay on their origin.
        let request = Request::get(site.url("/away"))
            .header(header::AUTHORIZATION, "Bearer secret")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(text(response).await, "other, authorization: false");
        // A loop ends.
        let err = client.get(site.url("/loop")).await.unwrap_err();
        assert!(
            err.to_string().contains("stopped after 5 redirects"),
            "{err}"
        );
        // A 307 whose body is past the replay limit is returned as is.
        let client = Client::builder()
            .redirect(redirect::Policy::limited(5))
            .replay_limit(4)
            .build();
        let response = client
            .send(post(&site.url("/307"), "longer than four"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    })
    .await
    .expect("timed out");
}

fn original() -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..20_000u32 {
        writeln!(data, "line {i}: {}", i.wrapping_mul(2_654_435_761) % 1000).unwrap();
    }
    data
}

fn encoded(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn decompression_is_byte_exact_and_opt_in() {
    let site = Site::start(|req: Request<RequestBody>| async move {
        let encoding = req.uri().path().trim_start_matches('/').to_string();
        let asked = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| "none".into());
        let body = encoded(&encoding, &original());
        Ok(Response::builder()
            .header(header::CONTENT_ENCODING, encoding)
            .header(header::CONTENT_LENGTH, body.len())
            .header("x-asked", asked)
            .body(full(body))
            .unwrap())
    })
    .await;
    timeout(LIMIT, async {
        let client = Client::builder().decompress(true).build();
        for encoding in ["gzip", "deflate", "br"] {
            let response = client.get(site.url(&format!("/{encoding}"))).await.unwrap();
            assert_eq!(response.headers()["x-asked"], "gzip, deflate, br");
            assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
            assert!(!response.headers().contains_key(header::CONTENT_LENGTH));
            let body = response.into_body().bytes().await.unwrap();
            assert!(body == original(), "{encoding}: decoded body differs");
        }
        // Off: nothing asked, the bytes as sent.
        let response = Client::new().get(site.url("/gzip")).await.unwrap();
        assert_eq!(response.headers()["x-asked"], "none");
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        let body = response.into_body().bytes().await.unwrap();
        assert!(body == encoded("gzip", &original()));
        // Only gzip: br stays encoded.
        let client = Client::builder().gzip(true).build();
        let response = client.get(site.url("/br")).await.unwrap();
        assert_eq!(response.headers()["x-asked"], "gzip");
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
    })
    .await
    .expect("timed out");
}

/// Python's `http.server` on a free port, killed on drop.
struct PyServer(std::process::Child, u16);

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_http_server() -> Option<PyServer> {
    let python = peers::peer("python3")?;
    let dir = std::env::temp_dir();
    for _ in 0..5 {
        let port = peers::free_port();
        let mut child = Command::new(&python)
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3");
        let deadline = Instant::now() + peers::WAIT;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(PyServer(child, port));
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("http.server would not start on any of five ports");
}

#[tokio::test]
async fn an_http1_server_is_named_as_such() {
    // A server that answers anything with an HTTP/1.1 400, as nginx
    // without HTTP/2 does.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    timeout(LIMIT, async {
        let err = Client::new().get(&plain).await.unwrap_err();
        assert!(err.is_not_http2(), "{err}");
        let text = err.to_string();
        assert!(text.contains("is not an HTTP/2 server"), "{text}");
        assert!(text.contains("HTTP/1.1 400 Bad Request"), "{text}");
        // The same from a single connection.
        let send = Builder::new()
            .connect(&plain.parse().unwrap())
            .await
            .unwrap();
        let err = send
            .send(Request::get(&plain).body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap_err();
        assert!(err.is_not_http2(), "{err}");
    })
    .await
    .expect("timed out");
    // Python's http.server answers the preface with an HTML page (and no
    // status line).
    let Some(py) = python_http_server() else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/", py.1);
    timeout(LIMIT, async {
        let err = Client::new().get(&url).await.unwrap_err();
        assert!(err.is_not_http2(), "{err}");
        assert!(err.to_string().contains("is not an HTTP/2 server"), "{err}");
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn a_tls_server_that_chooses_http1_by_alpn_is_named_as_such() {
    use openssl::ssl::{AlpnError, SslAcceptor, SslMethod};
    let cert = server::tls::SelfSigned::localhost().unwrap();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_private_key(&cert.key).unwrap();
    acceptor.set_certificate(&cert.cert).unwrap();
    acceptor.set_alpn_select_callback(|_, offered| {
        // Only http/1.1; the client offers h2 alone, so: none.
        openssl::ssl::select_next_proto(b"\x08http/1.1", offered).ok_or(AlpnError::NOACK)
    });
    let acceptor = acceptor.build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let ssl = openssl::ssl::Ssl::new(acceptor.context()).unwrap();
            let mut tls = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
            tokio::spawn(async move {
                let _ = Pin::new(&mut tls).accept().await;
                let mut buf = [0; 1024];
                let _ = tls.read(&mut buf).await;
            });
        }
    });
    timeout(LIMIT, async {
        let client = Client::builder().danger_accept_invalid_certs(true).build();
        let err = client
            .get(format!("https://localhost:{port}/"))
            .await
            .unwrap_err();
        assert!(err.is_not_http2(), "{err}");
        assert!(err.to_string().contains("ALPN"), "{err}");
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn client_and_send_request_are_tower_services() {
    use tower_service::Service;
    let site = Site::start(hello).await;
    timeout(LIMIT, async {
        let mut client = Client::new();
        std::future::poll_fn(|cx| Service::<Request<Empty<Bytes>>>::poll_ready(&mut client, cx))
            .await
            .unwrap();
        let response = client
            .call(
                Request::get(site.url("/"))
                    .body(Empty::<Bytes>::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(text(response).await, "hello");

        let uri: Uri = site.url("/").parse().unwrap();
        let mut send = Builder::new().connect(&uri).await.unwrap();
        std::future::poll_fn(|cx| Service::<Request<Empty<Bytes>>>::poll_ready(&mut send, cx))
            .await
            .unwrap();
        let response = send
            .call(Request::get("/").body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
        send.close();
        send.closed().await.unwrap();
        let ready =
            std::future::poll_fn(|cx| Service::<Request<Empty<Bytes>>>::poll_ready(&mut send, cx))
                .await;
        assert!(ready.is_err(), "a closed connection is not ready");
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn bad_urls_are_plain_errors() {
    let client = Client::new();
    let err = client.get("/relative").await.unwrap_err();
    assert!(err.to_string().contains("has no scheme"), "{err}");
    let err = client.get("ftp://example.test/").await.unwrap_err();
    assert!(err.to_string().contains("unsupported scheme"), "{err}");
    let err = client.get("http://exa mple/").await.unwrap_err();
    assert!(err.to_string().contains("invalid request"), "{err}");
}
