//! [`Informational`]: 1xx responses (103 Early Hints and the like) before
//! the final one.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};

use crate::error::Error;
use crate::server::asks::{Asks, H2Stream};

/// Sends informational (1xx) responses, such as `103 Early Hints`, ahead of
/// the final response. The server puts one into the extensions of every
/// HTTP/2 request (`request.extensions().get::<Informational>()`); HTTP/1.1
/// requests have none (hyper's server cannot send them).
///
/// ```no_run
/// # use nghttp2::server::{Informational, RequestBody};
/// # fn handler(request: &http::Request<RequestBody>) {
/// if let Some(hints) = request.extensions().get::<Informational>() {
///     let mut headers = http::HeaderMap::new();
///     headers.insert("link", "</style.css>; rel=preload; as=style".parse().unwrap());
///     let _ = hints.send(http::StatusCode::EARLY_HINTS, headers);
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Informational {
    stream: Arc<H2Stream>,
}

impl Informational {
    pub(crate) fn new(stream: Arc<H2Stream>) -> Informational {
        Informational { stream }
    }

    /// Queues a HEADERS frame with this 1xx `status` and `headers` on the
    /// request's stream, sent before the final response. Fails when
    /// `status` is not 1xx or is 101 (which HTTP/2 forbids, RFC 9113
    /// section 8.6), when the final response was submitted already or the
    /// stream is closed, or when 16 are queued already.
    pub fn send(&self, status: StatusCode, headers: HeaderMap) -> Result<(), Error> {
        if !status.is_informational() || status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::user(format!(
                "{status} is not an informational status HTTP/2 allows"
            )));
        }
        Asks::informational(&self.stream, status, headers)
    }
}

impl fmt::Debug for Informational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Informational")
            .field("stream_id", &self.stream.id())
            .finish()
    }
}
