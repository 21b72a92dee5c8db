//! h2serve against real peers: curl, nghttp, h2load; static files; and the
//! command line's answers to bad input.

mod support;

use std::process::{Command, Output};

use support::peers::{peer, start_h2serve, TempDir};

fn run(command: &mut Command) -> Output {
    command.output().expect("run peer")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A 1 MiB file of varied bytes.
fn upload_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("upload.bin");
    let data: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, data).unwrap();
    path
}

#[test]
fn curl_over_tls_gets_hello_world_on_http2() {
    let Some(curl) = peer("curl") else { return };
    let server = start_h2serve(&[]);
    let out = run(Command::new(curl).args([
        "-sSk",
        "--http2",
        "-w",
        "\n%{http_version} %{http_code}",
        &format!("https://localhost:{}/", server.port),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello world\n\n2 200");
}

#[test]
fn curl_uploads_a_mebibyte_and_gets_it_back_byte_exact() {
    let Some(curl) = peer("curl") else { return };
    let temp = TempDir::new("h2serve-upload");
    let dir = temp.path();
    let upload = upload_file(dir);
    let echoed = dir.join("echoed.bin");
    for (tls, args) in [(true, vec![]), (false, vec!["--no-tls"])] {
        let server = start_h2serve(&args);
        let (scheme, flag) = if tls {
            ("https", "--http2")
        } else {
            ("http", "--http2-prior-knowledge")
        };
        let out = run(Command::new(&curl).args([
            "-sSk",
            flag,
            "--data-binary",
            &format!("@{}", upload.display()),
            "-o",
            echoed.to_str().unwrap(),
            "-w",
            "%{http_version} %{http_code}",
            &format!("{scheme}://localhost:{}/upload", server.port),
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "2 200", "{scheme}");
        assert!(
            std::fs::read(&upload).unwrap() == std::fs::read(&echoed).unwrap(),
            "{scheme}: echo differs"
        );
    }
}

#[test]
fn curl_prior_knowledge_gets_hello_world() {
    let Some(curl) = peer("curl") else { return };
    let server = start_h2serve(&["--no-tls"]);
    let out = run(Command::new(curl).args([
        "-sS",
        "--http2-prior-knowledge",
        "-w",
        "\n%{http_version}",
        &format!("http://127.0.0.1:{}/", server.port),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello world\n\n2");
}

#[test]
fn nghttp_gets_the_page() {
    let Some(nghttp) = peer("nghttp") else { return };
    let server = start_h2serve(&[]);
    let out =
        run(Command::new(nghttp).args(["-nv", &format!("https://localhost:{}/", server.port)]));
    assert!(out.status.success(), "{}", text(&out.stdout));
    let trace = text(&out.stdout);
    assert!(
        trace.contains("recv (stream_id=13) :status: 200"),
        "{trace}"
    );
    assert!(
        trace.contains("recv DATA frame <length=12, flags=0x01, stream_id=13>"),
        "{trace}"
    );
}

#[test]
fn h2load_twenty_thousand_requests_none_fail() {
    let Some(h2load) = peer("h2load") else { return };
    let server = start_h2serve(&["--no-tls"]);
    let out = run(Command::new(h2load).args([
        "-n",
        "20000",
        "-c",
        "10",
        "-m",
        "10",
        &format!("http://127.0.0.1:{}/", server.port),
    ]));
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout"),
        "{report}"
    );
}

#[test]
fn static_files_answer_404_405_and_refuse_traversal() {
    let Some(curl) = peer("curl") else { return };
    // The document root and, next to it, a secret it must not give away.
    let temp = TempDir::new("h2serve-htdocs");
    let dir = temp.path().join("root");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<p>index</p>\n").unwrap();
    std::fs::write(dir.join("style.css"), "p {}\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub").join("index.html"), "sub\n").unwrap();
    let secret = temp.path().join("secret.txt");
    std::fs::write(&secret, "secret\n").unwrap();
    let server = start_h2serve(&["--no-tls", "-d", dir.to_str().unwrap()]);
    let base = format!("http://127.0.0.1:{}", server.port);

    let fetch = |method: &str, path: &str| {
        let out = run(Command::new(&curl).args([
            "-sS",
            "--http2-prior-knowledge",
            "--path-as-is",
            "-X",
            method,
            "-w",
            "\n%{http_code} %{content_type}",
            &format!("{base}{path}"),
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(fetch("GET", "/"), "<p>index</p>\n\n200 text/html");
    assert_eq!(fetch("GET", "/style.css"), "p {}\n\n200 text/css");
    assert_eq!(fetch("GET", "/sub/"), "sub\n\n200 text/html");
    assert!(fetch("GET", "/sub").ends_with("301 text/html; charset=UTF-8"));
    assert!(fetch("GET", "/missing").ends_with("404 text/html; charset=UTF-8"));
    assert!(fetch("DELETE", "/index.html").ends_with("405 text/html; charset=UTF-8"));
    let secret_name = secret.file_name().unwrap().to_str().unwrap();
    for path in [
        format!("/../{secret_name}"),
        format!("/%2e%2e/{secret_name}"),
        format!("/%2E%2E%2F{secret_name}"),
        format!("/sub/..%2f..%2f{secret_name}"),
    ] {
        let answer = fetch("GET", &path);
        assert!(!answer.contains("secret"), "{path} leaked: {answer}");
        assert!(
            answer.ends_with("404 text/html; charset=UTF-8"),
            "{path}: {answer}"
        );
    }
}

fn h2serve(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_h2serve"))
        .args(args)
        .output()
        .expect("run h2serve")
}

fn assert_one_line_failure(out: &Output, needle: &str) {
    assert!(!out.status.success(), "must fail");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.iter().any(|l| l.contains(needle)),
        "expected {needle:?} in {stderr}"
    );
}

#[test]
fn bad_flags_fail_with_a_message() {
    let out = h2serve(&["--no-such-flag"]);
    assert_one_line_failure(&out, "--no-such-flag");
    let out = h2serve(&["-w", "99"]);
    assert_one_line_failure(&out, "99");
}

#[test]
fn unreadable_or_mismatched_certificates_fail_with_one_line() {
    let temp = TempDir::new("h2serve-certs");
    let dir = temp.path();
    let out = h2serve(&[
        "--addr",
        "127.0.0.1:0",
        "--cert",
        "/nonexistent/cert.pem",
        "--key",
        "/nonexistent/key.pem",
    ]);
    assert_one_line_failure(&out, "cert");
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );

    // Two different self-signed pairs: the key does not match.
    let a = nghttp2::server::tls::SelfSigned::localhost().unwrap();
    let b = nghttp2::server::tls::SelfSigned::localhost().unwrap();
    std::fs::write(dir.join("cert.pem"), a.cert_pem()).unwrap();
    std::fs::write(
        dir.join("key.pem"),
        b.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    let out = h2serve(&[
        "--addr",
        "127.0.0.1:0",
        "--cert",
        dir.join("cert.pem").to_str().unwrap(),
        "--key",
        dir.join("key.pem").to_str().unwrap(),
    ]);
    assert_one_line_failure(&out, "match");
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_port_in_use_fails_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = h2serve(&["--no-tls", "--addr", &addr]);
    assert_one_line_failure(&out, "cannot listen");
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
}
