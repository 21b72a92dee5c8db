//! An axum `Router` on nghttp2's server, unchanged: HTTP/2 (prior
//! knowledge or `Upgrade: h2c`) and HTTP/1.1 on one cleartext port, axum's
//! `ConnectInfo<SocketAddr>` answering, and Ctrl-C shutting down
//! gracefully as `axum::serve(..).with_graceful_shutdown(..)` would.
//!
//! ```text
//! cargo run --example axum_connect_info
//! curl --http1.1 http://127.0.0.1:3000/
//! curl --http2 http://127.0.0.1:3000/
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! ```

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Extension};
use axum::routing::get;
use axum::Router;
use http::Version;
use nghttp2::server::{Builder, ConnectionInfo};

async fn hello(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(info): Extension<ConnectionInfo>,
    version: Version,
) -> String {
    let local = info.local_addr().map(|a| a.to_string()).unwrap_or_default();
    format!("hello {peer}, over {version:?} to {local}\n")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new().route("/", get(hello));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("serving http://{}/", listener.local_addr()?);
    Builder::new()
        .serve_make(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
