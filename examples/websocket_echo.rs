//! A WebSocket echo server with `tokio-tungstenite` on nghttp2's server,
//! over HTTP/1.1 (`Upgrade: websocket`, 101) and over HTTP/2 (RFC 8441
//! extended CONNECT) on one cleartext port, through one upgrade API:
//! `upgrade::on(&mut request)` gives an `AsyncRead + AsyncWrite` either
//! way.
//!
//! ```text
//! cargo run --example websocket_echo    # ws://127.0.0.1:3001/
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::Empty;
use nghttp2::server::{service_fn, upgrade, Builder, RequestBody};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

/// Accepts a WebSocket over either protocol and echoes its messages.
async fn websocket(
    mut request: Request<RequestBody>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let h2 = request.version() == Version::HTTP_2;
    let is_websocket = if h2 {
        request
            .extensions()
            .get::<upgrade::Protocol>()
            .is_some_and(|p| p.as_str() == "websocket")
    } else {
        request
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
    };
    let key = request.headers().get("sec-websocket-key").cloned();
    if !is_websocket || (!h2 && key.is_none()) {
        let mut response = Response::new(Empty::new());
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let on_upgrade = upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(stream) = on_upgrade.await else { return };
        let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut response = Response::new(Empty::new());
    if !h2 {
        // RFC 6455 section 4.2.2.
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        let accept = derive_accept_key(key.as_ref().map_or(&b""[..], |k| k.as_bytes()));
        headers.insert(
            "sec-websocket-accept",
            HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
        );
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("serving ws://{}/", listener.local_addr()?);
    Builder::new()
        .enable_connect_protocol(true)
        .serve(listener, service_fn(websocket))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
