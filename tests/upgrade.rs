//! One upgrade API for both protocols: a WebSocket echo (tokio-tungstenite)
//! over HTTP/1.1 (101) and over HTTP/2 extended CONNECT (RFC 8441, the h2
//! crate as client); and what happens when the setting is off, when the
//! handler never takes the upgrade, and when it refuses.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::Empty;
use nghttp2::server::{service_fn, upgrade, Builder, RequestBody};
use nghttp2::Reason;
use support::wire::{self, RawConn};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const LIMIT: Duration = Duration::from_secs(60);

/// What `/refused`'s upgrade gave: 0 not yet, 1 an error (as it should),
/// 2 a stream.
static REFUSED_UPGRADE: AtomicU8 = AtomicU8::new(0);

/// `/ws` accepts a WebSocket and echoes; `/raw` echoes bytes; `/untaken`
/// answers 200 without taking the upgrade; `/refused` takes it, answers
/// 403, and records in [`REFUSED_UPGRADE`] what the upgrade gave.
async fn site(mut request: Request<RequestBody>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let h2 = request.version() == Version::HTTP_2;
    let path = request.uri().path().to_string();
    let key = request.headers().get("sec-websocket-key").cloned();
    if path == "/untaken" {
        return Ok(Response::new(Empty::new()));
    }
    let on_upgrade = upgrade::on(&mut request);
    if path == "/refused" {
        // Refusing: the upgrade never comes.
        tokio::spawn(async move {
            let outcome = if on_upgrade.await.is_err() { 1 } else { 2 };
            REFUSED_UPGRADE.store(outcome, Ordering::SeqCst);
        });
        let mut response = Response::new(Empty::new());
        *response.status_mut() = StatusCode::FORBIDDEN;
        return Ok(response);
    }
    tokio::spawn(async move {
        let stream = on_upgrade.await.expect("upgraded");
        if path == "/raw" {
            let (mut rd, mut wr) = tokio::io::split(stream);
            tokio::io::copy(&mut rd, &mut wr).await.unwrap();
            wr.shutdown().await.unwrap();
            return;
        }
        let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut response = Response::new(Empty::new());
    if !h2 {
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        let accept = derive_accept_key(key.unwrap().as_bytes());
        headers.insert(
            "sec-websocket-accept",
            HeaderValue::from_str(&accept).unwrap(),
        );
    }
    Ok(response)
}

async fn start(builder: Builder) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { builder.serve(listener, service_fn(site)).await });
    addr
}

/// Sends `messages` and expects each back.
async fn echo_round<S>(ws: &mut WebSocketStream<S>, messages: Vec<Message>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for message in messages {
        ws.send(message.clone()).await.unwrap();
        let back = ws.next().await.expect("an answer").unwrap();
        assert_eq!(back, message);
    }
}

fn messages() -> Vec<Message> {
    vec![
        Message::text("hello over the upgrade"),
        Message::binary(vec![7u8; 1 << 20]),
        Message::text("bye"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_over_http1() {
    let addr = start(Builder::new()).await;
    let run = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        echo_round(&mut ws, messages()).await;
        ws.close(None).await.unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}

/// An h2 client stream as `AsyncRead + AsyncWrite`.
struct H2Io {
    send: h2::SendStream<Bytes>,
    recv: h2::RecvStream,
    chunk: Bytes,
}

impl AsyncRead for H2Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.chunk.is_empty() {
                let n = self.chunk.len().min(buf.remaining());
                buf.put_slice(&self.chunk[..n]);
                self.chunk.advance(n);
                return Poll::Ready(Ok(()));
            }
            match self.recv.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(std::io::Error::other(e))),
                Poll::Ready(Some(Ok(data))) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.chunk = data;
                }
            }
        }
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.send.reserve_capacity(buf.len().min(64 * 1024));
        match self.send.poll_capacity(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(std::io::Error::other(e))),
            Poll::Ready(Some(Ok(n))) => {
                let n = n.min(buf.len());
                self.send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                    .map_err(std::io::Error::other)?;
                Poll::Ready(Ok(n))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let _ = self.send.send_data(Bytes::new(), true);
        Poll::Ready(Ok(()))
    }
}

/// Opens an extended CONNECT stream for `protocol` on `path`; answers
/// the status and, on 2xx, the stream.
async fn extended_connect(addr: SocketAddr, path: &str) -> (StatusCode, Option<H2Io>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    while !client.is_extended_connect_protocol_enabled() {
        // The server's SETTINGS is read by the connection task.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://{addr}{path}"))
        .body(())
        .unwrap();
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from("websocket"));
    let (response, send) = client.send_request(request, false).unwrap();
    let response = response.await.unwrap();
    let status = response.status();
    let io = status.is_success().then(|| H2Io {
        send,
        recv: response.into_body(),
        chunk: Bytes::new(),
    });
    (status, io)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_over_http2_extended_connect() {
    let addr = start(Builder::new().enable_connect_protocol(true)).await;
    let run = async {
        let (status, io) = extended_connect(addr, "/ws").await;
        assert_eq!(status, StatusCode::OK);
        let mut ws = WebSocketStream::from_raw_socket(io.unwrap(), Role::Client, None).await;
        echo_round(&mut ws, messages()).await;
        ws.close(None).await.unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_bytes_echo_and_end_over_extended_connect() {
    let addr = start(Builder::new().enable_connect_protocol(true)).await;
    let run = async {
        let (status, io) = extended_connect(addr, "/raw").await;
        assert_eq!(status, StatusCode::OK);
        let io = io.unwrap();
        let (mut rd, mut wr) = tokio::io::split(io);
        // 4 MiB through 256 KiB windows and a 64 KiB pipe: flow control
        // both ways.
        let data: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            wr.write_all(&sent).await.unwrap();
            wr.shutdown().await.unwrap();
        });
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data);
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untaken_and_refused_upgrades_end_cleanly() {
    let addr = start(Builder::new().enable_connect_protocol(true)).await;
    let run = async {
        // The handler answers 200 without taking the upgrade: the stream
        // ends with the (empty) response.
        let (status, io) = extended_connect(addr, "/untaken").await;
        assert_eq!(status, StatusCode::OK);
        let mut io = io.unwrap();
        let mut rest = Vec::new();
        io.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        // The handler takes it and answers 403: no upgrade.
        let (status, io) = extended_connect(addr, "/refused").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(io.is_none());
        while REFUSED_UPGRADE.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            REFUSED_UPGRADE.load(Ordering::SeqCst),
            1,
            "the upgrade failed"
        );
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_connect_without_the_setting_is_a_protocol_error() {
    let addr = start(Builder::new()).await;
    let run = async {
        let mut conn = RawConn::handshake(addr, &[]).await;
        let block = wire::fields_block(&[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", "/ws"),
            (":authority", "127.0.0.1"),
        ]);
        conn.send(&wire::headers(1, &block, wire::END_HEADERS))
            .await
            .unwrap();
        let response = conn.response(1).await;
        // nghttp2 1.68 makes this HTTP messaging error a connection error
        // (RFC 9113 section 5.4.1 allows it), as with the others.
        assert_eq!(
            response.goaway,
            Some(Reason::PROTOCOL_ERROR),
            "{response:?}"
        );
        assert_eq!(response.status, None, "the handler is not called");
        assert!(response.closed);
        // Others are still served.
        assert_eq!(wire::served(addr, "/untaken").await.status, Some(200));
    };
    timeout(LIMIT, run).await.expect("timed out");
}
