//! `h2serve`'s command line: bad combinations are one line and exit 2,
//! file problems one line, `--addr` takes host names, and nghttpd's
//! positional form `h2serve [OPTIONS] PORT [KEY CERT]`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use support::peers::{free_port, run, TempDir};

const H2SERVE: &str = env!("CARGO_BIN_EXE_h2serve");
const H2FETCH: &str = env!("CARGO_BIN_EXE_h2fetch");

fn keypair(dir: &Path, tag: &str) -> (PathBuf, PathBuf) {
    let cert = nghttp2::server::tls::SelfSigned::localhost().unwrap();
    let key_path = dir.join(format!("{tag}.key"));
    let cert_path = dir.join(format!("{tag}.crt"));
    std::fs::write(&key_path, cert.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_path, cert.cert_pem()).unwrap();
    (key_path, cert_path)
}

/// Runs h2serve with `args`: it must exit with `code` and one stderr line
/// containing `needle`, and print nothing on stdout.
fn refuses(args: &[&str], code: i32, needle: &str) {
    let out = run(Command::new(H2SERVE).args(args));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("h2serve: "), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: {needle:?} not in {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_combinations_are_one_line_and_exit_2() {
    let dir = TempDir::new("h2serve-cli");
    let (key, cert) = keypair(dir.path(), "a");
    let (key, cert) = (key.to_str().unwrap(), cert.to_str().unwrap());
    refuses(&["--no-tls", "--cert", cert, "--key", key], 2, "--no-tls");
    refuses(&["--no-tls", "8443", key, cert], 2, "--no-tls");
    refuses(&["-m", "0"], 2, "-m 0");
    refuses(&["--key", key], 2, "--key needs --cert");
    refuses(&["--cert", cert], 2, "--cert needs --key");
    refuses(&["8443", key], 2, "<CERT>");
    refuses(
        &["--key", key, "--cert", cert, "8443", key, cert],
        2,
        "not both",
    );
    refuses(
        &["--addr", "127.0.0.1:8443", "8443"],
        2,
        "PORT or in --addr",
    );
    refuses(&["--addr", "nonsense"], 2, "HOST:PORT");
    refuses(&["--addr", "localhost:http"], 2, "port number");
    refuses(&["--bogus"], 2, "--bogus");
}

#[test]
fn certificate_problems_are_one_line() {
    let dir = TempDir::new("h2serve-pem");
    let (key_a, cert_a) = keypair(dir.path(), "a");
    let (key_b, _) = keypair(dir.path(), "b");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM\n").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    refuses(
        &[
            "--addr",
            &addr,
            "--cert",
            "/nonexistent.pem",
            "--key",
            &s(&key_a),
        ],
        1,
        "/nonexistent.pem: No such file",
    );
    refuses(
        &["--addr", &addr, "--cert", &s(&garbage), "--key", &s(&key_a)],
        1,
        "no PEM certificate",
    );
    refuses(
        &[
            "--addr",
            &addr,
            "--cert",
            &s(&cert_a),
            "--key",
            &s(&garbage),
        ],
        1,
        "not a PEM private key",
    );
    refuses(
        &["--addr", &addr, "--cert", &s(&cert_a), "--key", &s(&key_b)],
        1,
        "does not match",
    );
}

#[test]
fn a_port_in_use_is_one_line_and_nothing_before_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    // The default: TLS with a self-signed certificate, whose fingerprint
    // must not be printed for a server that never starts.
    refuses(&["--addr", &addr], 1, "cannot listen on");
    refuses(&["--addr", &addr, "--no-tls"], 1, "in use");
}

/// A running h2serve, killed on drop.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts h2serve with `args` and waits for its `serving` line; returns
/// the URL it prints.
fn serve(args: &[&str]) -> (Serving, String) {
    let mut child = Command::new(H2SERVE)
        .arg("-q")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Serving(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("h2serve: serving ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(support::peers::WAIT)
        .expect("h2serve printed its URL");
    (child, url)
}

#[test]
fn addr_takes_host_names() {
    let (_server, url) = serve(&["--no-tls", "--addr", "localhost:0"]);
    assert!(url.starts_with("http://localhost:"), "{url}");
    let out = run(Command::new(H2FETCH).arg(&url));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello world\n");
}

#[test]
fn nghttpds_positional_form() {
    let dir = TempDir::new("h2serve-positional");
    let (key, cert) = keypair(dir.path(), "server");
    // h2c: `h2serve --no-tls PORT`.
    let port = free_port();
    let (_plain, url) = serve(&["--no-tls", &port.to_string()]);
    assert!(url.ends_with(&format!(":{port}/")), "{url}");
    let out = run(Command::new(H2FETCH).arg(format!("http://127.0.0.1:{port}/")));
    assert_eq!(out.stdout, b"hello world\n");
    // TLS: `h2serve PORT KEY CERT`, nghttpd's order.
    let port = free_port();
    let (_tls, _) = serve(&[
        &port.to_string(),
        key.to_str().unwrap(),
        cert.to_str().unwrap(),
    ]);
    let out = run(Command::new(H2FETCH)
        .arg("--cacert")
        .arg(&cert)
        .arg(format!("https://localhost:{port}/")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello world\n");
}

/// GETs `url` (h2c or TLS, any certificate) with the library client:
/// status, headers, body and trailers.
fn fetch(
    url: &str,
    method: &str,
) -> (
    http::StatusCode,
    http::HeaderMap,
    Vec<u8>,
    Option<http::HeaderMap>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let uri: http::Uri = url.parse().unwrap();
        let client = nghttp2::client::Builder::new()
            .danger_accept_invalid_certs(true)
            .connect(&uri)
            .await
            .unwrap();
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = client.send(request).await.unwrap();
        let (parts, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.chunk().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        (parts.status, parts.headers, bytes, body.trailers())
    })
}

#[test]
fn trailer_fields_follow_every_body() {
    let dir = TempDir::new("h2serve-trailer");
    std::fs::write(dir.path().join("a.txt"), "file\n").unwrap();
    let htdocs = dir.path().to_str().unwrap();
    for args in [
        vec!["--no-tls", "--addr", "127.0.0.1:0"],
        vec!["--addr", "127.0.0.1:0"],
        vec!["--no-tls", "--addr", "127.0.0.1:0", "-d", htdocs],
    ] {
        let mut args = args;
        args.extend(["--trailer", "x-checksum: abc", "--trailer", "X-Two:2"]);
        let (_server, url) = serve(&args);
        let url = url.replace("://localhost", "://127.0.0.1");
        let path = if args.contains(&"-d") { "a.txt" } else { "" };
        let (status, headers, body, trailers) = fetch(&format!("{url}{path}"), "GET");
        assert_eq!(status, 200, "{args:?}");
        assert!(!body.is_empty());
        assert_eq!(headers["trailer"], "x-checksum, x-two", "{args:?}");
        let trailers = trailers.expect("trailers");
        assert_eq!(trailers["x-checksum"], "abc");
        assert_eq!(trailers["x-two"], "2");
        assert_eq!(trailers.len(), 2);
        // Error pages have a body too.
        let (status, _, _, trailers) = fetch(&format!("{url}missing"), "GET");
        assert_eq!(status, 404);
        assert_eq!(trailers.expect("trailers on a 404")["x-two"], "2");
        // No body, no trailers.
        let (status, headers, body, trailers) = fetch(&format!("{url}{path}"), "HEAD");
        assert_eq!(status, 200);
        assert!(body.is_empty());
        assert!(trailers.is_none(), "{trailers:?}");
        assert!(headers.get("trailer").is_none());
    }
    refuses(&["--trailer", ":status: 200"], 2, "not a header name");
    refuses(&["--trailer", "novalue"], 2, "'name: value'");
}

/// A directory with a small and a large (past the in-memory size) file.
fn htdocs(tag: &str) -> (TempDir, Vec<u8>) {
    let dir = TempDir::new(tag);
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    std::fs::write(dir.path().join("small.txt"), "small\n").unwrap();
    (dir, big)
}

#[test]
fn no_content_length_for_files() {
    let (dir, big) = htdocs("h2serve-nocl");
    let root = dir.path().to_str().unwrap();
    for (flag, told) in [(None, true), (Some("--no-content-length"), false)] {
        let mut args = vec!["--no-tls", "--addr", "127.0.0.1:0", "-d", root];
        args.extend(flag);
        let (_server, url) = serve(&args);
        let url = url.replace("://localhost", "://127.0.0.1");
        for (name, content) in [("big.bin", &big[..]), ("small.txt", b"small\n")] {
            let (status, headers, body, _) = fetch(&format!("{url}{name}"), "GET");
            assert_eq!(status, 200);
            assert_eq!(body, content, "{name} {flag:?}");
            assert_eq!(
                headers.get("content-length").is_some(),
                told,
                "{name} {flag:?}: {headers:?}"
            );
        }
        // Error pages keep theirs.
        let (status, headers, _, _) = fetch(&format!("{url}missing"), "GET");
        assert_eq!(status, 404);
        assert!(headers.contains_key("content-length"));
    }
}

#[test]
fn mime_types_file() {
    let (dir, _) = htdocs("h2serve-mime");
    std::fs::write(dir.path().join("page.foo"), "foo\n").unwrap();
    let table = dir.path().join("mime.types");
    std::fs::write(
        &table,
        "# comment\napplication/x-foo\t\tfoo FOOX\ntext/x-small txt\n\nbroken\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    let (_server, url) = serve(&[
        "--no-tls",
        "--addr",
        "127.0.0.1:0",
        "-d",
        root,
        "--mime-types-file",
        table.to_str().unwrap(),
    ]);
    let url = url.replace("://localhost", "://127.0.0.1");
    let (_, headers, _, _) = fetch(&format!("{url}page.foo"), "GET");
    assert_eq!(headers["content-type"], "application/x-foo");
    let (_, headers, _, _) = fetch(&format!("{url}small.txt"), "GET");
    assert_eq!(headers["content-type"], "text/x-small");
    // Not in the table: no content-type, as nghttpd.
    let (_, headers, _, _) = fetch(&format!("{url}big.bin"), "GET");
    assert!(headers.get("content-type").is_none(), "{headers:?}");

    // The default: /etc/mime.types when present, else the built-in table.
    let (_default, url) = serve(&["--no-tls", "--addr", "127.0.0.1:0", "-d", root]);
    let url = url.replace("://localhost", "://127.0.0.1");
    let (_, headers, _, _) = fetch(&format!("{url}small.txt"), "GET");
    let expected = match nghttp2::server::files::MimeTypes::from_file("/etc/mime.types") {
        Ok(system) => system
            .get(Path::new("small.txt"))
            .expect("/etc/mime.types has txt")
            .clone(),
        Err(_) => http::HeaderValue::from_static("text/plain"),
    };
    assert_eq!(headers["content-type"], expected);

    refuses(
        &[
            "--no-tls",
            "-d",
            root,
            "--mime-types-file",
            "/nonexistent.types",
        ],
        1,
        "mime types file /nonexistent.types: No such file",
    );
    refuses(
        &["--no-tls", "-d", root, "--mime-types-file", root],
        1,
        "mime types file",
    );
}

#[test]
fn error_gzip_compresses_error_pages() {
    use std::io::Read;
    let (dir, _) = htdocs("h2serve-egzip");
    let root = dir.path().to_str().unwrap();
    let (_plain, url) = serve(&["--no-tls", "--addr", "127.0.0.1:0", "-d", root]);
    let url = url.replace("://localhost", "://127.0.0.1");
    let (status, headers, page, _) = fetch(&format!("{url}missing"), "GET");
    assert_eq!(status, 404);
    assert!(headers.get("content-encoding").is_none());
    let (_gzip, url) = serve(&["--no-tls", "--addr", "127.0.0.1:0", "-d", root, "-e"]);
    let url = url.replace("://localhost", "://127.0.0.1");
    let (status, headers, body, _) = fetch(&format!("{url}missing"), "GET");
    assert_eq!(status, 404);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["content-length"], body.len().to_string());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, page);
    // Files themselves are not compressed.
    let (status, headers, body, _) = fetch(&format!("{url}small.txt"), "GET");
    assert_eq!(status, 200);
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(body, b"small\n");
    // curl asking for gzip decodes it to the same page.
    if let Some(curl) = support::peers::peer("curl") {
        let out = run(Command::new(curl).args([
            "-sS",
            "--compressed",
            "--http2-prior-knowledge",
            &format!("{url}missing"),
        ]));
        assert_eq!(out.stdout, page);
    }
}

/// A self-signed client certificate (extended key usage clientAuth) and
/// its key, written as `{tag}.crt` and `{tag}.key`.
fn client_keypair(dir: &Path, tag: &str) -> (PathBuf, PathBuf) {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage};
    use openssl::x509::{X509NameBuilder, X509};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, tag).unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    cert.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = cert.build();
    let (cert_path, key_path) = (
        dir.join(format!("{tag}.crt")),
        dir.join(format!("{tag}.key")),
    );
    std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (cert_path, key_path)
}

/// GET `url` with the library client presenting `cert` (or none): the
/// status, or the error's text.
fn fetch_with_cert(url: &str, cert: Option<(&Path, &Path)>) -> Result<u16, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let uri: http::Uri = url.parse().unwrap();
        let mut builder = nghttp2::client::Builder::new().danger_accept_invalid_certs(true);
        if let Some((cert, key)) = cert {
            builder = builder.client_cert(cert, key);
        }
        let client = builder.connect(&uri).await.map_err(|e| e.to_string())?;
        let request = http::Request::get(uri)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = client.send(request).await.map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    })
}

#[test]
fn verify_client_asks_for_and_checks_a_certificate() {
    let dir = TempDir::new("h2serve-mtls");
    let (trusted, trusted_key) = client_keypair(dir.path(), "trusted");
    let (stranger, stranger_key) = client_keypair(dir.path(), "stranger");
    let (_server, url) = serve(&[
        "--addr",
        "127.0.0.1:0",
        "-V",
        "--cacert",
        trusted.to_str().unwrap(),
    ]);
    assert_eq!(
        fetch_with_cert(&url, Some((&trusted, &trusted_key))),
        Ok(200)
    );
    let refused = fetch_with_cert(&url, None);
    assert!(refused.is_err(), "no certificate: {refused:?}");
    let refused = fetch_with_cert(&url, Some((&stranger, &stranger_key)));
    assert!(refused.is_err(), "untrusted certificate: {refused:?}");
    // curl as the peer, over HTTP/2 and HTTP/1.1.
    if let Some(curl) = support::peers::peer("curl") {
        for version in ["--http2", "--http1.1"] {
            let out = run(Command::new(&curl)
                .args(["-sk", version, "-o", "/dev/null", "-w", "%{http_code}"])
                .arg("--cert")
                .arg(&trusted)
                .arg("--key")
                .arg(&trusted_key)
                .arg(&url));
            assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "{version}");
            let out = run(Command::new(&curl).args(["-sk", version, &url]));
            assert!(
                !out.status.success(),
                "{version}: served without a certificate"
            );
        }
    }
    // Without -V no certificate is asked for.
    let (_plain, url) = serve(&["--addr", "127.0.0.1:0"]);
    assert_eq!(fetch_with_cert(&url, None), Ok(200));

    let ca = trusted.to_str().unwrap();
    refuses(&["--no-tls", "-V"], 2, "--verify-client needs TLS");
    refuses(&["--cacert", ca], 2, "give -V");
    let port = free_port().to_string();
    refuses(
        &[
            "--addr",
            &format!("127.0.0.1:{port}"),
            "-V",
            "--cacert",
            "/nonexistent.pem",
        ],
        1,
        "CA certificates /nonexistent.pem: No such file",
    );
}

/// `nghttp -nv` on two URLs of `url` (one connection): the trace.
fn nghttp_trace(nghttp: &Path, url: &str) -> String {
    let out = run(Command::new(nghttp).args(["-nv", url, &format!("{url}?again")]));
    let trace = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{trace}");
    trace
}

/// The lengths of the HEADERS frames nghttp received, in order.
fn received_headers_lengths(trace: &str) -> Vec<u64> {
    trace
        .lines()
        .filter_map(|line| line.split("recv HEADERS frame <length=").nth(1))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn header_table_sizes() {
    let Some(nghttp) = support::peers::peer("nghttp") else {
        return;
    };
    // -c: announced in SETTINGS.
    let (_server, url) = serve(&["--no-tls", "--addr", "127.0.0.1:0", "-c", "8K"]);
    let url = url.replace("://localhost", "://127.0.0.1");
    let trace = nghttp_trace(&nghttp, &url);
    assert!(
        trace.contains("[SETTINGS_HEADER_TABLE_SIZE(0x01):8192]"),
        "{trace}"
    );
    // By default the encoder indexes: the second response's identical
    // headers take fewer bytes.
    let lengths = received_headers_lengths(&trace);
    assert_eq!(lengths.len(), 2, "{trace}");
    assert!(lengths[1] + 10 < lengths[0], "{lengths:?}\n{trace}");
    // With an encoder table of 0 nothing is indexed: the same fields take
    // the same bytes twice.
    let (_server, url) = serve(&[
        "--no-tls",
        "--addr",
        "127.0.0.1:0",
        "--encoder-header-table-size",
        "0",
    ]);
    let url = url.replace("://localhost", "://127.0.0.1");
    let trace = nghttp_trace(&nghttp, &url);
    assert!(!trace.contains("SETTINGS_HEADER_TABLE_SIZE"), "{trace}");
    let lengths = received_headers_lengths(&trace);
    assert_eq!(lengths.len(), 2, "{trace}");
    // (The first block starts with a one-byte table size update to 0.)
    assert!(lengths[0] <= lengths[1] + 1, "{lengths:?}\n{trace}");
    refuses(&["-c", "lots"], 2, "not a size");
}

/// POSTs to `/` of the built-in site (405 whatever the body) on `port`
/// with a body sent in two parts; with `early`, waits for the response
/// before sending the second part and ending the body (it must come),
/// else sends all and then waits.
fn post_in_two_parts(port: u16, early: bool) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let uri: http::Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let client = nghttp2::client::Builder::new().connect(&uri).await.unwrap();
        let (mut sender, body) = nghttp2::client::body_channel();
        let request = http::Request::post(uri).body(body).unwrap();
        let response = tokio::spawn(async move { client.send(request).await.map(|r| r.status()) });
        sender
            .send_data(bytes::Bytes::from_static(b"first "))
            .await
            .unwrap();
        let status = if early {
            let status = tokio::time::timeout(support::peers::WAIT, response)
                .await
                .expect("a response while the request body is open")
                .unwrap()
                .unwrap();
            // The stream may be closed by now (the server answered and
            // may have reset the rest): the second part may be refused.
            let _ = sender.send_data(bytes::Bytes::from_static(b"second")).await;
            sender.finish();
            status
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            sender
                .send_data(bytes::Bytes::from_static(b"second"))
                .await
                .unwrap();
            sender.finish();
            response.await.unwrap().unwrap()
        };
        status.as_u16()
    })
}

/// The index in the `-v` trace of the first frame line with all of
/// `needles`.
fn trace_index(trace: &str, needles: &[&str]) -> usize {
    trace
        .lines()
        .position(|line| needles.iter().all(|n| line.contains(n)))
        .unwrap_or_else(|| panic!("{needles:?} not in\n{trace}"))
}

#[test]
fn early_response_answers_before_the_request_ends() {
    // Early: the response comes while the request body is still open.
    let server = support::peers::start_h2serve(&["--no-tls", "--early-response"]);
    assert_eq!(post_in_two_parts(server.port, true), 405);
    // By default, as nghttpd, the response follows the request's end.
    let server = support::peers::start_h2serve(&["--no-tls", "-v"]);
    assert_eq!(post_in_two_parts(server.port, false), 405);
    let trace = server.wait_output("the response's DATA", |out| {
        out.contains("send DATA frame") && out.contains("stream_id=1>")
    });
    let request_end = trace_index(&trace, &["recv DATA frame", "flags=0x01", "stream_id=1>"]);
    let response = trace_index(&trace, &["send HEADERS frame", "stream_id=1>"]);
    assert!(request_end < response, "{trace}");
}
