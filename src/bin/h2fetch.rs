//! `h2fetch`: an HTTP/2 client on nghttp2's engine, in the manner of
//! `nghttp`. Its `-v` trace prints the lines `nghttp -v` prints.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, IsTerminal, Read as _, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use clap::Parser;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body::{Body, Frame};
use nghttp2::client::{Builder, Incoming, ResponseBody, SendRequest};
use nghttp2::trace::{diff, SharedWriter, Tracer};

#[path = "shared/alloc.rs"]
mod alloc;

/// mimalloc, as h2serve: a client allocates and frees small objects per
/// request too (with glibc's allocator that was a fifth of h2fetch's time
/// on `-n -m 20000`, benches/client.sh).
#[global_allocator]
static ALLOCATOR: alloc::MiMalloc = alloc::MiMalloc;

/// How many requests are handed to a connection at once; the rest wait
/// here, as cheap jobs, not as streams queued in nghttp2. A little above
/// the usual SETTINGS_MAX_CONCURRENT_STREAMS (100) keeps the server's
/// streams busy; more only wait in the connection's queues, at a cost in
/// CPU and wall time (`h2fetch -n -m 20000` against nghttpd, median of 9:
/// 64: 0.094 s, 100: 0.069 s, 128: 0.052 s, 160: 0.051 s, 256: 0.068 s).
const IN_FLIGHT: usize = 128;

/// Fetches URLs over HTTP/2, concurrently over one connection per origin.
#[derive(Parser, Debug)]
#[command(name = "h2fetch", version)]
struct Args {
    /// The URLs to fetch (https:// or http:// with prior knowledge).
    #[arg(required_unless_present = "diff_traces")]
    urls: Vec<String>,
    /// Run `nghttp -nv URL...` and this program's own `-nv` fetch of the
    /// same URLs (with the same -H, -m, -w, -W), and print the frames that
    /// differ once what must differ is normalised; each known difference is
    /// named with its reason. Exit 0 when only named differences remain, 1
    /// when others do.
    #[arg(long = "diff-nghttp", conflicts_with_all = [
        "output", "remote_name", "get_assets", "upgrade", "hexdump", "trace_json", "har",
        "data", "expect_continue", "stat", "trailers", "extpri", "diff_traces",
    ])]
    diff_nghttp: bool,
    /// Compare two saved `-v` traces (nghttp's or h2fetch's, nghttpd's or
    /// h2serve's) as --diff-nghttp does: THEIRS is printed as `-`, OURS as
    /// `+`. Exit 0 when only named differences remain, 1 when others do.
    #[arg(long = "diff-traces", num_args = 2, value_names = ["THEIRS", "OURS"],
          conflicts_with = "urls")]
    diff_traces: Option<Vec<PathBuf>>,
    /// Write the response body to FILE instead of standard output (one
    /// request only; see -O for several).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Save each response body under the file name of its URL's path
    /// (`index.html` for a path ending in `/`), as nghttp -O.
    #[arg(short = 'O', long = "remote-name")]
    remote_name: bool,
    /// Also fetch the stylesheets, scripts and images an HTML response
    /// links to on its own origin (as nghttp -a), on the same connection.
    #[arg(short = 'a', long = "get-assets")]
    get_assets: bool,
    /// Discard response bodies.
    #[arg(short = 'n', long = "null-out")]
    null_out: bool,
    /// Print every frame sent and received, in nghttp -v's format.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Ask for HTTP/2 by HTTP/1.1 `Upgrade: h2c` (http:// URLs), as
    /// nghttp -u: the first request of each origin goes out in HTTP/1.1.
    #[arg(short = 'u', long = "upgrade")]
    upgrade: bool,
    /// Print what the server sends (decrypted) in hex and ASCII, as
    /// nghttp --hexdump (`hexdump -C`'s format, each read from offset 0).
    #[arg(long = "hexdump")]
    hexdump: bool,
    /// Write one JSON object per frame to FILE.
    #[arg(long = "trace-json", value_name = "FILE")]
    trace_json: Option<PathBuf>,
    /// Write the requests and responses as HAR 1.2 (JSON) to FILE.
    #[arg(short = 'r', long = "har", value_name = "FILE")]
    har: Option<PathBuf>,
    /// Upload FILE (or standard input for `-`) with POST.
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    data: Option<String>,
    /// With -d: send `expect: 100-continue` and hold the body until the
    /// server answers `100 Continue` (or for a second), as nghttp.
    #[arg(long = "expect-continue")]
    expect_continue: bool,
    /// Add a request header field, `name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request each URL N times.
    #[arg(short = 'm', long = "multiply", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    multiply: u64,
    /// Print nghttp's statistics table after the bodies.
    #[arg(short = 's', long = "stat")]
    stat: bool,
    /// Do not verify the server's certificate.
    #[arg(
        short = 'k',
        long = "insecure",
        short_alias = 'y',
        alias = "no-verify-peer"
    )]
    insecure: bool,
    /// Trust the CA certificates in this PEM file.
    #[arg(long = "cacert", value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Present this client certificate (PEM) when the server asks.
    #[arg(long = "cert", value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Stream window size: 2^N-1 (as nghttp).
    #[arg(short = 'w', long = "window-bits", value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(0..=30))]
    window_bits: u32,
    /// Connection window size: 2^N-1 (as nghttp).
    #[arg(short = 'W', long = "connection-window-bits", value_name = "N",
          value_parser = clap::value_parser!(u32).range(16..=30))]
    connection_window_bits: Option<u32>,
    /// SETTINGS_HEADER_TABLE_SIZE to announce (the server's HPACK
    /// encoder table for this connection).
    #[arg(short = 'c', long = "header-table-size", value_name = "SIZE")]
    header_table_size: Option<u32>,
    /// Give up on a connection or request after SECONDS.
    #[arg(short = 't', long = "timeout", value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Send a trailer field, `name: value`, after the request body
    /// (repeatable).
    #[arg(long = "trailer", value_name = "HEADER")]
    trailers: Vec<String>,
    /// The RFC 9218 priority of a URL, in its wire format (`u=3,i`), sent
    /// in a `priority` field: the N-th --extpri is for the N-th URL, the
    /// last one for the URLs after it (as nghttp).
    #[arg(long = "extpri", value_name = "PRI")]
    extpri: Vec<String>,
}

/// A request body known in full, with optional trailers (shared by the
/// requests, and cloned only when sent: the body stays small to move).
struct Upload {
    data: Option<Bytes>,
    trailers: Option<Arc<HeaderMap>>,
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
        Poll::Ready(
            self.trailers
                .take()
                .map(|t| Ok(Frame::trailers(Arc::unwrap_or_clone(t)))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

/// An I/O error's text without Rust's ` (os error N)`.
fn io_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The crate's error as one line.
fn one_line(e: &nghttp2::Error) -> String {
    let text = match e.kind() {
        nghttp2::Kind::Io(io) => io_text(io),
        _ => e.to_string(),
    };
    text.replace('\n', " ")
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
    /// Which of the command line's URLs.
    url_index: usize,
    url: Arc<str>,
    /// Shared by the -m copies of a URL.
    uri: Arc<Uri>,
}

/// What a request gave: what every run reports (errors, statuses) and -s
/// prints, and the rest only when it is asked for, so that tens of
/// thousands of requests keep little.
#[derive(Default)]
struct Outcome {
    index: usize,
    url: Arc<str>,
    stream_id: Option<u32>,
    status: Option<http::StatusCode>,
    /// Body bytes as received (before decoding).
    received: u64,
    /// Relative to the connection's establishment, as nghttp's table.
    request_start: Duration,
    response_end: Duration,
    error: Option<String>,
    /// With --har, -a, or bodies written at the end.
    more: Option<Box<More>>,
}

/// The rest of an [`Outcome`].
#[derive(Default)]
struct More {
    /// Kept for standard output when there are several requests.
    body: Vec<u8>,
    /// Body bytes after decoding.
    decoded: u64,
    headers_end: Duration,
    started: Option<SystemTime>,
    /// The time the connection took, for the first request on it.
    connect: Option<Duration>,
    request_headers: Vec<(String, String)>,
    response_headers: Vec<(String, String)>,
    method: Method,
    /// With -a: what an HTML response links to.
    assets: Vec<Uri>,
}

/// An [`Outcome`] without [`More`] reads as this.
static NO_MORE: More = More {
    body: Vec::new(),
    decoded: 0,
    headers_end: Duration::ZERO,
    started: None,
    connect: None,
    request_headers: Vec::new(),
    response_headers: Vec::new(),
    method: Method::GET,
    assets: Vec::new(),
};

impl Outcome {
    fn more(&self) -> &More {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }
}

/// Where bodies go.
#[derive(Clone, Debug, PartialEq)]
enum Sink {
    Discard,
    /// Kept and written in request order at the end.
    Collect,
    /// Written as it arrives to stdout (one request only).
    Stdout,
    /// Written as it arrives to this file (one request only).
    File(PathBuf),
    /// Each to the file named after its path.
    RemoteName,
}

struct Shared {
    args: Args,
    /// GET, or POST with -d.
    method: Method,
    /// The request fields for each --extpri (the N-th URL's is the N-th,
    /// the last one for the URLs after it), or one set without: `fields`,
    /// then `priority`, then `content-length` and `expect` for -d. Each
    /// request clones its set.
    templates: Vec<HeaderMap>,
    /// The default fields, in nghttp's order, with `-H` applied.
    fields: Vec<(HeaderName, HeaderValue)>,
    /// The content codings asked for (and so decoded).
    accepted: Vec<String>,
    upload: Option<Bytes>,
    trailers: Option<Arc<HeaderMap>>,
    timeout: Option<Duration>,
    sink: Sink,
    progress: bool,
}

impl Shared {
    /// Whether outcomes keep [`More`]: for --har, -a, and bodies written
    /// at the end.
    fn keeps_more(&self) -> bool {
        self.args.har.is_some() || self.args.get_assets || self.sink == Sink::Collect
    }

    /// The request fields for the URL at `url_index` (`usize::MAX` for an
    /// asset: the last --extpri's).
    fn request_headers(&self, url_index: usize) -> &HeaderMap {
        &self.templates[url_index.min(self.templates.len() - 1)]
    }
}

/// The file name `-O` saves `uri` under: its path's last segment, or
/// `index.html`.
fn remote_name(uri: &Uri) -> String {
    let name = uri.path().rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." {
        "index.html".to_string()
    } else {
        name.to_string()
    }
}

/// Opens `path` for a body; the error in one line.
fn create(path: &Path) -> Result<File, String> {
    File::create(path).map_err(|e| format!("{}: {}", path.display(), io_text(&e)))
}

/// Makes `job`'s request on `client` (or takes its response from the h2c
/// upgrade that carried it) and reads the response.
async fn fetch(
    shared: &Shared,
    client: &SendRequest,
    job: Job,
    connected: Instant,
    upgraded: Option<Response<ResponseBody>>,
) -> Box<Outcome> {
    // Boxed: tens of thousands are collected and sorted.
    let mut outcome = Box::new(Outcome {
        index: job.index,
        url: job.url.clone(),
        ..Outcome::default()
    });
    let mut more = shared.keeps_more().then(|| {
        Box::new(More {
            method: shared.method.clone(),
            ..More::default()
        })
    });
    // The times only -s and --har print (reading the clock costs).
    let timed = shared.args.stat || shared.args.har.is_some();
    let work = async {
        let mut request = Request::new(Upload {
            data: shared.upload.clone().filter(|d| !d.is_empty()),
            trailers: shared.trailers.clone(),
        });
        *request.method_mut() = shared.method.clone();
        *request.uri_mut() = (*job.uri).clone();
        *request.headers_mut() = shared.request_headers(job.url_index).clone();
        if let (Some(more), true) = (more.as_mut(), shared.args.har.is_some()) {
            more.request_headers = request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect();
        }
        if timed {
            if let Some(more) = more.as_mut() {
                more.started = Some(SystemTime::now());
            }
            outcome.request_start = connected.elapsed();
        }
        let response = match upgraded {
            Some(response) => response,
            None => client.send(request).await.map_err(|e| one_line(&e))?,
        };
        if let (Some(more), true) = (more.as_mut(), timed) {
            more.headers_end = connected.elapsed();
        }
        outcome.status = Some(response.status());
        if let (Some(more), true) = (more.as_mut(), shared.args.har.is_some()) {
            more.response_headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect();
        }
        let total = if shared.progress {
            response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        } else {
            None
        };
        let html = shared.args.get_assets
            && response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
        // What is decoded: what is kept or looked into, and what HAR
        // sizes (-n alone counts the bytes as they came, as nghttp -n).
        let decode = shared.sink != Sink::Discard || shared.args.har.is_some() || html;
        let coding = decode
            .then(|| response.headers().get(header::CONTENT_ENCODING))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| shared.accepted.iter().any(|a| a == v));
        let mut page = Vec::new();
        let (_head, body) = response.into_parts();
        outcome.stream_id = Some(body.stream_id().get());
        let mut body = match coding {
            Some(coding) => Reader::Decoded(Box::new(Incoming::decoding(body, Some(&coding)))),
            None => Reader::Raw { body, received: 0 },
        };
        let mut file = match &shared.sink {
            Sink::File(path) => Some(create(path)?),
            Sink::RemoteName => Some(create(Path::new(&remote_name(&job.uri)))?),
            _ => None,
        };
        let mut stdout = io::stdout();
        let mut last_draw = shared.progress.then(Instant::now);
        while let Some(chunk) = body.chunk().await {
            let chunk = chunk.map_err(|e| one_line(&e))?;
            if let Some(more) = more.as_mut() {
                more.decoded += chunk.len() as u64;
            }
            if html {
                page.extend_from_slice(&chunk);
            }
            let written = match (&shared.sink, file.as_mut()) {
                (_, Some(file)) => file.write_all(&chunk),
                (Sink::Collect, _) => {
                    if let Some(more) = more.as_mut() {
                        more.body.extend_from_slice(&chunk);
                    }
                    Ok(())
                }
                (Sink::Stdout, _) => stdout.write_all(&chunk),
                _ => Ok(()),
            };
            written.map_err(|e| format!("writing the body: {}", io_text(&e)))?;
            if let Some(last) = last_draw.as_mut() {
                if last.elapsed() >= Duration::from_millis(100) {
                    draw_progress(body.received(), total);
                    *last = Instant::now();
                }
            }
        }
        outcome.received = body.received();
        if let (Some(more), true) = (more.as_mut(), html) {
            more.assets = asset_links(&page, &job.uri);
        }
        if shared.progress {
            draw_progress(outcome.received, total);
            eprintln!();
        }
        if let Some(file) = file.as_mut() {
            file.flush()
                .map_err(|e| format!("writing the body: {}", io_text(&e)))?;
        }
        if timed {
            outcome.response_end = connected.elapsed();
        }
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
    outcome.more = more;
    outcome
}

/// A response body as h2fetch reads it: as it came, or decoded.
enum Reader {
    Raw {
        body: ResponseBody,
        received: u64,
    },
    /// Boxed: the decoder is large, and rarer than a plain body.
    Decoded(Box<Incoming>),
}

impl Reader {
    /// The next piece of the body (trailers are skipped).
    async fn chunk(&mut self) -> Option<Result<Bytes, nghttp2::Error>> {
        match self {
            Reader::Raw { body, received } => {
                let chunk = body.chunk().await;
                if let Some(Ok(chunk)) = &chunk {
                    *received += chunk.len() as u64;
                }
                chunk
            }
            Reader::Decoded(body) => loop {
                match http_body_util::BodyExt::frame(&mut **body).await? {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            return Some(Ok(data));
                        }
                    }
                    Err(e) => return Some(Err(e)),
                }
            },
        }
    }

    /// Body bytes received, before decoding.
    fn received(&self) -> u64 {
        match self {
            Reader::Raw { received, .. } => *received,
            Reader::Decoded(body) => body.received(),
        }
    }
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

/// The codings an `accept-encoding` value asks for (without `q=0` ones).
fn accepted_codings(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let token = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (!token.is_empty() && !refused).then_some(token)
        })
        .collect()
}

fn build_shared(args: Args) -> Result<Shared, String> {
    let mut fields: Vec<(HeaderName, HeaderValue)> = vec![
        (header::ACCEPT, HeaderValue::from_static("*/*")),
        // As nghttp: asked for, and decoded.
        (
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate"),
        ),
        (
            header::USER_AGENT,
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
    let accepted = fields
        .iter()
        .find(|(n, _)| *n == header::ACCEPT_ENCODING)
        .and_then(|(_, v)| v.to_str().ok())
        .map(accepted_codings)
        .unwrap_or_default();
    let upload = match args.data.as_deref() {
        None => None,
        Some("-") => {
            let mut data = Vec::new();
            io::stdin()
                .read_to_end(&mut data)
                .map_err(|e| format!("reading standard input: {}", io_text(&e)))?;
            Some(Bytes::from(data))
        }
        Some(path) => Some(Bytes::from(
            std::fs::read(path).map_err(|e| format!("{path}: {}", io_text(&e)))?,
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
        Some(Arc::new(map))
    };
    let timeout = match args.timeout {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => return Err(format!("bad timeout {s}")),
        None => None,
    };
    let requests = args.urls.len() as u64 * args.multiply;
    if args.output.is_some() && (requests > 1 || args.get_assets) {
        return Err(format!(
            "-o takes one request, not {requests} (use -O to save each under its own name)"
        ));
    }
    if args.upgrade && upload.is_some() {
        return Err(
            "-u sends the first request in the HTTP/1.1 upgrade, without a body: not with -d"
                .into(),
        );
    }
    if args.output.is_some() && args.remote_name {
        return Err("-o and -O do not go together".into());
    }
    let sink = if args.null_out {
        Sink::Discard
    } else if let Some(path) = &args.output {
        Sink::File(path.clone())
    } else if args.remote_name {
        Sink::RemoteName
    } else if requests == 1 && !args.get_assets {
        Sink::Stdout
    } else {
        Sink::Collect
    };
    let progress = matches!(sink, Sink::File(_)) && io::stderr().is_terminal();
    let extpri = args
        .extpri
        .iter()
        .map(|pri| HeaderValue::from_str(pri).map_err(|_| format!("bad --extpri value {pri:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    let method = if upload.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    let priorities: Vec<Option<&HeaderValue>> = if extpri.is_empty() {
        vec![None]
    } else {
        extpri.iter().map(Some).collect()
    };
    let templates = priorities
        .into_iter()
        .map(|priority| {
            let mut map = HeaderMap::with_capacity(fields.len() + 3);
            for (name, value) in &fields {
                map.append(name.clone(), value.clone());
            }
            if let Some(priority) = priority {
                map.append(HeaderName::from_static("priority"), priority.clone());
            }
            if let Some(data) = &upload {
                map.append(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
                if args.expect_continue {
                    map.append(header::EXPECT, HeaderValue::from_static("100-continue"));
                }
            }
            map
        })
        .collect();
    Ok(Shared {
        args,
        method,
        templates,
        fields,
        accepted,
        upload,
        trailers,
        timeout,
        sink,
        progress,
    })
}

fn main() -> ExitCode {
    let start = Instant::now();
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: the text before the usage, lines joined.
            let text = e.render().to_string();
            let text = text.split("\n\nUsage:").next().unwrap_or(&text);
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("h2fetch: {}", text.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    if let Some(paths) = &args.diff_traces {
        return diff_traces(&paths[0], &paths[1]);
    }
    if args.diff_nghttp {
        return diff_nghttp(&args);
    }
    if args.verbose {
        // The whole OpenSSL error stack, beside the one-line errors.
        let _ = tracing_subscriber::fmt()
            .with_writer(io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "nghttp2::client::tls=debug",
            ))
            .try_init();
    }
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
            eprintln!("h2fetch: {}", io_text(&e));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(Arc::new(shared), start))
}

/// Prints `report` (`theirs` as `-`, `ours` as `+`); exit 0 when only
/// named differences remain, 1 otherwise.
fn print_report(report: &diff::Report, theirs: &str, ours: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    let _ = write!(stdout, "{}", report.render(theirs, ours));
    let _ = stdout.flush();
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `--diff-traces THEIRS OURS`.
fn diff_traces(theirs: &Path, ours: &Path) -> ExitCode {
    let read = |path: &Path| {
        std::fs::read(path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|e| format!("{}: {}", path.display(), io_text(&e)))
    };
    let (a, b) = match (read(theirs), read(ours)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("h2fetch: {e}");
            return ExitCode::from(2);
        }
    };
    let report = diff::diff(&a, &b, &diff::Exception::ALL);
    print_report(
        &report,
        &theirs.display().to_string(),
        &ours.display().to_string(),
    )
}

/// `program` found on PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Runs `program` with `args` and returns its standard output; a failure
/// in one line.
fn trace_of(program: &Path, name: &str, args: &[String]) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running {name}: {}", io_text(&e)))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "{name} -nv failed ({}){}",
            out.status,
            last.map(|l| format!(": {}", l.trim().trim_start_matches("h2fetch: ")))
                .unwrap_or_default()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `--diff-nghttp URL...`: nghttp's trace and ours, for the same URLs and
/// the flags both programs share.
fn diff_nghttp(args: &Args) -> ExitCode {
    let Some(nghttp) = on_path("nghttp") else {
        eprintln!("h2fetch: --diff-nghttp needs nghttp on PATH (Debian: nghttp2-client)");
        return ExitCode::from(2);
    };
    let mut shared = vec!["-nv".to_string()];
    for h in &args.headers {
        shared.extend(["-H".to_string(), h.clone()]);
    }
    if args.multiply > 1 {
        shared.extend(["-m".to_string(), args.multiply.to_string()]);
    }
    shared.extend(["-w".to_string(), args.window_bits.to_string()]);
    if let Some(bits) = args.connection_window_bits {
        shared.extend(["-W".to_string(), bits.to_string()]);
    }
    if let Some(size) = args.header_table_size {
        shared.extend(["-c".to_string(), size.to_string()]);
    }
    let mut ours_args = shared.clone();
    if args.insecure {
        // nghttp does not verify the peer unless asked; nor do we, then.
        ours_args.push("-k".to_string());
    }
    if let Some(ca) = &args.cacert {
        ours_args.extend(["--cacert".to_string(), ca.display().to_string()]);
    }
    if let Some(t) = args.timeout {
        shared.extend(["-t".to_string(), t.to_string()]);
        ours_args.extend(["-t".to_string(), t.to_string()]);
    }
    shared.extend(args.urls.iter().cloned());
    ours_args.extend(args.urls.iter().cloned());
    let ours_bin = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("h2fetch: finding h2fetch itself: {}", io_text(&e));
            return ExitCode::from(2);
        }
    };
    let traces = trace_of(&nghttp, "nghttp", &shared)
        .and_then(|theirs| Ok((theirs, trace_of(&ours_bin, "h2fetch", &ours_args)?)));
    let (theirs, ours) = match traces {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("h2fetch: {e}");
            return ExitCode::from(2);
        }
    };
    let report = diff::diff(&theirs, &ours, &diff::Exception::ALL);
    print_report(&report, "nghttp", "h2fetch")
}

/// Runs `jobs` on `client`, at most [`IN_FLIGHT`] at a time: that many
/// workers take the next job as they finish one (a task per worker, not
/// per request). The outcomes in any order.
async fn fetch_all(
    shared: &Arc<Shared>,
    client: &SendRequest,
    jobs: Vec<Job>,
    connected: Instant,
) -> Vec<Box<Outcome>> {
    let total = jobs.len();
    let queue = Arc::new(std::sync::Mutex::new(jobs.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT.min(total) {
        let (shared, client, queue) = (shared.clone(), client.clone(), queue.clone());
        workers.spawn(async move {
            let mut outcomes = Vec::with_capacity(total.div_ceil(IN_FLIGHT));
            loop {
                let job = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(job) = job else {
                    return outcomes;
                };
                outcomes.push(fetch(&shared, &client, job, connected, None).await);
            }
        });
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(done) = workers.join_next().await {
        if let Ok(mut some) = done {
            outcomes.append(&mut some);
        }
    }
    outcomes
}

async fn run(shared: Arc<Shared>, start: Instant) -> ExitCode {
    let args = &shared.args;
    // Group the requests by origin, keeping their order.
    let mut origins: BTreeMap<String, (Uri, Vec<Job>)> = BTreeMap::new();
    let mut order = Vec::new();
    let mut index = 0;
    // Every URL asked for, so that -a fetches an asset once.
    let mut requested: HashSet<Arc<str>> = HashSet::new();
    for (url_index, url) in args.urls.iter().enumerate() {
        let url: Arc<str> = Arc::from(url.as_str());
        requested.insert(url.clone());
        let uri: Uri = match url.parse() {
            Ok(uri) => uri,
            Err(e) => {
                eprintln!("h2fetch: {url}: bad URL: {e}");
                return ExitCode::from(2);
            }
        };
        let key = match (uri.scheme_str(), uri.authority()) {
            (Some(s @ ("http" | "https")), Some(a)) => format!("{s}://{a}"),
            (Some(s), Some(_)) => {
                eprintln!("h2fetch: {url}: unsupported scheme {s:?} (use https:// or http://)");
                return ExitCode::from(2);
            }
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
        entry
            .1
            .reserve(usize::try_from(args.multiply).unwrap_or(usize::MAX));
        let uri = Arc::new(uri);
        for _ in 0..args.multiply {
            entry.1.push(Job {
                index,
                url_index,
                url: Arc::clone(&url),
                uri: Arc::clone(&uri),
            });
            index += 1;
        }
    }
    let json = match &args.trace_json {
        Some(path) => match create(path) {
            Ok(f) => Some(SharedWriter::new(f)),
            Err(e) => {
                eprintln!("h2fetch: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };

    let mut failed = false;
    let mut outcomes: Vec<Box<Outcome>> = Vec::with_capacity(index);
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
        if let Some(size) = args.header_table_size {
            builder = builder.header_table_size(size);
        }
        if let Some(ca) = &args.cacert {
            builder = builder.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
            builder = builder.client_cert(cert, key);
        }
        if args.hexdump {
            builder = builder.hexdump(io::stdout());
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
        let connecting = Instant::now();
        let mut jobs = jobs;
        let upgrading = args.upgrade && origin.scheme_str() == Some("http");
        let first_uri = (*jobs[0].uri).clone();
        let connect = async {
            if upgrading {
                // The first request asks for the upgrade.
                let mut request = Request::get(first_uri);
                for (name, value) in &shared.fields {
                    request = request.header(name, value);
                }
                let request = request
                    .body(())
                    .map_err(|e| nghttp2::Error::user(e.to_string()))?;
                let (client, response) = builder.connect_upgrade(request).await?;
                Ok((client, Some(response)))
            } else {
                Ok((builder.connect(&origin).await?, None))
            }
        };
        let connected = match shared.timeout {
            Some(limit) => match tokio::time::timeout(limit, connect).await {
                Ok(result) => result.map_err(|e| one_line(&e)),
                Err(_) => Err(format!("timed out after {} s", limit.as_secs_f64())),
            },
            None => connect.await.map_err(|e| one_line(&e)),
        };
        let (client, upgraded) = match connected {
            Ok(connected) => connected,
            Err(e) => {
                eprintln!("h2fetch: {key}: {e}");
                failed = true;
                continue;
            }
        };
        let connected = Instant::now();
        let mut results = match upgraded {
            Some(response) => {
                let first = jobs.remove(0);
                let (first, mut rest) = tokio::join!(
                    fetch(&shared, &client, first, connected, Some(response)),
                    fetch_all(&shared, &client, jobs, connected)
                );
                rest.push(first);
                rest
            }
            None => fetch_all(&shared, &client, jobs, connected).await,
        };
        if args.get_assets {
            // The assets of the pages, each once, on the same connection.
            results = in_request_order(results);
            let mut assets = Vec::new();
            for uri in results.iter().flat_map(|o| o.more().assets.iter()) {
                let url: Arc<str> = Arc::from(uri.to_string());
                if requested.insert(url.clone()) {
                    assets.push(Job {
                        index,
                        url_index: usize::MAX,
                        url,
                        uri: Arc::new(uri.clone()),
                    });
                    index += 1;
                }
            }
            if !assets.is_empty() {
                results.extend(fetch_all(&shared, &client, assets, connected).await);
            }
        }
        if let Some(first) = results.iter_mut().min_by_key(|o| o.index) {
            if let Some(more) = first.more.as_mut() {
                more.connect = Some(connected - connecting);
            }
        }
        client.close();
        let closed = tokio::time::timeout(
            shared.timeout.unwrap_or(Duration::from_secs(10)),
            client.closed(),
        )
        .await;
        if let Ok(Err(e)) = closed {
            // Only worth a line when a request did not already say it.
            if results.iter().all(|o| o.error.is_none()) {
                eprintln!("h2fetch: {key}: {}", one_line(&e));
                failed = true;
            }
        }
        outcomes.extend(results);
    }
    let outcomes = in_request_order(outcomes);

    if shared.sink == Sink::Collect {
        let mut out = io::stdout().lock();
        for o in &outcomes {
            if let Err(e) = out.write_all(&o.more().body) {
                eprintln!("h2fetch: writing the body of {}: {}", o.url, io_text(&e));
                failed = true;
                break;
            }
        }
        if let Err(e) = out.flush() {
            eprintln!("h2fetch: writing output: {}", io_text(&e));
            failed = true;
        }
    }
    for o in &outcomes {
        if let Some(e) = &o.error {
            eprintln!("h2fetch: {}: {e}", o.url);
            failed = true;
        } else if let Some(status) = o.status.filter(|s| !s.is_success()) {
            eprintln!("h2fetch: {}: HTTP status {status}", o.url);
        }
    }
    if let Some(path) = &args.har {
        if let Err(e) = write_har(path, &outcomes) {
            eprintln!("h2fetch: {e}");
            failed = true;
        }
    }
    if args.stat {
        print_stats(&outcomes);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// What an HTML page links to on its own origin, as nghttp's HtmlParser
/// finds it: `<link rel=stylesheet href>`, `<link rel="shortcut icon">`,
/// `<link rel=preload href>`, `<img src>`, `<script src>`; resolved
/// against the page's URL, without fragments, each once.
fn asset_links(html: &[u8], page: &Uri) -> Vec<Uri> {
    let Ok(base) = url::Url::parse(&page.to_string()) else {
        return Vec::new();
    };
    let document = scraper::Html::parse_document(&String::from_utf8_lossy(html));
    let selector =
        scraper::Selector::parse("link[href], img[src], script[src]").expect("a valid selector");
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for element in document.select(&selector) {
        let element = element.value();
        let target = match element.name() {
            "link" => {
                let rel = element.attr("rel").unwrap_or_default().to_ascii_lowercase();
                let rel = rel.split_whitespace().collect::<Vec<_>>().join(" ");
                if !matches!(rel.as_str(), "stylesheet" | "shortcut icon" | "preload") {
                    continue;
                }
                element.attr("href")
            }
            _ => element.attr("src"),
        };
        let Some(mut url) = target.and_then(|t| base.join(t.trim()).ok()) else {
            continue;
        };
        url.set_fragment(None);
        let same_origin = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default();
        if !same_origin || !seen.insert(url.to_string()) {
            continue;
        }
        if let Ok(uri) = url.as_str().parse::<Uri>() {
            links.push(uri);
        }
    }
    links
}

/// `outcomes` in the order of their requests. Their indexes are
/// distinct; when they are all the indexes of a range (no connection
/// failed), each is swapped into its place in linear time and no memory,
/// otherwise they are sorted.
#[allow(clippy::vec_box)] // Boxed outcomes are swapped as pointers.
fn in_request_order(mut outcomes: Vec<Box<Outcome>>) -> Vec<Box<Outcome>> {
    let first = outcomes.iter().map(|o| o.index).min().unwrap_or(0);
    let last = outcomes.iter().map(|o| o.index).max().unwrap_or(0);
    if outcomes.len() == last - first + 1 {
        for i in 0..outcomes.len() {
            loop {
                let j = outcomes[i].index - first;
                if j == i || outcomes[j].index - first == j {
                    break;
                }
                outcomes.swap(i, j);
            }
        }
    }
    // A no-op when the swaps did it.
    outcomes.sort_by_key(|o| o.index);
    outcomes
}

/// nghttp's `util::format_duration`: `us` below a millisecond, then `ms`
/// and `s` with two decimals.
fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 1_000_000 {
        format!("{:.2}s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{us}us")
    }
}

/// nghttp's `util::utos_unit`: bytes with a K, M or G unit, truncated.
fn utos_unit(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{}G", n >> 30),
        n if n >= 1 << 20 => format!("{}M", n >> 20),
        n if n >= 1 << 10 => format!("{}K", n >> 10),
        n => n.to_string(),
    }
}

/// nghttp's `print_stats`: the same text, columns and order (by the time
/// each response completed).
fn print_stats(outcomes: &[Box<Outcome>]) {
    let mut done: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .map(|o| &**o)
        .collect();
    done.sort_by_key(|o| o.response_end);
    let mut out = String::from(
        "***** Statistics *****

Request timing:
  responseEnd: the  time  when  last  byte of  response  was  received
               relative to connectEnd
 requestStart: the time  just before  first byte  of request  was sent
               relative  to connectEnd.   If  '*' is  shown, this  was
               pushed by server.
      process: responseEnd - requestStart
         code: HTTP status code
         size: number  of  bytes  received as  response  body  without
               inflation.
          URI: request URI

see http://www.w3.org/TR/resource-timing/#processing-model

sorted by 'complete'

id  responseEnd requestStart  process code size request path
",
    );
    for o in done {
        let path = o
            .url
            .parse::<Uri>()
            .ok()
            .and_then(|u| u.path_and_query().map(|p| p.as_str().to_string()))
            .unwrap_or_else(|| "/".into());
        out.push_str(&format!(
            "{:>3} {:>11}  {:>11} {:>8} {:>4} {:>4} {}\n",
            o.stream_id.unwrap_or(0),
            format!("+{}", format_duration(o.response_end)),
            format!("+{}", format_duration(o.request_start)),
            format_duration(o.response_end.saturating_sub(o.request_start)),
            o.status.map(|s| s.as_u16()).unwrap_or(0),
            utos_unit(o.received),
            path
        ));
    }
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The outcomes as HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>).
fn write_har(path: &Path, outcomes: &[Box<Outcome>]) -> Result<(), String> {
    use serde_json::json;
    let headers = |list: &[(String, String)]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|(n, v)| json!({ "name": n, "value": v }))
            .collect()
    };
    let entries: Vec<serde_json::Value> = outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .map(|o| {
            let query: Vec<serde_json::Value> = url::Url::parse(&o.url)
                .map(|u| {
                    u.query_pairs()
                        .map(|(n, v)| json!({ "name": n, "value": v }))
                        .collect()
                })
                .unwrap_or_default();
            let m = o.more();
            let wait = m.headers_end.saturating_sub(o.request_start);
            let receive = o.response_end.saturating_sub(m.headers_end);
            let connect = m.connect.map(ms).unwrap_or(-1.0);
            let mime = m
                .response_headers
                .iter()
                .find(|(n, _)| n == "content-type")
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            let started = m
                .started
                .map(|t| humantime::format_rfc3339_millis(t).to_string())
                .unwrap_or_default();
            json!({
                "startedDateTime": started,
                "time": ms(wait + receive) + connect.max(0.0),
                "request": {
                    "method": m.method.as_str(),
                    "url": &*o.url,
                    "httpVersion": "HTTP/2.0",
                    "cookies": [],
                    "headers": headers(&m.request_headers),
                    "queryString": query,
                    "headersSize": -1,
                    "bodySize": -1,
                },
                "response": {
                    "status": o.status.map(|s| s.as_u16()).unwrap_or(0),
                    "statusText": o.status.and_then(|s| s.canonical_reason()).unwrap_or(""),
                    "httpVersion": "HTTP/2.0",
                    "cookies": [],
                    "headers": headers(&m.response_headers),
                    "content": {
                        "size": m.decoded,
                        "compression": m.decoded as i64 - o.received as i64,
                        "mimeType": mime,
                    },
                    "redirectURL": m
                        .response_headers
                        .iter()
                        .find(|(n, _)| n == "location")
                        .map(|(_, v)| v.as_str())
                        .unwrap_or(""),
                    "headersSize": -1,
                    "bodySize": o.received,
                },
                "cache": {},
                "timings": {
                    "blocked": -1,
                    "dns": -1,
                    "connect": connect,
                    "ssl": -1,
                    "send": 0,
                    "wait": ms(wait),
                    "receive": ms(receive),
                },
                "_streamId": o.stream_id,
            })
        })
        .collect();
    let har = json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "h2fetch", "version": env!("CARGO_PKG_VERSION") },
            "pages": [],
            "entries": entries,
        }
    });
    let file = create(path)?;
    let mut out = io::BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, &har).map_err(|e| format!("{}: {e}", path.display()))?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .map_err(|e| format!("{}: {}", path.display(), io_text(&e)))
}
