//! `h2serve`: an HTTP/2 server on nghttp2's engine.
//!
//! With no arguments it serves HTTPS on 127.0.0.1:8443 with a self-signed
//! certificate for `localhost` made at start (HTTP/2 by ALPN `h2`,
//! HTTP/1.1 by `http/1.1` or no ALPN), and a built-in site:
//! `GET /` answers `hello world`; `POST`/`PUT /upload` echoes the request
//! body back as it arrives.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use nghttp2::server::files::{FileBody, Files, MimeTypes};
use nghttp2::server::{
    service_fn, tls, BoxError, Builder, Push, RequestBody, StreamEnd, StreamOutcome,
};
use nghttp2::trace::{SharedWriter, Tracer};

/// An HTTP/2 server on nghttp2's engine.
#[derive(Parser, Debug)]
#[command(
    name = "h2serve",
    version,
    about = "An HTTP/2 server on nghttp2's engine",
    disable_version_flag = true
)]
struct Args {
    /// The address to listen on, `HOST:PORT` (a name such as
    /// `localhost:8443`, or an IP address; `[::1]:8443` for IPv6).
    /// Default: 127.0.0.1:8443, or every interface with PORT.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    addr: Option<String>,
    /// nghttpd's form: the port to listen on (on every interface, as
    /// nghttpd does), instead of --addr.
    #[arg(value_name = "PORT")]
    port: Option<u16>,
    /// nghttpd's form: the private key (PEM), after PORT; with CERT.
    #[arg(value_name = "KEY", requires = "cert_file")]
    key_file: Option<PathBuf>,
    /// nghttpd's form: the certificate chain (PEM), after KEY.
    #[arg(value_name = "CERT")]
    cert_file: Option<PathBuf>,
    /// Serve cleartext instead of TLS: HTTP/2 with prior knowledge (h2c),
    /// and HTTP/1.1 with `Upgrade: h2c`.
    #[arg(long)]
    no_tls: bool,
    /// Speak HTTP/2 only: HTTP/1.x clients get 505 (cleartext) or are
    /// refused after the TLS handshake, instead of being served HTTP/1.1.
    #[arg(long)]
    no_http1: bool,
    /// The certificate chain (PEM); with --key. Default: a self-signed
    /// certificate for localhost, made at start.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// The private key (PEM); with --cert.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Serve the files under DIR instead of the built-in site.
    #[arg(short = 'd', long, value_name = "DIR")]
    htdocs: Option<PathBuf>,
    /// Echo the body of POST and PUT requests on any path, as nghttpd does.
    #[arg(long)]
    echo_upload: bool,
    /// Event loops, as nghttpd's -n: N threads, each with its own
    /// single-threaded runtime, take the accepted connections in turn
    /// (default: the number of cores).
    #[arg(short = 'n', long, value_name = "N")]
    workers: Option<usize>,
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    #[arg(short = 'm', long, default_value_t = 100, value_name = "N")]
    max_concurrent_streams: u32,
    /// The initial stream window is 2^N-1 (as nghttpd -w).
    #[arg(short = 'w', long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=30))]
    window_bits: Option<u32>,
    /// The connection window is 2^N-1 (as nghttpd -W).
    #[arg(short = 'W', long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=30))]
    connection_window_bits: Option<u32>,
    /// SETTINGS_MAX_HEADER_LIST_SIZE in bytes: larger request headers get
    /// 431.
    #[arg(long, default_value_t = 65_536, value_name = "BYTES")]
    max_header_list_size: u32,
    /// Close a connection after this long with nothing sent or received
    /// and nothing to do on the server's side (GOAWAY); 0 never does.
    /// DURATION is a number with an optional unit: ms, s (default), m, h.
    #[arg(long, default_value = "120s", value_name = "DURATION", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Close a connection whose client reads none of the pending output
    /// for this long.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    write_timeout: Duration,
    /// Close a connection whose TLS handshake and HTTP/2 preface take
    /// longer than this.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    handshake_timeout: Duration,
    /// Print every frame, in nghttpd -v's format.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Write one JSON object per frame to FILE.
    #[arg(long, value_name = "FILE")]
    trace_json: Option<PathBuf>,
    /// Log only warnings and errors (no access log).
    #[arg(short = 'q', long)]
    quiet: bool,
    /// A trailer field sent after every response body, `'name: value'`
    /// (repeatable; as nghttpd --trailer). Responses name them in a
    /// `trailer` header; one without a body gets none.
    #[arg(long, value_name = "HEADER", value_parser = parse_trailer)]
    trailer: Vec<(http::HeaderName, HeaderValue)>,
    /// With -d: send no content-length for files (as nghttpd).
    #[arg(long)]
    no_content_length: bool,
    /// With -d: the media types by extension, in /etc/mime.types' format.
    /// Default: /etc/mime.types when it can be read, else a built-in table.
    #[arg(long, value_name = "FILE")]
    mime_types_file: Option<PathBuf>,
    /// With -d: gzip the error pages (content-encoding: gzip, as nghttpd
    /// -e sends them whatever the request accepts).
    #[arg(short = 'e', long)]
    error_gzip: bool,
    /// Mutual TLS: ask every client for a certificate and refuse one
    /// without a certificate that chains to --cacert (or, without it, to
    /// the system's CAs).
    #[arg(short = 'V', long)]
    verify_client: bool,
    /// With -V: the CA certificates (PEM) client certificates must chain
    /// to.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// SETTINGS_HEADER_TABLE_SIZE to announce: the HPACK table size the
    /// client's encoder may use (default 4096, not sent).
    #[arg(short = 'c', long, value_name = "SIZE", value_parser = parse_size)]
    header_table_size: Option<u32>,
    /// The most the HPACK encoder uses of its table for response headers
    /// (default: what the client announces, 4096 unless it says otherwise).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    encoder_header_table_size: Option<u32>,
    /// Answer as soon as a request's headers arrive, not once its body
    /// has ended (as nghttpd). Uploads echoed answer early either way.
    #[arg(long)]
    early_response: bool,
    /// Server push, as nghttpd -p: when PATH is requested, push
    /// PUSH_PATH,... (GET requests for them, served as any other) before
    /// the response, to clients that allow push. Repeatable:
    /// `-p /=/style.css,/app.js -p /doc=/doc.css`.
    #[arg(short = 'p', long = "push", value_name = "PATH=PUSH_PATH,...", value_parser = parse_push)]
    push: Vec<(String, Vec<String>)>,
    /// Print what every connection reads (decrypted, over TLS) to standard
    /// output in the canonical hex+ASCII display, as nghttpd --hexdump.
    #[arg(long)]
    hexdump: bool,
    /// Print the version (long only: -V is --verify-client, as nghttpd).
    #[arg(long, action = clap::ArgAction::Version)]
    version: (),
}

/// A size in bytes, with an optional K or M (times 1024), as nghttpd.
fn parse_size(text: &str) -> Result<u32, String> {
    let (number, scale) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1024),
        Some((i, 'm' | 'M')) => (&text[..i], 1024 * 1024),
        _ => (text, 1),
    };
    number
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("{text:?} is not a size (say 4096, 8K, 1M)"))
}

/// `PATH=PUSH_PATH,...`: the path requested and the paths pushed with it.
fn parse_push(text: &str) -> Result<(String, Vec<String>), String> {
    let (path, pushes) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not PATH=PUSH_PATH,..."))?;
    let check = |p: &str| {
        if p.starts_with('/') && http::uri::PathAndQuery::try_from(p).is_ok() {
            Ok(p.to_string())
        } else {
            Err(format!("{p:?} in {text:?} is not a path (say /style.css)"))
        }
    };
    let path = check(path)?;
    let pushes = pushes.split(',').map(check).collect::<Result<_, _>>()?;
    Ok((path, pushes))
}

/// `name: value`, a field that may be sent as a trailer.
fn parse_trailer(text: &str) -> Result<(http::HeaderName, HeaderValue), String> {
    if text.starts_with(':') {
        return Err(format!(
            "{text:?}: a pseudo-header is not a header name for a trailer"
        ));
    }
    let (name, value) = text
        .split_once(':')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{text:?} is not 'name: value'"))?;
    let name = http::HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{name:?} is not a header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("{value:?} is not a header value"))?;
    Ok((name, value))
}

#[path = "shared/alloc.rs"]
mod alloc;

/// mimalloc: a server allocates and frees small objects per request; with
/// glibc's allocator that was an eighth of the CPU time (benches/h2load.sh).
#[global_allocator]
static ALLOCATOR: alloc::MiMalloc = alloc::MiMalloc;

/// Parses the command line; a usage error is one line and exit 2.
fn parse_args() -> Result<Args, ExitCode> {
    let mut args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return Err(ExitCode::SUCCESS);
        }
        Err(e) => {
            eprintln!("h2serve: {}", clap_one_line(&e));
            return Err(ExitCode::from(2));
        }
    };
    if let Err(message) = check_args(&mut args) {
        eprintln!("h2serve: {message}");
        return Err(ExitCode::from(2));
    }
    Ok(args)
}

/// A clap error in one line: its text before the usage, lines joined.
fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let text = text.split("\n\nUsage:").next().unwrap_or(&text);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.trim_start_matches("error: ").to_string()
}

/// Combinations clap cannot check; fills in the positional form.
fn check_args(args: &mut Args) -> Result<(), String> {
    if let Some(key) = args.key_file.take() {
        if args.key.is_some() || args.cert.is_some() {
            return Err("give KEY CERT or --key/--cert, not both".into());
        }
        args.key = Some(key);
        args.cert = args.cert_file.take();
    }
    if args.no_tls && (args.cert.is_some() || args.key.is_some()) {
        return Err(
            "--no-tls serves cleartext: a certificate or key makes no sense with it".into(),
        );
    }
    match (&args.cert, &args.key) {
        (Some(_), None) => return Err("--cert needs --key (the certificate's private key)".into()),
        (None, Some(_)) => return Err("--key needs --cert (the key's certificate)".into()),
        _ => {}
    }
    if args.no_tls && args.verify_client {
        return Err("--no-tls serves cleartext: -V/--verify-client needs TLS".into());
    }
    if args.cacert.is_some() && !args.verify_client {
        return Err("--cacert is the CA for client certificates: give -V with it".into());
    }
    if args.max_concurrent_streams == 0 {
        return Err("-m 0 would refuse every request; give at least 1".into());
    }
    if args.workers == Some(0) {
        return Err("-n 0: at least one worker thread".into());
    }
    match (&args.addr, args.port) {
        (Some(_), Some(_)) => return Err("give the port either as PORT or in --addr".into()),
        (None, Some(port)) => args.addr = Some(format!("0.0.0.0:{port}")),
        (None, None) => args.addr = Some("127.0.0.1:8443".into()),
        (Some(_), None) => {}
    }
    Ok(())
}

/// `HOST:PORT`, with a host name or an IP address (`[v6]:port`).
fn parse_addr(text: &str) -> Result<String, String> {
    if text.parse::<SocketAddr>().is_ok() {
        return Ok(text.to_string());
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not HOST:PORT"))?;
    port.parse::<u16>()
        .map_err(|_| format!("{port:?} in {text:?} is not a port number"))?;
    if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
        return Err(format!("{host:?} in {text:?} is not a host name"));
    }
    Ok(text.to_string())
}

/// The private key and certificate files, checked so that each problem is
/// one line: a file that cannot be read, holds no PEM, or a key that is
/// not the certificate's.
fn check_pem_files(cert: &Path, key: &Path) -> Result<(), String> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|e| {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            format!("{what} {}: {text}", path.display())
        })
    };
    let certs = openssl::x509::X509::stack_from_pem(&read(cert, "certificate")?)
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("certificate {}: no PEM certificate in it", cert.display()))?;
    let key_pem = read(key, "private key")?;
    let pkey = openssl::pkey::PKey::private_key_from_pem(&key_pem)
        .map_err(|_| format!("private key {}: not a PEM private key", key.display()))?;
    let matches = certs[0]
        .public_key()
        .map(|public| public.public_eq(&pkey))
        .unwrap_or(false);
    if !matches {
        return Err(format!(
            "the private key in {} does not match the certificate in {}",
            key.display(),
            cert.display()
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    // mimalloc asks the kernel for transparent huge pages on its arenas
    // (madvise), and a 2 MiB page is resident as a whole once touched:
    // each idle connection then costs about twice its small allocations
    // (37 KiB instead of 17 KiB, benches/perf.sh idle). nghttpd, on
    // glibc's malloc, never gets them either.
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_thp_disable(true) {
        eprintln!("h2serve: cannot turn transparent huge pages off ({e}); going on");
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let level = if args.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    // This thread accepts and hands connections to the event loops
    // (`Serve::workers`); with one, it serves them itself, as nghttpd -n 1
    // runs one event loop: no wake-ups cross threads.
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("h2serve: {message}");
    ExitCode::FAILURE
}

async fn run(args: Args) -> Result<(), String> {
    let site = Site::new(&args)?;
    let (acceptor, fingerprint) = if args.no_tls {
        (None, None)
    } else {
        let (acceptor, fingerprint) = make_acceptor(&args)?;
        (Some(acceptor), fingerprint)
    };
    let addr = args.addr.as_deref().unwrap_or("127.0.0.1:8443");
    let listener = listen(addr).await.map_err(|e| {
        let text = e.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        format!("cannot listen on {addr}: {text}")
    })?;
    // Only once the port is ours.
    if let Some(fingerprint) = fingerprint {
        println!("h2serve: self-signed certificate for localhost, SHA-256 {fingerprint}");
    }
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let host = if local.ip().is_loopback() {
        "localhost".to_string()
    } else {
        local.ip().to_string()
    };
    println!("h2serve: serving {scheme}://{host}:{}/", local.port());

    let server = server_builder(&args)?.build();
    let on_signal = server.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: GOAWAY sent, waiting for streams in flight");
        on_signal.shutdown();
    });
    // The site lives as long as the process: requests reach it through a
    // plain reference, with no reference count to write twice each.
    static SITE: std::sync::OnceLock<Site> = std::sync::OnceLock::new();
    let site: &'static Site = SITE.get_or_init(|| site);
    // The site's own future is the service's: no async block around it
    // for the request to be moved into first.
    let service = service_fn(move |request| site.respond(request));
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let served = match acceptor {
        Some(acceptor) => {
            server
                .serve_tls(listener, acceptor, service)
                .workers(workers)
                .await
        }
        None => server.serve(listener, service).workers(workers).await,
    };
    served.map_err(|e| format!("serving: {e}"))
}

/// How many connections the kernel queues for `accept`. std and tokio
/// listen with 128, and a burst of clients (`h2load -c 5000`) then
/// overflows the queue: dropped SYNs are retried only after a second.
/// nghttpd listens with 1000; Linux caps this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Listens on the first address `addr` resolves to that can be bound,
/// with [`LISTEN_BACKLOG`].
async fn listen(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        };
        let bound = socket.and_then(|socket| {
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(LISTEN_BACKLOG)
        });
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

fn server_builder(args: &Args) -> Result<Builder, String> {
    let window = |bits: u32| (1u32 << bits) - 1;
    let idle = (!args.idle_timeout.is_zero()).then_some(args.idle_timeout);
    let mut builder = Builder::new()
        .max_concurrent_streams(args.max_concurrent_streams)
        .max_header_list_size(args.max_header_list_size)
        .idle_timeout(idle)
        .write_timeout(args.write_timeout)
        .handshake_timeout(args.handshake_timeout)
        .http1(!args.no_http1)
        .server_header(Some(HeaderValue::from_static(concat!(
            "h2serve/",
            env!("CARGO_PKG_VERSION")
        ))))
        // The only handle h2serve reads is the access log's StreamOutcome:
        // without the log (-q), requests need none.
        .request_extensions(access_log_enabled());
    let json = match &args.trace_json {
        Some(path) => Some(SharedWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        )),
        None => None,
    };
    if args.verbose || json.is_some() {
        let start = Instant::now();
        let verbose = args.verbose;
        builder = builder.trace(move |id| {
            let mut tracer = if verbose {
                Tracer::stdout()
            } else {
                Tracer::new()
            };
            tracer = tracer.connection_id(id).start(start);
            if let Some(json) = &json {
                tracer = tracer.json(json.clone());
            }
            tracer
        });
    }
    if args.hexdump {
        builder = builder.hexdump(std::io::stdout());
    }
    // As nghttpd, no push unless -p asks for it (and no per-request cost).
    builder = builder.push(!args.push.is_empty());
    if let Some(n) = args.header_table_size {
        builder = builder.header_table_size(n);
    }
    if let Some(n) = args.encoder_header_table_size {
        builder = builder.encoder_header_table_size(n as usize);
    }
    if let Some(bits) = args.window_bits {
        builder = builder.initial_window_size(window(bits));
    }
    if let Some(bits) = args.connection_window_bits {
        builder = builder.initial_connection_window_size(window(bits));
    }
    Ok(builder)
}

/// Parses `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds
/// (fractions allowed).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (say 500ms, 30s, 2m)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(number * scale).map_err(|e| format!("{text:?}: {e}"))
}

/// The TLS acceptor, and the fingerprint of the self-signed certificate
/// when it made one.
fn make_acceptor(args: &Args) -> Result<(openssl::ssl::SslAcceptor, Option<String>), String> {
    let (mut builder, fingerprint) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            check_pem_files(cert, key)?;
            let builder =
                tls::acceptor_builder_from_pem_files(cert, key).map_err(|e| e.to_string())?;
            (builder, None)
        }
        _ => {
            let cert = tls::SelfSigned::localhost().map_err(|e| e.to_string())?;
            let builder = cert.acceptor_builder().map_err(|e| e.to_string())?;
            (builder, Some(cert.fingerprint_sha256()))
        }
    };
    if args.verify_client {
        if let Some(cacert) = &args.cacert {
            check_ca_file(cacert)?;
        }
        tls::verify_clients(&mut builder, args.cacert.as_deref()).map_err(|e| e.to_string())?;
    }
    Ok((builder.build(), fingerprint))
}

/// The --cacert file: readable, with at least one PEM certificate.
fn check_ca_file(path: &Path) -> Result<(), String> {
    let pem = std::fs::read(path).map_err(|e| {
        let text = e.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        format!("CA certificates {}: {text}", path.display())
    })?;
    match openssl::x509::X509::stack_from_pem(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(()),
        _ => Err(format!(
            "CA certificates {}: no PEM certificate in it",
            path.display()
        )),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// What h2serve serves: the built-in site, or files, with or without
/// echoing uploads.
#[derive(Clone, Debug)]
struct Site {
    files: Option<Files>,
    echo_upload: bool,
    /// --early-response: answer before the request body ends.
    early_response: bool,
    /// --trailer: sent after every response body.
    trailers: http::HeaderMap,
    /// Their names, for the `trailer` response header.
    trailer_names: Option<HeaderValue>,
    /// -p: the paths pushed when a path is requested.
    push: HashMap<String, Vec<String>>,
}

impl Site {
    fn new(args: &Args) -> Result<Site, String> {
        let files = match &args.htdocs {
            Some(dir) => {
                let files = Files::new(dir)
                    .map_err(|e| format!("cannot serve {}: {e}", dir.display()))?
                    .content_length(!args.no_content_length)
                    .gzip_errors(args.error_gzip);
                Some(match mime_types(args)? {
                    Some(table) => files.mime_types(table),
                    None => files,
                })
            }
            None => None,
        };
        let trailers: http::HeaderMap = args.trailer.iter().cloned().collect();
        let names = trailers.keys().map(|k| k.as_str()).collect::<Vec<_>>();
        let trailer_names = (!names.is_empty())
            .then(|| HeaderValue::from_str(&names.join(", ")))
            .transpose()
            .map_err(|e| e.to_string())?;
        let mut push: HashMap<String, Vec<String>> = HashMap::new();
        for (path, pushes) in &args.push {
            push.entry(path.clone())
                .or_default()
                .extend(pushes.iter().cloned());
        }
        Ok(Site {
            push,
            files,
            echo_upload: args.echo_upload,
            early_response: args.early_response,
            trailers,
            trailer_names,
        })
    }

    /// Answers one request. Takes the site by `'static` reference so that
    /// this future is the service's own (no wrapping future for the
    /// request to be moved through: callgrind, built-in site, 17,634 ->
    /// 17,420 instructions per request).
    async fn respond(
        &'static self,
        mut request: Request<RequestBody>,
    ) -> Result<Response<Logged>, Infallible> {
        let method = request.method();
        let head = method == Method::HEAD;
        let uploading = method == Method::POST || method == Method::PUT;
        let log = access_log_enabled().then(|| AccessLog {
            version: request.version(),
            method: method.to_string(),
            path: request.uri().path().to_string(),
            status: 0,
            bytes: 0,
            started: Instant::now(),
            outcome: request.extensions().get::<StreamOutcome>().cloned(),
        });
        if !self.push.is_empty() {
            self.push_for(&request);
        }
        let response = if uploading
            && (self.echo_upload || (self.files.is_none() && request.uri().path() == "/upload"))
        {
            echo(request)
        } else {
            if !self.early_response {
                // As nghttpd: the answer follows the whole request.
                while let Some(Ok(_)) = request.body_mut().frame().await {}
            }
            match &self.files {
                Some(files) => files.respond(&request).map(SiteBody::File),
                None => builtin(&request),
            }
        };
        let status = response.status();
        let mut response = response;
        // nghttpd sends trailers only after a body.
        let trailers = match &self.trailer_names {
            Some(names) if !head && !response.body().is_end_stream() => {
                response
                    .headers_mut()
                    .insert(header::TRAILER, names.clone());
                Some(Box::new(self.trailers.clone()))
            }
            _ => None,
        };
        Ok(response.map(|body| Logged {
            body,
            trailers,
            log: log.map(|log| {
                Box::new(AccessLog {
                    status: status.as_u16(),
                    ..log
                })
            }),
        }))
    }
}

impl Site {
    /// -p: pushes what the requested path asks for, when the client
    /// allows push (as nghttpd, whatever the request's method and
    /// whether its path is found).
    #[cold]
    fn push_for<B>(&self, request: &Request<B>) {
        let Some(push) = request.extensions().get::<Push>() else {
            return;
        };
        let Some(paths) = self.push.get(request.uri().path()) else {
            return;
        };
        for path in paths {
            let pushed = Request::get(path.as_str()).body(());
            let result = match pushed {
                Ok(pushed) => push.push(pushed),
                Err(e) => Err(nghttp2::Error::user(e.to_string())),
            };
            if let Err(e) = result {
                tracing::warn!("push of {path} for {}: {e}", request.uri().path());
            }
        }
    }
}

/// --mime-types-file, else /etc/mime.types when it can be read; `None`:
/// the built-in table.
fn mime_types(args: &Args) -> Result<Option<MimeTypes>, String> {
    match &args.mime_types_file {
        Some(path) => MimeTypes::from_file(path).map(Some).map_err(|e| {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            format!("mime types file {}: {text}", path.display())
        }),
        None => Ok(MimeTypes::from_file(MimeTypes::SYSTEM).ok()),
    }
}

/// Echoes the request body back as it arrives (full duplex).
fn echo(request: Request<RequestBody>) -> Response<SiteBody> {
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let mut response = Response::new(SiteBody::Echo(request.into_body()));
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// The built-in site.
fn builtin<B>(request: &Request<B>) -> Response<SiteBody> {
    let (status, text): (StatusCode, &'static [u8]) = match (request.method(), request.uri().path())
    {
        (&Method::GET | &Method::HEAD, "/") => (StatusCode::OK, b"hello world\n"),
        (_, "/") => (StatusCode::METHOD_NOT_ALLOWED, b"method not allowed\n"),
        (_, "/upload") => (
            StatusCode::METHOD_NOT_ALLOWED,
            b"POST or PUT a body to /upload\n",
        ),
        _ => (StatusCode::NOT_FOUND, b"not found\n"),
    };
    let head = request.method() == Method::HEAD;
    let body = if head {
        Bytes::new()
    } else {
        Bytes::from_static(text)
    };
    let mut response = Response::new(SiteBody::Full(Some(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    // The server tells a body's exact size itself (HTTP/2 and HTTP/1.1
    // alike): only a HEAD answer, which has no body, says it here.
    if head {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = if request.uri().path() == "/upload" {
            "POST, PUT"
        } else {
            "GET, HEAD"
        };
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

/// The bodies h2serve answers with.
#[derive(Debug)]
enum SiteBody {
    Full(Option<Bytes>),
    Echo(RequestBody),
    File(FileBody),
}

impl Body for SiteBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            SiteBody::Full(bytes) => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            SiteBody::Echo(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            SiteBody::File(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SiteBody::Full(bytes) => bytes.as_ref().is_none_or(|b| b.is_empty()),
            SiteBody::Echo(body) => body.is_end_stream(),
            SiteBody::File(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SiteBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            SiteBody::Echo(body) => body.size_hint(),
            SiteBody::File(body) => body.size_hint(),
        }
    }
}

/// Whether access-log lines are written (not with -q).
fn access_log_enabled() -> bool {
    tracing::enabled!(target: "h2serve::access", tracing::Level::INFO)
}

/// One access-log line, written when the response body is done (or
/// dropped, when the stream was reset).
#[derive(Debug)]
struct AccessLog {
    version: http::Version,
    method: String,
    path: String,
    status: u16,
    bytes: u64,
    started: Instant,
    /// How the stream ended: set by the server before it drops the body
    /// of a stream that was reset or cut by the connection's end.
    outcome: Option<StreamOutcome>,
}

/// A response body that counts what it yields for the access log, and
/// ends with the --trailer fields.
///
/// The log and the trailers are boxed: both are usually absent, and the
/// response is moved several times on its way to nghttp2, so every byte
/// of it costs (boxing them took `Logged` from 232 bytes to 64, and the
/// response from 344 to 176).
#[derive(Debug)]
struct Logged {
    body: SiteBody,
    /// Sent once the body ends.
    trailers: Option<Box<http::HeaderMap>>,
    log: Option<Box<AccessLog>>,
}

impl Body for Logged {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            if let Some(trailers) = this.trailers.take() {
                return Poll::Ready(Some(Ok(Frame::trailers(*trailers))));
            }
        }
        if let (Poll::Ready(Some(Ok(frame))), Some(log)) = (&polled, this.log.as_mut()) {
            if let Some(data) = frame.data_ref() {
                log.bytes += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.trailers.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        if let Some(log) = &self.log {
            let duration: Duration = log.started.elapsed();
            // A body dropped while its stream is open was sent in full (the
            // server drops it once it ended); otherwise the stream's end
            // says what happened to the response.
            let outcome = match log.outcome.as_ref().and_then(StreamOutcome::get) {
                None | Some(StreamEnd::Complete) => String::new(),
                Some(end) => format!(", not completed: {end}"),
            };
            tracing::info!(
                target: "h2serve::access",
                "{:?} {} {} {} {} bytes {:.3} ms{}",
                log.version,
                log.method,
                log.path,
                log.status,
                log.bytes,
                duration.as_secs_f64() * 1000.0,
                outcome
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("8K"), Ok(8192));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("8G").is_err());
        assert!(parse_size("4096M").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn trailers() {
        let (name, value) = parse_trailer("X-Sum:  abc ").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("x-sum", "abc"));
        assert!(parse_trailer(":status: 200").is_err());
        assert!(parse_trailer("no colon").is_err());
        assert!(parse_trailer("bad name: 1").is_err());
    }
}
