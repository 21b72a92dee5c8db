//! What the server knows about a connection, put into every request's
//! extensions: [`ConnectionInfo`].

use std::net::SocketAddr;
use std::sync::Arc;

/// What a TLS handshake settled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The ALPN protocol chosen (`h2`, `http/1.1`), or `None` when the
    /// client offered none.
    pub alpn: Option<Vec<u8>>,
    /// The server name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The cipher suite, by its OpenSSL name (`TLS_AES_128_GCM_SHA256`).
    pub cipher: Option<String>,
    /// The TLS version (`TLSv1.3`).
    pub version: String,
}

/// The connection a request came on: peer and local addresses, and for TLS
/// what the handshake settled. The server inserts one into every request's
/// extensions (`request.extensions().get::<ConnectionInfo>()`); cloning it
/// is cheap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Inner {
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    tls: Option<TlsInfo>,
}

impl ConnectionInfo {
    /// Information about a connection with these addresses (either may be
    /// unknown, for a transport that is not a socket).
    pub fn new(peer: Option<SocketAddr>, local: Option<SocketAddr>) -> ConnectionInfo {
        ConnectionInfo {
            inner: Arc::new(Inner {
                peer,
                local,
                tls: None,
            }),
        }
    }

    /// The same, with what a TLS handshake settled.
    pub fn with_tls(self, tls: TlsInfo) -> ConnectionInfo {
        let inner = Arc::unwrap_or_clone(self.inner);
        ConnectionInfo {
            inner: Arc::new(Inner {
                tls: Some(tls),
                ..inner
            }),
        }
    }

    /// The client's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer
    }

    /// The server's address the client connected to.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.local
    }

    /// The TLS session, or `None` on cleartext.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.inner.tls.as_ref()
    }
}

#[cfg(feature = "tls")]
impl TlsInfo {
    /// What the handshake of `ssl` settled.
    pub(crate) fn from_ssl(ssl: &openssl::ssl::SslRef) -> TlsInfo {
        TlsInfo {
            alpn: ssl.selected_alpn_protocol().map(<[u8]>::to_vec),
            server_name: ssl
                .servername(openssl::ssl::NameType::HOST_NAME)
                .map(str::to_string),
            cipher: ssl.current_cipher().map(|c| c.name().to_string()),
            version: ssl.version_str().to_string(),
        }
    }
}
