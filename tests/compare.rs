//! Comparison tests against nghttp2's own tools, as Debian packages them
//! (nghttp and nghttpd 1.52; this crate links nghttp2 1.68):
//!
//! 1. the same client, `nghttp -nv`, receives the same frames from
//!    `h2serve --no-tls -d DIR` as from `nghttpd --no-tls -d DIR`;
//! 2. the same server, `nghttpd -v`, receives the same frames from
//!    `h2fetch -nv` as from `nghttp -nv`, and h2fetch prints nghttp's lines;
//! 3. `h2serve -v` prints what `nghttpd -v` prints for the same requests.
//!
//! Only what must differ is normalised (`nghttp2::trace::diff::normalise`:
//! clocks, HEADERS lengths, `date`, `last-modified`, `server`,
//! `user-agent`, `:authority`, PING payloads). Every other difference is a
//! named exception (`nghttp2::trace::diff::Exception`, the ones
//! `h2fetch --diff-nghttp` names too), each test lists the ones it allows,
//! and only their lines are changed.

mod support;

use std::path::Path;
use std::process::Command;

use nghttp2::trace::diff::{diff_blocks, Exception, Report};
use support::peers::{peer, run, start_h2serve, start_nghttpd, Running, TempDir};
use support::trace::{
    assert_clean, assert_has, blocks, data_bytes, frame_type_of, is_recv, length_of, number_after,
    renumber, shape, stream_of, strip_clock, Block,
};

const H2FETCH: &str = env!("CARGO_BIN_EXE_h2fetch");

/// What each test fetches: a small file, a 1 MiB file (64 full DATA frames
/// at least, and WINDOW_UPDATEs, under nghttp's 64 KiB windows), a 404, and
/// all three in one run (three streams on one connection).
const CASES: [&[&str]; 4] = [
    &["/index.html"],
    &["/big.html"],
    &["/missing"],
    &["/index.html", "/big.html", "/missing"],
];

/// Named exception `WINDOWS`: h2serve runs with `-w 16 -W 16`, nghttpd's
/// (and RFC 9113's) 65535-byte stream and connection windows. By default
/// h2serve advertises SETTINGS_INITIAL_WINDOW_SIZE 256 KiB and opens its
/// connection window to 1 MiB with a WINDOW_UPDATE (a deliberate choice for
/// uploads); with these flags it sends neither, as nghttpd. (The tests run
/// h2serve so rather than allow `Exception::Windows`, which would take
/// the window entries out of the comparison.)
const H2SERVE_ARGS: [&str; 5] = ["--no-tls", "-w", "16", "-W", "16"];

/// `ERROR_PAGE` (`Exception::ErrorPage`): both servers answer a missing
/// file with this page, whose address line names the server: nghttpd's adds
/// ` at port N` to its `server` value, h2serve's is its `server` value (it
/// does not know which port a request came in on). The exception replaces
/// the 404's `content-length` and DATA lengths by `<404 page>`; before
/// that, each is checked against its own server's page here.
const ERROR_PAGE: &str = "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr><address>{address}</address></body></html>";

/// `SERVER_SETTINGS` (`Exception::ServerSettings`): the three entries
/// h2serve's SETTINGS carry beyond nghttpd's, each checked to be there.
const SERVER_SETTINGS: [&str; 3] = [
    "          [SETTINGS_MAX_HEADER_LIST_SIZE(0x06):65536]",
    "          [SETTINGS_ENABLE_PUSH(0x02):0]",
    "          [SETTINGS_NO_RFC7540_PRIORITIES(0x09):1]",
];

fn htdocs() -> TempDir {
    let dir = TempDir::new("compare-htdocs");
    std::fs::write(dir.path().join("index.html"), b"hi\n").unwrap();
    let big: Vec<u8> = (0..1 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(dir.path().join("big.html"), big).unwrap();
    dir
}

fn urls(port: u16, paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .map(|p| format!("http://127.0.0.1:{port}{p}"))
        .collect()
}

/// Runs a client (`nghttp -nv` or `h2fetch -nv`) and returns its stdout.
fn client(bin: &Path, urls: &[String]) -> String {
    let out = run(Command::new(bin).arg("-nv").args(urls));
    assert!(
        out.status.success(),
        "{} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The server's trace of its first connection, once that has closed.
fn server_trace(server: &Running) -> String {
    let closed = |out: &str| {
        out.lines()
            .map(strip_clock)
            .any(|l| l == "[id=1] [t] closed")
    };
    server.wait_output("the server's `[id=1] ... closed` line", closed)
}

/// `SERVER_SETTINGS`, see above: the exception changed exactly one
/// SETTINGS frame of h2serve's (`ours`), which had both entries, and none
/// of nghttpd's.
fn assert_server_settings(report: &Report, what: &str) {
    let applied = report
        .get(Exception::ServerSettings)
        .unwrap_or_else(|| panic!("{what}: h2serve's SETTINGS had no SERVER_SETTINGS entry"));
    assert_eq!(
        applied.theirs,
        Vec::<Block>::new(),
        "{what}: nghttpd's SETTINGS"
    );
    assert_eq!(applied.ours.len(), 1, "{what}: h2serve's SETTINGS frame");
    for entry in SERVER_SETTINGS {
        assert!(
            applied.ours[0].iter().any(|l| l == entry),
            "{what}: {entry} in {:?}",
            applied.ours[0]
        );
    }
}

/// `ERROR_PAGE`, see above: each 404's `content-length` and DATA bytes are
/// its server's page. `address` gives a server's address line from its
/// `server` value.
fn check_error_pages(blocks: &[Block], address: impl Fn(&str) -> String) {
    // The 404 streams and their `server` values.
    let mut servers = std::collections::BTreeMap::new();
    let mut not_found = std::collections::BTreeSet::new();
    for b in blocks {
        for l in b {
            if l.ends_with(" :status: 404") {
                not_found.insert(stream_of(b));
            }
            if let Some(at) = l.find(" server: ") {
                servers.insert(stream_of(b), l[at + " server: ".len()..].to_string());
            }
        }
    }
    let page_len = |stream: i32| {
        let server = servers.get(&stream).expect("a 404 with a server field");
        ERROR_PAGE.replace("{address}", &address(server)).len() as u64
    };
    for &s in &not_found {
        let sent = data_bytes(blocks)
            .into_iter()
            .filter(|((_, stream), _)| *stream == s)
            .map(|(_, n)| n)
            .sum::<u64>();
        assert_eq!(sent, page_len(s), "the 404 page's DATA on stream {s}");
        for l in blocks.iter().filter(|b| stream_of(b) == s).flatten() {
            if let Some(at) = l.find(" content-length: ") {
                let value = &l[at + " content-length: ".len()..];
                assert_eq!(value, page_len(s).to_string(), "{l}");
            }
        }
    }
}

fn nghttpd_address(port: u16) -> impl Fn(&str) -> String {
    move |server| format!("{server} at port {port}")
}

fn h2serve_address(server: &str) -> String {
    server.to_string()
}

/// Frame types every case must show, so that a trace that lost them (an
/// empty one, say) cannot pass.
fn expected_types(paths: &[&str]) -> Vec<&'static str> {
    let mut types = vec!["SETTINGS", "HEADERS", "DATA"];
    if paths.contains(&"/big.html") {
        types.push("WINDOW_UPDATE");
    }
    types
}

/// Test 1: the same client, `nghttp -nv`, against nghttpd and against
/// h2serve serving the same files: everything it prints matches, with the
/// named exceptions `WINDOWS` (by h2serve's flags), `SERVER_SETTINGS`,
/// `ERROR_PAGE`, `SETTINGS_AFTER_PREFACE` and `ACK_RACE` (the client's own
/// SETTINGS ACK is left out on both sides). nghttp's PRIORITY frames are
/// the same on both sides, so they are compared too.
const TEST_1: [Exception; 4] = [
    Exception::AckRace,
    Exception::ServerSettings,
    Exception::ErrorPage,
    Exception::SettingsAfterPreface,
];

#[test]
fn nghttp_receives_the_same_frames_from_h2serve_as_from_nghttpd() {
    let (Some(nghttp), Some(nghttpd)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    let dir_arg = dir.path().to_str().unwrap();
    for paths in CASES {
        let theirs_server = start_nghttpd(&nghttpd, dir.path(), &[]);
        let theirs = client(&nghttp, &urls(theirs_server.port, paths));
        let mut args = H2SERVE_ARGS.to_vec();
        args.extend(["-d", dir_arg]);
        let ours_server = start_h2serve(&args);
        let ours = client(&nghttp, &urls(ours_server.port, paths));
        println!("--- nghttp against nghttpd {paths:?}\n{theirs}--- against h2serve\n{ours}");

        let (theirs, ours) = (blocks(&theirs), blocks(&ours));
        check_error_pages(&theirs, nghttpd_address(theirs_server.port));
        check_error_pages(&ours, h2serve_address);
        let what = format!("nghttp -nv {paths:?}");
        let report = diff_blocks(theirs, ours, &TEST_1);
        assert_clean(&report, &what);
        assert_server_settings(&report, &what);
        assert_has(&report.compared.1, &expected_types(paths), &what);
    }
}

/// Test 2: the same server, `nghttpd -v`, fetched by `nghttp -nv` and by
/// `h2fetch -nv`: nghttpd's whole trace (what it receives, and what it
/// answers) matches, and h2fetch prints the lines nghttp prints. Named
/// exceptions: `PRIORITY_FRAMES` (nghttp 1.52's RFC 7540 priorities, on
/// streams from 13) and `ACK_RACE` (the client's SETTINGS ACK);
/// `user-agent` names the client (normalised).
const TEST_2: [Exception; 2] = [Exception::PriorityFrames, Exception::AckRace];

#[test]
fn nghttpd_receives_the_same_frames_from_h2fetch_as_from_nghttp() {
    let (Some(nghttp), Some(nghttpd)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    for paths in CASES {
        let theirs_server = start_nghttpd(&nghttpd, dir.path(), &[]);
        let theirs_client = client(&nghttp, &urls(theirs_server.port, paths));
        let theirs_server = server_trace(&theirs_server);
        let ours_server = start_nghttpd(&nghttpd, dir.path(), &[]);
        let ours_client = client(Path::new(H2FETCH), &urls(ours_server.port, paths));
        let ours_server = server_trace(&ours_server);
        println!(
            "--- nghttpd for nghttp {paths:?}\n{theirs_server}--- nghttpd for h2fetch\n{ours_server}\
             --- nghttp\n{theirs_client}--- h2fetch\n{ours_client}"
        );
        let what = format!("nghttpd -v, {paths:?}");
        let report = diff_blocks(blocks(&theirs_server), blocks(&ours_server), &TEST_2);
        assert_clean(&report, &what);
        let ours = &report.compared.1;
        assert_has(ours, &expected_types(paths), &what);
        assert!(ours.iter().any(|b| is_recv(b)), "{what}: nothing received");

        let what = format!("h2fetch -nv {paths:?}");
        let report = diff_blocks(blocks(&theirs_client), blocks(&ours_client), &TEST_2);
        assert_clean(&report, &what);
        let ours = &report.compared.1;
        assert_eq!(ours[0], vec!["[t] Connected".to_string()], "{what}");
        let mut types = expected_types(paths);
        types.push("GOAWAY");
        assert_has(ours, &types, &what);
        // nghttp's PRIORITY frames were there, and named.
        assert!(
            report
                .named()
                .any(|a| a.exception == Exception::PriorityFrames),
            "{what}: PRIORITY_FRAMES hid nothing"
        );
    }
}

/// Every DATA frame a server sent that is shorter than it could have been:
/// the smallest of 16384 (nghttp sends no SETTINGS_MAX_FRAME_SIZE), the
/// connection and stream windows as the server saw them when it sent the
/// frame, and what was left of the body (its `content-length`). As
/// (stream, body offset at the frame's end, length, full length).
fn short_data_frames(trace: &[Block]) -> Vec<(i32, u64, u64, u64)> {
    use std::collections::BTreeMap;
    let mut initial: i64 = 65_535;
    let mut connection: i64 = 65_535;
    let mut windows: BTreeMap<i32, i64> = BTreeMap::new();
    let mut left: BTreeMap<i32, i64> = BTreeMap::new();
    let mut offsets: BTreeMap<i32, u64> = BTreeMap::new();
    let mut short = Vec::new();
    for b in trace {
        let s = stream_of(b);
        match (frame_type_of(b), is_recv(b)) {
            (Some("SETTINGS"), true) => {
                for l in b {
                    if let Some(v) = number_after(l, "[SETTINGS_INITIAL_WINDOW_SIZE(0x04):") {
                        let delta = v as i64 - initial;
                        windows.values_mut().for_each(|w| *w += delta);
                        initial = v as i64;
                    }
                    assert!(!l.contains("SETTINGS_MAX_FRAME_SIZE"), "{l}");
                }
            }
            (Some("WINDOW_UPDATE"), true) => {
                let n = number_after(&b[1], "(window_size_increment=").unwrap() as i64;
                if s == 0 {
                    connection += n;
                } else {
                    *windows.entry(s).or_insert(initial) += n;
                }
            }
            (Some("HEADERS"), false) => {
                let length = b
                    .iter()
                    .find_map(|l| l.strip_prefix("          content-length: "))
                    .expect("a content-length");
                left.insert(s, length.parse().unwrap());
            }
            (Some("DATA"), false) => {
                let n = length_of(b).unwrap();
                let window = windows.entry(s).or_insert(initial);
                let rest = left.get_mut(&s).expect("DATA after HEADERS");
                let full = 16_384.min(connection).min(*window).min(*rest) as u64;
                let offset = offsets.entry(s).or_default();
                *offset += n;
                assert!(n <= full, "{s}: {n} bytes sent, only {full} allowed");
                if n < full {
                    short.push((s, *offset, n, full));
                }
                connection -= n as i64;
                *window -= n as i64;
                *rest -= n as i64;
            }
            _ => {}
        }
    }
    short
}

/// Test 3: `h2serve -v` and `nghttpd -v` print the same trace for the same
/// requests from `nghttp -nv`. Named exceptions: `WINDOWS` (by h2serve's
/// flags), `SERVER_SETTINGS`, `ERROR_PAGE`, `PRIORITY_NOT_REPORTED`,
/// `SETTINGS_AFTER_PREFACE`, and `ACK_RACE` (nghttp's SETTINGS ACK,
/// received or not).
/// Besides the comparison, each server's DATA frames are checked to be
/// full (see `short_data_frames`): DATA sizes follow the timing of window
/// updates, so they are compared only by shape and total.
const TEST_3: [Exception; 5] = [
    Exception::PriorityNotReported,
    Exception::AckRace,
    Exception::ServerSettings,
    Exception::ErrorPage,
    Exception::SettingsAfterPreface,
];

#[test]
fn h2serve_v_prints_what_nghttpd_v_prints() {
    let (Some(nghttp), Some(nghttpd)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    let dir_arg = dir.path().to_str().unwrap();
    for paths in CASES {
        let theirs_server = start_nghttpd(&nghttpd, dir.path(), &[]);
        let nghttp_theirs = client(&nghttp, &urls(theirs_server.port, paths));
        let theirs = server_trace(&theirs_server);
        let mut args = H2SERVE_ARGS.to_vec();
        args.extend(["-v", "-d", dir_arg]);
        let ours_server = start_h2serve(&args);
        let nghttp_ours = client(&nghttp, &urls(ours_server.port, paths));
        let ours = server_trace(&ours_server);
        println!(
            "--- nghttpd -v {paths:?}\n{theirs}--- h2serve -v\n{ours}\
             --- nghttp against nghttpd\n{nghttp_theirs}--- nghttp against h2serve\n{nghttp_ours}"
        );
        let what = format!("h2serve -v {paths:?}");
        let (theirs, ours) = (blocks(&theirs), blocks(&ours));

        assert_eq!(short_data_frames(&theirs), [], "nghttpd's DATA frames");
        assert_eq!(
            short_data_frames(&ours),
            [],
            "{what}: h2serve's DATA frames"
        );

        check_error_pages(&theirs, nghttpd_address(theirs_server.port));
        check_error_pages(&ours, h2serve_address);
        let report = diff_blocks(theirs, ours, &TEST_3);
        assert_clean(&report, &what);
        assert_server_settings(&report, &what);
        let (theirs, ours) = &report.compared;
        assert_has(ours, &expected_types(paths), &what);
        let closed = |bs: &[Block]| {
            bs.iter()
                .filter(|b| b[0].ends_with(" closed"))
                .map(|b| b[0].clone())
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(closed(ours), closed(theirs), "{what}: close lines");
        assert_eq!(closed(ours).len(), paths.len(), "{what}: close lines");
    }
}

#[test]
fn trace_helpers_read_lines() {
    let b = vec!["[id=1] [t] recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>".into()];
    assert_eq!(frame_type_of(&b), Some("WINDOW_UPDATE"));
    assert_eq!(stream_of(&b), 0);
    assert_eq!(length_of(&b), Some(4));
    assert!(is_recv(&b));
    assert_eq!(
        shape(&["          (window_size_increment=33554432)".to_string()]),
        ["          (window_size_increment=N)"]
    );
    assert_eq!(
        strip_clock("[id=12] [  1.011] closed"),
        "[id=12] [t] closed"
    );
    assert_eq!(strip_clock("[123.456] send"), "[t] send");
    assert_eq!(
        renumber("[t] recv (stream_id=15) x, dep_stream_id=13 last_stream_id=17 stream_id=11"),
        "[t] recv (stream_id=3) x, dep_stream_id=13 last_stream_id=17 stream_id=11"
    );
}
