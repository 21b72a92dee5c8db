//! How a request stream ended, for access logs: [`StreamOutcome`].

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::error::{Initiator, Reason};

/// How a request stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// Both sides ended the stream: the response went out in full.
    Complete,
    /// RST_STREAM ended it, sent by `initiator` with `reason` (a stream
    /// refused by the server is `Local`, `REFUSED_STREAM`).
    Reset {
        /// The code of the RST_STREAM.
        reason: Reason,
        /// Who sent it.
        initiator: Initiator,
    },
    /// The connection ended while the stream was still open: cut by a
    /// GOAWAY (with its code and who sent it) or, when `goaway` is `None`,
    /// by the socket closing or failing.
    ConnectionEnded {
        /// The GOAWAY that ended the connection, if one did.
        goaway: Option<(Reason, Initiator)>,
    },
}

impl fmt::Display for StreamEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = |i: &Initiator| match i {
            Initiator::Local => "server",
            Initiator::Remote => "client",
        };
        match self {
            StreamEnd::Complete => f.write_str("complete"),
            StreamEnd::Reset { reason, initiator } if *reason == Reason::REFUSED_STREAM => {
                write!(f, "refused by the {}", who(initiator))
            }
            StreamEnd::Reset { reason, initiator } => {
                write!(f, "reset by the {} ({reason})", who(initiator))
            }
            StreamEnd::ConnectionEnded {
                goaway: Some((reason, initiator)),
            } => write!(f, "cut by the {}'s GOAWAY ({reason})", who(initiator)),
            StreamEnd::ConnectionEnded { goaway: None } => {
                f.write_str("cut by the connection closing")
            }
        }
    }
}

/// A handle to how a request stream ends, found in every request's
/// extensions (`request.extensions().get::<StreamOutcome>()`). A service
/// may keep a clone, typically in its response body, to log the outcome
/// when the body is dropped: the server fills it in before it drops the
/// response body of a stream that closed or of a connection that ended.
#[derive(Clone, Debug, Default)]
pub struct StreamOutcome(Arc<OnceLock<StreamEnd>>);

impl StreamOutcome {
    /// How the stream ended; `None` while it is open.
    pub fn get(&self) -> Option<StreamEnd> {
        self.0.get().copied()
    }

    /// Records the end, unless one was already recorded.
    pub(crate) fn set(&self, end: StreamEnd) {
        let _ = self.0.set(end);
    }
}
