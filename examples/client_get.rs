//! Fetches a URL over HTTP/2 and prints the status, the header fields and
//! the body: `cargo run --example client_get -- https://nghttp2.org/`.

use bytes::Bytes;
use http_body_util::Empty;
use nghttp2::client::Builder;
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "https://nghttp2.org/".to_string());
    let uri: http::Uri = url.parse()?;
    let client = Builder::new().connect(&uri).await?;
    let request = http::Request::get(uri).body(Empty::<Bytes>::new())?;
    let response = client.send(request).await?;
    println!("{:?} {}", response.version(), response.status());
    for (name, value) in response.headers() {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!();
    let mut body = response.into_body();
    let mut stdout = tokio::io::stdout();
    while let Some(chunk) = body.chunk().await {
        stdout.write_all(&chunk?).await?;
    }
    stdout.flush().await?;
    client.close();
    client.closed().await?;
    Ok(())
}
