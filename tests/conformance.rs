//! The RFC 9113 rules the wrapper enforces on top of nghttp2 1.68 (see
//! `nghttp2::session::conformance`), each over a real socket against the
//! library server (cleartext and TLS) and h2serve (cleartext and TLS), the
//! client against a misbehaving fake server, and the memory bound on a
//! session. Every await is bounded in time.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use nghttp2::server::{service_fn, tls, BoxError, Builder, RequestBody, StreamEnd, StreamOutcome};
use nghttp2::session::{Options, Session, SessionRef, StreamId};
use nghttp2::{Initiator, Reason};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

use support::peers::start_h2serve;
use support::wire::{
    data, fields_block, headers, request_block, rst_stream, settings, settings_ack, window_update,
    Frame, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, RST_STREAM, SETTINGS,
};
use support::{raw_frame, Recorder, PREFACE};

const PRIORITY: u8 = 0x2;
const LIMIT: Duration = Duration::from_secs(10);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A hand-driven HTTP/2 peer over any byte stream.
struct Peer {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    closed: bool,
}

impl Peer {
    async fn send(&mut self, bytes: &[u8]) {
        timeout(LIMIT, self.io.write_all(bytes))
            .await
            .expect("write timed out")
            .expect("write");
    }

    /// The next frame, or `None` once the connection closed or `limit`
    /// passed without one.
    async fn frame(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = Instant::now() + limit;
        loop {
            if self.buf.len() >= 9 {
                let b = &self.buf;
                let len = (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize;
                if b.len() >= 9 + len {
                    let frame = Frame {
                        kind: b[3],
                        flags: b[4],
                        stream_id: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
                        payload: b[9..9 + len].to_vec(),
                    };
                    self.buf.drain(..9 + len);
                    return Some(frame);
                }
            }
            if self.closed {
                return None;
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until a frame satisfies `pred`; panics if none comes.
    async fn until(&mut self, what: &str, pred: impl Fn(&Frame) -> bool) -> Frame {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.frame(left).await {
                Some(f) if pred(&f) => return f,
                Some(f) => seen.push((f.kind, f.flags, f.stream_id, f.error_code())),
                None => panic!("no {what}; saw {seen:?} (closed: {})", self.closed),
            }
        }
    }

    /// Client side: preface, SETTINGS, the server's SETTINGS acknowledged.
    async fn client(io: Box<dyn Io>) -> Peer {
        let mut peer = Peer {
            io,
            buf: Vec::new(),
            closed: false,
        };
        let mut hello = PREFACE.to_vec();
        hello.extend(settings(&[]));
        peer.send(&hello).await;
        let first = peer.frame(LIMIT).await.expect("server SETTINGS");
        assert_eq!(first.kind, SETTINGS);
        peer.send(&settings_ack()).await;
        peer
    }

    /// The answer to a broken frame: the first GOAWAY or RST_STREAM.
    async fn answer(&mut self) -> (u8, u32, Reason) {
        let f = self
            .until("GOAWAY or RST_STREAM", |f| {
                f.kind == GOAWAY || f.kind == RST_STREAM
            })
            .await;
        (f.kind, f.stream_id, f.error_code().expect("an error code"))
    }

    /// A PING comes back acknowledged, and nothing else of note arrives
    /// before it: the connection took what was sent before it in stride.
    async fn still_fine(&mut self) {
        self.send(&raw_frame(PING, 0, 0, b"stillok!")).await;
        let mut bad = Vec::new();
        let ack = self
            .until("PING ACK", |f| {
                if f.kind == GOAWAY || f.kind == RST_STREAM {
                    return true;
                }
                f.kind == PING && f.flags & 1 == 1
            })
            .await;
        if ack.kind != PING {
            bad.push((ack.kind, ack.stream_id, ack.error_code()));
        }
        assert!(bad.is_empty(), "expected the frame to be ignored: {bad:?}");
    }
}

/// Which server a test talks to.
#[derive(Clone, Copy, Debug)]
enum Target {
    Library { tls: bool },
    H2serve { tls: bool },
}

const TARGETS: [Target; 4] = [
    Target::Library { tls: false },
    Target::Library { tls: true },
    Target::H2serve { tls: false },
    Target::H2serve { tls: true },
];

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

async fn site(req: Request<RequestBody>) -> Result<Response<BoxBody>, BoxError> {
    if req.uri().path() == "/fail" {
        return Err("fails on purpose: the server resets the stream".into());
    }
    if req.uri().path() == "/wait" {
        // Reads the whole request body first, so the stream stays open.
        let _ = req.into_body().collect().await;
    }
    Ok(Response::new(
        Full::new(Bytes::from_static(b"ok"))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    ))
}

/// A server of the kind asked for, kept alive by the returned guard.
async fn server(target: Target) -> (SocketAddr, Box<dyn std::any::Any + Send>) {
    match target {
        Target::Library { tls: use_tls } => {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = Builder::new().build();
            let task = if use_tls {
                let acceptor = tls::SelfSigned::localhost().unwrap().acceptor().unwrap();
                tokio::spawn(async move {
                    let _ = server.serve_tls(listener, acceptor, service_fn(site)).await;
                })
            } else {
                tokio::spawn(async move {
                    let _ = server.serve(listener, service_fn(site)).await;
                })
            };
            (addr, Box::new(AbortOnDrop(task)))
        }
        Target::H2serve { tls: use_tls } => {
            let running = tokio::task::spawn_blocking(move || {
                if use_tls {
                    start_h2serve(&[])
                } else {
                    start_h2serve(&["--no-tls"])
                }
            })
            .await
            .unwrap();
            let addr = SocketAddr::from(([127, 0, 0, 1], running.port));
            (addr, Box::new(running))
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn connect(target: Target, addr: SocketAddr) -> Peer {
    Peer::client(connect_io(target, addr).await).await
}

/// Preface and SETTINGS sent, the server's SETTINGS read and not
/// acknowledged.
async fn connect_without_ack(target: Target, addr: SocketAddr) -> Peer {
    let mut peer = Peer {
        io: connect_io(target, addr).await,
        buf: Vec::new(),
        closed: false,
    };
    let mut hello = PREFACE.to_vec();
    hello.extend(settings(&[]));
    peer.send(&hello).await;
    let first = peer.frame(LIMIT).await.expect("server SETTINGS");
    assert_eq!(first.kind, SETTINGS);
    peer
}

async fn connect_io(target: Target, addr: SocketAddr) -> Box<dyn Io> {
    let tcp = timeout(LIMIT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let _ = tcp.set_nodelay(true);
    let tls = matches!(
        target,
        Target::Library { tls: true } | Target::H2serve { tls: true }
    );
    if !tls {
        return Box::new(tcp);
    }
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
    let mut stream = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
    timeout(LIMIT, Pin::new(&mut stream).connect())
        .await
        .expect("TLS handshake timed out")
        .expect("TLS handshake");
    Box::new(stream)
}

/// Runs `case` against every target, each on a fresh connection.
async fn against_all<F, Fut>(case: F)
where
    F: Fn(Peer, Target) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for target in TARGETS {
        let (addr, _guard) = server(target).await;
        let peer = connect(target, addr).await;
        timeout(Duration::from_secs(30), case(peer, target))
            .await
            .unwrap_or_else(|_| panic!("{target:?}: timed out"));
    }
}

/// GET / with END_STREAM on `stream`, and its response read to the end.
async fn get_answered(peer: &mut Peer, stream: u32) {
    let block = request_block("GET", "/", &[]);
    peer.send(&headers(stream, &block, END_HEADERS | END_STREAM))
        .await;
    peer.until("the end of the response", |f| {
        f.stream_id == stream && f.flags & END_STREAM != 0 && matches!(f.kind, DATA | HEADERS)
    })
    .await;
}

/// RFC 9113 section 3.4: a preface that is neither HTTP/2's nor an
/// HTTP/1.x request line is a connection error PROTOCOL_ERROR: GOAWAY (after
/// the server's SETTINGS), then close; never an HTTP/1.1 text answer.
#[tokio::test]
async fn invalid_connection_preface_gets_goaway_protocol_error() {
    for target in TARGETS {
        let (addr, _guard) = server(target).await;
        let mut peer = Peer {
            io: connect_io(target, addr).await,
            buf: Vec::new(),
            closed: false,
        };
        peer.send(b"INVALID CONNECTION PREFACE\r\n\r\n").await;
        let mut frames = Vec::new();
        while let Some(frame) = peer.frame(LIMIT).await {
            frames.push(frame);
        }
        let goaway = frames.iter().find(|f| f.kind == GOAWAY).unwrap_or_else(|| {
            panic!(
                "{target:?}: no GOAWAY in {frames:?}, then {:?}",
                String::from_utf8_lossy(&peer.buf)
            )
        });
        assert_eq!(
            u32::from_be_bytes(goaway.payload[4..8].try_into().unwrap()),
            Reason::PROTOCOL_ERROR.code(),
            "{target:?}"
        );
        assert!(
            peer.buf.is_empty(),
            "{target:?}: nothing but whole frames (no HTTP/1.1 text): {:?}",
            String::from_utf8_lossy(&peer.buf)
        );
    }
}

#[tokio::test]
async fn data_after_end_stream_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        get_answered(&mut peer, 1).await;
        peer.send(&data(1, b"late", false)).await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::STREAM_CLOSED),
            "{target:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn headers_after_end_stream_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        get_answered(&mut peer, 1).await;
        let trailer = fields_block(&[("x-late", "1")]);
        peer.send(&headers(1, &trailer, END_HEADERS | END_STREAM))
            .await;
        let (kind, _, code) = peer.answer().await;
        assert_eq!((kind, code), (GOAWAY, Reason::STREAM_CLOSED), "{target:?}");
    })
    .await;
}

#[tokio::test]
async fn data_after_end_stream_in_the_same_write() {
    // The request, its END_STREAM and the late DATA in one write: nghttp2
    // still knows the stream (half-closed remote) and the answer is the
    // same.
    against_all(|mut peer, target| async move {
        let block = request_block("GET", "/", &[]);
        let mut bytes = headers(1, &block, END_HEADERS | END_STREAM);
        bytes.extend(data(1, b"late", false));
        peer.send(&bytes).await;
        let (kind, _, code) = peer.answer().await;
        assert_eq!((kind, code), (GOAWAY, Reason::STREAM_CLOSED), "{target:?}");
    })
    .await;
}

#[tokio::test]
async fn data_after_peer_reset_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        let block = request_block("POST", "/wait", &[]);
        peer.send(&headers(1, &block, END_HEADERS)).await;
        peer.send(&rst_stream(1, Reason::CANCEL)).await;
        peer.still_fine().await;
        peer.send(&data(1, b"late", false)).await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::STREAM_CLOSED),
            "{target:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn headers_after_peer_reset_in_one_write_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        let block = request_block("POST", "/wait", &[]);
        let mut bytes = headers(1, &block, END_HEADERS);
        bytes.extend(rst_stream(1, Reason::CANCEL));
        bytes.extend(headers(
            1,
            &fields_block(&[("x-late", "1")]),
            END_HEADERS | END_STREAM,
        ));
        peer.send(&bytes).await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::STREAM_CLOSED),
            "{target:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn window_update_after_peer_reset_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        let block = request_block("POST", "/wait", &[]);
        let mut bytes = headers(1, &block, END_HEADERS);
        bytes.extend(rst_stream(1, Reason::CANCEL));
        peer.send(&bytes).await;
        peer.still_fine().await;
        peer.send(&window_update(1, 100)).await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::STREAM_CLOSED),
            "{target:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn frames_allowed_after_end_stream_pass() {
    // WINDOW_UPDATE, RST_STREAM and PRIORITY on a stream the peer ended
    // (and the server answered) are allowed (RFC 9113 section 5.1).
    against_all(|mut peer, _| async move {
        get_answered(&mut peer, 1).await;
        let mut bytes = window_update(1, 100);
        bytes.extend(raw_frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]));
        bytes.extend(rst_stream(1, Reason::CANCEL));
        bytes.extend(raw_frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]));
        peer.send(&bytes).await;
        peer.still_fine().await;
        get_answered(&mut peer, 3).await;
    })
    .await;
}

#[tokio::test]
async fn data_after_our_reset_is_ignored() {
    // Before the client acknowledged SETTINGS_MAX_CONCURRENT_STREAMS (100)
    // the 101st stream is refused with RST_STREAM REFUSED_STREAM; the
    // client sent its body before it saw that, and RFC 9113 section 5.1
    // says the server MUST ignore it.
    for target in TARGETS {
        let (addr, _guard) = server(target).await;
        let mut peer = connect_without_ack(target, addr).await;
        let run = async {
            let block = request_block("POST", "/wait", &[]);
            let mut bytes = Vec::new();
            for i in 0..101 {
                bytes.extend(headers(2 * i + 1, &block, END_HEADERS));
            }
            peer.send(&bytes).await;
            let answer = peer.answer().await;
            assert_eq!(
                answer,
                (RST_STREAM, 201, Reason::REFUSED_STREAM),
                "{target:?}"
            );
            peer.send(&data(201, b"in flight", false)).await;
            peer.send(&data(201, b"in flight", true)).await;
            peer.still_fine().await;
        };
        timeout(Duration::from_secs(30), run)
            .await
            .unwrap_or_else(|_| panic!("{target:?}: timed out"));
    }
}

#[tokio::test]
async fn priority_on_stream_zero_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        peer.send(&raw_frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16]))
            .await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::PROTOCOL_ERROR),
            "{target:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn priority_self_dependency_on_an_open_stream_resets_it() {
    against_all(|mut peer, target| async move {
        let block = request_block("POST", "/wait", &[]);
        let mut bytes = headers(1, &block, END_HEADERS);
        bytes.extend(raw_frame(PRIORITY, 0, 1, &[0x80, 0, 0, 1, 16]));
        peer.send(&bytes).await;
        assert_eq!(
            peer.answer().await,
            (RST_STREAM, 1, Reason::PROTOCOL_ERROR),
            "{target:?}"
        );
        peer.still_fine().await;
        get_answered(&mut peer, 3).await;
    })
    .await;
}

#[tokio::test]
async fn priority_self_dependency_on_an_idle_stream_is_a_connection_error() {
    against_all(|mut peer, target| async move {
        peer.send(&raw_frame(PRIORITY, 0, 5, &[0, 0, 0, 5, 16]))
            .await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::PROTOCOL_ERROR),
            "{target:?}"
        );
    })
    .await;
}

/// A fake server: reads the client's preface and first request, then
/// writes `after` (a response and whatever breaks the rules) and returns
/// the frames the client sends back until it closes.
async fn misbehaving_server(after: impl Fn(u32) -> Vec<u8> + Send + 'static) -> Vec<Frame> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut peer = Peer {
            io: Box::new(tcp),
            buf: Vec::new(),
            closed: false,
        };
        let mut preface = [0u8; 24];
        timeout(LIMIT, peer.io.read_exact(&mut preface))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&preface[..], PREFACE);
        let mut hello = settings(&[]);
        hello.extend(settings_ack());
        peer.send(&hello).await;
        let request = peer.until("a request", |f| f.kind == HEADERS).await;
        peer.send(&after(request.stream_id)).await;
        let mut back = Vec::new();
        while let Some(f) = peer.frame(LIMIT).await {
            let done = f.kind == GOAWAY;
            back.push(f);
            if done {
                break;
            }
        }
        back
    });
    let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
    let client = nghttp2::client::Builder::new().connect(&uri).await.unwrap();
    let request = Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
    if let Ok(Ok(response)) = timeout(LIMIT, client.send(request)).await {
        let _ = timeout(LIMIT, response.into_body().collect()).await;
    }
    let back = timeout(Duration::from_secs(30), fake)
        .await
        .expect("fake server timed out")
        .unwrap();
    drop(client);
    back
}

fn goaway_of(frames: &[Frame]) -> Option<Reason> {
    frames
        .iter()
        .find(|f| f.kind == GOAWAY)
        .and_then(Frame::error_code)
}

#[tokio::test]
async fn client_rejects_data_after_end_stream() {
    let back = misbehaving_server(|id| {
        let mut out = headers(
            id,
            &fields_block(&[(":status", "200")]),
            END_HEADERS | END_STREAM,
        );
        out.extend(data(id, b"late", false));
        out
    })
    .await;
    assert_eq!(goaway_of(&back), Some(Reason::STREAM_CLOSED), "{back:?}");
}

#[tokio::test]
async fn client_rejects_data_after_server_reset() {
    let back = misbehaving_server(|id| {
        let mut out = headers(id, &fields_block(&[(":status", "200")]), END_HEADERS);
        out.extend(rst_stream(id, Reason::INTERNAL_ERROR));
        out.extend(data(id, b"late", true));
        out
    })
    .await;
    assert_eq!(goaway_of(&back), Some(Reason::STREAM_CLOSED), "{back:?}");
}

#[tokio::test]
async fn client_rejects_priority_on_stream_zero() {
    let back = misbehaving_server(|id| {
        let mut out = raw_frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16]);
        out.extend(headers(
            id,
            &fields_block(&[(":status", "200")]),
            END_HEADERS | END_STREAM,
        ));
        out
    })
    .await;
    assert_eq!(goaway_of(&back), Some(Reason::PROTOCOL_ERROR), "{back:?}");
}

/// A server session answering every request at once with an empty 200.
fn answering_server(options: &Options) -> Session<Recorder> {
    let recorder = Recorder::answering(|cx: &mut SessionRef, id: StreamId, _| {
        let status = [nghttp2::session::HeaderRef::new(b":status", b"200")];
        cx.submit_response(id, status, None).unwrap();
    });
    let mut server = Session::server(recorder, options).unwrap();
    server.submit_settings(&[]).unwrap();
    server
}

fn goaway_out(server: &mut Session<Recorder>) -> Option<Reason> {
    let mut out = Vec::new();
    server.send(&mut out).unwrap();
    support::goaway_code(&out)
}

#[test]
fn old_streams_past_the_window_are_ignored_and_memory_stays_bounded() {
    use nghttp2::session::conformance::WINDOW;
    let mut server = answering_server(&Options::new());
    let mut input = PREFACE.to_vec();
    input.extend(settings(&[]));
    server.recv(&input).unwrap();
    assert_eq!(server.conformance_heap_size(), 0, "nothing before a stream");
    let block = request_block("GET", "/", &[]);
    let streams = WINDOW + 100;
    let mut bound = 0;
    for i in 0..streams {
        let id = 2 * i + 1;
        server
            .recv(&headers(id, &block, END_HEADERS | END_STREAM))
            .unwrap();
        assert_eq!(goaway_out(&mut server), None);
        if i == 0 {
            bound = server.conformance_heap_size();
            assert!(bound > 0 && bound <= 2 * 1024 + 64, "{bound}");
        }
        assert_eq!(server.conformance_heap_size(), bound);
    }
    // Stream 1 is older than the window: left to nghttp2, which ignores it.
    server.recv(&data(1, b"late", false)).unwrap();
    assert_eq!(goaway_out(&mut server), None);
    // A recent one is still remembered.
    let recent = 2 * (streams - 10) + 1;
    server.recv(&data(recent, b"late", false)).unwrap();
    assert_eq!(goaway_out(&mut server), Some(Reason::STREAM_CLOSED));
}

#[test]
fn the_checks_can_be_turned_off() {
    let mut server = answering_server(&Options::new().conformance(false));
    let mut input = PREFACE.to_vec();
    input.extend(settings(&[]));
    input.extend(raw_frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16]));
    server.recv(&input).unwrap();
    assert_eq!(goaway_out(&mut server), None, "nghttp2 1.68 ignores it");
    let mut server = answering_server(&Options::new());
    server.recv(&input).unwrap();
    assert_eq!(goaway_out(&mut server), Some(Reason::PROTOCOL_ERROR));
}

/// A client on a slow, high-latency link: its uploads are reset by the
/// server (the handler fails at once), but by the time it sees each
/// RST_STREAM it has already sent more of the body, in small DATA frames,
/// between many small WINDOW_UPDATEs. nghttp2 1.68.1 counts each such
/// ignored DATA frame as a glitch and, with its default bucket (burst 1000,
/// 33/s), ends the connection; the builders' default (10000, 330) does not.
async fn slow_uploads(builder: Builder) -> Option<Reason> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.build();
    let _task = AbortOnDrop(tokio::spawn(async move {
        let _ = server.serve(listener, service_fn(site)).await;
    }));
    let mut peer = connect(Target::Library { tls: false }, addr).await;
    let block = request_block("POST", "/fail", &[]);
    const STREAMS: u32 = 60;
    const LATE_FRAMES: usize = 50;
    for i in 0..STREAMS {
        let id = 2 * i + 1;
        peer.send(&headers(id, &block, END_HEADERS)).await;
        let answer = peer.answer().await;
        if answer.0 == GOAWAY {
            return Some(answer.2);
        }
        assert_eq!(answer, (RST_STREAM, id, Reason::INTERNAL_ERROR));
        // What was in flight when the reset arrived.
        let mut late = Vec::new();
        for _ in 0..LATE_FRAMES {
            late.extend(data(id, b"x", false));
            late.extend(window_update(0, 1));
        }
        peer.send(&late).await;
    }
    peer.send(&raw_frame(PING, 0, 0, b"stillok!")).await;
    let f = peer
        .until("PING ACK or GOAWAY", |f| {
            f.kind == GOAWAY || (f.kind == PING && f.flags & 1 == 1)
        })
        .await;
    f.error_code()
}

#[tokio::test]
async fn slow_link_client_is_not_cut_off_by_the_glitch_limit() {
    // 3,000 late DATA frames: within the default bucket.
    let run = async {
        assert_eq!(slow_uploads(Builder::new()).await, None);
        // The same client against nghttp2 1.68.1's own default: cut off (the
        // bucket would take a minute to refill the 2,000 frames over its
        // burst).
        assert_eq!(
            slow_uploads(Builder::new().glitch_rate_limit(1000, 33)).await,
            Some(Reason::ENHANCE_YOUR_CALM)
        );
    };
    timeout(Duration::from_secs(60), run)
        .await
        .expect("timed out");
}

/// A response body that never yields a frame.
struct Never;

impl http_body::Body for Never {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        std::task::Poll::Pending
    }
}

/// A server whose service hands each request's [`StreamOutcome`] to the
/// test; `/pending` answers 200 with a body that never ends.
async fn outcome_server() -> (
    SocketAddr,
    AbortOnDrop,
    tokio::sync::mpsc::UnboundedReceiver<StreamOutcome>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let service = service_fn(move |req: Request<RequestBody>| {
        let tx = tx.clone();
        async move {
            let outcome = req.extensions().get::<StreamOutcome>().cloned();
            let _ = tx.send(outcome.expect("every request carries its outcome"));
            if req.uri().path() == "/pending" {
                return Ok::<_, BoxError>(Response::new(Never.boxed_unsync()));
            }
            site(req).await
        }
    });
    let server = Builder::new().build();
    let task = AbortOnDrop(tokio::spawn(async move {
        let _ = server.serve(listener, service).await;
    }));
    (addr, task, rx)
}

/// Waits (bounded) until the outcome is known.
async fn ended(outcome: &StreamOutcome) -> StreamEnd {
    for _ in 0..1000 {
        if let Some(end) = outcome.get() {
            return end;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the stream's outcome never came");
}

#[tokio::test]
async fn stream_outcomes_say_how_each_stream_ended() {
    let run = async {
        let (addr, _task, mut rx) = outcome_server().await;
        let mut peer = connect(Target::Library { tls: false }, addr).await;
        // Answered in full.
        get_answered(&mut peer, 1).await;
        let complete = rx.recv().await.unwrap();
        assert_eq!(ended(&complete).await, StreamEnd::Complete);
        // Reset by the client.
        peer.send(&headers(
            3,
            &request_block("POST", "/wait", &[]),
            END_HEADERS,
        ))
        .await;
        let reset = rx.recv().await.unwrap();
        peer.send(&rst_stream(3, Reason::CANCEL)).await;
        let end = ended(&reset).await;
        assert_eq!(
            end,
            StreamEnd::Reset {
                reason: Reason::CANCEL,
                initiator: Initiator::Remote
            }
        );
        assert_eq!(end.to_string(), "reset by the client (CANCEL)");
        // Reset by the server (the handler failed).
        peer.send(&headers(
            5,
            &request_block("GET", "/fail", &[]),
            END_HEADERS | END_STREAM,
        ))
        .await;
        let failed = rx.recv().await.unwrap();
        assert_eq!(
            ended(&failed).await,
            StreamEnd::Reset {
                reason: Reason::INTERNAL_ERROR,
                initiator: Initiator::Local
            }
        );
        // Cut by the server's GOAWAY: a response whose body never ends,
        // then a connection error.
        peer.send(&headers(
            7,
            &request_block("GET", "/pending", &[]),
            END_HEADERS | END_STREAM,
        ))
        .await;
        let cut = rx.recv().await.unwrap();
        peer.until("the response head", |f| {
            f.kind == HEADERS && f.stream_id == 7
        })
        .await;
        peer.send(&raw_frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16]))
            .await;
        assert_eq!(peer.answer().await, (GOAWAY, 0, Reason::PROTOCOL_ERROR));
        drop(peer);
        let end = ended(&cut).await;
        assert_eq!(
            end,
            StreamEnd::ConnectionEnded {
                goaway: Some((Reason::PROTOCOL_ERROR, Initiator::Local))
            }
        );
        assert_eq!(
            end.to_string(),
            "cut by the server's GOAWAY (PROTOCOL_ERROR)"
        );
    };
    timeout(Duration::from_secs(30), run)
        .await
        .expect("timed out");
}

/// h2serve's access log for a request the connection's GOAWAY cut: not a
/// plain `GET / 200 0 bytes`, but what happened.
#[test]
fn h2serve_logs_a_request_cut_by_goaway_as_such() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_h2serve"))
        .args(["--addr", "127.0.0.1:0", "--no-tls"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start h2serve");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Kill(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut peer = connect(Target::H2serve { tls: false }, addr).await;
        // The request and a connection error in one write: the response is
        // never sent.
        let mut bytes = headers(1, &request_block("GET", "/", &[]), END_HEADERS | END_STREAM);
        bytes.extend(raw_frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16]));
        peer.send(&bytes).await;
        assert_eq!(peer.answer().await, (GOAWAY, 0, Reason::PROTOCOL_ERROR));
    });
    let deadline = std::time::Instant::now() + LIMIT;
    let mut seen = Vec::new();
    let access = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("GET / ") => break line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no access log line; saw {seen:?}"),
        }
    };
    assert!(
        access.contains("not completed: cut by the server's GOAWAY (PROTOCOL_ERROR)"),
        "{access}"
    );
    drop(child);
}

/// `h2serve -v` shows the broken frame, as nghttpd shows the frames nghttp2
/// rejects, and the answer.
#[tokio::test]
async fn the_trace_shows_the_frame_and_the_answer() {
    let running = tokio::task::spawn_blocking(|| start_h2serve(&["--no-tls", "-v"]))
        .await
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], running.port));
    let mut peer = connect(Target::H2serve { tls: false }, addr).await;
    let run = async {
        get_answered(&mut peer, 1).await;
        peer.send(&data(1, b"late", false)).await;
        assert_eq!(peer.answer().await, (GOAWAY, 0, Reason::STREAM_CLOSED));
    };
    timeout(Duration::from_secs(30), run)
        .await
        .expect("timed out");
    let out = tokio::task::spawn_blocking(move || {
        running.wait_output("the GOAWAY in the trace", |out| {
            out.contains("send GOAWAY frame")
        })
    })
    .await
    .unwrap();
    let invalid = out
        .lines()
        .position(|l| {
            l.contains("[INVALID; error=Stream was already closed or invalid] recv DATA frame <length=4, flags=0x00, stream_id=1>")
        })
        .unwrap_or_else(|| panic!("no INVALID line for the late DATA:\n{out}"));
    let goaway = out
        .lines()
        .position(|l| l.contains("send GOAWAY frame"))
        .unwrap();
    assert!(invalid < goaway, "{out}");
    assert!(
        out.lines()
            .skip(goaway)
            .take(3)
            .any(|l| l.contains("error_code=STREAM_CLOSED")),
        "{out}"
    );
}

/// Where nghttp2 1.68 is stricter than RFC 9113 (which allows a stream
/// error), the wrapper keeps its connection errors.
#[tokio::test]
async fn nghttp2_stricter_choices_stay_connection_errors() {
    // A stream window overflow (section 6.9.1).
    against_all(|mut peer, target| async move {
        let mut bytes = headers(1, &request_block("POST", "/wait", &[]), END_HEADERS);
        bytes.extend(window_update(1, 0x7fff_ffff));
        peer.send(&bytes).await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::FLOW_CONTROL_ERROR),
            "{target:?}"
        );
    })
    .await;
    // A WINDOW_UPDATE of 0 on a stream (section 6.9).
    against_all(|mut peer, target| async move {
        let mut bytes = headers(1, &request_block("POST", "/wait", &[]), END_HEADERS);
        bytes.extend(window_update(1, 0));
        peer.send(&bytes).await;
        assert_eq!(
            peer.answer().await,
            (GOAWAY, 0, Reason::PROTOCOL_ERROR),
            "{target:?}"
        );
    })
    .await;
}

/// After an h2c upgrade, stream 1 (the HTTP/1.1 request) counts as ended
/// by the client: DATA on it once it closed is answered too.
#[test]
fn upgraded_stream_one_counts_as_ended_by_the_client() {
    let mut server = answering_server(&Options::new());
    server.upgrade(&[], false).unwrap();
    let mut input = PREFACE.to_vec();
    input.extend(settings(&[]));
    server.recv(&input).unwrap();
    let status = [nghttp2::session::HeaderRef::new(b":status", b"200")];
    server
        .submit_response(StreamId::new(1).unwrap(), status, None)
        .unwrap();
    assert_eq!(goaway_out(&mut server), None);
    assert!(!server.is_stream_open(StreamId::new(1).unwrap()));
    server.recv(&data(1, b"late", false)).unwrap();
    assert_eq!(goaway_out(&mut server), Some(Reason::STREAM_CLOSED));
}
