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

/// What a [`HttpBodySource`] reports to the side that owns the stream.
pub(crate) trait SourceOwner: Send + 'static {
    /// The stream id, for log lines.
    fn stream_id(&self) -> StreamId;

    /// `delta` bytes more (or fewer) of the body are held, not yet sent.
    fn held(&mut self, delta: isize) {
        let _ = delta;
    }
}

/// Pulls an `http_body::Body` as nghttp2 asks for bytes. A panicking or
/// failing body resets its stream with INTERNAL_ERROR.
pub(crate) struct HttpBodySource<B, O: SourceOwner> {
    body: Pin<Box<B>>,
    waker: Waker,
    owner: O,
    /// What the body is (a response body, a request body), for log lines.
    what: &'static str,
    /// The part of the last chunk beyond what nghttp2 could take.
    held: Bytes,
    /// The body ended after `held`.
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
            held: Bytes::new(),
            ended: false,
        }
    }

    fn take_held(&mut self, max_len: usize) -> Chunk {
        let chunk = if self.held.len() > max_len {
            self.held.split_to(max_len)
        } else {
            std::mem::take(&mut self.held)
        };
        self.owner.held(-(chunk.len() as isize));
        if self.ended && self.held.is_empty() {
            Chunk::End {
                last: chunk,
                trailers: None,
            }
        } else {
            Chunk::Data(chunk)
        }
    }
}

impl<B, O: SourceOwner> Drop for HttpBodySource<B, O> {
    fn drop(&mut self) {
        self.owner.held(-(self.held.len() as isize));
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
    fn read(&mut self, max_len: usize) -> Chunk {
        if !self.held.is_empty() {
            return self.take_held(max_len);
        }
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
                    self.owner.held(data.len() as isize);
                    self.held = data;
                    self.ended = self.body.is_end_stream();
                    return self.take_held(max_len);
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
