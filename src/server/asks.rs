//! [`Asks`]: what a handler may ask of its HTTP/2 stream besides the final
//! response: informational (1xx) heads before it, and, on an extended
//! CONNECT, an upgrade that turns the stream into a byte pipe; and the
//! requests it pushes ([`Pushes`]); and how the stream ended. Kept in the
//! stream itself ([`H2Stream`]), which the stream's entry and the handles
//! in the request's extensions ([`Informational`](crate::server::Informational),
//! [`StreamOutcome`] and the upgrade's) share.

use std::sync::{Arc, Mutex, MutexGuard};

use http::{HeaderMap, StatusCode};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::proto::stream::Stream;
use crate::server::outcome::EndCell;
use crate::server::push::Pushes;
use crate::server::upgrade::PipeWriter;
#[cfg(doc)]
use crate::server::StreamOutcome;

/// How many informational responses may wait for the connection task.
const MAX_QUEUED: usize = 16;

/// A server's HTTP/2 stream: the shared stream core, with the handler's
/// asks in the same allocation (one allocation and one reference count
/// per request, not two of each).
pub(crate) type H2Stream = Stream<Asks>;

/// One stream's asks.
#[derive(Default)]
pub(crate) struct Asks {
    state: Mutex<AsksState>,
    /// The requests the handler pushes.
    pub(crate) promises: Pushes,
    /// How the stream ended, for its [`StreamOutcome`] handles.
    pub(crate) end: EndCell,
}

#[derive(Default)]
struct AsksState {
    /// Informational responses not yet submitted.
    informational: Vec<(StatusCode, HeaderMap)>,
    /// The final response was submitted: no more informational ones.
    responded: bool,
    /// Where the response's writer goes when a 2xx answers an extended
    /// CONNECT whose handler asked to upgrade.
    upgrade: Option<oneshot::Sender<PipeWriter>>,
}

impl Asks {
    fn state(&self) -> MutexGuard<'_, AsksState> {
        // Updated field by field; a poisoned lock leaves it consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an informational response on `stream`, whose asks these
    /// are, and asks the connection task to send it.
    pub(crate) fn informational(
        stream: &Arc<H2Stream>,
        status: StatusCode,
        headers: HeaderMap,
    ) -> Result<(), Error> {
        let mut st = stream.ext().state();
        if st.responded || stream.state().is_detached() {
            return Err(Error::user(
                "the final response was sent already, or the stream is closed",
            ));
        }
        if st.informational.len() >= MAX_QUEUED {
            return Err(Error::user("too many informational responses queued"));
        }
        st.informational.push((status, headers));
        drop(st);
        stream.schedule();
        Ok(())
    }

    /// The informational responses queued so far.
    pub(crate) fn take_informational(&self) -> Vec<(StatusCode, HeaderMap)> {
        std::mem::take(&mut self.state().informational)
    }

    /// The handler asked to upgrade: the writer goes to `tx`.
    pub(crate) fn upgrade(&self, tx: oneshot::Sender<PipeWriter>) {
        self.state().upgrade = Some(tx);
    }

    /// The final response is being submitted: the informational responses
    /// still queued, and the upgrade asked for, if any.
    pub(crate) fn respond(
        &self,
    ) -> (
        Vec<(StatusCode, HeaderMap)>,
        Option<oneshot::Sender<PipeWriter>>,
    ) {
        let mut st = self.state();
        st.responded = true;
        (std::mem::take(&mut st.informational), st.upgrade.take())
    }
}
