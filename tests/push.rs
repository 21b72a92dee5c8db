//! Server push (`nghttp2::server::Push`, `h2serve -p`) and the server's
//! `--hexdump`: against nghttp (which accepts push unless `--no-push`),
//! and at the frame level with a raw client, which sees the order of the
//! frames.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use nghttp2::server::{service_fn, Builder, Push, Pushed, RequestBody, Server};
use nghttp2::Reason;
use support::peers::{peer, run, start_h2serve, TempDir};
use support::wire::{
    self, headers, request_block, rst_stream, RawConn, DATA, END_HEADERS, END_STREAM, HEADERS,
    RST_STREAM,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PUSH_PROMISE: u8 = 0x5;
const LIMIT: Duration = Duration::from_secs(30);

const INDEX: &[u8] = b"<html><link rel=stylesheet href=/style.css>index</html>\n";
const STYLE: &[u8] = b"body { color: rebeccapurple }\n";

/// A document root with index.html and style.css.
fn htdocs() -> TempDir {
    let dir = TempDir::new("push");
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dir.path().join("style.css"), STYLE).unwrap();
    dir
}

/// h2serve over h2c on `dir` with `extra` flags, and the URL of its
/// index.html.
fn serve_htdocs(dir: &TempDir, extra: &[&str]) -> (support::peers::Running, String) {
    let mut args = vec!["--no-tls", "-d", dir.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = start_h2serve(&args);
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    (server, url)
}

fn nghttp(args: &[&str]) -> Option<(String, Vec<u8>)> {
    let nghttp = peer("nghttp")?;
    let out = run(Command::new(nghttp).args(args));
    assert!(
        out.status.success(),
        "nghttp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.stdout,
    ))
}

#[test]
fn nghttp_gets_the_pushed_file_from_h2serve() {
    let dir = htdocs();
    let (_server, url) = serve_htdocs(&dir, &["-p", "/index.html=/style.css"]);
    let Some((trace, _)) = nghttp(&["-nv", &url]) else {
        return;
    };
    let promise = trace
        .find("recv PUSH_PROMISE frame")
        .unwrap_or_else(|| panic!("no PUSH_PROMISE:\n{trace}"));
    assert!(
        trace.contains("(padlen=0, promised_stream_id=2)"),
        "{trace}"
    );
    assert!(trace.contains(":path: /style.css"), "{trace}");
    let parent = trace
        .find("; First response header")
        .unwrap_or_else(|| panic!("no response:\n{trace}"));
    assert!(
        promise < parent,
        "the PUSH_PROMISE comes before the response's HEADERS:\n{trace}"
    );
    assert!(trace.contains("; First push response header"), "{trace}");
    assert!(
        trace.contains(&format!(
            "recv DATA frame <length={}, flags=0x01, stream_id=2>",
            STYLE.len()
        )),
        "{trace}"
    );
    // Without -n nghttp writes every body it receives, the pushed one
    // included, to standard output.
    let (_, bodies) = nghttp(&[&url]).unwrap();
    assert_eq!(bodies.len(), INDEX.len() + STYLE.len());
    let text = String::from_utf8(bodies).unwrap();
    assert!(text.contains(std::str::from_utf8(INDEX).unwrap()), "{text}");
    assert!(text.contains(std::str::from_utf8(STYLE).unwrap()), "{text}");
}

#[test]
fn no_push_when_nghttp_turns_it_off() {
    let dir = htdocs();
    let (_server, url) = serve_htdocs(&dir, &["-p", "/index.html=/style.css"]);
    let Some((trace, _)) = nghttp(&["-nv", "--no-push", &url]) else {
        return;
    };
    assert!(trace.contains("[SETTINGS_ENABLE_PUSH(0x02):0]"), "{trace}");
    assert!(!trace.contains("PUSH_PROMISE"), "{trace}");
    assert!(trace.contains(":status: 200"), "{trace}");
    let (_, bodies) = nghttp(&["--no-push", &url]).unwrap();
    assert_eq!(bodies, INDEX);
}

#[test]
fn no_push_unless_asked() {
    let dir = htdocs();
    let (_server, url) = serve_htdocs(&dir, &[]);
    let Some((trace, _)) = nghttp(&["-nv", &url]) else {
        return;
    };
    assert!(!trace.contains("PUSH_PROMISE"), "{trace}");
}

#[test]
fn h2serve_hexdump_shows_the_client_preface() {
    let server = start_h2serve(&["--no-tls", "--hexdump"]);
    let url = format!("http://127.0.0.1:{}/", server.port);
    if nghttp(&["-n", &url]).is_none() {
        return;
    }
    let out = server.wait_output("the hexdump of the preface", |out| {
        out.contains("|PRI * HTTP/2.0..|") && out.contains("|..SM....")
    });
    assert!(
        out.contains(
            "00000000  50 52 49 20 2a 20 48 54  54 50 2f 32 2e 30 0d 0a  |PRI * HTTP/2.0..|"
        ),
        "{out}"
    );
}

#[test]
fn bad_push_flags_are_one_line_and_exit_2() {
    for (arg, needle) in [
        ("/index.html", "PATH=PUSH_PATH"),
        ("index.html=/style.css", "not a path"),
        ("/=/a.css,style.css", "not a path"),
    ] {
        let out = run(Command::new(env!("CARGO_BIN_EXE_h2serve")).args(["-p", arg]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "-p {arg}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "-p {arg}: {stderr}");
        assert!(stderr.contains(needle), "-p {arg}: {stderr}");
    }
}

/// What the test service saw.
#[derive(Default)]
struct Seen {
    /// Requests that carried a `Push`.
    with_push: AtomicUsize,
    /// Pushed requests (with `Pushed`), and their parent's id.
    pushed: Mutex<Vec<(String, u32)>>,
    /// Errors `push` gave.
    errors: Mutex<Vec<String>>,
    /// The never-answered pushed handler was dropped.
    dropped: AtomicBool,
}

struct SetOnDrop(Arc<Seen>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

/// `/` pushes `/style.css` (before its response) and, after a yield,
/// `/late.css`; `/two` pushes both at once; `/hang` pushes `/never`, whose
/// handler never answers.
async fn site(
    request: Request<RequestBody>,
    seen: Arc<Seen>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    if let Some(pushed) = request.extensions().get::<Pushed>() {
        assert!(request.extensions().get::<Push>().is_none());
        seen.pushed
            .lock()
            .unwrap()
            .push((path.clone(), pushed.parent().get()));
    }
    if let Some(push) = request.extensions().get::<Push>() {
        seen.with_push.fetch_add(1, Ordering::SeqCst);
        let get = |p: &str| Request::get(p).body(()).unwrap();
        match path.as_str() {
            "/" => {
                push.push(get("/style.css")).unwrap();
                for bad in [
                    Request::post("/form").body(()).unwrap(),
                    Request::get("/x")
                        .header("content-length", "3")
                        .body(())
                        .unwrap(),
                ] {
                    let e = push.push(bad).unwrap_err();
                    seen.errors.lock().unwrap().push(e.to_string());
                }
                // Pushed from a later poll of the same future.
                tokio::task::yield_now().await;
                push.push(get("/late.css")).unwrap();
            }
            "/hang" => push.push(get("/never")).unwrap(),
            "/two" => {
                push.push(get("/style.css")).unwrap();
                push.push(get("/late.css")).unwrap();
            }
            _ => {}
        }
    }
    if path == "/never" {
        let _guard = SetOnDrop(seen.clone());
        std::future::pending::<()>().await;
    }
    let body = match path.as_str() {
        "/" => Bytes::from_static(INDEX),
        "/style.css" | "/late.css" => Bytes::from_static(STYLE),
        _ => Bytes::from_static(b"other"),
    };
    Ok(Response::new(Full::new(body)))
}

async fn start() -> (SocketAddr, Server, Arc<Seen>) {
    start_with(Builder::new()).await
}

async fn start_with(builder: Builder) -> (SocketAddr, Server, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.build();
    let seen = Arc::new(Seen::default());
    let service = {
        let seen = seen.clone();
        service_fn(move |request| site(request, seen.clone()))
    };
    let serving = server.serve(listener, service);
    tokio::spawn(async move {
        let _ = serving.await;
    });
    (addr, server, seen)
}

/// A frame's header block: HEADERS as it is, PUSH_PROMISE after the
/// promised stream id. Decoded to keep the HPACK table in step.
fn fields(conn: &mut RawConn, frame: &wire::Frame) -> Vec<(String, String)> {
    let mut frame = frame.clone();
    if frame.kind == PUSH_PROMISE {
        frame.payload.drain(..4);
    }
    conn.decode(&frame)
}

fn promised_id(frame: &wire::Frame) -> u32 {
    let p = &frame.payload;
    u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff
}

#[tokio::test]
async fn push_promise_precedes_the_response_and_the_pushed_stream_is_served() {
    let (addr, server, seen) = start().await;
    let mut conn = RawConn::handshake(addr, &[]).await;
    let block = request_block("GET", "/", &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    let mut order = Vec::new();
    let mut promised = Vec::new();
    let mut bodies: std::collections::BTreeMap<u32, Vec<u8>> = Default::default();
    let mut ended = 0;
    while ended < 3 {
        let frame = conn
            .read_frame(LIMIT)
            .await
            .unwrap_or_else(|| panic!("frames so far: {order:?}"));
        order.push((frame.kind, frame.stream_id));
        match frame.kind {
            PUSH_PROMISE => {
                assert_eq!(frame.stream_id, 1);
                let f = fields(&mut conn, &frame);
                let path = f.iter().find(|(n, _)| n == ":path").unwrap().1.clone();
                let get = |name: &str| f.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                assert_eq!(get(":method").as_deref(), Some("GET"));
                assert_eq!(get(":scheme").as_deref(), Some("http"));
                assert_eq!(get(":authority").as_deref(), Some("127.0.0.1"));
                promised.push((promised_id(&frame), path));
            }
            HEADERS => {
                fields(&mut conn, &frame);
            }
            DATA => {
                bodies
                    .entry(frame.stream_id)
                    .or_default()
                    .extend_from_slice(&frame.payload);
            }
            RST_STREAM => panic!("reset: {order:?}"),
            _ => {}
        }
        if frame.flags & END_STREAM != 0 && matches!(frame.kind, DATA | HEADERS) {
            ended += 1;
        }
    }
    // The first push was made before the handler returned, so its
    // PUSH_PROMISE precedes the response's HEADERS; so does the one made
    // after a yield, as the response was not given yet.
    let first_headers = order
        .iter()
        .position(|&(kind, id)| kind == HEADERS && id == 1)
        .unwrap();
    let promises: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, &(kind, _))| kind == PUSH_PROMISE)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(promises.len(), 2, "{order:?}");
    assert!(
        promises.iter().all(|&i| i < first_headers),
        "PUSH_PROMISE after HEADERS: {order:?}"
    );
    assert_eq!(
        promised,
        vec![(2, "/style.css".to_string()), (4, "/late.css".to_string())]
    );
    assert_eq!(bodies.get(&1).map(Vec::as_slice), Some(INDEX), "{order:?}");
    assert_eq!(bodies[&2], STYLE);
    assert_eq!(bodies[&4], STYLE);
    let mut pushed = seen.pushed.lock().unwrap().clone();
    pushed.sort();
    assert_eq!(
        pushed,
        vec![("/late.css".to_string(), 1), ("/style.css".to_string(), 1)]
    );
    assert_eq!(seen.with_push.load(Ordering::SeqCst), 1);
    let errors = seen.errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("GET and HEAD"), "{errors:?}");
    assert!(errors[1].contains("content-length"), "{errors:?}");
    assert_eq!(server.stats().requests, 3);
    server.shutdown();
}

#[tokio::test]
async fn no_push_handle_when_the_client_disables_push() {
    let (addr, server, seen) = start().await;
    // SETTINGS_ENABLE_PUSH = 0.
    let mut conn = RawConn::handshake(addr, &[(0x2, 0)]).await;
    let block = request_block("GET", "/", &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    let response = conn.response(1).await;
    assert_eq!(response.status, Some(StatusCode::OK.as_u16()));
    assert_eq!(response.body, INDEX);
    assert_eq!(seen.with_push.load(Ordering::SeqCst), 0);
    assert!(seen.pushed.lock().unwrap().is_empty());
    server.shutdown();
}

#[tokio::test]
async fn no_push_handle_when_the_server_turns_push_off() {
    let (addr, server, seen) = start_with(Builder::new().push(false)).await;
    let mut conn = RawConn::handshake(addr, &[]).await;
    let block = request_block("GET", "/", &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    let response = conn.response(1).await;
    assert_eq!(response.body, INDEX);
    assert_eq!(seen.with_push.load(Ordering::SeqCst), 0);
    server.shutdown();
}

#[tokio::test]
async fn a_refused_push_cancels_its_handler_and_frees_its_stream() {
    let (addr, server, seen) = start().await;
    let mut conn = RawConn::handshake(addr, &[]).await;
    let block = request_block("GET", "/hang", &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    // The handler pushes and answers in one poll: the PUSH_PROMISE still
    // goes first.
    let mut before = Vec::new();
    let promise = conn
        .read_until(LIMIT, |f| before.push(f.kind), |f| f.kind == PUSH_PROMISE)
        .await
        .expect("a PUSH_PROMISE");
    assert!(
        !before.contains(&HEADERS),
        "HEADERS before the PUSH_PROMISE"
    );
    let promised = promised_id(&promise);
    fields(&mut conn, &promise);
    let response = conn.response(1).await;
    assert_eq!(response.status, Some(200));
    // The pushed handler is running (it never answers) until the client
    // refuses the stream.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while seen.pushed.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pushed handler not called"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!seen.dropped.load(Ordering::SeqCst));
    conn.send(&rst_stream(promised, Reason::REFUSED_STREAM))
        .await
        .unwrap();
    while !seen.dropped.load(Ordering::SeqCst) || server.stats().open_streams != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stream not freed: {:?}",
            server.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.stats().live_handlers, 0);
    // The connection goes on.
    let block = request_block("GET", "/other", &[]);
    conn.send(&headers(3, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    assert_eq!(conn.response(3).await.body, b"other");
    server.shutdown();
}

/// Pushes two streams to a client that allows `limit` concurrent
/// streams; answers whether the second pushed response began only after
/// the first ended.
async fn pushes_one_at_a_time(limit: u32) -> bool {
    let (addr, server, _seen) = start().await;
    let mut conn = RawConn::handshake(addr, &[(0x3, limit)]).await;
    let block = request_block("GET", "/two", &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    let mut order = Vec::new();
    let mut ended = Vec::new();
    while ended.len() < 3 {
        let frame = conn
            .read_frame(LIMIT)
            .await
            .unwrap_or_else(|| panic!("frames so far: {order:?}"));
        if matches!(frame.kind, HEADERS | PUSH_PROMISE) {
            fields(&mut conn, &frame);
        }
        if matches!(frame.kind, HEADERS | DATA) {
            order.push((frame.kind, frame.stream_id));
            if frame.flags & END_STREAM != 0 {
                ended.push(frame.stream_id);
                order.push((0xff, frame.stream_id));
            }
        }
    }
    let at = |entry: (u8, u32)| order.iter().position(|&e| e == entry).unwrap();
    let (first, second) = if at((HEADERS, 2)) < at((HEADERS, 4)) {
        (2, 4)
    } else {
        (4, 2)
    };
    server.shutdown();
    at((0xff, first)) < at((HEADERS, second))
}

#[tokio::test]
async fn pushed_responses_wait_for_the_clients_stream_limit() {
    assert!(
        pushes_one_at_a_time(1).await,
        "with SETTINGS_MAX_CONCURRENT_STREAMS 1 the pushed responses go one after the other"
    );
    // And the check sees the difference: with room for both, both begin
    // at once.
    assert!(!pushes_one_at_a_time(100).await);
}

/// A writer into a shared buffer.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn builder_hexdump_dumps_what_each_connection_reads() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dump = Shared::default();
    let server = Builder::new().hexdump(dump.clone()).build();
    let service = service_fn(|_request: Request<RequestBody>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let serving = server.serve(listener, service);
    tokio::spawn(async move {
        let _ = serving.await;
    });
    // HTTP/2 with prior knowledge.
    let mut conn = RawConn::handshake(addr, &[]).await;
    let block = request_block("GET", "/", &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .unwrap();
    assert_eq!(conn.response(1).await.body, b"ok");
    // HTTP/1.1 on the same port.
    let mut http1 = tokio::net::TcpStream::connect(addr).await.unwrap();
    http1
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, http1.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    let text = String::from_utf8(dump.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains(
            "00000000  50 52 49 20 2a 20 48 54  54 50 2f 32 2e 30 0d 0a  |PRI * HTTP/2.0..|\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n"
        ),
        "{text}"
    );
    server.shutdown();
}
