//! The tokio server against the `h2` crate as an independent client, over
//! real TCP sockets on 127.0.0.1.

use std::convert::Infallible;
use std::future::{poll_fn, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use nghttp2::server::{service_fn, tls, Builder, RequestBody, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(120);

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, nghttp2::server::BoxError>;

fn full(data: impl Into<Bytes>) -> BoxBody {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// A body of one DATA chunk followed by trailers.
struct WithTrailers {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Body for WithTrailers {
    type Data = Bytes;
    type Error = nghttp2::server::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }
}

/// The test site: routes by path.
async fn site(
    req: Request<RequestBody>,
    hooks: Arc<Hooks>,
) -> Result<Response<BoxBody>, nghttp2::server::BoxError> {
    match req.uri().path() {
        "/echo" => {
            let body = req.into_body().map_err(Into::into).boxed_unsync();
            Ok(Response::new(body))
        }
        "/count" => {
            let _guard = DropFlag(hooks.clone());
            hooks.started.fetch_add(1, Ordering::SeqCst);
            let mut body = req.into_body();
            let mut n = 0;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame?.into_data() {
                    n += data.len();
                }
            }
            Ok(Response::new(full(n.to_string())))
        }
        "/panic" => panic!("handler panics on purpose"),
        "/error" => Err("handler fails on purpose".into()),
        "/trailers" => {
            let collected = req.into_body().collect().await?;
            let trailers = collected.trailers().cloned().unwrap_or_default();
            let body = collected.to_bytes();
            let mut out = HeaderMap::new();
            let got = trailers
                .get("x-checksum")
                .cloned()
                .unwrap_or_else(|| http::HeaderValue::from_static("missing"));
            out.insert("x-echoed-checksum", got);
            out.insert("x-length", body.len().to_string().parse()?);
            let body = WithTrailers {
                data: Some(body),
                trailers: Some(out),
            };
            Ok(Response::new(body.boxed_unsync()))
        }
        "/slow" => {
            hooks.started.fetch_add(1, Ordering::SeqCst);
            hooks.release.notified().await;
            Ok(Response::new(full("slow done")))
        }
        path => Ok(Response::new(full(format!("hello {path}")))),
    }
}

/// What tests observe of the handlers.
#[derive(Default)]
struct Hooks {
    started: AtomicUsize,
    dropped: AtomicUsize,
    release: tokio::sync::Notify,
}

struct DropFlag(Arc<Hooks>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

async fn start(builder: Builder) -> (SocketAddr, Server, Arc<Hooks>, tokio::task::JoinHandle<()>) {
    start_on_loops(builder, 0).await
}

/// As [`start`], serving on `workers` event loops of their own
/// (`Serve::workers`).
async fn start_on_loops(
    builder: Builder,
    workers: usize,
) -> (SocketAddr, Server, Arc<Hooks>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.build();
    let hooks = Arc::new(Hooks::default());
    let h = hooks.clone();
    let service = service_fn(move |req| site(req, h.clone()));
    let s = server.clone();
    let task = tokio::spawn(async move {
        s.serve(listener, service).workers(workers).await.unwrap();
    });
    (addr, server, hooks, task)
}

type Client = h2::client::SendRequest<Bytes>;

async fn connect(addr: SocketAddr) -> (Client, tokio::task::JoinHandle<Result<(), h2::Error>>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::Builder::new()
        .initial_window_size(65_535)
        .initial_connection_window_size(65_535)
        .handshake(tcp)
        .await
        .unwrap();
    (client, tokio::spawn(conn))
}

fn request(path: &str, method: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1{path}"))
        .body(())
        .unwrap()
}

async fn read_all(body: &mut h2::RecvStream) -> Result<Vec<u8>, h2::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len())?;
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn get(client: &mut Client, path: &str) -> Result<(StatusCode, Vec<u8>), h2::Error> {
    let mut client = client.clone().ready().await?;
    let (response, _) = client.send_request(request(path, "GET"), true)?;
    let response = response.await?;
    let status = response.status();
    let mut body = response.into_body();
    Ok((status, read_all(&mut body).await?))
}

/// Sends `data` on `stream`, as the peer's window allows.
async fn send_all(stream: &mut h2::SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    for _ in 0..10_000_000 {
        if data.is_empty() {
            return Ok(());
        }
        stream.reserve_capacity(data.len().min(64 * 1024));
        let Some(capacity) = poll_fn(|cx| stream.poll_capacity(cx)).await else {
            return Err(h2::Error::from(h2::Reason::CANCEL));
        };
        let n = capacity?.min(data.len());
        if n > 0 {
            stream.send_data(data.split_to(n), false)?;
        }
    }
    panic!("send_all did not finish");
}

#[tokio::test]
async fn hundred_concurrent_streams_on_one_connection() {
    let (addr, server, _, _) = start(Builder::new()).await;
    let (client, _conn) = connect(addr).await;
    let run = async {
        let mut tasks = Vec::new();
        for i in 0..100 {
            let mut client = client.clone();
            tasks.push(tokio::spawn(async move {
                get(&mut client, &format!("/item/{i}")).await
            }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let (status, body) = task.await.unwrap().unwrap();
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, format!("hello /item/{i}").into_bytes());
        }
    };
    timeout(LIMIT, run).await.expect("timed out");
    assert_eq!(server.stats().requests, 100);
    assert_eq!(server.stats().connections, 1);
}

fn pattern(offset: usize, len: usize) -> Bytes {
    (offset..offset + len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_64_mib_full_duplex_with_64k_windows() {
    const TOTAL: usize = 64 * 1024 * 1024;
    const CHUNK: usize = 256 * 1024;
    let builder = Builder::new()
        .initial_window_size(65_535)
        .initial_connection_window_size(65_535);
    let (addr, server, _, _) = start(builder).await;
    let (mut client, _conn) = connect(addr).await;

    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (server, stop, peak) = (server.clone(), stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(server.stats().buffered_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };

    let run = async {
        client = client.ready().await.unwrap();
        let (response, mut upload) = client
            .send_request(request("/echo", "POST"), false)
            .unwrap();
        let writer = tokio::spawn(async move {
            let mut offset = 0;
            while offset < TOTAL {
                send_all(&mut upload, pattern(offset, CHUNK)).await.unwrap();
                offset += CHUNK;
            }
            upload.send_data(Bytes::new(), true).unwrap();
        });
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        let mut received = 0;
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            assert_eq!(
                chunk,
                pattern(received, chunk.len()),
                "at offset {received}"
            );
            received += chunk.len();
        }
        assert_eq!(received, TOTAL);
        writer.await.unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
    stop.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let peak = peak.load(Ordering::Relaxed);
    // Windows of 64 KiB each way, a 64 KiB write high-water mark and one
    // frame in flight: the server never holds more than a few hundred KiB.
    eprintln!("peak server-held bytes: {peak}");
    assert!(peak < 512 * 1024, "server buffered {peak} bytes at peak");
}

#[tokio::test]
async fn stream_reset_mid_body_cancels_only_that_handler() {
    let (addr, server, hooks, _) = start(Builder::new()).await;
    let (client, _conn) = connect(addr).await;
    let run = async {
        let mut c = client.clone().ready().await.unwrap();
        let (doomed, mut doomed_body) = c.send_request(request("/count", "POST"), false).unwrap();
        send_all(&mut doomed_body, pattern(0, 10_000))
            .await
            .unwrap();
        // The handler has started reading.
        for _ in 0..1000 {
            if hooks.started.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(hooks.started.load(Ordering::SeqCst), 1);

        let mut others = Vec::new();
        for i in 0..3 {
            let mut c = client.clone().ready().await.unwrap();
            let (response, mut body) = c.send_request(request("/count", "POST"), false).unwrap();
            others.push(tokio::spawn(async move {
                send_all(&mut body, pattern(0, 100_000 + i)).await.unwrap();
                body.send_data(Bytes::new(), true).unwrap();
                let mut response = response.await.unwrap().into_body();
                read_all(&mut response).await.unwrap()
            }));
        }
        doomed_body.send_reset(h2::Reason::CANCEL);
        let err = doomed.await.expect_err("a reset stream has no response");
        assert_eq!(err.reason(), Some(h2::Reason::CANCEL));
        for (i, other) in others.into_iter().enumerate() {
            assert_eq!(other.await.unwrap(), (100_000 + i).to_string().into_bytes());
        }
        // The reset stream's handler future was dropped.
        for _ in 0..1000 {
            if hooks.dropped.load(Ordering::SeqCst) == 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(hooks.dropped.load(Ordering::SeqCst), 4);
        assert_eq!(server.stats().live_handlers, 0);
        assert_eq!(server.stats().recv_buffered, 0);
        // The connection is still good.
        let mut c = client.clone();
        assert_eq!(get(&mut c, "/after").await.unwrap().1, b"hello /after");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test]
async fn panicking_or_failing_handler_resets_only_its_stream() {
    let (addr, _server, _, _) = start(Builder::new()).await;
    let (client, _conn) = connect(addr).await;
    let run = async {
        let mut tasks = Vec::new();
        for path in ["/a", "/panic", "/b", "/error", "/c"] {
            let mut c = client.clone();
            tasks.push((path, tokio::spawn(async move { get(&mut c, path).await })));
        }
        for (path, task) in tasks {
            let result = task.await.unwrap();
            match path {
                "/panic" | "/error" => {
                    let err = result.expect_err("the failed stream is reset");
                    assert_eq!(err.reason(), Some(h2::Reason::INTERNAL_ERROR), "{path}");
                }
                _ => assert_eq!(result.unwrap().1, format!("hello {path}").into_bytes()),
            }
        }
        let mut c = client.clone();
        assert_eq!(get(&mut c, "/after").await.unwrap().1, b"hello /after");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test]
async fn request_and_response_trailers_round_trip() {
    let (addr, _server, _, _) = start(Builder::new()).await;
    let (client, _conn) = connect(addr).await;
    let run = async {
        let mut c = client.ready().await.unwrap();
        let (response, mut body) = c.send_request(request("/trailers", "POST"), false).unwrap();
        send_all(&mut body, Bytes::from_static(b"some body"))
            .await
            .unwrap();
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", "abc123".parse().unwrap());
        body.send_trailers(trailers).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        assert_eq!(read_all(&mut body).await.unwrap(), b"some body");
        let trailers = body.trailers().await.unwrap().expect("response trailers");
        assert_eq!(trailers["x-echoed-checksum"], "abc123");
        assert_eq!(trailers["x-length"], "9");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test]
async fn graceful_shutdown_sends_goaway_and_lets_in_flight_stream_finish() {
    graceful_shutdown_lets_in_flight_stream_finish(0).await;
}

/// The same with the connection on an event loop of its own: the loop
/// sends GOAWAY, finishes the stream, and only then does `serve` end.
#[tokio::test]
async fn graceful_shutdown_on_event_loops_lets_in_flight_stream_finish() {
    graceful_shutdown_lets_in_flight_stream_finish(2).await;
}

async fn graceful_shutdown_lets_in_flight_stream_finish(workers: usize) {
    let builder = Builder::new().shutdown_grace(Duration::from_secs(60));
    let (addr, server, hooks, serving) = start_on_loops(builder, workers).await;
    let (client, conn) = connect(addr).await;
    let run = async {
        let mut c = client.clone().ready().await.unwrap();
        let (response, _) = c.send_request(request("/slow", "GET"), true).unwrap();
        for _ in 0..1000 {
            if hooks.started.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(hooks.started.load(Ordering::SeqCst), 1);
        server.shutdown();
        // The GOAWAY reaches the client: new streams are refused.
        let mut refused = false;
        for _ in 0..1000 {
            let attempt = async {
                let mut c = client.clone().ready().await?;
                let (response, _) = c.send_request(request("/late", "GET"), true)?;
                response.await
            };
            match attempt.await {
                Err(e) if e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM) => {
                    refused = true;
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        assert!(refused, "no GOAWAY seen");
        // The in-flight stream still completes.
        hooks.release.notify_one();
        let response = response.await.unwrap();
        let mut body = response.into_body();
        assert_eq!(read_all(&mut body).await.unwrap(), b"slow done");
        // Then the server closes the connection and `serve` returns.
        conn.await.unwrap().unwrap();
        serving.await.unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
    assert_eq!(server.stats().connections, 0);
}

#[tokio::test]
async fn tls_with_alpn_h2() {
    let cert = tls::SelfSigned::localhost().unwrap();
    let acceptor = cert.acceptor().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Builder::new().build();
    let s = server.clone();
    let hooks = Arc::new(Hooks::default());
    tokio::spawn(async move {
        let service = service_fn(move |req| site(req, hooks.clone()));
        s.serve_tls(listener, acceptor, service).await.unwrap();
    });

    let connect_tls = |alpn: &'static [u8]| async move {
        let mut connector =
            openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
        connector.set_verify(openssl::ssl::SslVerifyMode::NONE);
        connector.set_alpn_protos(alpn).unwrap();
        let ssl = connector
            .build()
            .configure()
            .unwrap()
            .into_ssl("localhost")
            .unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut tls = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
        Pin::new(&mut tls).connect().await.map(|()| tls)
    };
    let run = async {
        let tls = connect_tls(b"\x02h2\x08http/1.1").await.unwrap();
        assert_eq!(tls.ssl().selected_alpn_protocol(), Some(&b"h2"[..]));
        let (mut client, conn) = h2::client::handshake(tls).await.unwrap();
        tokio::spawn(conn);
        let (status, body) = get(&mut client, "/").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"hello /");

        // A client that offers only http/1.1 gets HTTP/1.1; one that
        // offers neither protocol is refused in the handshake.
        let mut tls = connect_tls(b"\x08http/1.1").await.unwrap();
        assert_eq!(tls.ssl().selected_alpn_protocol(), Some(&b"http/1.1"[..]));
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tls.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("hello /"), "{answer}");
        assert!(connect_tls(b"\x06spdy/3").await.is_err());
    };
    timeout(LIMIT, run).await.expect("timed out");
    assert_eq!(server.stats().refused_connections, 1);
}

#[tokio::test]
async fn http1_request_on_cleartext_port_is_refused_when_http1_is_off() {
    let (addr, server, _, _) = start(Builder::new().http1(false)).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 505 "),
            "unexpected answer: {answer}"
        );
        assert!(answer.contains("HTTP/2"));
    };
    timeout(LIMIT, run).await.expect("timed out");
    assert_eq!(server.stats().refused_connections, 1);
}

#[tokio::test]
async fn garbage_on_cleartext_port_gets_goaway_protocol_error() {
    for http1 in [true, false] {
        let (addr, server, _, _) = start(Builder::new().http1(http1)).await;
        let run = async {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            tcp.write_all(b"\x16\x03\x01 not a preface").await.unwrap();
            let mut answer = Vec::new();
            tcp.read_to_end(&mut answer).await.unwrap();
            // SETTINGS, then GOAWAY with last stream 0 and PROTOCOL_ERROR.
            let settings_len = u32::from_be_bytes([0, answer[0], answer[1], answer[2]]) as usize;
            assert_eq!(answer[3], 0x4, "SETTINGS first: {answer:?}");
            let goaway = &answer[9 + settings_len..];
            assert_eq!(goaway[3], 0x7, "then GOAWAY: {answer:?}");
            assert_eq!(&goaway[9..17], &[0, 0, 0, 0, 0, 0, 0, 1], "PROTOCOL_ERROR");
        };
        timeout(LIMIT, run).await.expect("timed out");
        assert_eq!(server.stats().refused_connections, 1);
    }
}

/// Reads frames until EOF and returns the error code of the first GOAWAY.
async fn goaway_code(tcp: &mut TcpStream) -> Option<u32> {
    let mut wire = Vec::new();
    let _ = timeout(LIMIT, tcp.read_to_end(&mut wire)).await;
    let mut at = 0;
    while at + 9 <= wire.len() {
        let len = u32::from_be_bytes([0, wire[at], wire[at + 1], wire[at + 2]]) as usize;
        let kind = wire[at + 3];
        let payload = wire.get(at + 9..at + 9 + len)?;
        if kind == 7 && payload.len() >= 8 {
            return Some(u32::from_be_bytes(payload[4..8].try_into().unwrap()));
        }
        at += 9 + len;
    }
    None
}

#[tokio::test]
async fn unacknowledged_settings_end_the_connection() {
    let builder = Builder::new().settings_timeout(Duration::from_millis(200));
    let (addr, _server, _, _) = start(builder).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The preface and an empty SETTINGS, and never a SETTINGS ACK.
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    assert_eq!(goaway_code(&mut tcp).await, Some(0x4), "SETTINGS_TIMEOUT");
}

#[tokio::test]
async fn idle_connection_gets_goaway_and_is_closed() {
    let builder = Builder::new().idle_timeout(Some(Duration::from_millis(100)));
    let (addr, server, _, _) = start(builder).await;
    let (mut client, conn) = connect(addr).await;
    let run = async {
        assert_eq!(get(&mut client, "/").await.unwrap().1, b"hello /");
        // Nothing more happens: the server says goodbye and closes.
        conn.await.unwrap().unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
    for _ in 0..1000 {
        if server.stats().connections == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.stats().connections, 0);
}

#[tokio::test]
async fn prohibited_tls12_cipher_gets_goaway_inadequate_security() {
    let cert = tls::SelfSigned::localhost().unwrap();
    // An acceptor that (wrongly) allows a CBC suite, to see the server's
    // own RFC 9113 section 9.2 check act.
    let mut builder = tls::h2_acceptor_builder().unwrap();
    builder.set_cipher_list("ECDHE-ECDSA-AES128-SHA").unwrap();
    builder.set_certificate(&cert.cert).unwrap();
    builder.set_private_key(&cert.key).unwrap();
    let acceptor = builder.build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hooks = Arc::new(Hooks::default());
    tokio::spawn(async move {
        let service = service_fn(move |req| site(req, hooks.clone()));
        Builder::new()
            .serve_tls(listener, acceptor, service)
            .await
            .unwrap();
    });
    let run = async {
        let mut connector =
            openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
        connector.set_verify(openssl::ssl::SslVerifyMode::NONE);
        connector
            .set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2))
            .unwrap();
        connector.set_cipher_list("ECDHE-ECDSA-AES128-SHA").unwrap();
        connector.set_alpn_protos(b"\x02h2").unwrap();
        let ssl = connector
            .build()
            .configure()
            .unwrap()
            .into_ssl("localhost")
            .unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut tls = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
        Pin::new(&mut tls).connect().await.unwrap();
        let (mut client, conn) = h2::client::handshake(tls).await.unwrap();
        let conn = tokio::spawn(conn);
        let _ = get(&mut client, "/").await;
        let err = conn.await.unwrap().expect_err("the connection is refused");
        assert_eq!(err.reason(), Some(h2::Reason::INADEQUATE_SECURITY));
    };
    timeout(LIMIT, run).await.expect("timed out");
}

/// The server keeps the request fields a connection repeats (and its
/// `:authority` and `:path`) parsed: every request must still see exactly
/// what it sent, whether the field is new, repeated, changed back, or one
/// of more distinct values than the cache keeps.
#[tokio::test]
async fn repeated_request_fields_arrive_as_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = service_fn(|req: Request<RequestBody>| async move {
        let probe = req.headers().get_all("x-probe").iter();
        let probes: Vec<_> = probe.map(|v| v.to_str().unwrap().to_owned()).collect();
        let text = format!(
            "{} {} {}",
            req.uri().authority().map(|a| a.as_str()).unwrap_or("-"),
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("-"),
            probes.join(",")
        );
        Ok::<_, Infallible>(Response::new(full(text)))
    });
    let server = Builder::new().build();
    tokio::spawn(async move { server.serve(listener, service).await });
    let (client, _conn) = connect(addr).await;
    let mut sent = Vec::new();
    for i in 0..20 {
        sent.push(("a.example", "/", format!("same-{}", i % 2)));
    }
    for i in 0..300 {
        sent.push((
            if i % 7 == 0 { "b.example" } else { "a.example" },
            match i % 5 {
                0 => "/other?x=1",
                1 => "/other?x=2",
                2 => "/other",
                _ => "/",
            },
            format!("v{i}"),
        ));
    }
    for i in 0..20 {
        sent.push(("a.example", "/", format!("v{i}")));
    }
    for (authority, path, probe) in sent {
        let request = Request::builder()
            .uri(format!("http://{authority}{path}"))
            .header("x-probe", probe.as_str())
            .header("x-probe", "second")
            .body(())
            .unwrap();
        let mut ready = client.clone().ready().await.unwrap();
        let (response, _) = ready.send_request(request, true).unwrap();
        let mut body = response.await.unwrap().into_body();
        let got = String::from_utf8(read_all(&mut body).await.unwrap()).unwrap();
        assert_eq!(got, format!("{authority} {path} {probe},second"));
    }
}

/// Which of the server's handles a request carries, as the test service
/// reports them: `ConnectionInfo`, `Informational`, `StreamOutcome`, each
/// `+` or `-`.
async fn handles_served(request_extensions: Option<bool>) -> (String, String) {
    use nghttp2::server::{ConnectionInfo, Informational, StreamOutcome};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = service_fn(|req: Request<RequestBody>| async move {
        let ext = req.extensions();
        let has = |yes: bool| if yes { '+' } else { '-' };
        let text: String = [
            has(ext.get::<ConnectionInfo>().is_some()),
            has(ext.get::<Informational>().is_some()),
            has(ext.get::<StreamOutcome>().is_some()),
        ]
        .into_iter()
        .collect();
        Ok::<_, Infallible>(Response::new(full(text)))
    });
    let builder = match request_extensions {
        Some(on) => Builder::new().request_extensions(on),
        None => Builder::new(),
    };
    let server = builder.build();
    tokio::spawn(async move { server.serve(listener, service).await });
    let (mut client, _conn) = connect(addr).await;
    let (status, h2) = get(&mut client, "/").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut h1 = String::new();
    timeout(LIMIT, tcp.read_to_string(&mut h1))
        .await
        .unwrap()
        .unwrap();
    let h1 = h1.rsplit("\r\n").next().unwrap_or_default().to_owned();
    (String::from_utf8(h2).unwrap(), h1)
}

/// By default every HTTP/2 request carries the three handles and every
/// HTTP/1.1 request its `ConnectionInfo`; with
/// `Builder::request_extensions(false)` none carries any.
#[tokio::test]
async fn request_extensions_can_be_turned_off() {
    assert_eq!(handles_served(None).await, ("+++".into(), "+--".into()));
    assert_eq!(
        handles_served(Some(true)).await,
        ("+++".into(), "+--".into())
    );
    assert_eq!(
        handles_served(Some(false)).await,
        ("---".into(), "---".into())
    );
}

/// `Serve::workers(2)`: the connections go to two event loops of their own
/// in turn, every request of a connection is served on its connection's
/// loop, and a shutdown ends the serve future once both loops are done.
#[tokio::test]
async fn workers_serve_connections_on_event_loops_of_their_own() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Builder::new().build();
    // Answers with the name of the thread that serves the request.
    let service = service_fn(|_req: Request<RequestBody>| async {
        let name = std::thread::current().name().unwrap_or("").to_string();
        Ok::<_, Infallible>(Response::new(full(name)))
    });
    let serving = tokio::spawn(server.serve(listener, service).workers(2).into_future());
    let run = async {
        let mut loops = Vec::new();
        for _ in 0..4 {
            let (mut client, conn) = connect(addr).await;
            let mut threads = Vec::new();
            for _ in 0..3 {
                let (status, body) = get(&mut client, "/").await.unwrap();
                assert_eq!(status, StatusCode::OK);
                threads.push(String::from_utf8(body).unwrap());
            }
            assert!(
                threads.iter().all(|t| *t == threads[0]),
                "one connection, one loop: {threads:?}"
            );
            loops.push(threads.swap_remove(0));
            drop(client);
            conn.abort();
        }
        assert_eq!(
            loops,
            [
                "nghttp2-loop-0",
                "nghttp2-loop-1",
                "nghttp2-loop-0",
                "nghttp2-loop-1"
            ]
        );
        server.shutdown();
        serving.await.unwrap().unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}
