//! A client and a server exchange JSON lines over one HTTP/2 stream, as in
//! the README of Go's h2conn: the server reads request-body lines and
//! answers each with a response-body line while the request is still open.
//!
//! `cargo run --example full_duplex`

use std::convert::Infallible;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use nghttp2::client::{body_channel, Builder};
use nghttp2::server::{self, service_fn, RequestBody};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The server's side: for every `{"n":N}` line, answer `{"n":N,"square":N*N}`.
async fn squares(
    request: http::Request<RequestBody>,
) -> Result<Response<nghttp2::client::ChannelBody>, Infallible> {
    let (mut tx, body) = body_channel();
    let mut incoming = request.into_body();
    tokio::spawn(async move {
        let mut pending = Vec::new();
        while let Some(Ok(frame)) = incoming.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            pending.extend_from_slice(&data);
            while let Some(at) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=at).collect();
                let text = String::from_utf8_lossy(&line);
                let n: i64 = text
                    .trim()
                    .trim_start_matches("{\"n\":")
                    .trim_end_matches('}')
                    .parse()
                    .unwrap_or(0);
                let answer = format!("{{\"n\":{n},\"square\":{}}}\n", n * n);
                if tx.send_data(Bytes::from(answer)).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(Response::new(body))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = server::Builder::new().build();
    let running = server.clone();
    tokio::spawn(async move { running.serve(listener, service_fn(squares)).await });

    let client = Builder::new()
        .connect(&format!("http://{addr}").parse()?)
        .await?;
    let response = client
        .duplex(http::Request::post("/squares").body(())?)
        .await?;
    println!("status {}", response.status());
    let (read, mut write) = tokio::io::split(response.into_body());
    let mut lines = BufReader::new(read).lines();
    for n in 1..=5 {
        let line = format!("{{\"n\":{n}}}");
        println!("client -> {line}");
        write.write_all(format!("{line}\n").as_bytes()).await?;
        if let Some(answer) = lines.next_line().await? {
            println!("client <- {answer}");
        }
    }
    write.shutdown().await?;
    client.close();
    client.closed().await?;
    server.shutdown();
    Ok(())
}
