//! RFC 9218 priorities on the server (issue 10, item 7), over real sockets
//! with frames written by hand: the server's SETTINGS, the `priority`
//! request header, PRIORITY_UPDATE, and a handler's own [`Priority`].
//!
//! Every race is set up the same way, so that nghttp2's scheduler, and
//! nothing else, decides the order: the client opens stream windows of
//! 16 MiB but leaves the connection window at 65535 bytes; a large
//! download (stream 1) fills it; a small request (stream 3) is answered
//! with its HEADERS while no DATA can move, its body ready in the server;
//! only then does the client open the connection window, and records which
//! stream's DATA comes first. Every await is bounded in time.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use nghttp2::server::{service_fn, BoxError, Builder, Priority, RequestBody};
use tokio::net::TcpListener;
use tokio::time::timeout;

use support::peers::start_h2serve;
use support::raw_frame;
use support::wire::{
    headers, request_block, settings, settings_ack, window_update, RawConn, DATA, END_HEADERS,
    END_STREAM, HEADERS, IO_LIMIT, SETTINGS, SETTINGS_INITIAL_WINDOW_SIZE,
};
use support::PREFACE;

const TEST_LIMIT: Duration = Duration::from_secs(60);

/// SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218 section 2.1).
const SETTINGS_NO_RFC7540_PRIORITIES: u16 = 0x9;
/// The PRIORITY_UPDATE frame type (RFC 9218 section 7.1).
const PRIORITY_UPDATE: u8 = 0x10;

/// The low-urgency download: several MiB.
const LARGE: usize = 4 << 20;
/// The urgent response: one DATA frame. The server holds one frame of a
/// body per stream and refills it between `mem_send2` passes; within a
/// pass, an urgent stream that runs dry yields the next frame to a less
/// urgent one, so a larger urgent body lets one frame of the download
/// through per refill (a limit of the session's body buffer, not of the
/// priorities: nghttp2 only picks among streams with data ready).
const SMALL: usize = 16_000;
/// The connection window the client leaves as it is until the race.
const CONN_WINDOW: usize = 65_535;

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

fn full(data: Vec<u8>) -> BoxBody {
    Full::new(Bytes::from(data))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// `/large` and `/small`; `/large-low` answers with a [`Priority`]
/// extension of urgency 7, `/small-urgent` with a `priority: u=0` header.
async fn site(req: Request<RequestBody>) -> Result<Response<BoxBody>, Infallible> {
    let path = req.uri().path().to_owned();
    let mut response = match path.as_str() {
        "/large" | "/large-low" => Response::new(full(vec![b'L'; LARGE])),
        _ => Response::new(full(vec![b'S'; SMALL])),
    };
    match path.as_str() {
        "/large-low" => {
            response.extensions_mut().insert(Priority {
                urgency: 7,
                incremental: false,
            });
        }
        "/small-urgent" => {
            response
                .headers_mut()
                .insert("priority", http::HeaderValue::from_static("u=0"));
        }
        _ => {}
    }
    Ok(response)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The library server on 127.0.0.1 (cleartext, prior knowledge).
async fn server(builder: Builder) -> (SocketAddr, AbortOnDrop) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = builder.serve(listener, service_fn(site)).await;
    });
    (addr, AbortOnDrop(task))
}

/// Preface and SETTINGS (16 MiB stream windows), the server's SETTINGS
/// read, returned as entries, and acknowledged.
async fn open(addr: SocketAddr) -> (RawConn, Vec<(u16, u32)>) {
    let mut conn = RawConn::connect(addr).await;
    let mut hello = PREFACE.to_vec();
    hello.extend(settings(&[(SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24)]));
    conn.send(&hello).await.expect("send preface");
    let first = conn.read_frame(IO_LIMIT).await.expect("server SETTINGS");
    assert_eq!(first.kind, SETTINGS, "the server starts with SETTINGS");
    let entries = first
        .payload
        .chunks_exact(6)
        .map(|e| {
            (
                u16::from_be_bytes([e[0], e[1]]),
                u32::from_be_bytes([e[2], e[3], e[4], e[5]]),
            )
        })
        .collect();
    conn.send(&settings_ack()).await.expect("send SETTINGS ACK");
    (conn, entries)
}

fn priority_update(stream_id: u32, value: &str) -> Vec<u8> {
    let mut payload = stream_id.to_be_bytes().to_vec();
    payload.extend_from_slice(value.as_bytes());
    raw_frame(PRIORITY_UPDATE, 0, 0, &payload)
}

/// A request: path and extra fields.
type Req<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// What the race showed.
#[derive(Debug)]
struct Race {
    /// The DATA frames after the connection window opened: (stream, length,
    /// END_STREAM).
    data: Vec<(u32, usize, bool)>,
    /// The small response's header fields.
    small_fields: Vec<(String, String)>,
}

impl Race {
    /// The small response (stream 3) ended before any more DATA of the
    /// large one (stream 1) was sent.
    fn small_overtook(&self) -> bool {
        let small_end = self.data.iter().position(|&(s, _, end)| s == 3 && end);
        let large_next = self.data.iter().position(|&(s, _, _)| s == 1);
        matches!((small_end, large_next), (Some(a), Some(b)) if a < b)
    }

    /// The large response's DATA (stream 1) came first once the window
    /// opened. (Not necessarily all of it: the server pulls a body two
    /// frames at a time, and while it refills, nghttp2 sends what else is
    /// ready.)
    fn large_first(&self) -> bool {
        self.data.first().map(|&(s, _, _)| s) == Some(1) && !self.small_overtook()
    }
}

/// Stream 1 (`large`) fills the connection window; stream 3 (`small`) is
/// answered with HEADERS; then `before_window` (PRIORITY_UPDATE frames, say)
/// and a WINDOW_UPDATE for everything go out in one write, and both
/// responses are read to their end.
async fn race(conn: &mut RawConn, large: Req<'_>, small: Req<'_>, before_window: &[u8]) -> Race {
    let block = request_block("GET", large.0, large.1);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .expect("send request 1");
    let mut got = [0usize; 2];
    let mut ended = [false; 2];
    let slot = |stream: u32| if stream == 1 { 0 } else { 1 };
    // The connection window's worth of stream 1.
    while got[0] < CONN_WINDOW {
        let f = conn
            .read_frame(IO_LIMIT)
            .await
            .expect("stream 1's first DATA");
        match f.kind {
            HEADERS => {
                let fields = conn.decode(&f);
                assert!(
                    fields.contains(&(":status".into(), "200".into())),
                    "{fields:?}"
                );
            }
            DATA => {
                assert_eq!(f.stream_id, 1);
                got[0] += f.payload.len();
            }
            _ => {}
        }
    }
    assert_eq!(got[0], CONN_WINDOW, "the server keeps to the window");
    // Stream 3's response head, while no DATA can move.
    let block = request_block("GET", small.0, small.1);
    conn.send(&headers(3, &block, END_HEADERS | END_STREAM))
        .await
        .expect("send request 3");
    let small_fields = loop {
        let f = conn.read_frame(IO_LIMIT).await.expect("stream 3's HEADERS");
        assert_ne!(f.kind, DATA, "DATA beyond the connection window");
        if f.kind == HEADERS {
            let fields = conn.decode(&f);
            if f.stream_id == 3 {
                break fields;
            }
        }
    };
    // The race.
    let mut go = before_window.to_vec();
    go.extend(window_update(0, (LARGE + SMALL) as u32));
    conn.send(&go).await.expect("send WINDOW_UPDATE");
    let mut data = Vec::new();
    while !(ended[0] && ended[1]) {
        let f = conn
            .read_frame(IO_LIMIT)
            .await
            .expect("the rest of both bodies");
        if f.kind != DATA {
            continue;
        }
        let end = f.flags & END_STREAM != 0;
        let i = slot(f.stream_id);
        got[i] += f.payload.len();
        ended[i] |= end;
        data.push((f.stream_id, f.payload.len(), end));
    }
    assert_eq!(got, [LARGE, SMALL], "both bodies whole");
    Race { data, small_fields }
}

/// A short picture of a race for failure messages: runs of DATA by stream.
fn runs(race: &Race) -> String {
    let mut out: Vec<(u32, usize)> = Vec::new();
    for &(s, len, _) in &race.data {
        match out.last_mut() {
            Some((last, n)) if *last == s => *n += len,
            _ => out.push((s, len)),
        }
    }
    out.iter()
        .map(|(s, n)| format!("{s}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn server_sends_no_rfc7540_priorities_by_default_and_not_when_off() {
    timeout(TEST_LIMIT, async {
        let (addr, _server) = server(Builder::new()).await;
        let (_conn, entries) = open(addr).await;
        assert!(
            entries.contains(&(SETTINGS_NO_RFC7540_PRIORITIES, 1)),
            "{entries:?}"
        );
        let (addr, _server) = server(Builder::new().rfc9218_priorities(false)).await;
        let (_conn, entries) = open(addr).await;
        assert!(
            !entries
                .iter()
                .any(|&(id, _)| id == SETTINGS_NO_RFC7540_PRIORITIES),
            "{entries:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn h2serve_sends_no_rfc7540_priorities() {
    let running = tokio::task::spawn_blocking(|| start_h2serve(&["--no-tls"]))
        .await
        .unwrap();
    timeout(TEST_LIMIT, async {
        let addr = SocketAddr::from(([127, 0, 0, 1], running.port));
        let (_conn, entries) = open(addr).await;
        assert!(
            entries.contains(&(SETTINGS_NO_RFC7540_PRIORITIES, 1)),
            "{entries:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn urgent_small_response_overtakes_low_urgency_download() {
    timeout(TEST_LIMIT, async {
        let (addr, _server) = server(Builder::new()).await;
        let (mut conn, _) = open(addr).await;
        let race = race(
            &mut conn,
            ("/large", &[("priority", "u=7")]),
            ("/small", &[("priority", "u=0")]),
            &[],
        )
        .await;
        assert!(race.small_overtook(), "DATA by stream: {}", runs(&race));
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn priority_update_lowers_a_download_below_a_later_request() {
    timeout(TEST_LIMIT, async {
        let (addr, _server) = server(Builder::new()).await;
        let (mut conn, _) = open(addr).await;
        // The download asks for u=0 at first, then PRIORITY_UPDATE moves it
        // to u=7, below the small request's default u=3.
        let race = race(
            &mut conn,
            ("/large", &[("priority", "u=0")]),
            ("/small", &[]),
            &priority_update(1, "u=7"),
        )
        .await;
        assert!(race.small_overtook(), "DATA by stream: {}", runs(&race));
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn priority_update_is_skipped_when_rfc9218_is_off() {
    timeout(TEST_LIMIT, async {
        let (addr, _server) = server(Builder::new().rfc9218_priorities(false)).await;
        let (mut conn, _) = open(addr).await;
        // The same race: nghttp2 reads no PRIORITY_UPDATE, so the download
        // keeps the u=0 of its request header and goes first.
        let race = race(
            &mut conn,
            ("/large", &[("priority", "u=0")]),
            ("/small", &[]),
            &priority_update(1, "u=7"),
        )
        .await;
        assert!(race.large_first(), "DATA by stream: {}", runs(&race));
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn response_priority_overrides_the_client() {
    timeout(TEST_LIMIT, async {
        let (addr, _server) = server(Builder::new()).await;
        let (mut conn, _) = open(addr).await;
        // The client asks the opposite of what the handlers set (a
        // `Priority` extension of u=7 on the download, a `priority: u=0`
        // header on the small response), and after both responses began
        // tries again with PRIORITY_UPDATE: the handlers' choice stands.
        let mut updates = priority_update(1, "u=0");
        updates.extend(priority_update(3, "u=7"));
        let race = race(
            &mut conn,
            ("/large-low", &[("priority", "u=0")]),
            ("/small-urgent", &[("priority", "u=7")]),
            &updates,
        )
        .await;
        assert!(race.small_overtook(), "DATA by stream: {}", runs(&race));
        // The header goes to the client as the handler wrote it.
        assert!(
            race.small_fields
                .contains(&("priority".into(), "u=0".into())),
            "{:?}",
            race.small_fields
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn response_priority_is_not_applied_when_rfc9218_is_off() {
    timeout(TEST_LIMIT, async {
        let (addr, _server) = server(Builder::new().rfc9218_priorities(false)).await;
        let (mut conn, _) = open(addr).await;
        // Without the setting nghttp2 ignores the handlers' priorities: the
        // request headers decide, and the download (u=0) goes first.
        let race = race(
            &mut conn,
            ("/large-low", &[("priority", "u=0")]),
            ("/small-urgent", &[("priority", "u=7")]),
            &[],
        )
        .await;
        assert!(race.large_first(), "DATA by stream: {}", runs(&race));
    })
    .await
    .expect("test timed out");
}
