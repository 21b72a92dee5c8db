//! `h2fetch`: an HTTP/2 client on nghttp2's engine, in the manner of
//! `nghttp`. Its `-v` trace prints the lines `nghttp -v` prints.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read as _, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};
use http_body::{Body, Frame};
use nghttp2::client::{Builder, SendRequest};
use nghttp2::trace::{SharedWriter, Tracer};

/// Fetches URLs over HTTP/2, concurrently over one connection per origin.
#[derive(Parser, Debug)]
#[command(name = "h2fetch", version)]
struct Args {
    /// The URLs to fetch (https:// or http:// with prior knowledge).
    #[arg(required = true)]
    urls: Vec<String>,
    /// Write response bodies to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Discard response bodies.
    #[arg(short = 'n', long = "null-out")]
    null_out: bool,
    /// Print every frame sent and received, in nghttp -v's format.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Write one JSON object per frame to FILE.
    #[arg(long = "trace-json", value_name = "FILE")]
    trace_json: Option<PathBuf>,
    /// Upload FILE (or standard input for `-`) with POST.
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    data: Option<String>,
    /// Add a request header field, `name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request each URL N times.
    #[arg(short = 'm', long = "multiply", value_name = "N", default_value_t = 1)]
    multiply: usize,
    /// Print per-request timings on standard error.
    #[arg(short = 's', long = "stat")]
    stat: bool,
    /// Do not verify the server's certificate.
    #[arg(short = 'k', long = "insecure")]
    insecure: bool,
    /// Trust the CA certificates in this PEM file.
    #[arg(long = "cacert", value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Stream window size: 2^N-1 (as nghttp).
    #[arg(short = 'w', long = "window-bits", value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(0..=30))]
    window_bits: u32,
    /// Connection window size: 2^N-1 (as nghttp).
    #[arg(short = 'W', long = "connection-window-bits", value_name = "N",
          value_parser = clap::value_parser!(u32).range(16..=30))]
    connection_window_bits: Option<u32>,
    /// Give up on a connection or request after SECONDS.
    #[arg(short = 't', long = "timeout", value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Send a trailer field, `name: value`, after the request body
    /// (repeatable).
    #[arg(long = "trailer", value_name = "HEADER")]
    trailers: Vec<String>,
}

/// A request body known in full, with optional trailers.
struct Upload {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Body for Upload {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

fn parse_field(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    // `:name: value` is not supported; names are ordinary fields.
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())
        .map_err(|_| format!("bad header name in {text:?}"))?;
    let value =
        HeaderValue::from_str(value.trim()).map_err(|_| format!("bad header value in {text:?}"))?;
    Ok((name, value))
}

/// One request to make.
struct Job {
    index: usize,
    url: String,
    uri: Uri,
}

/// What a request gave.
struct Outcome {
    index: usize,
    url: String,
    status: Option<http::StatusCode>,
    body: Vec<u8>,
    bytes: u64,
    headers_at: Duration,
    done_at: Duration,
    error: Option<String>,
}

/// Where bodies go.
#[derive(Clone, Copy, PartialEq)]
enum Sink {
    Discard,
    /// Kept and written in request order at the end.
    Collect,
    /// Written as it arrives to stdout (one request only).
    Stdout,
}

struct Shared {
    args: Args,
    /// The default fields, in nghttp's order, with `-H` applied.
    fields: Vec<(HeaderName, HeaderValue)>,
    upload: Option<Bytes>,
    trailers: Option<HeaderMap>,
    timeout: Option<Duration>,
    sink: Sink,
    progress: bool,
}

async fn fetch(shared: &Shared, client: SendRequest, job: Job, start: Instant) -> Outcome {
    let mut outcome = Outcome {
        index: job.index,
        url: job.url.clone(),
        status: None,
        body: Vec::new(),
        bytes: 0,
        headers_at: Duration::ZERO,
        done_at: Duration::ZERO,
        error: None,
    };
    let work = async {
        let method = if shared.upload.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let mut builder = Request::builder().method(method).uri(job.uri.clone());
        for (name, value) in &shared.fields {
            builder = builder.header(name, value);
        }
        if let Some(data) = &shared.upload {
            builder = builder.header(http::header::CONTENT_LENGTH, data.len());
        }
        let body = Upload {
            data: shared.upload.clone().filter(|d| !d.is_empty()),
            trailers: shared.trailers.clone(),
        };
        let request = builder.body(body).map_err(|e| e.to_string())?;
        let response = client.send(request).await.map_err(|e| e.to_string())?;
        outcome.headers_at = start.elapsed();
        outcome.status = Some(response.status());
        let total = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut body = response.into_body();
        let mut stdout = io::stdout();
        let mut last_draw = Instant::now();
        while let Some(chunk) = body.chunk().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            outcome.bytes += chunk.len() as u64;
            match shared.sink {
                Sink::Discard => {}
                Sink::Collect => outcome.body.extend_from_slice(&chunk),
                Sink::Stdout => stdout.write_all(&chunk).map_err(|e| e.to_string())?,
            }
            if shared.progress && last_draw.elapsed() >= Duration::from_millis(100) {
                draw_progress(outcome.bytes, total);
                last_draw = Instant::now();
            }
        }
        if shared.progress {
            draw_progress(outcome.bytes, total);
            eprintln!();
        }
        outcome.done_at = start.elapsed();
        Ok::<(), String>(())
    };
    let result = match shared.timeout {
        Some(limit) => match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => Err(format!("timed out after {} s", limit.as_secs_f64())),
        },
        None => work.await,
    };
    if let Err(e) = result {
        outcome.error = Some(e);
    }
    outcome
}

fn draw_progress(done: u64, total: Option<u64>) {
    let line = match total {
        Some(total) if total > 0 => {
            let pct = (done.min(total) * 100) / total;
            let width = 40;
            let filled = (pct as usize * width) / 100;
            format!(
                "\r[{}{}] {pct:3}% {done}/{total} bytes",
                "#".repeat(filled),
                " ".repeat(width - filled)
            )
        }
        _ => format!("\r{done} bytes"),
    };
    eprint!("{line}");
}

fn build_shared(args: Args) -> Result<Shared, String> {
    let mut fields: Vec<(HeaderName, HeaderValue)> = vec![
        (http::header::ACCEPT, HeaderValue::from_static("*/*")),
        (
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate"),
        ),
        (
            http::header::USER_AGENT,
            HeaderValue::from_str(&format!("h2fetch nghttp2/{}", nghttp2::version().text))
                .map_err(|e| e.to_string())?,
        ),
    ];
    for text in &args.headers {
        let (name, value) = parse_field(text)?;
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    let upload = match args.data.as_deref() {
        None => None,
        Some("-") => {
            let mut data = Vec::new();
            io::stdin()
                .read_to_end(&mut data)
                .map_err(|e| format!("reading standard input: {e}"))?;
            Some(Bytes::from(data))
        }
        Some(path) => Some(Bytes::from(
            std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?,
        )),
    };
    let trailers = if args.trailers.is_empty() {
        None
    } else {
        let mut map = HeaderMap::new();
        for text in &args.trailers {
            let (name, value) = parse_field(text)?;
            map.append(name, value);
        }
        Some(map)
    };
    let timeout = match args.timeout {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => return Err(format!("bad timeout {s}")),
        None => None,
    };
    let requests = args.urls.len() * args.multiply.max(1);
    let sink = if args.null_out {
        Sink::Discard
    } else if args.output.is_none() && requests == 1 {
        Sink::Stdout
    } else {
        Sink::Collect
    };
    let progress = args.output.is_some() && requests == 1 && io::stderr().is_terminal();
    Ok(Shared {
        args,
        fields,
        upload,
        trailers,
        timeout,
        sink,
        progress,
    })
}

fn main() -> ExitCode {
    let start = Instant::now();
    let args = Args::parse();
    let shared = match build_shared(args) {
        Ok(shared) => shared,
        Err(e) => {
            eprintln!("h2fetch: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("h2fetch: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(shared, start))
}

async fn run(shared: Shared, start: Instant) -> ExitCode {
    let args = &shared.args;
    // Group the requests by origin, keeping their order.
    let mut origins: BTreeMap<String, (Uri, Vec<Job>)> = BTreeMap::new();
    let mut order = Vec::new();
    let mut index = 0;
    for url in &args.urls {
        let uri: Uri = match url.parse() {
            Ok(uri) => uri,
            Err(e) => {
                eprintln!("h2fetch: {url}: bad URL: {e}");
                return ExitCode::from(2);
            }
        };
        let key = match (uri.scheme_str(), uri.authority()) {
            (Some(s), Some(a)) => format!("{s}://{a}"),
            _ => {
                eprintln!("h2fetch: {url}: not an absolute http:// or https:// URL");
                return ExitCode::from(2);
            }
        };
        if !origins.contains_key(&key) {
            order.push(key.clone());
        }
        let entry = origins
            .entry(key)
            .or_insert_with(|| (uri.clone(), Vec::new()));
        for _ in 0..args.multiply.max(1) {
            entry.1.push(Job {
                index,
                url: url.clone(),
                uri: uri.clone(),
            });
            index += 1;
        }
    }
    let json = match &args.trace_json {
        Some(path) => match File::create(path) {
            Ok(f) => Some(SharedWriter::new(f)),
            Err(e) => {
                eprintln!("h2fetch: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };

    let mut failed = false;
    let mut outcomes: Vec<Outcome> = Vec::new();
    // One connection per origin, the origins one after another (as nghttp
    // does), the requests of each concurrently.
    for key in order {
        let Some((origin, jobs)) = origins.remove(&key) else {
            continue;
        };
        let mut builder = Builder::new()
            .window_bits(args.window_bits)
            .danger_accept_invalid_certs(args.insecure);
        if let Some(bits) = args.connection_window_bits {
            builder = builder.connection_window_bits(bits);
        }
        if let Some(ca) = &args.cacert {
            builder = builder.ca_file(ca);
        }
        if args.verbose || json.is_some() {
            let mut tracer = if args.verbose {
                Tracer::stdout()
            } else {
                Tracer::new()
            };
            if let Some(json) = &json {
                tracer = tracer.json(json.clone());
            }
            builder = builder.tracer(tracer.start(start));
        }
        let connect = builder.connect(&origin);
        let connected = match shared.timeout {
            Some(limit) => match tokio::time::timeout(limit, connect).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err(format!("timed out after {} s", limit.as_secs_f64())),
            },
            None => connect.await.map_err(|e| e.to_string()),
        };
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                eprintln!("h2fetch: {key}: {e}");
                failed = true;
                continue;
            }
        };
        let shared_ref = &shared;
        let results = futures_join_all(
            jobs.into_iter()
                .map(|job| fetch(shared_ref, client.clone(), job, start))
                .collect(),
        )
        .await;
        client.close();
        let closed = tokio::time::timeout(
            shared.timeout.unwrap_or(Duration::from_secs(10)),
            client.closed(),
        )
        .await;
        if let Ok(Err(e)) = closed {
            // Only worth a line when a request did not already say it.
            if results.iter().all(|o| o.error.is_none()) {
                eprintln!("h2fetch: {key}: {e}");
                failed = true;
            }
        }
        outcomes.extend(results);
    }
    outcomes.sort_by_key(|o| o.index);

    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("h2fetch: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(io::stdout().lock()),
    };
    for o in &outcomes {
        if let Err(e) = out.write_all(&o.body) {
            eprintln!("h2fetch: writing the body of {}: {e}", o.url);
            failed = true;
            break;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("h2fetch: writing output: {e}");
        failed = true;
    }
    drop(out);
    for o in &outcomes {
        if let Some(e) = &o.error {
            eprintln!("h2fetch: {}: {e}", o.url);
            failed = true;
        } else if let Some(status) = o.status.filter(|s| !s.is_success()) {
            eprintln!("h2fetch: {}: HTTP status {status}", o.url);
        }
    }
    if args.stat {
        eprintln!("***** Statistics *****");
        eprintln!("  status  bytes       headers(ms)   done(ms)  url");
        for o in &outcomes {
            let status = o
                .status
                .map(|s| s.as_u16().to_string())
                .unwrap_or_else(|| "-".into());
            eprintln!(
                "  {status:>6}  {:>10}  {:>11.3}  {:>9.3}  {}",
                o.bytes,
                o.headers_at.as_secs_f64() * 1e3,
                o.done_at.as_secs_f64() * 1e3,
                o.url
            );
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs the futures concurrently on this task and returns their outputs in
/// order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
