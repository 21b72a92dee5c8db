//! The `h2fetch` binary: exit codes and error lines. Its `-nv` trace is
//! compared with `nghttp -nv`'s in tests/compare.rs.

mod support;

use std::process::Command;

use support::peers::{free_port, peer, run, start_nghttpd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_h2fetch");

fn htdocs() -> TempDir {
    let dir = TempDir::new("h2fetch-htdocs");
    std::fs::write(dir.path().join("index.html"), b"hi\n").unwrap();
    let big: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(dir.path().join("big.html"), big).unwrap();
    dir
}

#[test]
fn refused_connection_exits_non_zero_with_one_line() {
    let port = free_port();
    let out = run(Command::new(BIN).arg(format!("http://127.0.0.1:{port}/")));
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
}

#[test]
fn bad_arguments_exit_non_zero() {
    let out = run(Command::new(BIN).arg("not a url"));
    assert!(!out.status.success());
    let out = run(Command::new(BIN).args(["-H", "no colon", "http://127.0.0.1:1/"]));
    assert!(!out.status.success());
}

#[test]
fn fetches_from_nghttpd_and_reports_404() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.port);

    let out = run(Command::new(BIN).arg(format!("{base}/index.html")));
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hi\n");

    let out = run(Command::new(BIN).arg(format!("{base}/missing")));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("404"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let file = dir.path().join("out.bin");
    let out = run(Command::new(BIN)
        .arg("-o")
        .arg(&file)
        .arg(format!("{base}/big.html")));
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(dir.path().join("big.html")).unwrap()
    );

    // Three URLs times two, concurrently on one connection, bodies in order.
    let out = run(Command::new(BIN).args([
        "-m",
        "2",
        &format!("{base}/index.html"),
        &format!("{base}/index.html"),
    ]));
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hi\nhi\nhi\nhi\n");

    // POST with -d -: nghttpd answers 405? It serves the file for any method.
    let out = run(Command::new(BIN)
        .args(["-n", "-d"])
        .arg(dir.path().join("index.html"))
        .arg("--trailer")
        .arg("x-sum: 1")
        .arg(format!("{base}/index.html")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
