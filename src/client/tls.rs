//! TLS for the client: ALPN `h2`, certificates verified against the
//! system's roots (or a CA file), hostname checked, an optional client
//! certificate.
//!
//! Errors are one line: the file and what is wrong with it, or OpenSSL's
//! first reason; the whole OpenSSL error stack is logged at `debug`.

use std::io;
use std::path::PathBuf;
#[cfg(feature = "tls")]
use std::{path::Path, pin::Pin};

#[cfg(feature = "tls")]
use openssl::error::ErrorStack;
#[cfg(feature = "tls")]
use openssl::pkey::PKey;
#[cfg(feature = "tls")]
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
#[cfg(feature = "tls")]
use openssl::x509::X509;
use tokio::net::TcpStream;
#[cfg(feature = "tls")]
use tokio_openssl::SslStream;

use crate::error::Error;
#[cfg(feature = "tls")]
use crate::error::Kind;

/// How to run TLS.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsConfig {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) insecure: bool,
    /// A client certificate (PEM, leaf first) and its private key (PEM).
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
}

/// An I/O error's text without Rust's ` (os error N)` suffix.
pub(crate) fn io_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(feature = "tls")]
/// OpenSSL's first reason, in one line; the whole stack goes to the log.
fn short(stack: &ErrorStack) -> String {
    tracing::debug!(openssl = %stack, "OpenSSL error stack");
    stack
        .errors()
        .first()
        .map(|e| e.reason().unwrap_or("unknown OpenSSL error").to_string())
        .unwrap_or_else(|| "unknown OpenSSL error".to_string())
}

#[cfg(feature = "tls")]
fn tls_error(host: &str, what: &str, e: &ErrorStack) -> Error {
    Error::user(format!("TLS with {host}: {what}: {}", short(e)))
}

#[cfg(feature = "tls")]
fn read(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::new(Kind::Io(io::Error::new(
            e.kind(),
            format!("{what} {}: {}", path.display(), io_text(&e)),
        )))
    })
}

#[cfg(feature = "tls")]
/// The certificates of a PEM file; an error names the file when there is
/// none.
fn certificates(path: &Path, what: &str) -> Result<Vec<X509>, Error> {
    let pem = read(path, what)?;
    match X509::stack_from_pem(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(Error::user(format!(
            "{what} {}: no PEM certificate in it",
            path.display()
        ))),
        Err(e) => Err(Error::user(format!(
            "{what} {}: not a PEM certificate: {}",
            path.display(),
            short(&e)
        ))),
    }
}

#[cfg(feature = "tls")]
/// Runs the TLS handshake on `tcp` and checks that the server chose `h2`.
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    authority: &str,
    config: &TlsConfig,
) -> Result<SslStream<TcpStream>, Error> {
    let mut builder =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| tls_error(host, "setup", &e))?;
    // RFC 9113 section 9.2: TLS 1.2 or later.
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| tls_error(host, "setup", &e))?;
    builder
        .set_alpn_protos(b"\x02h2")
        .map_err(|e| tls_error(host, "setup", &e))?;
    if let Some(path) = &config.ca_file {
        for cert in certificates(path, "CA file")? {
            builder
                .cert_store_mut()
                .add_cert(cert)
                .map_err(|e| tls_error(host, &format!("CA file {}", path.display()), &e))?;
        }
    }
    if let Some((cert_path, key_path)) = &config.client_cert {
        let mut chain = certificates(cert_path, "certificate file")?.into_iter();
        let leaf = chain.next().expect("certificates() returns at least one");
        let key_pem = read(key_path, "key file")?;
        let key = PKey::private_key_from_pem(&key_pem).map_err(|e| {
            Error::user(format!(
                "key file {}: not a PEM private key: {}",
                key_path.display(),
                short(&e)
            ))
        })?;
        builder
            .set_certificate(&leaf)
            .map_err(|e| tls_error(host, "client certificate", &e))?;
        for cert in chain {
            builder
                .add_extra_chain_cert(cert)
                .map_err(|e| tls_error(host, "client certificate chain", &e))?;
        }
        // OpenSSL checks the pair in both calls.
        let paired = builder
            .set_private_key(&key)
            .and_then(|()| builder.check_private_key());
        if let Err(e) = paired {
            tracing::debug!(openssl = %e, "OpenSSL error stack");
            return Err(Error::user(format!(
                "the key in {} does not match the certificate in {}",
                key_path.display(),
                cert_path.display()
            )));
        }
    }
    if config.insecure {
        builder.set_verify(SslVerifyMode::NONE);
    }
    let connector = builder.build();
    let mut ssl_config = connector
        .configure()
        .map_err(|e| tls_error(host, "setup", &e))?;
    if config.insecure {
        ssl_config.set_verify_hostname(false);
    }
    let ssl = ssl_config
        .into_ssl(host)
        .map_err(|e| tls_error(host, "setup", &e))?;
    let mut stream = SslStream::new(ssl, tcp).map_err(|e| tls_error(host, "setup", &e))?;
    if let Err(e) = Pin::new(&mut stream).connect().await {
        let verify = stream.ssl().verify_result();
        if verify.as_raw() != 0 {
            return Err(Error::user(format!(
                "TLS handshake with {host} failed: certificate verify failed: {}",
                verify.error_string()
            )));
        }
        let why = match (e.ssl_error(), e.io_error()) {
            (Some(stack), _) => short(stack),
            (None, Some(io)) => io_text(io),
            (None, None) => "the server closed the connection".to_string(),
        };
        return Err(Error::user(format!(
            "TLS handshake with {host} failed: {why}"
        )));
    }
    match stream.ssl().selected_alpn_protocol() {
        Some(b"h2") => {}
        chosen => {
            let answer = match chosen {
                Some(proto) => format!(
                    "TLS ALPN chose {:?}, not h2",
                    String::from_utf8_lossy(proto)
                ),
                None => "it did not agree to h2 by TLS ALPN".to_string(),
            };
            return Err(Error::new(Kind::NotHttp2 {
                authority: authority.to_string(),
                answer,
            }));
        }
    }
    Ok(stream)
}

/// Without the `tls` feature there is no TLS: `https://` fails at once.
#[cfg(not(feature = "tls"))]
pub(crate) async fn connect(
    _tcp: TcpStream,
    host: &str,
    _authority: &str,
    _config: &TlsConfig,
) -> Result<TcpStream, Error> {
    Err(Error::user(format!(
        "https://{host}: TLS needs the nghttp2 crate's `tls` feature"
    )))
}
