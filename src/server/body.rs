//! [`RequestBody`]: a request's body as a handler reads it, whichever
//! protocol carried it (HTTP/2 over the shared stream core, HTTP/1.1 from
//! hyper); and the owner of a response body's data source, which counts
//! the bytes it holds.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::error::{Error, Kind};
use crate::http_source::HttpBodySource;
use crate::server::asks::H2Stream;
use crate::session::StreamId;

/// The body of a request, whichever protocol carried it: on HTTP/2 the
/// stream's DATA frames as they arrive, then its trailers; on HTTP/1.1 what
/// hyper reads (a content-length or chunked body, with chunked trailers).
///
/// Flow control follows the reader: on HTTP/2 received bytes count against
/// the peer's stream and connection windows until they are read here, so a
/// handler that reads slowly slows its client down instead of making the
/// server buffer; on HTTP/1.1 hyper reads the socket only as the body is
/// read. Dropping the body gives its unread bytes back at once.
pub struct RequestBody {
    kind: BodyKind,
}

enum BodyKind {
    H2(H2Body),
    H1(hyper::body::Incoming),
    /// Taken away (by an upgrade), or none.
    Empty,
}

/// An HTTP/2 stream's body.
struct H2Body {
    stream: Arc<H2Stream>,
    content_length: Option<u64>,
}

impl RequestBody {
    pub(crate) fn new(stream: Arc<H2Stream>, content_length: Option<u64>) -> RequestBody {
        RequestBody {
            kind: BodyKind::H2(H2Body {
                stream,
                content_length,
            }),
        }
    }

    /// The body of a request hyper's HTTP/1.1 server read.
    pub(crate) fn http1(body: hyper::body::Incoming) -> RequestBody {
        RequestBody {
            kind: BodyKind::H1(body),
        }
    }

    /// A body with nothing in it.
    pub fn empty() -> RequestBody {
        RequestBody {
            kind: BodyKind::Empty,
        }
    }

    /// The HTTP/2 stream id the body arrives on; `None` on HTTP/1.1.
    pub fn stream_id(&self) -> Option<StreamId> {
        match &self.kind {
            BodyKind::H2(b) => Some(b.stream.id()),
            BodyKind::H1(_) | BodyKind::Empty => None,
        }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::H2(b) => f
                .debug_struct("RequestBody")
                .field("stream_id", &b.stream.id())
                .finish(),
            BodyKind::H1(_) => f
                .debug_struct("RequestBody")
                .field("protocol", &"http/1.1")
                .finish(),
            BodyKind::Empty => f.debug_struct("RequestBody").finish_non_exhaustive(),
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match &mut self.get_mut().kind {
            BodyKind::H2(b) => match b.stream.poll_data(cx) {
                Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk.map(Frame::data))),
                Poll::Ready(None) => {
                    Poll::Ready(b.stream.take_trailers().map(|t| Ok(Frame::trailers(t))))
                }
                Poll::Pending => Poll::Pending,
            },
            BodyKind::H1(b) => Pin::new(b)
                .poll_frame(cx)
                .map_err(|e| Error::new(Kind::Io(std::io::Error::other(e)))),
            BodyKind::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::H2(b) => b.stream.is_end_stream(),
            BodyKind::H1(b) => b.is_end_stream(),
            BodyKind::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::H2(b) => match b.content_length {
                Some(n) => SizeHint::with_exact(n),
                None => SizeHint::default(),
            },
            BodyKind::H1(b) => b.size_hint(),
            BodyKind::Empty => SizeHint::with_exact(0),
        }
    }
}

impl Drop for H2Body {
    fn drop(&mut self) {
        self.stream.drop_reader();
    }
}

/// A response body, pulled as the client's window opens.
pub(crate) type BodySource<B> = HttpBodySource<B, StreamId>;
