//! Requests per second of the library's client against the `h2` crate's
//! client (hyper's HTTP/2 engine): one connection each, the same GETs
//! with the same number in flight, against the same server.
//!
//!   cargo bench --bench client_rps -- URL [REQUESTS] [CONCURRENCY] [ROUNDS]
//!
//! benches/client.sh runs it against nghttpd. Rounds alternate between
//! the two clients; the median of each is printed with the ratio
//! nghttp2/h2 (above 1.0: this crate's client is ahead).

use std::time::Instant;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `requests` GETs of `uri` over one connection of this crate's client,
/// `concurrency` at a time; requests per second.
async fn ours(uri: &Uri, requests: usize, concurrency: usize) -> Result<f64, BoxError> {
    let client = nghttp2::client::Builder::new().connect(uri).await?;
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, uri, next) = (client.clone(), uri.clone(), next.clone());
        workers.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let request = Request::get(uri.clone()).body(Empty::<Bytes>::new())?;
                let response = client.send(request).await?;
                response.into_body().collect().await?;
            }
            Ok::<(), BoxError>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let rps = requests as f64 / start.elapsed().as_secs_f64();
    client.close();
    client.closed().await?;
    Ok(rps)
}

/// The same with the `h2` crate.
async fn theirs(uri: &Uri, requests: usize, concurrency: usize) -> Result<f64, BoxError> {
    let authority = uri.authority().ok_or("no authority")?;
    let tcp = TcpStream::connect(authority.as_str()).await?;
    tcp.set_nodelay(true)?;
    let (client, connection) = h2::client::handshake(tcp).await?;
    let driver = tokio::spawn(connection);
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, uri, next) = (client.clone(), uri.clone(), next.clone());
        workers.spawn(async move {
            let mut client = client.ready().await?;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let request = Request::get(uri.clone()).body(())?;
                let (response, _) = client.send_request(request, true)?;
                let mut body = response.await?.into_body();
                while let Some(chunk) = body.data().await {
                    let chunk = chunk?;
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                client = client.ready().await?;
            }
            Ok::<(), BoxError>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let rps = requests as f64 / start.elapsed().as_secs_f64();
    drop(client);
    driver.abort();
    Ok(rps)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), BoxError> {
    // `cargo bench` passes `--bench`; the positional arguments follow.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(url) = args.first() else {
        eprintln!("usage: cargo bench --bench client_rps -- URL [REQUESTS] [CONCURRENCY] [ROUNDS]");
        return Ok(());
    };
    let uri: Uri = url.parse()?;
    let number = |i: usize, default: usize| -> Result<usize, BoxError> {
        Ok(args
            .get(i)
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (requests, concurrency, rounds) = (number(1, 50_000)?, number(2, 100)?, number(3, 5)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    println!("{requests} GETs of {uri}, {concurrency} in flight, one connection, one thread");
    println!("{:<6} {:>14} {:>14}", "round", "nghttp2 req/s", "h2 req/s");
    for round in 1..=rounds {
        let x = runtime.block_on(ours(&uri, requests, concurrency))?;
        let y = runtime.block_on(theirs(&uri, requests, concurrency))?;
        println!("{round:<6} {x:>14.0} {y:>14.0}");
        a.push(x);
        b.push(y);
    }
    let (x, y) = (median(a), median(b));
    println!(
        "median req/s: nghttp2 {x:.0}, h2 {y:.0}; ratio nghttp2/h2 {:.3}",
        x / y
    );
    Ok(())
}
