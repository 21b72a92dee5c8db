//! Headless Chromium opens a WebSocket over `wss://` to the server, which
//! offers RFC 8441 extended CONNECT: the browser picks HTTP/2 and the
//! handler's upgrade echoes through it.

mod support;

use std::convert::Infallible;
use std::process::Command;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::Full;
use nghttp2::server::{service_fn, tls, upgrade, Builder, RequestBody};
use support::peers::{peer, run, TempDir};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The page: opens `wss://host/ws`, sends a line, and shows the echo.
const PAGE: &str = r#"<!doctype html>
<title>pending</title>
<body>pending</body>
<script>
const ws = new WebSocket("wss://" + location.host + "/ws");
ws.onopen = () => ws.send("ping from chromium");
ws.onmessage = (e) => { document.body.textContent = "echo: " + e.data; ws.close(); };
ws.onerror = () => { document.body.textContent = "websocket error"; };
</script>
"#;

/// `/` is the page; `/ws` a WebSocket that answers each text message
/// with the message and the HTTP version its upgrade came on.
async fn site(mut request: Request<RequestBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        let mut response = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        return Ok(response);
    }
    let version = request.version();
    let key = request.headers().get("sec-websocket-key").cloned();
    let on_upgrade = upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(stream) = on_upgrade.await else { return };
        let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                let answer = format!("{} over {version:?}", text.as_str());
                if ws.send(Message::text(answer)).await.is_err() {
                    break;
                }
            }
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    if version != Version::HTTP_2 {
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        let accept = derive_accept_key(key.as_ref().map_or(&b""[..], |k| k.as_bytes()));
        headers.insert(
            "sec-websocket-accept",
            HeaderValue::from_str(&accept).unwrap(),
        );
    }
    Ok(response)
}

#[test]
fn chromium_websocket_over_wss_picks_http2() {
    let Some(chromium) = peer("chromium") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls::SelfSigned::localhost().unwrap().acceptor().unwrap();
    runtime.spawn(async move {
        Builder::new()
            .enable_connect_protocol(true)
            .serve_tls(listener, acceptor, service_fn(site))
            .await
    });
    // `--virtual-time-budget` can let the page be dumped before the
    // WebSocket over real sockets got anywhere: the DOM then still says
    // "pending", which tests nothing, and the page is loaded again (at most
    // three times). Any other page (an error, HTTP/1.1) fails at once.
    let mut attempts = 0;
    let (dom, stderr) = loop {
        attempts += 1;
        let profile = TempDir::new("chromium-profile");
        let out = run(Command::new(&chromium).args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--ignore-certificate-errors",
            &format!("--user-data-dir={}", profile.path().display()),
            "--virtual-time-budget=20000",
            "--dump-dom",
            &format!("https://localhost:{port}/"),
        ]));
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !dom.contains("<body>pending") || attempts == 3 {
            break (dom, stderr);
        }
        println!("attempt {attempts}: the page was dumped while still pending; loading it again");
    };
    assert!(
        dom.contains("echo: ping from chromium over HTTP/2.0"),
        "{dom}\n{stderr}"
    );
    drop(runtime);
}
