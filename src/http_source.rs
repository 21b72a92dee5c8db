//! [`HttpBodySource`]: an `http_body::Body` as a session [`DataSource`], the
//! way both the server (response bodies) and the client (request bodies)
//! send a body.
//!
//! The session polls the body, with the stream's waker, before it writes
//! frames (never inside nghttp2's callbacks) and only as far as the peer's
//! windows let the body go. A body that is not ready answers
//! `Chunk::Pending`; its waker then asks the connection task to resume the
//! stream.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::Body;

use crate::error::Reason;
use crate::session::StreamId;
use crate::session::{Chunk, DataSource, Header};

/// How many empty DATA frames in a row a body may yield before the source
/// yields to the connection task.
const EMPTY_FRAMES_BEFORE_YIELD: usize = 16;

/// Tells a [`HttpBodySource`] which stream its body is on, for log lines
/// (a client's request learns its stream id only once submitted).
pub(crate) trait SourceOwner: Send + 'static {
    /// The stream id.
    fn stream_id(&self) -> StreamId;
}

/// A stream whose id is known from the start (the server's responses).
impl SourceOwner for StreamId {
    fn stream_id(&self) -> StreamId {
        *self
    }
}

/// Pulls an `http_body::Body` as nghttp2 asks for bytes. A panicking or
/// failing body resets its stream with INTERNAL_ERROR.
///
/// Each chunk the body yields goes to the session whole, however large:
/// the session frames it as the windows allow and counts it, while it
/// waits, in its buffered body bytes (the server's `send_buffered`). The
/// session asks for the next chunk only once it holds less than about a
/// frame's worth, so a body is still pulled only as fast as the peer
/// takes it.
pub(crate) struct HttpBodySource<B, O: SourceOwner> {
    body: Pin<Box<B>>,
    waker: Waker,
    owner: O,
    /// What the body is (a response body, a request body), for log lines.
    what: &'static str,
    /// The body ended (with its last chunk given already).
    ended: bool,
}

impl<B, O: SourceOwner> HttpBodySource<B, O> {
    /// A source polling `body` with `waker`.
    pub(crate) fn new(
        body: Pin<Box<B>>,
        waker: Waker,
        owner: O,
        what: &'static str,
    ) -> HttpBodySource<B, O> {
        HttpBodySource {
            body,
            waker,
            owner,
            what,
            ended: false,
        }
    }
}

/// Converts a trailer map to the session's owned header fields.
pub(crate) fn trailers_to_headers(map: &HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(name, value)| {
            Header::new(
                Bytes::copy_from_slice(name.as_str().as_bytes()),
                Bytes::copy_from_slice(value.as_bytes()),
            )
        })
        .collect()
}

impl<B, O> DataSource for HttpBodySource<B, O>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    O: SourceOwner,
{
    fn read(&mut self, _max_len: usize) -> Chunk {
        if self.ended {
            return Chunk::end();
        }
        let mut cx = TaskContext::from_waker(&self.waker);
        for _ in 0..EMPTY_FRAMES_BEFORE_YIELD {
            let body = self.body.as_mut();
            let polled = catch_unwind(AssertUnwindSafe(|| body.poll_frame(&mut cx)));
            let frame = match polled {
                Err(_) => {
                    tracing::warn!(stream = %self.owner.stream_id(), "{} panicked", self.what);
                    return Chunk::Reset(Reason::INTERNAL_ERROR);
                }
                Ok(Poll::Pending) => return Chunk::Pending,
                Ok(Poll::Ready(None)) => {
                    self.ended = true;
                    return Chunk::end();
                }
                Ok(Poll::Ready(Some(Err(e)))) => {
                    let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                    tracing::debug!(stream = %self.owner.stream_id(), error = %e, "{} failed", self.what);
                    return Chunk::Reset(Reason::INTERNAL_ERROR);
                }
                Ok(Poll::Ready(Some(Ok(frame)))) => frame,
            };
            match frame.into_data() {
                Ok(data) if data.is_empty() => continue,
                Ok(data) => {
                    self.ended = self.body.is_end_stream();
                    return if self.ended {
                        Chunk::End {
                            last: data,
                            trailers: None,
                        }
                    } else {
                        Chunk::Data(data)
                    };
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        self.ended = true;
                        return Chunk::trailers(trailers_to_headers(&trailers));
                    }
                    // An unknown kind of frame: skip it.
                }
            }
        }
        // A body that keeps yielding nothing: let others run, come back.
        self.waker.wake_by_ref();
        Chunk::Pending
    }
}
