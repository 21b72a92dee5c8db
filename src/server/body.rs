//! [`RequestBody`]: a request's DATA and trailers as a handler reads them,
//! over the shared stream core; and the owner of a response body's data
//! source, which counts the bytes it holds.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::error::Error;
use crate::http_source::{HttpBodySource, SourceOwner};
use crate::proto::stats::Held;
use crate::proto::stream::Stream;
use crate::session::StreamId;

/// The body of a request: DATA frames as they arrive, then the trailers.
///
/// Flow control follows the reader: received bytes count against the
/// peer's stream and connection windows until they are read here, so a
/// handler that reads slowly slows its client down instead of making the
/// server buffer. Dropping the body gives its unread bytes back at once.
pub struct RequestBody {
    stream: Arc<Stream>,
    content_length: Option<u64>,
}

impl RequestBody {
    pub(crate) fn new(stream: Arc<Stream>, content_length: Option<u64>) -> RequestBody {
        RequestBody {
            stream,
            content_length,
        }
    }

    /// The HTTP/2 stream id the body arrives on.
    pub fn stream_id(&self) -> StreamId {
        self.stream.id()
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("stream_id", &self.stream.id())
            .finish()
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match self.stream.poll_data(cx) {
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk.map(Frame::data))),
            Poll::Ready(None) => {
                Poll::Ready(self.stream.take_trailers().map(|t| Ok(Frame::trailers(t))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.content_length {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.stream.drop_reader();
    }
}

/// A response body, pulled as the client's window opens; the bytes it holds
/// count in the server's `send_buffered`.
pub(crate) type BodySource<B> = HttpBodySource<B, ResponseOwner>;

/// What a response body's source reports to: its stream, and the bytes it
/// holds.
pub(crate) struct ResponseOwner {
    pub(crate) stream: Arc<Stream>,
    pub(crate) held: Held,
}

impl SourceOwner for ResponseOwner {
    fn stream_id(&self) -> StreamId {
        self.stream.id()
    }

    fn held(&mut self, delta: isize) {
        if delta >= 0 {
            self.held.add(delta as usize);
        } else {
            self.held.sub(delta.unsigned_abs());
        }
    }
}
