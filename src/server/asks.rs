//! [`Asks`]: what a handler may ask of its HTTP/2 stream besides the final
//! response: informational (1xx) heads before it, and, on an extended
//! CONNECT, an upgrade that turns the stream into a byte pipe; and the
//! requests it pushes ([`Pushes`]); and how the stream ended. Kept in the
//! stream itself ([`H2Stream`]), which the stream's entry and the handles
//! in the request's extensions ([`Informational`](crate::server::Informational),
//! [`StreamOutcome`] and the upgrade's) share.

use std::sync::atomic::{AtomicU8, Ordering};
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
    /// [`QUEUED`] and [`RESPONDED`]: lets the final response skip the
    /// lock when the handler asked for nothing (one atomic write per
    /// response instead of a lock and an unlock).
    flags: AtomicU8,
    state: Mutex<AsksState>,
    /// The requests the handler pushes.
    pub(crate) promises: Pushes,
    /// How the stream ended, for its [`StreamOutcome`] handles.
    pub(crate) end: EndCell,
}

/// In [`Asks::flags`]: the handler queued something (an informational
/// response, an upgrade), set under the lock before it is queued.
const QUEUED: u8 = 1;
/// In [`Asks::flags`]: the final response was submitted, so no more
/// informational responses. Both flags are set with `fetch_or`, whose
/// order decides: a handler that sets [`QUEUED`] first has its ask taken
/// with the response (which then waits for the lock), one that comes
/// second sees [`RESPONDED`] and is refused.
const RESPONDED: u8 = 2;

#[derive(Default)]
struct AsksState {
    /// Informational responses not yet submitted.
    informational: Vec<(StatusCode, HeaderMap)>,
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
        let asks = stream.ext();
        let mut st = asks.state();
        if st.informational.len() >= MAX_QUEUED {
            return Err(Error::user("too many informational responses queued"));
        }
        if asks.flags.fetch_or(QUEUED, Ordering::AcqRel) & RESPONDED != 0
            || stream.state().is_detached()
        {
            return Err(Error::user(
                "the final response was sent already, or the stream is closed",
            ));
        }
        st.informational.push((status, headers));
        drop(st);
        stream.schedule();
        Ok(())
    }

    /// The informational responses queued so far.
    pub(crate) fn take_informational(&self) -> Vec<(StatusCode, HeaderMap)> {
        // Without the lock when nothing was ever queued; a handler that
        // queues after this look schedules the stream again.
        if self.flags.load(Ordering::Acquire) & QUEUED == 0 {
            return Vec::new();
        }
        std::mem::take(&mut self.state().informational)
    }

    /// The handler asked to upgrade: the writer goes to `tx`.
    pub(crate) fn upgrade(&self, tx: oneshot::Sender<PipeWriter>) {
        let mut st = self.state();
        self.flags.fetch_or(QUEUED, Ordering::AcqRel);
        st.upgrade = Some(tx);
    }

    /// The final response is being submitted: the informational responses
    /// still queued, and the upgrade asked for, if any.
    pub(crate) fn respond(
        &self,
    ) -> (
        Vec<(StatusCode, HeaderMap)>,
        Option<oneshot::Sender<PipeWriter>>,
    ) {
        if self.flags.fetch_or(RESPONDED, Ordering::AcqRel) & QUEUED == 0 {
            // Nothing was queued, and from now on nothing is.
            return (Vec::new(), None);
        }
        let mut st = self.state();
        (std::mem::take(&mut st.informational), st.upgrade.take())
    }
}
