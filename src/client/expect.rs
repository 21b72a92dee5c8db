//! `expect: 100-continue` (RFC 9110 section 10.1.1): the request body
//! waits until the server answers `100 Continue`, or for a second (what
//! nghttp and curl wait), before it is sent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;
use tokio::time::Sleep;

/// How long the body waits for `100 Continue` at most.
pub(crate) const WAIT: Duration = Duration::from_secs(1);

/// True when `headers` ask for `100 Continue`.
pub(crate) fn asks(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// A request body held back until `100 Continue` (or [`WAIT`]).
pub(crate) struct ExpectContinue<B> {
    inner: Pin<Box<B>>,
    /// Waiting: the signal and the deadline; `None` once either came.
    wait: Option<(oneshot::Receiver<()>, Pin<Box<Sleep>>)>,
}

impl<B> ExpectContinue<B> {
    pub(crate) fn new(inner: B, go: oneshot::Receiver<()>) -> ExpectContinue<B> {
        ExpectContinue {
            inner: Box::pin(inner),
            wait: Some((go, Box::pin(tokio::time::sleep(WAIT)))),
        }
    }
}

impl<B: Body> Body for ExpectContinue<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        if let Some((go, sleep)) = self.wait.as_mut() {
            // A dropped sender (the stream ended) lets the body go too.
            let signalled = Pin::new(go).poll(cx).is_ready();
            if !signalled && sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.wait = None;
        }
        self.inner.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
