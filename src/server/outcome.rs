//! How a request stream ended, for access logs: [`StreamOutcome`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Initiator, Reason};
use crate::server::asks::H2Stream;

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

/// A handle to how a request stream ends, found in the extensions of every
/// HTTP/2 request (`request.extensions().get::<StreamOutcome>()`). A service
/// may keep a clone, typically in its response body, to log the outcome
/// when the body is dropped: the server fills it in before it drops the
/// response body of a stream that closed or of a connection that ended.
#[derive(Clone)]
pub struct StreamOutcome(Arc<H2Stream>);

impl StreamOutcome {
    /// The handle to the end of `stream`.
    pub(crate) fn of(stream: &Arc<H2Stream>) -> StreamOutcome {
        StreamOutcome(stream.clone())
    }

    /// How the stream ended; `None` while it is open.
    pub fn get(&self) -> Option<StreamEnd> {
        self.0.ext().end.get()
    }
}

impl fmt::Debug for StreamOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StreamOutcome").field(&self.get()).finish()
    }
}

/// Where a stream's end is recorded, once: one atomic word, kept with the
/// stream's other shared state (so a request costs no allocation of its
/// own for it, nor a `Once`). Only the connection task records an end
/// (every caller of [`set`](EndCell::set) is its code); handles on other
/// tasks and threads only read it.
#[derive(Debug, Default)]
pub(crate) struct EndCell(AtomicU64);

/// The low bits of an [`EndCell`]'s word: which [`StreamEnd`] (0 while the
/// stream is open), then who sent the reset or GOAWAY, then whether a
/// GOAWAY ended it. The high 32 bits hold the error code.
const KIND: u64 = 0b11;
const COMPLETE: u64 = 1;
const RESET: u64 = 2;
const CONNECTION_ENDED: u64 = 3;
const BY_PEER: u64 = 1 << 2;
const BY_GOAWAY: u64 = 1 << 3;

impl EndCell {
    /// Records the end, unless one was already recorded.
    pub(crate) fn set(&self, end: StreamEnd) {
        let word = match end {
            StreamEnd::Complete => COMPLETE,
            StreamEnd::Reset { reason, initiator } => RESET | by(reason, initiator),
            StreamEnd::ConnectionEnded { goaway: None } => CONNECTION_ENDED,
            StreamEnd::ConnectionEnded {
                goaway: Some((reason, initiator)),
            } => CONNECTION_ENDED | BY_GOAWAY | by(reason, initiator),
        };
        // One writer: nothing can record an end between the load and the
        // store, so no compare-and-swap (an atomic read-modify-write per
        // request) is needed to keep the first.
        if self.0.load(Ordering::Relaxed) == 0 {
            self.0.store(word, Ordering::Release);
        }
    }

    /// The end recorded, if any.
    pub(crate) fn get(&self) -> Option<StreamEnd> {
        let word = self.0.load(Ordering::Acquire);
        let reason = Reason((word >> 32) as u32);
        let initiator = if word & BY_PEER != 0 {
            Initiator::Remote
        } else {
            Initiator::Local
        };
        match word & KIND {
            COMPLETE => Some(StreamEnd::Complete),
            RESET => Some(StreamEnd::Reset { reason, initiator }),
            CONNECTION_ENDED => Some(StreamEnd::ConnectionEnded {
                goaway: (word & BY_GOAWAY != 0).then_some((reason, initiator)),
            }),
            _ => None,
        }
    }
}

/// The error code and sender bits of an [`EndCell`] word.
fn by(reason: Reason, initiator: Initiator) -> u64 {
    let peer = if initiator == Initiator::Remote {
        BY_PEER
    } else {
        0
    };
    (u64::from(reason.0) << 32) | peer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_reads_back_as_recorded_and_only_the_first_counts() {
        let ends = [
            StreamEnd::Complete,
            StreamEnd::Reset {
                reason: Reason::CANCEL,
                initiator: Initiator::Remote,
            },
            StreamEnd::Reset {
                reason: Reason(0xffff_ffff),
                initiator: Initiator::Local,
            },
            StreamEnd::ConnectionEnded { goaway: None },
            StreamEnd::ConnectionEnded {
                goaway: Some((Reason::NO_ERROR, Initiator::Local)),
            },
            StreamEnd::ConnectionEnded {
                goaway: Some((Reason::ENHANCE_YOUR_CALM, Initiator::Remote)),
            },
        ];
        for end in ends {
            let cell = EndCell::default();
            assert_eq!(cell.get(), None);
            cell.set(end);
            assert_eq!(cell.get(), Some(end));
            cell.set(StreamEnd::ConnectionEnded { goaway: None });
            cell.set(StreamEnd::Complete);
            assert_eq!(
                cell.get(),
                Some(end),
                "a second end must not replace the first"
            );
        }
    }
}
