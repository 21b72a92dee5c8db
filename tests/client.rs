//! The tokio client (`nghttp2::client`) against real peers: nghttpd (h2c
//! and TLS, when installed), this crate's server, and a Session-level fake
//! server for GOAWAY.

use std::convert::Infallible;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Empty, Full};
use nghttp2::client::{body_channel, Builder, SendRequest};
use nghttp2::server::{self, service_fn, RequestBody};
use nghttp2::session::{
    CallbackResult, Frame, HeaderRef, HeadersCategory, Options, Session, SessionRef, Setting,
    SettingId,
};
use nghttp2::Reason;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

/// `name`'s path, or `None` (with a message) when it is not installed; with
/// CI=true a missing tool fails the test instead.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} is not on PATH, and CI=true: install nghttp2-server");
        }
        eprintln!("skipped: {name} is not on PATH (Debian package nghttp2-server)");
    }
    found
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "nghttp2-client-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mib_file() -> Vec<u8> {
    (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn htdocs() -> TempDir {
    let dir = TempDir::new("htdocs");
    std::fs::write(dir.path().join("index.html"), b"hello\n").unwrap();
    std::fs::write(dir.path().join("big.bin"), mib_file()).unwrap();
    dir
}

/// An nghttpd, killed on drop.
struct Nghttpd {
    child: Child,
    port: u16,
}

impl Nghttpd {
    /// `nghttpd [--no-tls] -d dir PORT [KEY CERT]`, waiting until it
    /// listens (bounded).
    fn start(bin: &Path, dir: &Path, tls: Option<(&Path, &Path)>) -> Nghttpd {
        let port = free_port();
        let mut cmd = Command::new(bin);
        if tls.is_none() {
            cmd.arg("--no-tls");
        }
        cmd.arg("-d").arg(dir).arg(port.to_string());
        if let Some((key, cert)) = tls {
            cmd.arg(key).arg(cert);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nghttpd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nghttpd { child, port }
    }
}

impl Drop for Nghttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(client: &SendRequest, uri: &str) -> (http::StatusCode, Bytes) {
    let request = Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
    let response = client.send(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

#[tokio::test]
async fn h2c_fetch_from_nghttpd() {
    let Some(bin) = tool("nghttpd") else { return };
    let dir = htdocs();
    let server = Nghttpd::start(&bin, dir.path(), None);
    let base = format!("http://127.0.0.1:{}", server.port);
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&base.parse::<Uri>().unwrap())
            .await
            .unwrap();
        let (status, body) = get(&client, &format!("{base}/index.html")).await;
        assert_eq!(status, 200);
        assert_eq!(&body[..], b"hello\n");
        let (status, body) = get(&client, "/big.bin").await;
        assert_eq!(status, 200);
        assert!(body == mib_file(), "1 MiB body differs");
        let (status, _) = get(&client, "/missing").await;
        assert_eq!(status, 404);
        client.close();
        client.closed().await.unwrap();
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn tls_fetch_from_nghttpd_verifies_the_certificate() {
    let Some(bin) = tool("nghttpd") else { return };
    let dir = htdocs();
    let keys = TempDir::new("keys");
    let cert = server::tls::SelfSigned::localhost().unwrap();
    let (key_path, cert_path) = (keys.path().join("key.pem"), keys.path().join("cert.pem"));
    std::fs::write(&key_path, cert.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_path, cert.cert_pem()).unwrap();
    let server = Nghttpd::start(&bin, dir.path(), Some((&key_path, &cert_path)));
    let uri: Uri = format!("https://localhost:{}/big.bin", server.port)
        .parse()
        .unwrap();
    timeout(LIMIT, async {
        // Not trusted: the handshake fails and says why.
        let err = Builder::new().connect(&uri).await.unwrap_err();
        assert!(
            err.to_string().contains("certificate verify failed"),
            "{err}"
        );
        // Trusted through the CA file.
        let client = Builder::new()
            .ca_file(&cert_path)
            .connect(&uri)
            .await
            .unwrap();
        let (status, body) = get(&client, &uri.to_string()).await;
        assert_eq!(status, 200);
        assert!(body == mib_file(), "1 MiB body differs over TLS");
        client.close();
        client.closed().await.unwrap();
        // Verification off.
        let client = Builder::new()
            .danger_accept_invalid_certs(true)
            .connect(&uri)
            .await
            .unwrap();
        let (status, _) = get(&client, "/index.html").await;
        assert_eq!(status, 200);
    })
    .await
    .expect("timed out");
}

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, server::BoxError>;

fn full(data: impl Into<Bytes>) -> BoxBody {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// Serves `site` with our server on a free port; returns its address and
/// the server (for shutdown).
async fn our_server<F, Fut>(builder: server::Builder, site: F) -> (String, server::Server)
where
    F: FnMut(Request<RequestBody>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Response<BoxBody>, Infallible>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.build();
    let running = server.clone();
    tokio::spawn(async move {
        let _ = running.serve(listener, service_fn(site)).await;
    });
    (format!("http://{addr}"), server)
}

#[tokio::test]
async fn requests_beyond_max_concurrent_streams_wait_their_turn() {
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l, p) = (live.clone(), peak.clone());
    let (base, _server) = our_server(
        server::Builder::new().max_concurrent_streams(3),
        move |req| {
            let (live, peak) = (l.clone(), p.clone());
            async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(Response::new(full(req.uri().path().to_string())))
            }
        },
    )
    .await;
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&base.parse::<Uri>().unwrap())
            .await
            .unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move {
                    let (status, body) = get(&client, &format!("/r{i}")).await;
                    assert_eq!(status, 200);
                    assert_eq!(body, format!("/r{i}"));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        client.close();
        client.closed().await.unwrap();
    })
    .await
    .expect("timed out");
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "more than 3 streams at once"
    );
}

/// A body of one DATA chunk followed by trailers.
struct WithTrailers {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for WithTrailers {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(data))));
        }
        std::task::Poll::Ready(
            self.trailers
                .take()
                .map(|t| Ok(http_body::Frame::trailers(t))),
        )
    }
}

#[tokio::test]
async fn request_trailers_reach_the_server_and_response_trailers_come_back() {
    let (base, _server) = our_server(server::Builder::new(), |req| async move {
        let collected = req.into_body().collect().await.unwrap();
        let got = collected
            .trailers()
            .and_then(|t| t.get("x-checksum"))
            .cloned()
            .unwrap_or(HeaderValue::from_static("none"));
        let body = collected.to_bytes();
        let mut trailers = HeaderMap::new();
        trailers.insert("x-echo-checksum", got);
        let reply = WithTrailers {
            data: Some(body),
            trailers: Some(trailers),
        };
        Ok(Response::new(
            reply
                .map_err(|never: Infallible| match never {})
                .boxed_unsync(),
        ))
    })
    .await;
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&base.parse::<Uri>().unwrap())
            .await
            .unwrap();
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", HeaderValue::from_static("abc123"));
        let request = Request::post("/upload")
            .body(WithTrailers {
                data: Some(Bytes::from_static(b"payload")),
                trailers: Some(trailers),
            })
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(
            collected
                .trailers()
                .unwrap()
                .get("x-echo-checksum")
                .unwrap(),
            "abc123"
        );
        assert_eq!(&collected.to_bytes()[..], b"payload");
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn ping_measures_a_round_trip() {
    let (base, _server) = our_server(server::Builder::new(), |_req| async move {
        Ok(Response::new(full("x")))
    })
    .await;
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&base.parse::<Uri>().unwrap())
            .await
            .unwrap();
        for _ in 0..3 {
            let rtt = client.ping().await.unwrap();
            assert!(rtt > Duration::ZERO);
        }
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn full_duplex_echo_over_one_stream() {
    let (base, _server) = our_server(server::Builder::new(), |req| async move {
        // Echo each request line as it arrives, upper-cased.
        let (mut tx, body) = body_channel();
        let mut incoming = req.into_body();
        tokio::spawn(async move {
            let mut pending = Vec::new();
            while let Some(Ok(frame)) = incoming.frame().await {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                pending.extend_from_slice(&data);
                while let Some(at) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=at).collect();
                    if tx
                        .send_data(Bytes::from(line.to_ascii_uppercase()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(
            body.map_err(|never: Infallible| match never {})
                .boxed_unsync(),
        ))
    })
    .await;
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&base.parse::<Uri>().unwrap())
            .await
            .unwrap();
        let response = client
            .duplex(Request::post("/duplex").body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let stream = response.into_body();
        let (read, mut write) = tokio::io::split(stream);
        let mut lines = BufReader::new(read).lines();
        // Each line is answered before the next is written: the stream is
        // truly full duplex.
        for i in 0..20 {
            write
                .write_all(format!("{{\"n\":{i}}}\n").as_bytes())
                .await
                .unwrap();
            let line = lines.next_line().await.unwrap().unwrap();
            assert_eq!(line, format!("{{\"N\":{i}}}"));
        }
        write.shutdown().await.unwrap();
        assert_eq!(lines.next_line().await.unwrap(), None);
    })
    .await
    .expect("timed out");
}

/// A fake server on a Session: once it has two requests, it sends GOAWAY
/// with last_stream_id of the first and answers only that one.
#[derive(Default)]
struct GoawayServer {
    requests: Vec<nghttp2::session::StreamId>,
}

impl nghttp2::session::Handler for GoawayServer {
    fn on_frame_recv(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        if frame.headers_category() == Some(HeadersCategory::Request) {
            self.requests.push(frame.stream_id());
        }
        Ok(())
    }
}

#[tokio::test]
async fn requests_above_the_goaway_last_stream_id_are_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut session = Session::server(GoawayServer::default(), &Options::new()).unwrap();
        session
            .submit_settings(&[Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)])
            .unwrap();
        let mut buf = vec![0; 16 * 1024];
        let mut out = Vec::new();
        let mut answered = false;
        for _ in 0..1000 {
            out.clear();
            session.send(&mut out).unwrap();
            sock.write_all(&out).await.unwrap();
            if session.is_done() {
                break;
            }
            let n = sock.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            session.recv(&buf[..n]).unwrap();
            let requests = session.handler().requests.clone();
            if !answered && requests.len() >= 2 {
                answered = true;
                let first = requests[0];
                session.submit_goaway(first, Reason::NO_ERROR, b"").unwrap();
                session
                    .submit_response(first, [HeaderRef::new(b":status", b"200")], None)
                    .unwrap();
            }
        }
    });
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&format!("http://{addr}").parse::<Uri>().unwrap())
            .await
            .unwrap();
        let first = {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .send(Request::get("/1").body(Empty::<Bytes>::new()).unwrap())
                    .await
            })
        };
        let second = {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .send(Request::get("/2").body(Empty::<Bytes>::new()).unwrap())
                    .await
            })
        };
        let (a, b) = (first.await.unwrap(), second.await.unwrap());
        // Which request got stream 1 is up to the scheduler.
        let (ok, refused) = match (a, b) {
            (Ok(r), Err(e)) | (Err(e), Ok(r)) => (r, e),
            (a, b) => panic!("expected one answer and one refusal: {a:?} {b:?}"),
        };
        assert_eq!(ok.status(), 200);
        assert!(refused.is_retryable(), "{refused}");
        assert!(refused.to_string().contains("safe to retry"), "{refused}");
        // A request after the GOAWAY fails at once, also retryable.
        let late = client
            .send(Request::get("/3").body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap_err();
        assert!(late.is_retryable(), "{late}");
    })
    .await
    .expect("timed out");
    let _ = timeout(LIMIT, fake).await;
}

#[tokio::test]
async fn refused_connection_is_an_io_error() {
    let port = free_port();
    let err = timeout(
        LIMIT,
        Builder::new().connect(&format!("http://127.0.0.1:{port}/").parse::<Uri>().unwrap()),
    )
    .await
    .expect("timed out")
    .unwrap_err();
    assert!(err.is_io(), "{err}");
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn a_dropped_response_body_cancels_the_stream_and_frees_the_window() {
    let served = Arc::new(Mutex::new(0usize));
    let s = served.clone();
    let (base, _server) = our_server(server::Builder::new(), move |_req| {
        let served = s.clone();
        async move {
            *served.lock().unwrap() += 1;
            Ok(Response::new(full(vec![7u8; 300 * 1024])))
        }
    })
    .await;
    timeout(LIMIT, async {
        let client = Builder::new()
            .connect(&base.parse::<Uri>().unwrap())
            .await
            .unwrap();
        // Each response is bigger than the connection window; dropping the
        // unread bodies must give the window back or the third would stall.
        for _ in 0..3 {
            let response = client
                .send(Request::get("/big").body(Empty::<Bytes>::new()).unwrap())
                .await
                .unwrap();
            drop(response);
        }
        let (status, body) = get(&client, "/big").await;
        assert_eq!(status, 200);
        assert_eq!(body.len(), 300 * 1024);
    })
    .await
    .expect("timed out");
    assert_eq!(*served.lock().unwrap(), 4);
}
