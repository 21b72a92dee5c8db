//! `h2fetch --diff-nghttp URL...` and `h2fetch --diff-traces A B`: the
//! behaviour diffs of `nghttp2::trace::diff` as a command. Against nghttpd
//! (nghttp's trace and ours; nghttpd's and h2serve's server traces, the
//! README's recipe) only named differences remain (exit 0); an edited
//! trace has an unnamed one, printed in unified form (exit 1); no nghttp,
//! or an unreadable trace, is one line and exit 2.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::peers::{peer, run, start_h2serve, start_nghttpd, Running, TempDir};
use support::trace::strip_clock;

const H2FETCH: &str = env!("CARGO_BIN_EXE_h2fetch");

fn htdocs() -> TempDir {
    let dir = TempDir::new("diff-htdocs");
    std::fs::write(dir.path().join("index.html"), b"hi\n").unwrap();
    let big: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(dir.path().join("big.html"), big).unwrap();
    dir
}

fn h2fetch(args: &[&str]) -> Output {
    run(Command::new(H2FETCH).args(args))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Lines of the report that name an exception, `named X: reason`.
fn named(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("named ")?.split(':').next())
        .collect()
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

/// nghttp and h2fetch fetch the same three URLs (a small file, 200 KiB, a
/// 404) from nghttpd: only named differences (nghttp 1.52's
/// PRIORITY_FRAMES at least), exit 0.
#[test]
fn diff_nghttp_against_nghttpd_has_only_named_differences() {
    let (Some(_), Some(nghttpd)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let urls: Vec<String> = ["/index.html", "/big.html", "/missing"]
        .iter()
        .map(|p| format!("http://127.0.0.1:{}{p}", server.port))
        .collect();
    let mut args = vec!["--diff-nghttp"];
    args.extend(urls.iter().map(String::as_str));
    let out = h2fetch(&args);
    let stdout = text(&out.stdout);
    println!("{stdout}{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\n0 unnamed differences, "), "{stdout}");
    assert!(named(&stdout).contains(&"PRIORITY_FRAMES"), "{stdout}");
}

/// The README's server recipe: nghttp fetches the same URLs from
/// `nghttpd -v` and from `h2serve -v` (default flags), and `h2fetch
/// --diff-traces` of the two server traces names every difference:
/// h2serve's windows, its two extra SETTINGS, its 404 page, and nghttpd's
/// printing of nghttp's PRIORITY frames. Exit 0.
#[test]
fn diff_traces_of_nghttpd_and_h2serve_names_every_difference() {
    let (Some(nghttp), Some(nghttpd)) = (peer("nghttp"), peer("nghttpd")) else {
        return;
    };
    let dir = htdocs();
    let fetch = |port: u16| {
        let out = run(Command::new(&nghttp)
            .arg("-n")
            .args(["/index.html", "/missing"].map(|p| format!("http://127.0.0.1:{port}{p}"))));
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    let theirs_server = start_nghttpd(&nghttpd, dir.path(), &[]);
    fetch(theirs_server.port);
    let theirs = server_trace(&theirs_server);
    let ours_server = start_h2serve(&["--no-tls", "-v", "-d", dir.path().to_str().unwrap()]);
    fetch(ours_server.port);
    let ours = server_trace(&ours_server);
    let traces = TempDir::new("diff-traces");
    let (a, b) = (
        traces.path().join("nghttpd.log"),
        traces.path().join("h2serve.log"),
    );
    std::fs::write(&a, &theirs).unwrap();
    std::fs::write(&b, &ours).unwrap();

    let out = h2fetch(&["--diff-traces", a.to_str().unwrap(), b.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    println!("--- nghttpd\n{theirs}--- h2serve\n{ours}--- diff\n{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let names = named(&stdout);
    for name in [
        "WINDOWS",
        "SERVER_SETTINGS",
        "ERROR_PAGE",
        "PRIORITY_NOT_REPORTED",
    ] {
        assert!(names.contains(&name), "{name} in {stdout}");
    }
}

/// h2fetch's own trace against h2serve (no peer needed), saved twice, once
/// with a response field edited: the same trace has no difference (exit
/// 0); the edited one an unnamed one, printed with both lines (exit 1).
#[test]
fn diff_traces_prints_an_unnamed_difference_and_exits_1() {
    let dir = htdocs();
    let server = start_h2serve(&["--no-tls", "-d", dir.path().to_str().unwrap()]);
    let out = h2fetch(&[
        "-nv",
        &format!("http://127.0.0.1:{}/index.html", server.port),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trace = text(&out.stdout);
    let edited = trace.replace("content-type: text/html", "content-type: text/plain");
    assert_ne!(trace, edited, "the trace has a content-type line:\n{trace}");
    let traces = TempDir::new("diff-edited");
    let (a, b) = (traces.path().join("a.log"), traces.path().join("b.log"));
    std::fs::write(&a, &trace).unwrap();
    std::fs::write(&b, &edited).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    let same = h2fetch(&["--diff-traces", a, a]);
    let stdout = text(&same.stdout);
    assert_eq!(same.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("0 unnamed differences, 0 named"),
        "{stdout}"
    );

    let out = h2fetch(&["--diff-traces", a, b]);
    let stdout = text(&out.stdout);
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "--- {a}: received on stream 1\n+++ {b}: received on stream 1\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n-[t] recv (stream_id=1) content-type: text/html\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n+[t] recv (stream_id=1) content-type: text/plain\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n [t] recv (stream_id=1) :status: 200\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n1 unnamed difference, 0 named"),
        "{stdout}"
    );
}

/// Without nghttp on PATH: one line on standard error, exit 2, nothing
/// fetched.
#[test]
fn diff_nghttp_without_nghttp_is_one_line_and_exit_2() {
    let empty = TempDir::new("diff-no-path");
    let out = run(Command::new(H2FETCH)
        .env("PATH", empty.path())
        .args(["--diff-nghttp", "http://127.0.0.1:9/"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("needs nghttp on PATH"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// An unreadable trace, or --diff-traces with URLs: one line, exit 2.
#[test]
fn diff_traces_bad_input_is_one_line_and_exit_2() {
    let missing = Path::new("/nonexistent/trace.log").to_str().unwrap();
    for args in [
        vec!["--diff-traces", missing, missing],
        vec!["--diff-traces", missing, missing, "http://127.0.0.1:9/"],
        vec!["--diff-nghttp", "-o", "x", "http://127.0.0.1:9/"],
    ] {
        let out = h2fetch(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}
