//! TLS for the client: ALPN `h2`, certificates verified against the
//! system's roots (or a CA file), hostname checked.

use std::path::Path;
use std::pin::Pin;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::error::{Error, Kind};

fn tls_error(host: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::user(format!("TLS with {host}: {what}: {e}"))
}

/// Runs the TLS handshake on `tcp` and checks that the server chose `h2`.
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    authority: &str,
    ca_file: Option<&Path>,
    insecure: bool,
) -> Result<SslStream<TcpStream>, Error> {
    let mut builder =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| tls_error(host, "setup", e))?;
    // RFC 9113 section 9.2: TLS 1.2 or later.
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| tls_error(host, "setup", e))?;
    builder
        .set_alpn_protos(b"\x02h2")
        .map_err(|e| tls_error(host, "setup", e))?;
    if let Some(path) = ca_file {
        builder
            .set_ca_file(path)
            .map_err(|e| tls_error(host, &format!("CA file {}", path.display()), e))?;
    }
    if insecure {
        builder.set_verify(SslVerifyMode::NONE);
    }
    let connector = builder.build();
    let mut config = connector
        .configure()
        .map_err(|e| tls_error(host, "setup", e))?;
    if insecure {
        config.set_verify_hostname(false);
    }
    let ssl = config
        .into_ssl(host)
        .map_err(|e| tls_error(host, "setup", e))?;
    let mut stream = SslStream::new(ssl, tcp).map_err(|e| tls_error(host, "setup", e))?;
    if let Err(e) = Pin::new(&mut stream).connect().await {
        let verify = stream.ssl().verify_result();
        if verify.as_raw() != 0 {
            return Err(Error::user(format!(
                "TLS handshake with {host} failed: certificate verify failed: {}",
                verify.error_string()
            )));
        }
        return Err(tls_error(host, "handshake failed", e));
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
