//! [`Asks`]: what a handler may ask of its HTTP/2 stream besides the final
//! response: informational (1xx) heads before it, and, on an extended
//! CONNECT, an upgrade that turns the stream into a byte pipe; and the
//! requests it pushes ([`Pushes`]); and how the stream ended. Shared by
//! the stream's entry and the handles in the request's extensions
//! ([`Informational`](crate::server::Informational), [`StreamOutcome`]
//! and the upgrade's).

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

/// One stream's asks.
pub(crate) struct Asks {
    stream: Arc<Stream>,
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
    pub(crate) fn new(stream: Arc<Stream>) -> Arc<Asks> {
        Arc::new(Asks {
            stream,
            state: Mutex::default(),
            promises: Pushes::default(),
            end: EndCell::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, AsksState> {
        // Updated field by field; a poisoned lock leaves it consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stream asked about.
    pub(crate) fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }

    /// Queues an informational response and asks the connection task to
    /// send it.
    pub(crate) fn informational(
        &self,
        status: StatusCode,
        headers: HeaderMap,
    ) -> Result<(), Error> {
        let mut st = self.state();
        if st.responded || self.stream.state().is_detached() {
            return Err(Error::user(
                "the final response was sent already, or the stream is closed",
            ));
        }
        if st.informational.len() >= MAX_QUEUED {
            return Err(Error::user("too many informational responses queued"));
        }
        st.informational.push((status, headers));
        drop(st);
        self.stream.schedule();
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
