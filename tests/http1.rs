//! HTTP/1.1 beside HTTP/2 on one port: hyper's `http1` server running the
//! same service, over cleartext (told apart by the first bytes) and TLS
//! (by ALPN), the h2c upgrade, and the HTTP/1.1 side's limits; with curl,
//! nghttp and h2load as peers.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use nghttp2::server::{service_fn, tls, BoxError, Builder, ConnectionInfo, RequestBody, Server};
use support::peers::{peer, run};
use support::wire::{self, RawConn};
use support::PREFACE;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// A hang guard, not a speed requirement.
const LIMIT: Duration = Duration::from_secs(120);

type BoxBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

fn full(data: impl Into<Bytes>) -> BoxBody {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// `/echo` echoes the body; anything else describes the request:
/// `VERSION METHOD PATH alpn=.. sni=.. peer=..`.
async fn site(req: Request<RequestBody>) -> Result<Response<BoxBody>, BoxError> {
    if req.uri().path() == "/big" {
        return Ok(Response::new(full(vec![b'x'; 16 << 20])));
    }
    if req.uri().path() == "/echo" {
        let body = req.into_body().collect().await?.to_bytes();
        return Ok(Response::new(full(body)));
    }
    let info = req
        .extensions()
        .get::<ConnectionInfo>()
        .cloned()
        .expect("every request has a ConnectionInfo");
    let tls = info.tls();
    let text = format!(
        "{:?} {} {} alpn={} sni={} peer={} cipher={}\n",
        req.version(),
        req.method(),
        req.uri().path(),
        tls.and_then(|t| t.alpn.clone())
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .unwrap_or_else(|| "-".into()),
        tls.and_then(|t| t.server_name.clone())
            .unwrap_or_else(|| "-".into()),
        info.peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into()),
        tls.and_then(|t| t.cipher.clone())
            .unwrap_or_else(|| "-".into()),
    );
    Ok(Response::new(full(text)))
}

/// A server on its own runtime, for tests that run peer processes.
struct Running {
    addr: SocketAddr,
    server: Server,
    _runtime: tokio::runtime::Runtime,
}

fn start(builder: Builder, tls: bool) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.build();
    let s = server.clone();
    let acceptor = tls.then(|| tls::SelfSigned::localhost().unwrap().acceptor().unwrap());
    runtime.spawn(async move {
        let service = service_fn(site);
        match acceptor {
            Some(acceptor) => s.serve_tls(listener, acceptor, service).await.unwrap(),
            None => s.serve(listener, service).await.unwrap(),
        }
    });
    Running {
        addr,
        server,
        _runtime: runtime,
    }
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn curl_gets_every_protocol_on_one_cleartext_port() {
    let Some(curl) = peer("curl") else { return };
    let t = start(Builder::new(), false);
    let url = format!("http://127.0.0.1:{}/x", t.addr.port());
    for (flag, expect, version) in [
        ("--http1.1", "HTTP/1.1 GET /x", "1.1"),
        ("--http2-prior-knowledge", "HTTP/2.0 GET /x", "2"),
        // Upgrade: h2c, answered on stream 1 of HTTP/2.
        ("--http2", "HTTP/2.0 GET /x", "2"),
    ] {
        let out = stdout(&run(Command::new(&curl).args([
            "-sS",
            flag,
            "-w",
            "%{http_version}",
            &url,
        ])));
        assert!(out.starts_with(expect), "{flag}: {out}");
        assert!(
            out.contains("alpn=- sni=- peer=127.0.0.1:"),
            "{flag}: {out}"
        );
        assert!(out.ends_with(&format!("\n{version}")), "{flag}: {out}");
    }
    assert_eq!(t.server.stats().requests, 3);
}

#[test]
fn curl_gets_http1_or_http2_over_tls_by_alpn() {
    let Some(curl) = peer("curl") else { return };
    let t = start(Builder::new(), true);
    let url = format!("https://localhost:{}/y", t.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", t.addr.port());
    for (flags, expect) in [
        (
            &["--http1.1"][..],
            "HTTP/1.1 GET /y alpn=http/1.1 sni=localhost",
        ),
        (&["--http2"][..], "HTTP/2.0 GET /y alpn=h2 sni=localhost"),
        // No ALPN at all: HTTP/1.1.
        (
            &["--http1.1", "--no-alpn"][..],
            "HTTP/1.1 GET /y alpn=- sni=localhost",
        ),
    ] {
        let out = stdout(&run(Command::new(&curl)
            .args(["-sSk", "--resolve", &resolve])
            .args(flags)
            .arg(&url)));
        assert!(out.starts_with(expect), "{flags:?}: {out}");
        // TLS 1.3 (curl and the acceptor's default): its AEAD suites.
        assert!(out.contains(" cipher=TLS_"), "{flags:?}: {out}");
    }
}

#[test]
fn curl_h2c_upgrade_with_a_body_is_answered_on_stream_1() {
    let Some(curl) = peer("curl") else { return };
    let t = start(Builder::new(), false);
    let url = format!("http://127.0.0.1:{}/echo", t.addr.port());
    let out = stdout(&run(Command::new(&curl).args([
        "-sS",
        "--http2",
        "-d",
        "the upgrading request's body",
        "-w",
        " %{http_version}",
        &url,
    ])));
    assert_eq!(out, "the upgrading request's body 2");
}

#[test]
fn nghttp_upgrade_gets_http2() {
    let Some(nghttp) = peer("nghttp") else { return };
    let t = start(Builder::new(), false);
    let url = format!("http://127.0.0.1:{}/z", t.addr.port());
    let out = stdout(&run(Command::new(&nghttp).args(["-u", "-v", &url])));
    assert!(out.contains("HTTP Upgrade response"), "{out}");
    assert!(out.contains("HTTP/2.0 GET /z alpn=-"), "{out}");
    assert!(out.contains("recv HEADERS frame <length="), "{out}");
}

#[test]
fn h2load_h1_is_served() {
    let Some(h2load) = peer("h2load") else { return };
    let t = start(Builder::new(), false);
    let url = format!("http://127.0.0.1:{}/", t.addr.port());
    let out = stdout(&run(
        Command::new(&h2load).args(["--h1", "-n", "2000", "-c", "4", &url])
    ));
    assert!(out.contains("2000 succeeded, 0 failed, 0 errored"), "{out}");
    assert!(out.contains("status codes: 2000 2xx"), "{out}");
}

/// Reads HTTP/1.1 responses off `tcp` until `n` status lines arrived (or
/// the server closed), and returns them.
async fn read_responses(tcp: &mut TcpStream, n: usize) -> String {
    let mut seen = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let count = |seen: &[u8]| seen.windows(10).filter(|w| w == b"HTTP/1.1 2").count();
    while count(&seen) < n {
        match tcp.read(&mut chunk).await.unwrap() {
            0 => break,
            k => seen.extend_from_slice(&chunk[..k]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

async fn start_async(builder: Builder) -> (SocketAddr, Server) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.build();
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener, service_fn(site)).await.unwrap() });
    (addr, server)
}

/// Another client is served while the test's hostile one is connected.
async fn assert_serves(addr: SocketAddr) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_responses(&mut tcp, 1).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("HTTP/1.1 GET /ok"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_pipelined_requests_are_answered_in_order() {
    let (addr, server) = start_async(Builder::new()).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut requests = Vec::new();
        for i in 0..10_000 {
            requests.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        }
        let (mut rd, mut wr) = tcp.split();
        let write = async {
            wr.write_all(&requests).await.unwrap();
        };
        let read = async {
            let mut seen = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            let mut count = 0;
            while count < 10_000 {
                let k = rd.read(&mut chunk).await.unwrap();
                assert!(k > 0, "closed after {count} responses");
                seen.extend_from_slice(&chunk[..k]);
                count = seen.windows(10).filter(|w| w == b"HTTP/1.1 2").count();
            }
            String::from_utf8_lossy(&seen).into_owned()
        };
        let ((), answers) = tokio::join!(write, read);
        assert_eq!(answers.matches("HTTP/1.1 200 OK\r\n").count(), 10_000);
        let first = answers.find("GET /0 ").unwrap();
        let last = answers.find("GET /9999 ").unwrap();
        assert!(first < last);
        assert_serves(addr).await;
    };
    timeout(LIMIT, run).await.expect("timed out");
    assert_eq!(server.stats().requests, 10_001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_from_a_peer_that_does_not_read_are_bounded() {
    let (addr, _server) = start_async(Builder::new()).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        // The server answers each request (about 200 bytes), one at a
        // time, and reads the next only once it wrote the last answer; so
        // with the peer reading nothing, the socket buffers fill and the
        // server stops reading: the peer's writes stall.
        let mut sent = 0usize;
        let stalled = loop {
            match timeout(Duration::from_secs(2), tcp.write_all(request)).await {
                Ok(Ok(())) => sent += 1,
                Ok(Err(e)) => panic!("write failed after {sent}: {e}"),
                Err(_) => break true,
            }
            if sent > 2_000_000 {
                break false;
            }
        };
        assert!(
            stalled,
            "the server read 2,000,000 requests without being read from"
        );
        assert_serves(addr).await;
        println!("a peer that reads nothing got {sent} pipelined requests in");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_request_head_is_timed_out() {
    let (addr, _server) =
        start_async(Builder::new().handshake_timeout(Duration::from_millis(300))).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        // A byte now and then, never the end of the head.
        let mut answer = Vec::new();
        let closed = async {
            let mut chunk = [0u8; 1024];
            loop {
                match tcp.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => answer.extend_from_slice(&chunk[..k]),
                }
            }
        };
        let mut drip = std::pin::pin!(async {
            let mut other = TcpStream::connect(addr).await.unwrap();
            // A second slowloris on its own connection: still timed out
            // while another client is served.
            other.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            assert_serves(addr).await;
            std::future::pending::<()>().await
        });
        tokio::select! {
            () = closed => {}
            () = &mut drip => {}
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
            "{answer}"
        );
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mebibyte_header_gets_431() {
    let (addr, _server) = start_async(Builder::new()).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        request.resize(request.len() + 1024 * 1024, b'a');
        request.extend_from_slice(b"\r\n\r\n");
        // The server may close before it read all of it.
        let _ = tcp.write_all(&request).await;
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{answer}"
        );
        assert_serves(addr).await;
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_request_head_gets_400() {
    let (addr, _server) = start_async(Builder::new()).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert_serves(addr).await;
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http2_settings_is_served_as_http1() {
    let (addr, _server) = start_async(Builder::new()).await;
    let run = async {
        for settings in ["not*base64", "AAMAAAB", ""] {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let mut request = String::from(
                "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n",
            );
            if !settings.is_empty() {
                request.push_str(&format!("HTTP2-Settings: {settings}\r\n"));
            }
            request.push_str("\r\n");
            tcp.write_all(request.as_bytes()).await.unwrap();
            let answer = read_responses(&mut tcp, 1).await;
            assert!(
                answer.starts_with("HTTP/1.1 200 OK\r\n"),
                "{settings:?}: {answer}"
            );
            assert!(
                answer.contains("HTTP/1.1 GET /plain"),
                "{settings:?}: {answer}"
            );
        }
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_and_chunked_bodies_as_hyper_does() {
    let (addr, _server) = start_async(Builder::new()).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .await
        .unwrap();
        let answer = read_responses(&mut tcp, 1).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nhello world"), "{answer}");
        // The same connection goes on.
        tcp.write_all(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_responses(&mut tcp, 1).await;
        assert!(answer.contains("HTTP/1.1 GET /again"), "{answer}");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_by_hand_answers_stream_1_then_serves_more_streams() {
    let (addr, _server) = start_async(Builder::new()).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\
              Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 4\r\n\r\nping",
        )
        .await
        .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            tcp.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        // Now HTTP/2: stream 1 answers the upgrading request, and the
        // connection takes new streams from 3 on.
        let mut conn = RawConn::from_tcp(tcp);
        let mut hello = PREFACE.to_vec();
        hello.extend(wire::settings(&[]));
        hello.extend(wire::headers(
            3,
            &wire::request_block("GET", "/after", &[]),
            wire::END_HEADERS | wire::END_STREAM,
        ));
        conn.send(&hello).await.unwrap();
        let first = conn.response(1).await;
        assert_eq!(first.status, Some(200));
        assert_eq!(first.body, b"ping");
        let next = conn.response(3).await;
        assert_eq!(next.status, Some(200));
        let text = String::from_utf8(next.body).unwrap();
        assert!(text.starts_with("HTTP/2.0 GET /after"), "{text}");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

/// h2serve with `args` on a free port, stdout and stderr into files of
/// `dir`; returns the child and its port once it serves.
fn spawn_h2serve(dir: &support::peers::TempDir, args: &[&str]) -> (support::peers::Running, u16) {
    let out = std::fs::File::create(dir.path().join("stdout")).unwrap();
    let err = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_h2serve"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + support::peers::WAIT;
    let port = loop {
        let text = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
        if let Some(line) = text.lines().find(|l| l.starts_with("h2serve: serving ")) {
            let port = line.trim_end_matches('/').rsplit(':').next().unwrap();
            break port.parse::<u16>().unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "h2serve did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let running = support::peers::Running {
        child,
        port,
        output: Default::default(),
    };
    (running, port)
}

#[test]
fn h2serve_trace_and_access_log_name_the_protocol() {
    let Some(curl) = peer("curl") else { return };
    let dir = support::peers::TempDir::new("http1-log");
    let (server, port) = spawn_h2serve(&dir, &["--no-tls", "-v"]);
    let url = format!("http://127.0.0.1:{port}/");
    for flag in ["--http1.1", "--http2-prior-knowledge", "--http2"] {
        let out = stdout(&run(Command::new(&curl).args(["-sS", "-i", flag, &url])));
        assert!(out.contains("hello world"), "{flag}: {out}");
        assert!(out.contains("\r\nserver: h2serve/"), "{flag}: {out}");
        assert!(out.contains("\r\ndate: "), "{flag}: {out}");
    }
    drop(server);
    let trace = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    let log = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    // The trace: an HTTP/1.1 connection, a prior-knowledge HTTP/2 one and
    // an upgraded one.
    assert!(trace.contains("] http/1.1 connection"), "{trace}");
    assert!(trace.contains("] HTTP/1.1 request: GET /"), "{trace}");
    assert!(trace.contains("] HTTP/1.1 response: 200 OK"), "{trace}");
    assert!(
        trace.contains("] HTTP/1.1 Upgrade: h2c; 101 Switching Protocols"),
        "{trace}"
    );
    assert!(trace.contains("recv SETTINGS frame"), "{trace}");
    // The access log.
    assert_eq!(
        log.matches("HTTP/1.1 GET / 200 12 bytes").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("HTTP/2.0 GET / 200 12 bytes").count(),
        2,
        "{log}"
    );
}

#[test]
fn h2serve_no_http1_answers_http1_with_505() {
    let Some(curl) = peer("curl") else { return };
    let dir = support::peers::TempDir::new("http1-off");
    let (_server, port) = spawn_h2serve(&dir, &["--no-tls", "--no-http1", "-q"]);
    let url = format!("http://127.0.0.1:{port}/");
    let out = stdout(&run(Command::new(&curl).args([
        "-sS",
        "--http1.1",
        "-w",
        "%{http_code}",
        &url,
    ])));
    assert!(out.ends_with("505"), "{out}");
    let out = stdout(&run(Command::new(&curl).args([
        "-sS",
        "--http2-prior-knowledge",
        &url,
    ])));
    assert_eq!(out, "hello world\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_never_reads_is_closed_by_the_write_timeout() {
    let (addr, server) =
        start_async(Builder::new().write_timeout(Duration::from_millis(300))).await;
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // 16 MiB do not fit in the socket buffers; the server's writes
        // stall, and after the write timeout it closes the connection.
        while server.stats().connections != 1 {
            tokio::task::yield_now().await;
        }
        while server.stats().connections != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_serves(addr).await;
        drop(tcp);
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_request_after_alpn_h2_gets_goaway() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls::SelfSigned::localhost().unwrap().acceptor().unwrap();
    tokio::spawn(async move {
        Builder::new()
            .serve_tls(listener, acceptor, service_fn(site))
            .await
    });
    let run = async {
        let mut connector =
            openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
        connector.set_verify(openssl::ssl::SslVerifyMode::NONE);
        connector.set_alpn_protos(b"\x02h2").unwrap();
        let ssl = connector
            .build()
            .configure()
            .unwrap()
            .into_ssl("localhost")
            .unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut tls = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
        std::pin::Pin::new(&mut tls).connect().await.unwrap();
        assert_eq!(tls.ssl().selected_alpn_protocol(), Some(&b"h2"[..]));
        tls.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        // SETTINGS, then GOAWAY PROTOCOL_ERROR.
        let settings_len = u32::from_be_bytes([0, answer[0], answer[1], answer[2]]) as usize;
        assert_eq!(answer[3], 0x4, "{answer:?}");
        let goaway = &answer[9 + settings_len..];
        assert_eq!(goaway[3], 0x7, "{answer:?}");
        assert_eq!(&goaway[13..17], &[0, 0, 0, 1], "PROTOCOL_ERROR");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[test]
fn http1_off_over_tls_answers_505_after_alpn_http1() {
    let Some(curl) = peer("curl") else { return };
    let t = start(Builder::new().http1(false), true);
    let url = format!("https://localhost:{}/", t.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", t.addr.port());
    let out = stdout(&run(Command::new(&curl).args([
        "-sSk",
        "--resolve",
        &resolve,
        "--http1.1",
        "-w",
        " %{http_code}",
        &url,
    ])));
    assert!(out.ends_with(" 505"), "{out}");
    let out = stdout(&run(Command::new(&curl).args([
        "-sSk",
        "--resolve",
        &resolve,
        "--http2",
        &url,
    ])));
    assert!(out.starts_with("HTTP/2.0 GET / alpn=h2"), "{out}");
}
