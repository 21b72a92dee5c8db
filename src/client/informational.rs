//! [`informational`]: a request's informational (1xx) responses, such as
//! `103 Early Hints`, as they arrive ahead of the final one.

use std::fmt;

use http::{HeaderMap, Request, StatusCode};
use tokio::sync::mpsc;

/// How many informational responses wait for the caller before later ones
/// are dropped (a server may send any number of them).
const QUEUE: usize = 16;

/// Asks for `request`'s informational (1xx) responses: the returned
/// receiver yields each as it arrives (`100 Continue` and `103 Early Hints`
/// included), and ends once the final response arrived or the stream
/// ended. Without it, 1xx responses are read and dropped, as HTTP allows.
///
/// ```no_run
/// # async fn run(client: nghttp2::client::SendRequest) -> Result<(), nghttp2::Error> {
/// let mut request = http::Request::get("/").body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
/// let mut hints = nghttp2::client::informational(&mut request);
/// let response = client.send(request).await?;
/// while let Some((status, headers)) = hints.recv().await {
///     println!("{status}: {:?}", headers.get("link"));
/// }
/// # let _ = response; Ok(()) }
/// ```
pub fn informational<B>(request: &mut Request<B>) -> InformationalResponses {
    let (tx, rx) = mpsc::channel(QUEUE);
    request.extensions_mut().insert(InformationalSender(tx));
    InformationalResponses(rx)
}

/// In a request's extensions: where its 1xx responses go.
#[derive(Clone)]
pub(crate) struct InformationalSender(mpsc::Sender<(StatusCode, HeaderMap)>);

impl InformationalSender {
    /// Hands a 1xx response over without waiting (the connection task
    /// never blocks on a caller): dropped when the caller is 16 behind or
    /// gone.
    pub(crate) fn deliver(&self, status: StatusCode, headers: HeaderMap) {
        let _ = self.0.try_send((status, headers));
    }
}

/// The informational (1xx) responses of one request (see
/// [`informational`]).
pub struct InformationalResponses(mpsc::Receiver<(StatusCode, HeaderMap)>);

impl InformationalResponses {
    /// The next informational response; `None` once no more can come.
    pub async fn recv(&mut self) -> Option<(StatusCode, HeaderMap)> {
        self.0.recv().await
    }

    /// The next informational response if one has arrived already.
    pub fn try_recv(&mut self) -> Option<(StatusCode, HeaderMap)> {
        self.0.try_recv().ok()
    }
}

impl fmt::Debug for InformationalResponses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InformationalResponses")
            .finish_non_exhaustive()
    }
}
