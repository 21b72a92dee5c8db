//! Requests per second of the library's client against the `h2` crate's
//! client (hyper's HTTP/2 engine): one connection each, the same GETs
//! with the same number in flight, against the same server.
//!
//!   cargo bench --bench client_rps -- URL [REQUESTS] [CONCURRENCY] [ROUNDS]
//!
//! benches/client.sh runs it against nghttpd. Rounds alternate between
//! the two clients; for each the median requests per second (wall clock)
//! and CPU time per request (user + system of this process, which runs
//! one client at a time on one thread) are printed, with the ratios
//! nghttp2/h2: above 1.0 in requests per second, below 1.0 in CPU time is
//! this crate's client ahead. When the server is the bottleneck (nghttpd
//! has one thread, and the machine may have two cores) both clients get
//! the same requests per second, and the CPU time tells them apart.
//!
//! `CLIENT_RPS_ONLY=nghttp2` (or `h2`) runs only that client, for a
//! profiler.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// User + system CPU time this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One run's figures: requests per second, and CPU microseconds per
/// request.
struct Run {
    rps: f64,
    cpu_us: f64,
}

impl Run {
    fn measure(requests: usize, wall: Duration, cpu: Duration) -> Run {
        Run {
            rps: requests as f64 / wall.as_secs_f64(),
            cpu_us: cpu.as_secs_f64() * 1e6 / requests as f64,
        }
    }
}

/// `requests` GETs of `uri` over one connection of this crate's client,
/// `concurrency` at a time.
async fn ours(uri: &Uri, requests: usize, concurrency: usize) -> Result<Run, BoxError> {
    let client = nghttp2::client::Builder::new().connect(uri).await?;
    let (start, cpu) = (Instant::now(), cpu_time());
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, uri, next) = (client.clone(), uri.clone(), next.clone());
        workers.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let request = Request::get(uri.clone()).body(Empty::<Bytes>::new())?;
                let mut body = client.send(request).await?.into_body();
                while let Some(frame) = body.frame().await {
                    frame?;
                }
            }
            Ok::<(), BoxError>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let run = Run::measure(requests, start.elapsed(), cpu_time() - cpu);
    client.close();
    client.closed().await?;
    Ok(run)
}

/// The same with the `h2` crate.
async fn theirs(uri: &Uri, requests: usize, concurrency: usize) -> Result<Run, BoxError> {
    let authority = uri.authority().ok_or("no authority")?;
    let tcp = TcpStream::connect(authority.as_str()).await?;
    tcp.set_nodelay(true)?;
    let (client, connection) = h2::client::handshake(tcp).await?;
    let driver = tokio::spawn(connection);
    let (start, cpu) = (Instant::now(), cpu_time());
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
    let run = Run::measure(requests, start.elapsed(), cpu_time() - cpu);
    drop(client);
    driver.abort();
    Ok(run)
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
    let only = std::env::var("CLIENT_RPS_ONLY").ok();
    let (run_ours, run_theirs) = match only.as_deref() {
        None | Some("") => (true, true),
        Some("nghttp2") => (true, false),
        Some("h2") => (false, true),
        Some(other) => return Err(format!("CLIENT_RPS_ONLY={other}: nghttp2 or h2").into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    println!("{requests} GETs of {uri}, {concurrency} in flight, one connection, one thread");
    println!(
        "{:<6} {:>14} {:>14} {:>14} {:>14}",
        "round", "nghttp2 req/s", "h2 req/s", "nghttp2 CPU us", "h2 CPU us"
    );
    let cell = |run: Option<&Run>, f: fn(&Run) -> f64, precision: usize| {
        run.map_or("-".to_string(), |r| format!("{:.*}", precision, f(r)))
    };
    for round in 1..=rounds {
        let x = run_ours
            .then(|| runtime.block_on(ours(&uri, requests, concurrency)))
            .transpose()?;
        let y = run_theirs
            .then(|| runtime.block_on(theirs(&uri, requests, concurrency)))
            .transpose()?;
        println!(
            "{round:<6} {:>14} {:>14} {:>14} {:>14}",
            cell(x.as_ref(), |r| r.rps, 0),
            cell(y.as_ref(), |r| r.rps, 0),
            cell(x.as_ref(), |r| r.cpu_us, 2),
            cell(y.as_ref(), |r| r.cpu_us, 2),
        );
        a.extend(x);
        b.extend(y);
    }
    if a.is_empty() || b.is_empty() {
        return Ok(());
    }
    let (x_rps, y_rps) = (
        median(a.iter().map(|r| r.rps).collect()),
        median(b.iter().map(|r| r.rps).collect()),
    );
    let (x_cpu, y_cpu) = (
        median(a.iter().map(|r| r.cpu_us).collect()),
        median(b.iter().map(|r| r.cpu_us).collect()),
    );
    println!(
        "median req/s: nghttp2 {x_rps:.0}, h2 {y_rps:.0}; ratio nghttp2/h2 {:.3} (above 1.0: nghttp2 ahead)",
        x_rps / y_rps
    );
    println!(
        "median CPU per request: nghttp2 {x_cpu:.2} us, h2 {y_cpu:.2} us; ratio nghttp2/h2 {:.3} (below 1.0: nghttp2 ahead)",
        x_cpu / y_cpu
    );
    Ok(())
}
