//! TLS for HTTP/2 (RFC 9113 section 9.2) and HTTP/1.1: an `SslAcceptor`
//! that offers `h2` and `http/1.1` by ALPN, TLS 1.2 or later, no renegotiation, no compression, and
//! only cipher suites HTTP/2 allows; from PEM files or from a self-signed
//! certificate made at start.

use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{
    AlpnError, SslAcceptor, SslAcceptorBuilder, SslMethod, SslOptions, SslRef, SslVersion,
};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};

use crate::error::Error;

/// The ALPN protocol list the server offers, in its order of preference:
/// `h2`, then `http/1.1`.
const ALPN: &[u8] = b"\x02h2\x08http/1.1";

fn tls_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::user(format!("{what}: {e}"))
}

/// An acceptor builder with HTTP/2's TLS rules applied, and no
/// certificate yet: TLS 1.2 or later, Mozilla's "intermediate" cipher
/// suites (all ephemeral key exchange with AEAD, none on RFC 9113's
/// prohibited list), no renegotiation, no compression, ALPN `h2` and
/// `http/1.1`, `h2` preferred (a client that offers ALPN with neither gets
/// a `no_application_protocol` alert; one that offers no ALPN is served
/// HTTP/1.1).
pub fn h2_acceptor_builder() -> Result<SslAcceptorBuilder, Error> {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
        .map_err(|e| tls_error("TLS setup", e))?;
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| tls_error("TLS setup", e))?;
    builder.set_options(SslOptions::NO_RENEGOTIATION | SslOptions::NO_COMPRESSION);
    builder.set_alpn_select_callback(|_ssl, client| {
        openssl::ssl::select_next_proto(ALPN, client).ok_or(AlpnError::ALERT_FATAL)
    });
    Ok(builder)
}

/// An HTTP/2 acceptor for the certificate chain and private key in these
/// PEM files. Errors name the file that could not be used, or say the key
/// does not match the certificate.
pub fn acceptor_from_pem_files(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<SslAcceptor, Error> {
    Ok(acceptor_builder_from_pem_files(cert, key)?.build())
}

/// Like [`acceptor_from_pem_files`], the builder before `build`, for more
/// settings (such as [`verify_clients`]).
pub fn acceptor_builder_from_pem_files(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<SslAcceptorBuilder, Error> {
    let (cert, key) = (cert.as_ref(), key.as_ref());
    let mut builder = h2_acceptor_builder()?;
    builder
        .set_certificate_chain_file(cert)
        .map_err(|e| tls_error(&format!("certificate {}", cert.display()), e))?;
    builder
        .set_private_key_file(key, openssl::ssl::SslFiletype::PEM)
        .map_err(|e| tls_error(&format!("private key {}", key.display()), e))?;
    builder
        .check_private_key()
        .map_err(|e| tls_error("the private key does not match the certificate", e))?;
    Ok(builder)
}

/// Mutual TLS: the server asks every client for a certificate and
/// refuses the handshake without one that chains to a CA in `ca_file`
/// (PEM), or to the system's CAs when `None`. The CAs of `ca_file` are
/// named to the client in the certificate request.
pub fn verify_clients(
    builder: &mut SslAcceptorBuilder,
    ca_file: Option<&Path>,
) -> Result<(), Error> {
    use openssl::ssl::SslVerifyMode;
    match ca_file {
        Some(path) => {
            let what = format!("CA certificates {}", path.display());
            builder.set_ca_file(path).map_err(|e| tls_error(&what, e))?;
            let pem = std::fs::read(path).map_err(|e| tls_error(&what, e))?;
            let mut names = openssl::stack::Stack::new().map_err(|e| tls_error(&what, e))?;
            for cert in X509::stack_from_pem(&pem).map_err(|e| tls_error(&what, e))? {
                let name = cert
                    .subject_name()
                    .to_owned()
                    .map_err(|e| tls_error(&what, e))?;
                names.push(name).map_err(|e| tls_error(&what, e))?;
            }
            builder.set_client_ca_list(names);
        }
        None => builder
            .set_default_verify_paths()
            .map_err(|e| tls_error("the system's CA certificates", e))?,
    }
    builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    // Resumed sessions keep the verified client: OpenSSL refuses to resume
    // a verified session without a context id.
    builder
        .set_session_id_context(b"nghttp2-server")
        .map_err(|e| tls_error("TLS setup", e))?;
    Ok(())
}

/// A self-signed certificate and its key.
#[derive(Debug)]
pub struct SelfSigned {
    /// The certificate.
    pub cert: X509,
    /// Its private key.
    pub key: PKey<Private>,
}

impl SelfSigned {
    /// Makes a certificate for `localhost` (also valid for 127.0.0.1 and
    /// ::1), an ECDSA P-256 key, valid from now for a year.
    pub fn localhost() -> Result<SelfSigned, Error> {
        Self::generate().map_err(|e| tls_error("making a self-signed certificate", e))
    }

    fn generate() -> Result<SelfSigned, openssl::error::ErrorStack> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COMMONNAME, "localhost")?;
        let name = name.build();
        let mut cert = X509::builder()?;
        cert.set_version(2)?;
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let serial = serial.to_asn1_integer()?;
        cert.set_serial_number(&serial)?;
        cert.set_subject_name(&name)?;
        cert.set_issuer_name(&name)?;
        cert.set_pubkey(&key)?;
        let not_before = Asn1Time::days_from_now(0)?;
        let not_after = Asn1Time::days_from_now(365)?;
        cert.set_not_before(&not_before)?;
        cert.set_not_after(&not_after)?;
        cert.append_extension(BasicConstraints::new().critical().build()?)?;
        cert.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .ip("127.0.0.1")
            .ip("::1")
            .build(&cert.x509v3_context(None, None))?;
        cert.append_extension(san)?;
        cert.sign(&key, MessageDigest::sha256())?;
        Ok(SelfSigned {
            cert: cert.build(),
            key,
        })
    }

    /// The certificate's SHA-256 fingerprint, as `AB:CD:...` (what browsers
    /// and `openssl x509 -fingerprint -sha256` show).
    pub fn fingerprint_sha256(&self) -> String {
        fingerprint_sha256(&self.cert)
    }

    /// The certificate in PEM.
    pub fn cert_pem(&self) -> Vec<u8> {
        self.cert.to_pem().unwrap_or_default()
    }

    /// An HTTP/2 acceptor serving this certificate.
    pub fn acceptor(&self) -> Result<SslAcceptor, Error> {
        Ok(self.acceptor_builder()?.build())
    }

    /// Like [`acceptor`](SelfSigned::acceptor), the builder before
    /// `build`, for more settings (such as [`verify_clients`]).
    pub fn acceptor_builder(&self) -> Result<SslAcceptorBuilder, Error> {
        let mut builder = h2_acceptor_builder()?;
        builder
            .set_certificate(&self.cert)
            .map_err(|e| tls_error("certificate", e))?;
        builder
            .set_private_key(&self.key)
            .map_err(|e| tls_error("private key", e))?;
        Ok(builder)
    }
}

/// A certificate's SHA-256 fingerprint as colon-separated upper-case hex.
pub fn fingerprint_sha256(cert: &X509) -> String {
    match cert.digest(MessageDigest::sha256()) {
        Ok(digest) => digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        Err(_) => String::new(),
    }
}

/// Checks a finished handshake: `Ok(true)` when it negotiated `h2` and
/// meets RFC 9113 section 9.2, `Ok(false)` when it is for HTTP/1.1 (ALPN
/// `http/1.1`, or no ALPN at all), else the reason to refuse HTTP/2.
pub(crate) fn check_session(ssl: &SslRef) -> Result<bool, Refusal> {
    if ssl.selected_alpn_protocol() != Some(b"h2") {
        return Ok(false);
    }
    let version = ssl.version2();
    if version == Some(SslVersion::TLS1_3) {
        return Ok(true);
    }
    if version != Some(SslVersion::TLS1_2) {
        return Err(Refusal::InadequateSecurity("TLS older than 1.2".into()));
    }
    let Some(cipher) = ssl.current_cipher() else {
        return Err(Refusal::InadequateSecurity("no cipher".into()));
    };
    let name = cipher.name();
    if !is_h2_cipher(name) {
        return Err(Refusal::InadequateSecurity(name.to_string()));
    }
    Ok(true)
}

/// True for a TLS 1.2 cipher suite (OpenSSL name) that RFC 9113 appendix A
/// does not prohibit: ephemeral key exchange with an AEAD cipher.
fn is_h2_cipher(name: &str) -> bool {
    let ephemeral = name.starts_with("ECDHE-") || name.starts_with("DHE-");
    let aead = name.contains("GCM") || name.contains("CHACHA20") || name.contains("CCM");
    ephemeral && aead
}

/// Why a TLS connection is not served.
#[derive(Debug)]
pub(crate) enum Refusal {
    InadequateSecurity(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prohibited_ciphers_are_told_apart() {
        assert!(is_h2_cipher("ECDHE-RSA-AES128-GCM-SHA256"));
        assert!(is_h2_cipher("ECDHE-ECDSA-CHACHA20-POLY1305"));
        assert!(!is_h2_cipher("AES128-GCM-SHA256"));
        assert!(!is_h2_cipher("ECDHE-RSA-AES128-SHA256"));
    }

    #[test]
    fn self_signed_has_a_fingerprint() {
        let cert = SelfSigned::localhost().unwrap();
        let fp = cert.fingerprint_sha256();
        assert_eq!(fp.len(), 32 * 3 - 1);
        cert.acceptor().unwrap();
    }
}
