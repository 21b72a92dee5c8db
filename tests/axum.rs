//! axum 0.8 on this server, unchanged: a `Router` with
//! `into_make_service_with_connect_info::<SocketAddr>()` answers its
//! `ConnectInfo<SocketAddr>` over HTTP/2 and HTTP/1.1; and graceful
//! shutdown as a future, as `axum::serve` has it.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Extension};
use axum::routing::get;
use axum::Router;
use http::{Request, StatusCode};
use nghttp2::server::{Builder, ConnectionInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::time::timeout;

/// A hang guard, not a speed requirement.
const LIMIT: Duration = Duration::from_secs(60);

async fn h2_get(addr: SocketAddr, path: &str) -> (SocketAddr, StatusCode, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let (mut client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let request = Request::get(format!("http://{addr}{path}"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let response = response.await.unwrap();
    let status = response.status();
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        text.extend_from_slice(&chunk);
    }
    (local, status, String::from_utf8(text).unwrap())
}

async fn h1_get(addr: SocketAddr, path: &str) -> (SocketAddr, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    (local, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_info_answers_over_http2_and_http1() {
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        Builder::new()
            .serve_make(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let run = async {
        let (local, status, text) = h2_get(addr, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(text, local.to_string());
        let (local, answer) = h1_get(addr, "/").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with(&format!("\r\n\r\n{local}")), "{answer}");
        stop.send(()).unwrap();
        serving.await.unwrap().unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_reads_the_connection_info_extension() {
    let app = Router::new().route(
        "/",
        get(|Extension(info): Extension<ConnectionInfo>| async move {
            format!(
                "{} {}",
                info.peer_addr().unwrap(),
                info.local_addr().unwrap()
            )
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Builder::new().build();
    let serving = tokio::spawn(server.serve(listener, app).into_future());
    let run = async {
        let (local, status, text) = h2_get(addr, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(text, format!("{local} {addr}"));
        server.shutdown();
        serving.await.unwrap().unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}

/// A router whose `/slow` waits for `release`, to have a request in
/// flight when the shutdown signal comes.
fn slow_app(entered: Arc<Notify>, release: Arc<Semaphore>) -> Router {
    Router::new().route("/", get(|| async { "fast" })).route(
        "/slow",
        get(move || async move {
            entered.notify_one();
            release.acquire().await.unwrap().forget();
            "slow done"
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_requests_in_flight_finish_on_both_protocols() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Semaphore::new(0));
    let app = slow_app(entered.clone(), release.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        Builder::new()
            .serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let run = async {
        // An HTTP/2 request and an HTTP/1.1 request in flight.
        let h2 = tokio::spawn(h2_get(addr, "/slow"));
        entered.notified().await;
        let h1 = tokio::spawn(h1_get(addr, "/slow"));
        entered.notified().await;
        stop.send(()).unwrap();
        // New connections are no longer served: the listener is closed.
        let refused = async {
            loop {
                match TcpStream::connect(addr).await {
                    Err(_) => break,
                    Ok(_) => tokio::task::yield_now().await,
                }
            }
        };
        refused.await;
        release.add_permits(2);
        let (_, status, text) = h2.await.unwrap();
        assert_eq!((status, text.as_str()), (StatusCode::OK, "slow done"));
        let (_, answer) = h1.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("slow done"), "{answer}");
        serving.await.unwrap().unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_handle_works_from_a_users_own_accept_loop() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Semaphore::new(0));
    let app = slow_app(entered.clone(), release.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Builder::new().build();
    let s = server.clone();
    // The user's loop: accept, and serve each connection with the
    // server's settings, until the server shuts down.
    let accepting = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (tcp, peer) = accepted.unwrap();
                    let info = ConnectionInfo::new(Some(peer), tcp.local_addr().ok());
                    let (s, app) = (s.clone(), app.clone());
                    connections.spawn(async move {
                        s.serve_connection_with_info(tcp, info, app).await
                    });
                }
                () = async { while !s.is_shutting_down() { tokio::time::sleep(Duration::from_millis(5)).await } } => break,
            }
        }
        while let Some(done) = connections.join_next().await {
            done.unwrap().unwrap();
        }
    });
    let run = async {
        let h2 = tokio::spawn(h2_get(addr, "/slow"));
        entered.notified().await;
        let h1 = tokio::spawn(h1_get(addr, "/slow"));
        entered.notified().await;
        server.shutdown();
        release.add_permits(2);
        let (_, status, text) = h2.await.unwrap();
        assert_eq!((status, text.as_str()), (StatusCode::OK, "slow done"));
        let (_, answer) = h1.await.unwrap();
        assert!(answer.ends_with("slow done"), "{answer}");
        // Every connection closed, so the loop ends.
        accepting.await.unwrap();
    };
    timeout(LIMIT, run).await.expect("timed out");
}
