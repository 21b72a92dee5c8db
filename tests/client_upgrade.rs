//! HTTP/1.1 `Upgrade: h2c` (RFC 7540 section 3.2): the library's
//! `Builder::connect_upgrade` and `h2fetch -u`, against a fake server that
//! upgrades (a `Session` after `nghttp2_session_upgrade2`) and against
//! nghttpd, which answers only prior knowledge.

mod support;

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use nghttp2::client::Builder;
use nghttp2::session::{HeaderRef, Options, Session, Setting, SettingId, StreamId};
use support::{peers, Recorder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(60);
const H2FETCH: &str = env!("CARGO_BIN_EXE_h2fetch");

/// A server that upgrades every connection: it answers the upgrade
/// request (stream 1) with `upgraded <path>` and later requests with
/// `h2 <path>`; the HTTP2-Settings it got is checked by the caller through
/// the returned channel.
async fn upgrading_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen_tx = seen_tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = vec![0; 16 * 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                let text = String::from_utf8_lossy(&head[..end]).to_string();
                let _ = seen_tx.send(text.clone());
                let path = text.split_whitespace().nth(1).unwrap().to_string();
                let settings = text
                    .lines()
                    .find_map(|l| l.strip_prefix("http2-settings: "))
                    .unwrap();
                let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(settings.trim())
                    .unwrap();
                sock.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
                )
                .await
                .unwrap();
                let recorder = Recorder::answering(|cx, id, record| {
                    let path = String::from_utf8_lossy(record.header(":path").unwrap()).to_string();
                    cx.submit_response(
                        id,
                        [HeaderRef::new(b":status", b"200")],
                        Some(Box::new(format!("h2 {path}").into_bytes())),
                    )
                    .unwrap();
                });
                let mut session = Session::server(recorder, &Options::new()).unwrap();
                session.upgrade(&payload, false).unwrap();
                session
                    .submit_settings(&[Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)])
                    .unwrap();
                session
                    .submit_response(
                        StreamId::new(1).unwrap(),
                        [HeaderRef::new(b":status", b"200")],
                        Some(Box::new(format!("upgraded {path}").into_bytes())),
                    )
                    .unwrap();
                // What followed the request head is HTTP/2 already.
                if session.recv(&head[end..]).is_err() {
                    return;
                }
                let mut out = Vec::new();
                loop {
                    out.clear();
                    if session.send(&mut out).is_err() || sock.write_all(&out).await.is_err() {
                        return;
                    }
                    if session.is_done() {
                        return;
                    }
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if session.recv(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (base, seen)
}

#[tokio::test]
async fn connect_upgrade_answers_stream_1_then_speaks_http2() {
    let (base, mut seen) = upgrading_server().await;
    tokio::time::timeout(LIMIT, async {
        let request = Request::get(format!("{base}/first?x=1"))
            .header("accept", "*/*")
            .body(())
            .unwrap();
        let (client, response) = Builder::new().connect_upgrade(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"upgraded /first?x=1");
        let head = seen.recv().await.unwrap();
        assert!(head.starts_with("GET /first?x=1 HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("upgrade: h2c\r\n"), "{head}");
        assert!(
            head.contains("http2-settings: AAMAAABkAAQAAP__\r\n"),
            "{head}"
        );
        let response = client
            .send(Request::get("/second").body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"h2 /second");
        assert_eq!(
            client
                .send(Request::get("/third").body(Empty::<Bytes>::new()).unwrap())
                .await
                .unwrap()
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes(),
            "h2 /third"
        );
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn h2fetch_upgrades_and_names_a_server_that_does_not() {
    let (base, _seen) = upgrading_server().await;
    let urls = [format!("{base}/a"), format!("{base}/b")];
    let out = tokio::task::spawn_blocking(move || {
        peers::run(Command::new(H2FETCH).arg("-uv").args(&urls))
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("] HTTP Upgrade request\nGET /a HTTP/1.1\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("] HTTP Upgrade response\nHTTP/1.1 101 Switching Protocols\n"),
        "{stdout}"
    );
    assert!(stdout.contains("] HTTP Upgrade success\n"), "{stdout}");
    assert!(stdout.contains("upgraded /a"), "{stdout}");
    assert!(stdout.contains("h2 /b"), "{stdout}");
    // The upgrade request is stream 1, the next request stream 3.
    assert!(stdout.contains("send HEADERS frame <length="), "{stdout}");
    assert!(stdout.contains("stream_id=3>"), "{stdout}");

    let Some(nghttpd) = peers::peer("nghttpd") else {
        return;
    };
    let dir = peers::TempDir::new("upgrade-htdocs");
    std::fs::write(dir.path().join("index.html"), b"hi\n").unwrap();
    let server = peers::start_nghttpd(&nghttpd, dir.path(), &[]);
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    let out =
        tokio::task::spawn_blocking(move || peers::run(Command::new(H2FETCH).args(["-u", &url])))
            .await
            .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("without upgrading"), "{stderr}");
}

#[tokio::test]
async fn h2fetch_upgrades_to_h2serve_with_one_settings_frame() {
    let server = tokio::task::spawn_blocking(|| peers::start_h2serve(&["--no-tls"]))
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let out = tokio::task::spawn_blocking(move || {
        peers::run(Command::new(H2FETCH).args(["-uv", &url, &url]))
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("] HTTP Upgrade success\n"), "{stdout}");
    assert_eq!(stdout.matches("hello world\n").count(), 2, "{stdout}");
    // nghttp2_session_upgrade2 submits the client's SETTINGS: once.
    let settings = stdout
        .lines()
        .filter(|l| l.contains("send SETTINGS frame") && !l.contains("flags=0x01"))
        .count();
    assert_eq!(settings, 1, "{stdout}");
}
