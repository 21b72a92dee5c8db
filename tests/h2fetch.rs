//! The `h2fetch` binary: exit codes and error lines. Its `-nv` trace is
//! compared with `nghttp -nv`'s in tests/compare.rs.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::peers::{free_port, peer, run, start_nghttpd, TempDir, WAIT};

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

/// Self-signed `localhost` key and certificate written to `dir` as
/// `{tag}.key` and `{tag}.crt`.
fn keypair(dir: &Path, tag: &str) -> (PathBuf, PathBuf) {
    let cert = nghttp2::server::tls::SelfSigned::localhost().unwrap();
    let key_path = dir.join(format!("{tag}.key"));
    let cert_path = dir.join(format!("{tag}.crt"));
    std::fs::write(&key_path, cert.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_path, cert.cert_pem()).unwrap();
    (key_path, cert_path)
}

/// `nghttpd -d DIR [extra] PORT KEY CERT` (TLS) on a free port, waiting
/// until it listens.
struct TlsNghttpd(std::process::Child, u16);

impl Drop for TlsNghttpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tls_nghttpd(bin: &Path, dir: &Path, extra: &[&str], key: &Path, cert: &Path) -> TlsNghttpd {
    for _ in 0..5 {
        let port = free_port();
        let mut child = Command::new(bin)
            .arg("-d")
            .arg(dir)
            .args(extra)
            .arg(port.to_string())
            .arg(key)
            .arg(cert)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return TlsNghttpd(child, port);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "nghttpd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("nghttpd would not start");
}

/// Runs h2fetch with `args`; expects failure with exactly one stderr line
/// that starts with `h2fetch: ` and contains each of `needles`.
fn fails_in_one_line(args: &[&str], needles: &[&str]) {
    let out = run(Command::new(BIN).args(args));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("h2fetch: "), "{args:?}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
    }
}

#[test]
fn errors_are_one_line_with_a_non_zero_exit() {
    let dir = TempDir::new("h2fetch-errors");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let (key_a, cert_a) = keypair(dir.path(), "a");
    let (key_b, _) = keypair(dir.path(), "b");
    let port = free_port();
    let url = format!("https://localhost:{port}/");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    fails_in_one_line(
        &["-d", &s(&missing), "http://127.0.0.1:1/"],
        &["missing.pem", "No such file"],
    );
    fails_in_one_line(&["ftp://example.test/"], &["unsupported scheme"]);
    fails_in_one_line(&["http://no-such-host.invalid/"], &["no-such-host.invalid"]);
    fails_in_one_line(
        &[&format!("http://127.0.0.1:{port}/")],
        &["could not connect", "refused"],
    );
    // Files for TLS are read when the TLS connection starts: a listener
    // that accepts is enough.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let held = std::thread::spawn(move || {
        let mut held = Vec::new();
        for sock in listener.incoming().take(5) {
            held.push(sock);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    fails_in_one_line(
        &["--cacert", &s(&missing), &url],
        &["CA file", "No such file"],
    );
    fails_in_one_line(&["--cacert", &s(&garbage), &url], &["CA file", "PEM"]);
    fails_in_one_line(
        &["--cert", &s(&cert_a), "--key", &s(&key_b), &url],
        &["does not match"],
    );
    fails_in_one_line(
        &["--cert", &s(&garbage), "--key", &s(&key_a), &url],
        &["certificate file", "PEM"],
    );
    // The listener never answers the TLS handshake.
    fails_in_one_line(&["-t", "0.3", &url], &["timed out"]);
    drop(held);
}

#[test]
fn tls_errors_and_the_negotiated_protocol_line() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let (key, cert) = keypair(dir.path(), "server");
    let server = tls_nghttpd(&nghttpd, dir.path(), &[], &key, &cert);
    let url = format!("https://localhost:{}/index.html", server.1);
    fails_in_one_line(&[&url], &["certificate verify failed"]);
    // -v: the whole OpenSSL story may follow on stderr, but the answer is
    // still one `h2fetch:` line.
    let out = run(Command::new(BIN).args(["-nv", "-y", &url]));
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with("] Connected"))
        .expect("Connected line");
    assert_eq!(lines[at + 1], "The negotiated protocol: h2", "{stdout}");
    // nghttp prints the same line in the same place.
    if let Some(nghttp) = peer("nghttp") {
        let out = run(Command::new(nghttp).args(["-nv", &url]));
        let theirs = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = theirs.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.ends_with("] Connected"))
            .unwrap();
        assert_eq!(lines[at + 1], "The negotiated protocol: h2", "{theirs}");
    }
    // --cacert trusts it.
    let out = run(Command::new(BIN).arg("--cacert").arg(&cert).arg(&url));
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn a_client_certificate_is_presented_when_asked() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let (key, cert) = keypair(dir.path(), "server");
    let (ckey, ccert) = keypair(dir.path(), "client");
    // -V: nghttpd requires a client certificate (and accepts any).
    let server = tls_nghttpd(&nghttpd, dir.path(), &["-V"], &key, &cert);
    let url = format!("https://localhost:{}/index.html", server.1);
    let out = run(Command::new(BIN).args(["-k", &url]));
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = run(Command::new(BIN)
        .args(["-k", "--cert"])
        .arg(&ccert)
        .arg("--key")
        .arg(&ckey)
        .arg(&url));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn a_reset_stream_is_one_line() {
    // A fake server: SETTINGS, then RST_STREAM INTERNAL_ERROR on stream 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf);
        let mut out = support::raw_frame(4, 0, 0, &[]);
        out.extend(support::raw_frame(4, 1, 0, &[]));
        out.extend(support::raw_frame(3, 0, 1, &2u32.to_be_bytes()));
        let _ = sock.write_all(&out);
        while matches!(sock.read(&mut buf), Ok(n) if n > 0) {}
    });
    fails_in_one_line(
        &[&format!("http://127.0.0.1:{port}/")],
        &["stream 1 reset by peer: INTERNAL_ERROR"],
    );
}

#[test]
fn several_urls_with_o_are_an_error_and_o_saves_each() {
    let out = run(Command::new(BIN).args([
        "-o",
        "/tmp/never-written",
        "http://127.0.0.1:1/a",
        "http://127.0.0.1:1/b",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("-O"), "{stderr}");
    assert!(!Path::new("/tmp/never-written").exists());

    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let cwd = TempDir::new("h2fetch-remote-name");
    let out = run(Command::new(BIN).current_dir(cwd.path()).args([
        "-O",
        &format!("{base}/index.html"),
        &format!("{base}/big.html"),
        &format!("{base}/"),
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(cwd.path().join("big.html")).unwrap(),
        std::fs::read(dir.path().join("big.html")).unwrap()
    );
    // `/` is saved as index.html (nghttpd serves index.html for it).
    assert_eq!(
        std::fs::read(cwd.path().join("index.html")).unwrap(),
        b"hi\n"
    );
}

/// The header line of nghttp's `-s` table.
const STATS_HEADER: &str = "id  responseEnd requestStart  process code size request path";

#[test]
fn stat_prints_nghttps_table() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let urls = [format!("{base}/index.html"), format!("{base}/big.html?x=1")];
    let out = run(Command::new(BIN).arg("-ns").args(&urls));
    assert!(out.status.success());
    let ours = String::from_utf8(out.stdout).unwrap();
    let table: Vec<&str> = ours.lines().skip_while(|l| *l != STATS_HEADER).collect();
    assert_eq!(table.len(), 3, "{ours}");
    let columns = |line: &str| line.split_whitespace().count();
    for row in &table[1..] {
        assert_eq!(columns(row), 7, "{row}");
        assert!(row.contains(" 200 "), "{row}");
    }
    assert!(
        table[1..]
            .iter()
            .any(|r| r.ends_with(" 200 200K /big.html?x=1")),
        "{ours}"
    );
    if let Some(nghttp) = peer("nghttp") {
        let out = run(Command::new(nghttp).arg("-ns").args(&urls));
        let theirs = String::from_utf8(out.stdout).unwrap();
        // The same text up to the table, the same header line, the same
        // columns.
        let head = |s: &str| {
            s.lines()
                .take_while(|l| *l != STATS_HEADER)
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(head(&ours), head(&theirs));
        let their_table: Vec<&str> = theirs.lines().skip_while(|l| *l != STATS_HEADER).collect();
        assert_eq!(their_table.len(), 3, "{theirs}");
        for (a, b) in table[1..].iter().zip(&their_table[1..]) {
            // id and times differ; code, size and path agree.
            let tail = |l: &str| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" ");
            assert!(table[1..].iter().any(|r| tail(r) == tail(b)), "{a} / {b}");
        }
    }
}

#[test]
fn har_has_one_entry_per_request() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let har = dir.path().join("out.har");
    let out = run(Command::new(BIN)
        .args(["-n", "-m", "2", "-r"])
        .arg(&har)
        .arg(format!("{base}/index.html?a=b"))
        .arg(format!("{base}/missing")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    let log = &json["log"];
    assert_eq!(log["version"], "1.2");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["request"]["method"], "GET");
    assert_eq!(entries[0]["response"]["status"], 200);
    assert_eq!(entries[0]["request"]["queryString"][0]["name"], "a");
    assert_eq!(entries[0]["response"]["content"]["size"], 3);
    assert_eq!(entries[3]["response"]["status"], 404);
    for entry in entries {
        assert!(entry["startedDateTime"].as_str().unwrap().ends_with('Z'));
        assert!(entry["timings"]["wait"].as_f64().unwrap() >= 0.0);
    }
}

fn original() -> Vec<u8> {
    (0..50_000u32)
        .flat_map(|i| format!("{i} {}\n", i.wrapping_mul(2_654_435_761) % 97).into_bytes())
        .collect()
}

fn compressed(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        other => panic!("{other}"),
    }
}

/// Our server on a thread of its own, answering `/CODING` with
/// `original()` compressed in CODING (whatever the request asked for).
fn compressing_server() -> u16 {
    use http_body_util::{BodyExt, Full};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let service = nghttp2::server::service_fn(|req: http::Request<_>| async move {
                let coding = req.uri().path().trim_start_matches('/').to_string();
                let body = compressed(&coding, &original());
                let body = Full::new(bytes::Bytes::from(body)).map_err(
                    |never: std::convert::Infallible| -> nghttp2::server::BoxError {
                        match never {}
                    },
                );
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder()
                        .header("content-encoding", coding)
                        .body(body)
                        .unwrap(),
                )
            });
            let _ = nghttp2::server::Builder::new()
                .build()
                .serve(listener, service)
                .await;
        });
    });
    rx.recv().unwrap()
}

#[test]
fn what_it_asks_for_is_decoded_byte_exact() {
    let port = compressing_server();
    let base = format!("http://127.0.0.1:{port}");
    // Asked for by default (as nghttp): gzip and deflate, decoded.
    for coding in ["gzip", "deflate"] {
        let out = run(Command::new(BIN).arg(format!("{base}/{coding}")));
        assert!(out.status.success());
        assert!(out.stdout == original(), "{coding} not decoded");
    }
    // Not asked for: as it came.
    let out = run(Command::new(BIN).arg(format!("{base}/br")));
    assert!(out.stdout == compressed("br", &original()));
    // Asked for: decoded.
    let out = run(Command::new(BIN).args(["-H", "accept-encoding: br", &format!("{base}/br")]));
    assert!(out.stdout == original(), "br not decoded");
    // Asked for nothing: nothing decoded.
    let out =
        run(Command::new(BIN).args(["-H", "accept-encoding: identity", &format!("{base}/gzip")]));
    assert!(out.stdout == compressed("gzip", &original()));
    // -o writes the decoded body; -s counts the bytes as received.
    let dir = TempDir::new("h2fetch-decode");
    let file = dir.path().join("body");
    let out = run(Command::new(BIN)
        .arg("-s")
        .arg("-o")
        .arg(&file)
        .arg(format!("{base}/gzip")));
    assert!(out.status.success());
    assert!(std::fs::read(&file).unwrap() == original());
    let size = compressed("gzip", &original()).len() / 1024;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!(" 200 {size}K /gzip")), "{stdout}");
    // nghttp decodes gzip as well.
    if let Some(nghttp) = peer("nghttp") {
        let out = run(Command::new(nghttp).arg(format!("{base}/gzip")));
        assert!(out.stdout == original(), "nghttp does not decode?");
    }
}

#[test]
fn get_assets_fetches_what_nghttp_fetches() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    std::fs::write(
        dir.path().join("page.html"),
        "<html><head><link rel=\"stylesheet\" href=\"/style.css\">\
         <link rel=\"alternate\" href=\"/alt.xml\"><script src=\"app.js\"></script></head>\
         <body><a href=\"/index.html\">a link, not an asset</a><img src=\"/img.png#frag\">\
         <img src=\"http://elsewhere.example/x.png\"><img src=\"img.png\"></body></html>",
    )
    .unwrap();
    for (name, body) in [
        ("style.css", "body{}"),
        ("app.js", "x=1"),
        ("img.png", "PNG"),
    ] {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let url = format!("http://127.0.0.1:{}/page.html", server.port);
    let paths = |stdout: &[u8]| {
        let mut paths: Vec<String> = String::from_utf8_lossy(stdout)
            .lines()
            .skip_while(|l| *l != STATS_HEADER)
            .skip(1)
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect();
        paths.sort();
        paths
    };
    let out = run(Command::new(BIN).args(["-ans", &url]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = paths(&out.stdout);
    assert_eq!(ours, ["/app.js", "/img.png", "/page.html", "/style.css"]);
    if let Some(nghttp) = peer("nghttp") {
        let out = run(Command::new(nghttp).args(["-ans", &url]));
        assert_eq!(paths(&out.stdout), ours);
    }
    // Without -n the bodies come out in order: the page, then its assets.
    let out = run(Command::new(BIN).args(["-a", &url]));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("<html>"), "{stdout}");
    assert!(stdout.ends_with("</html>body{}x=1PNG"), "{stdout}");
}

#[test]
fn hexdump_prints_what_arrives_as_nghttp_does() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    let out = run(Command::new(BIN).args(["--hexdump", "-n", &url]));
    assert!(out.status.success());
    let ours = String::from_utf8(out.stdout).unwrap();
    // The server's SETTINGS (MAX_CONCURRENT_STREAMS 100) opens the first
    // dump; the body is in the ASCII column of a later one.
    assert!(
        ours.starts_with("00000000  00 00 06 04 00 00 00 00  00 00 03 00 00 00 64"),
        "{ours}"
    );
    assert!(ours.contains("|hi.|") || ours.contains("hi.|"), "{ours}");
    let shape = |text: &str| {
        text.lines().all(|l| {
            l == "*"
                || (l.len() == 8 && l.chars().all(|c| c.is_ascii_hexdigit()))
                || (l.len() > 60
                    && l[..8].chars().all(|c| c.is_ascii_hexdigit())
                    && l.ends_with('|'))
        })
    };
    assert!(shape(&ours), "{ours}");
    if let Some(nghttp) = peer("nghttp") {
        let out = run(Command::new(nghttp).args(["--hexdump", "-n", &url]));
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert!(shape(&theirs), "{theirs}");
        // The same first 15 bytes (nghttp's first read may stop there).
        let head = |t: &str| t.lines().next().map(|l| l[..56].to_string());
        assert_eq!(head(&ours), head(&theirs));
    }
}

#[test]
fn extpri_sets_each_urls_priority_field() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    let out = run(Command::new(BIN).args([
        "-nv", "--extpri", "u=1", "--extpri", "u=5,i", &url, &url, &url,
    ]));
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let priorities: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("priority: "))
        .collect();
    assert_eq!(priorities, ["u=1", "u=5,i", "u=5,i"], "{stdout}");
}

#[test]
fn expect_continue_holds_the_body_until_100() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    let out = run(Command::new(BIN)
        .args(["-nv", "--expect-continue", "-d"])
        .arg(dir.path().join("index.html"))
        .arg(&url));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let at = |needle: &str| {
        stdout
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {stdout}"))
    };
    assert!(at("expect: 100-continue") < at(":status: 100"), "{stdout}");
    assert!(at(":status: 100") < at("send DATA frame"), "{stdout}");
    assert!(at("send DATA frame") < at(":status: 200"), "{stdout}");
}

#[test]
fn header_table_size_is_announced_as_nghttp_does() {
    let Some(nghttpd) = peer("nghttpd") else {
        return;
    };
    let dir = htdocs();
    let server = start_nghttpd(&nghttpd, dir.path(), &[]);
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    let settings = |out: std::process::Output| {
        let stdout = String::from_utf8(out.stdout).unwrap();
        stdout
            .lines()
            .skip_while(|l| !l.contains("send SETTINGS frame"))
            .skip(1)
            .take_while(|l| l.starts_with("          "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let ours = settings(run(Command::new(BIN).args(["-nv", "-c", "8192", &url])));
    assert!(
        ours.contains(&"          [SETTINGS_HEADER_TABLE_SIZE(0x01):8192]".to_string()),
        "{ours:?}"
    );
    if let Some(nghttp) = peer("nghttp") {
        let theirs = settings(run(Command::new(nghttp).args(["-nv", "-c", "8192", &url])));
        assert_eq!(ours, theirs);
    }
}
