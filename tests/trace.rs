//! The frame trace (`nghttp2::trace`): a client and a server session wired
//! back to back in memory, both traced, print nghttp's and nghttpd's lines;
//! and, when nghttp2's tools are installed, our traces are compared with the
//! ones `nghttp -nv` and `nghttpd -v` print for the same exchanges.

mod support;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nghttp2::session::{
    CallbackError, CallbackResult, Frame, HeaderRef, HeadersCategory, Options, Session, SessionRef,
    Setting, SettingId,
};
use nghttp2::trace::{Traced, Tracer};
use nghttp2::Reason;
use support::peers::{peer, run, start_nghttpd, Running, TempDir};
use support::trace::{
    assert_has, blocks, compare, frame_type_of, is_client_ack, strip_clock, without_priorities,
    Block,
};

/// A cloneable in-memory writer, to read a tracer's output back.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serves `body` for every request, with nghttpd's response fields.
struct FileServer {
    body: Vec<u8>,
}

impl nghttp2::session::Handler for FileServer {
    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        if frame.headers_category() == Some(HeadersCategory::Request) && frame.is_end_stream() {
            let len = self.body.len().to_string();
            let fields: [(&str, &str); 7] = [
                (":status", "200"),
                ("server", "h2 trace test"),
                ("cache-control", "max-age=3600"),
                ("date", "Sat, 21 Nov 2026 21:22:31 GMT"),
                ("content-length", &len),
                ("last-modified", "Sat, 21 Nov 2026 21:22:30 GMT"),
                ("content-type", "text/html"),
            ];
            cx.submit_response(
                frame.stream_id(),
                fields
                    .iter()
                    .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes())),
                Some(Box::new(self.body.clone())),
            )
            .map_err(CallbackError::Fatal)?;
        }
        Ok(())
    }
}

/// Counts closed streams, to know when to say GOAWAY.
#[derive(Default)]
struct Fetcher {
    closed: usize,
    body: Vec<u8>,
}

impl nghttp2::session::Handler for Fetcher {
    fn on_data_chunk_recv(
        &mut self,
        _cx: &mut SessionRef,
        _stream_id: nghttp2::session::StreamId,
        data: &[u8],
        _flags: nghttp2::session::Flags,
    ) -> CallbackResult {
        self.body.extend_from_slice(data);
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        _cx: &mut SessionRef,
        _stream_id: nghttp2::session::StreamId,
        _reason: Reason,
    ) -> CallbackResult {
        self.closed += 1;
        Ok(())
    }
}

/// What nghttp -nv sends for `url`'s path and authority.
fn nghttp_request(authority: &str, path: &str) -> Vec<(String, String)> {
    [
        (":method", "GET"),
        (":path", path),
        (":scheme", "http"),
        (":authority", authority),
        ("accept", "*/*"),
        ("accept-encoding", "gzip, deflate"),
        ("user-agent", "nghttp2/1.52.0"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect()
}

fn nghttp_settings() -> [Setting; 2] {
    [
        Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100),
        Setting::new(SettingId::INITIAL_WINDOW_SIZE, 65535),
    ]
}

fn start_client(tracer: Tracer, authority: &str, path: &str) -> Session<Traced<Fetcher>> {
    let mut client =
        Session::client(Traced::new(Fetcher::default(), tracer), &Options::new()).unwrap();
    client.submit_settings(&nghttp_settings()).unwrap();
    let request = nghttp_request(authority, path);
    client
        .submit_request(
            request
                .iter()
                .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes())),
            None,
        )
        .unwrap();
    client
}

fn start_server(tracer: Tracer, body: &[u8]) -> Session<Traced<FileServer>> {
    let mut server = Session::server(
        Traced::new(
            FileServer {
                body: body.to_vec(),
            },
            tracer,
        ),
        &Options::new(),
    )
    .unwrap();
    server
        .submit_settings(&[Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)])
        .unwrap();
    server
}

fn lines(trace: &str) -> Vec<String> {
    trace.lines().map(strip_clock).collect()
}

#[test]
fn in_memory_exchange_prints_nghttp_lines() {
    let (client_out, client_json, server_out) =
        (Capture::default(), Capture::default(), Capture::default());
    let start = Instant::now();
    let mut client = start_client(
        Tracer::new()
            .start(start)
            .text(client_out.clone())
            .json(client_json.clone()),
        "example.org",
        "/",
    );
    let mut server = start_server(
        Tracer::new()
            .start(start)
            .text(server_out.clone())
            .connection_id(1),
        b"hi\n",
    );

    // As nghttpd does, the server says SETTINGS as soon as the connection
    // is up; the client reads it after writing its own first flight.
    let mut to_client = Vec::new();
    server.send(&mut to_client).unwrap();
    let mut wire = Vec::new();
    let mut said_goaway = false;
    for _ in 0..100 {
        wire.clear();
        client.send(&mut wire).unwrap();
        let from_client = !wire.is_empty();
        if from_client {
            server.recv(&wire).unwrap();
        }
        server.send(&mut to_client).unwrap();
        let from_server = !to_client.is_empty();
        if from_server {
            client.recv(&to_client).unwrap();
            to_client.clear();
        }
        if client.handler().inner().closed == 1 && !said_goaway {
            client
                .submit_goaway(
                    nghttp2::session::StreamId::CONNECTION,
                    Reason::NO_ERROR,
                    b"",
                )
                .unwrap();
            said_goaway = true;
            continue;
        }
        if !from_client && !from_server {
            break;
        }
    }
    assert!(said_goaway);
    assert_eq!(client.handler().inner().body, b"hi\n");
    server.handler_mut().tracer_mut().connection_closed();
    drop(client);
    drop(server);

    let client_trace = client_out.text();
    let server_trace = server_out.text();
    println!(
        "--- client\n{client_trace}--- server\n{server_trace}--- client json\n{}",
        client_json.text()
    );

    let expected_client = "\
[t] send SETTINGS frame <length=12, flags=0x00, stream_id=0>
          (niv=2)
          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
          [SETTINGS_INITIAL_WINDOW_SIZE(0x04):65535]
[t] send HEADERS frame <length=31, flags=0x05, stream_id=1>
          ; END_STREAM | END_HEADERS
          (padlen=0)
          ; Open new stream
          :method: GET
          :path: /
          :scheme: http
          :authority: example.org
          accept: */*
          accept-encoding: gzip, deflate
          user-agent: nghttp2/1.52.0
[t] recv SETTINGS frame <length=6, flags=0x00, stream_id=0>
          (niv=1)
          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
[t] recv SETTINGS frame <length=0, flags=0x01, stream_id=0>
          ; ACK
          (niv=0)
[t] recv (stream_id=1) :status: 200
[t] recv (stream_id=1) server: h2 trace test
[t] recv (stream_id=1) cache-control: max-age=3600
[t] recv (stream_id=1) date: Sat, 21 Nov 2026 21:22:31 GMT
[t] recv (stream_id=1) content-length: 3
[t] recv (stream_id=1) last-modified: Sat, 21 Nov 2026 21:22:30 GMT
[t] recv (stream_id=1) content-type: text/html
[t] recv HEADERS frame <length=84, flags=0x04, stream_id=1>
          ; END_HEADERS
          (padlen=0)
          ; First response header
[t] recv DATA frame <length=3, flags=0x01, stream_id=1>
          ; END_STREAM
[t] send SETTINGS frame <length=0, flags=0x01, stream_id=0>
          ; ACK
          (niv=0)
[t] send GOAWAY frame <length=8, flags=0x00, stream_id=0>
          (last_stream_id=0, error_code=NO_ERROR(0x00), opaque_data(0)=[])
";
    assert_eq!(lines(&client_trace), lines(expected_client));

    let expected_server = "\
[id=1] [t] send SETTINGS frame <length=6, flags=0x00, stream_id=0>
          (niv=1)
          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
[id=1] [t] recv SETTINGS frame <length=12, flags=0x00, stream_id=0>
          (niv=2)
          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
          [SETTINGS_INITIAL_WINDOW_SIZE(0x04):65535]
[id=1] [t] recv (stream_id=1) :method: GET
[id=1] [t] recv (stream_id=1) :path: /
[id=1] [t] recv (stream_id=1) :scheme: http
[id=1] [t] recv (stream_id=1) :authority: example.org
[id=1] [t] recv (stream_id=1) accept: */*
[id=1] [t] recv (stream_id=1) accept-encoding: gzip, deflate
[id=1] [t] recv (stream_id=1) user-agent: nghttp2/1.52.0
[id=1] [t] recv HEADERS frame <length=31, flags=0x05, stream_id=1>
          ; END_STREAM | END_HEADERS
          (padlen=0)
          ; Open new stream
[id=1] [t] send SETTINGS frame <length=0, flags=0x01, stream_id=0>
          ; ACK
          (niv=0)
[id=1] [t] send HEADERS frame <length=84, flags=0x04, stream_id=1>
          ; END_HEADERS
          (padlen=0)
          ; First response header
          :status: 200
          server: h2 trace test
          cache-control: max-age=3600
          date: Sat, 21 Nov 2026 21:22:31 GMT
          content-length: 3
          last-modified: Sat, 21 Nov 2026 21:22:30 GMT
          content-type: text/html
[id=1] [t] send DATA frame <length=3, flags=0x01, stream_id=1>
          ; END_STREAM
[id=1] [t] stream_id=1 closed
[id=1] [t] recv SETTINGS frame <length=0, flags=0x01, stream_id=0>
          ; ACK
          (niv=0)
[id=1] [t] recv GOAWAY frame <length=8, flags=0x00, stream_id=0>
          (last_stream_id=0, error_code=NO_ERROR(0x00), opaque_data(0)=[])
[id=1] [t] closed
";
    assert_eq!(lines(&server_trace), lines(expected_server));

    // One JSON object per frame, in the text trace's order.
    let json = client_json.text();
    let objects: Vec<&str> = json.lines().collect();
    assert_eq!(objects.len(), 8, "{json}");
    for o in &objects {
        assert!(o.starts_with("{\"time\":") && o.ends_with('}'), "{o}");
    }
    assert!(objects[1].contains(
        r#""direction":"send","type":"HEADERS","flags":5,"flag_names":["END_STREAM","END_HEADERS"],"stream_id":1,"length":31,"padlen":0,"category":"request","headers":[{"name":":method","value":"GET"},{"name":":path","value":"/"}"#
    ));
    assert!(objects[4].contains(
        r#""direction":"recv","type":"HEADERS","flags":4,"flag_names":["END_HEADERS"],"stream_id":1,"length":84,"padlen":0,"category":"response","headers":[{"name":":status","value":"200"},{"name":"server","value":"h2 trace test"}"#
    ));
    assert!(objects[7].contains(r#""type":"GOAWAY","flags":0,"flag_names":[],"stream_id":0,"length":8,"last_stream_id":0,"error_code":0,"error_name":"NO_ERROR","opaque_data":"""#));
}

// ---------------------------------------------------------------------------
// Against nghttp2's own tools

fn nghttp(bin: &Path, url: &str) -> String {
    let out = run(Command::new(bin).args(["-nv", url]));
    assert!(
        out.status.success(),
        "nghttp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// nghttpd's trace of its first connection, once that has closed.
fn nghttpd_trace(server: &Running) -> String {
    server.wait_output("nghttpd's `[id=1] ... closed` line", |out| {
        out.lines()
            .map(strip_clock)
            .any(|l| l == "[id=1] [t] closed")
    })
}

/// Drives `session` over a blocking socket until it is done or the peer
/// closes; `goaway_when` decides, after each read, to end the session.
fn pump<H: nghttp2::session::Handler>(
    session: &mut Session<H>,
    sock: &mut TcpStream,
    mut goaway_when: impl FnMut(&Session<H>) -> bool,
) {
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let mut said_goaway = false;
    loop {
        out.clear();
        session.send(&mut out).unwrap();
        if !out.is_empty() {
            sock.write_all(&out).unwrap();
        }
        if session.is_done() || said_goaway {
            return;
        }
        let n = match sock.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read: {e}"),
        };
        if n == 0 {
            return;
        }
        session.recv(&buf[..n]).unwrap();
        if goaway_when(session) {
            // As nghttp does once its requests are done.
            session.terminate(Reason::NO_ERROR).unwrap();
            said_goaway = true;
        }
    }
}

fn htdocs() -> TempDir {
    let dir = TempDir::new("trace-htdocs");
    std::fs::write(dir.path().join("index.html"), b"hi\n").unwrap();
    let big: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(dir.path().join("big.html"), big).unwrap();
    dir
}

/// The same server, nghttpd: `nghttp -nv` fetches a small and a 200 KiB
/// file, and our client fetches the same files with the same SETTINGS and
/// request fields; our trace has the same lines as nghttp's for SETTINGS,
/// HEADERS and GOAWAY, and the same shapes for DATA and WINDOW_UPDATE.
///
/// Named exceptions (nghttp2 1.52's nghttp against this crate's 1.68):
/// - `PRIORITY_FRAMES` (support::trace::without_priorities): nghttp 1.52
///   sends RFC 7540 PRIORITY frames and puts its request on stream 13;
///   nghttp2 1.61 and later no longer send RFC 7540 priorities.
/// - `ACK_RACE` (support::trace::is_client_ack): whether a client's
///   SETTINGS ACK goes out before the GOAWAY that ends its session depends
///   on its reads; the client's sent ACKs are left out on both sides.
#[test]
fn our_client_trace_matches_nghttp_against_nghttpd() {
    let (Some(nghttp_bin), Some(nghttpd_bin)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    for path in ["/index.html", "/big.html"] {
        let server = start_nghttpd(&nghttpd_bin, dir.path(), &[]);
        let authority = format!("127.0.0.1:{}", server.port);
        let theirs = nghttp(&nghttp_bin, &format!("http://{authority}{path}"));

        let out = Capture::default();
        let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let mut tracer = Tracer::new().text(out.clone());
        tracer.message("Connected");
        let mut client = start_client(tracer, &authority, path);
        pump(&mut client, &mut sock, |s| s.handler().inner().closed == 1);
        drop(client);
        drop(server);
        let ours = out.text();
        println!("--- nghttp {path}\n{theirs}--- ours\n{ours}");

        // PRIORITY_FRAMES and ACK_RACE, see above.
        let theirs: Vec<Block> = without_priorities(blocks(&theirs))
            .into_iter()
            .filter(|b| !is_client_ack(b, true))
            .collect();
        let ours: Vec<Block> = blocks(&ours)
            .into_iter()
            .filter(|b| !is_client_ack(b, true))
            .collect();
        compare_blocks(&theirs, &ours, path);
    }
}

/// [`compare`], and the frame types every exchange must show.
fn compare_blocks(theirs: &[Block], ours: &[Block], what: &str) {
    compare(theirs, ours, what);
    let mut expected = vec!["SETTINGS", "HEADERS", "GOAWAY", "DATA"];
    if what.contains("big") {
        expected.push("WINDOW_UPDATE");
    }
    assert_has(ours, &expected, what);
}

/// The same client, `nghttp -nv`: nghttpd's trace and our traced server's
/// (answering with nghttpd's SETTINGS and response fields) are the same
/// for every frame the server receives and sends; DATA and WINDOW_UPDATE by
/// shape, since their sizes follow the timing of window updates.
///
/// Named exception (nghttp2 1.52's nghttpd against this crate's 1.68):
/// - `PRIORITY_NOT_REPORTED`: nghttp 1.52 sends RFC 7540 PRIORITY frames;
///   nghttpd 1.52 reports and prints them, while nghttp2 1.61 and later
///   ignore them without calling `on_frame_recv`, so our trace has none.
///   They are dropped from nghttpd's trace.
#[test]
fn our_server_trace_matches_nghttpd_for_nghttp() {
    let (Some(nghttp_bin), Some(nghttpd_bin)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    for file in ["index.html", "big.html"] {
        let body = std::fs::read(dir.path().join(file)).unwrap();

        let nghttpd = start_nghttpd(&nghttpd_bin, dir.path(), &[]);
        nghttp(
            &nghttp_bin,
            &format!("http://127.0.0.1:{}/{file}", nghttpd.port),
        );
        let theirs = nghttpd_trace(&nghttpd);
        drop(nghttpd);

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let out = Capture::default();
        let tracer = Tracer::new().text(out.clone()).connection_id(1);
        let serve = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut server = start_server(tracer, &body);
            pump(&mut server, &mut sock, |_| false);
            server.handler_mut().tracer_mut().connection_closed();
        });
        let nghttp_out = nghttp(&nghttp_bin, &format!("http://127.0.0.1:{port}/{file}"));
        serve.join().unwrap();
        let ours = out.text();
        println!(
            "--- nghttpd /{file}\n{theirs}--- ours\n{ours}--- nghttp against ours\n{nghttp_out}"
        );

        // PRIORITY_NOT_REPORTED, see above; ACK_RACE: nghttp's SETTINGS
        // ACK reaches a server only when nghttp read the server's SETTINGS
        // before its last stream closed.
        let theirs: Vec<Block> = blocks(&theirs)
            .into_iter()
            .filter(|b| frame_type_of(b) != Some("PRIORITY") && !is_client_ack(b, false))
            .collect();
        let ours: Vec<Block> = blocks(&ours)
            .into_iter()
            .filter(|b| !is_client_ack(b, false))
            .collect();
        compare_blocks(&theirs, &ours, file);
        // The close lines too: nghttpd's `stream_id=13 closed`.
        let closed = |bs: &[Block]| bs.iter().filter(|b| b[0].ends_with(" closed")).count();
        assert_eq!(closed(&ours), closed(&theirs));
        assert!(ours
            .iter()
            .any(|b| b[0].starts_with("[id=1] [t] stream_id=13 closed")));
    }
}
