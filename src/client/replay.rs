//! Request bodies that can be sent again: for a retry after the server
//! refused the stream, or a 307/308 redirect.
//!
//! A body is read once. [`Replay`] keeps what each attempt took from it
//! (`Bytes` are shared, so this costs no copy) up to a limit; a later
//! attempt first yields what was kept, then goes on reading the original.
//! A body read past the limit cannot be replayed. An empty body always
//! can.

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

type BoxError = Box<dyn StdError + Send + Sync>;

/// One frame taken from the original body.
#[derive(Clone)]
enum Kept {
    Data(Bytes),
    Trailers(HeaderMap),
}

impl Kept {
    fn frame(&self) -> Frame<Bytes> {
        match self {
            Kept::Data(data) => Frame::data(data.clone()),
            Kept::Trailers(trailers) => Frame::trailers(trailers.clone()),
        }
    }
}

struct State<B> {
    /// The original body; `None` once it ended.
    body: Option<Pin<Box<B>>>,
    kept: Vec<Kept>,
    kept_bytes: usize,
    limit: usize,
    /// More than `limit` was read, or replays were turned off.
    spent: bool,
    /// The attempt allowed to read; an older one gets an error.
    current: u64,
}

/// The shared record of one request body.
pub(crate) struct Replay<B> {
    state: Arc<Mutex<State<B>>>,
}

impl<B> Replay<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// Keeps up to `limit` bytes of `body` for replays.
    pub(crate) fn new(body: B, limit: usize) -> Replay<B> {
        let ended = body.is_end_stream();
        Replay {
            state: Arc::new(Mutex::new(State {
                body: (!ended).then(|| Box::pin(body)),
                kept: Vec::new(),
                kept_bytes: 0,
                limit,
                spent: false,
                current: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<B>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The body for the first attempt.
    pub(crate) fn first(&self) -> Attempt<B> {
        Attempt {
            state: Some(self.state.clone()),
            attempt: self.lock().current,
            pos: 0,
        }
    }

    /// The body for another attempt, when what the earlier ones read is
    /// all still kept. The earlier attempts fail from now on.
    pub(crate) fn again(&self) -> Option<Attempt<B>> {
        let mut st = self.lock();
        if st.spent {
            return None;
        }
        st.current += 1;
        Some(Attempt {
            state: Some(self.state.clone()),
            attempt: st.current,
            pos: 0,
        })
    }

    /// No more attempts: what was kept is let go.
    pub(crate) fn done(&self) {
        let mut st = self.lock();
        st.spent = true;
        st.kept = Vec::new();
    }
}

impl<B> Attempt<B> {
    /// No body.
    pub(crate) fn empty() -> Attempt<B> {
        Attempt {
            state: None,
            attempt: 0,
            pos: 0,
        }
    }
}

/// One attempt's view of a [`Replay`]: the kept frames, then the rest of
/// the original body; or no body at all.
pub(crate) struct Attempt<B> {
    /// `None`: an empty body (a redirect that drops the body).
    state: Option<Arc<Mutex<State<B>>>>,
    attempt: u64,
    /// The next kept frame to yield.
    pos: usize,
}

impl<B> Body for Attempt<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(state) = this.state.as_ref() else {
            return Poll::Ready(None);
        };
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        if st.current != this.attempt {
            return Poll::Ready(Some(Err(
                "the request body was handed to a later attempt".into()
            )));
        }
        if this.pos < st.kept.len() {
            let frame = st.kept[this.pos].frame();
            this.pos += 1;
            return Poll::Ready(Some(Ok(frame)));
        }
        if st.spent && !st.kept.is_empty() {
            // `done` dropped what was kept; nothing is replayed any more.
            st.kept.clear();
        }
        let Some(body) = st.body.as_mut() else {
            return Poll::Ready(None);
        };
        match body.as_mut().poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                st.body = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                st.body = None;
                st.spent = true;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if !st.spent {
                    let kept = if let Some(data) = frame.data_ref() {
                        st.kept_bytes += data.len();
                        Some(Kept::Data(data.clone()))
                    } else {
                        frame.trailers_ref().cloned().map(Kept::Trailers)
                    };
                    if st.kept_bytes > st.limit {
                        st.spent = true;
                        st.kept = Vec::new();
                    } else if let Some(kept) = kept {
                        st.kept.push(kept);
                        this.pos = st.kept.len();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let Some(state) = self.state.as_ref() else {
            return true;
        };
        let st = state.lock().unwrap_or_else(|e| e.into_inner());
        self.pos >= st.kept.len() && st.body.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let Some(state) = self.state.as_ref() else {
            return SizeHint::with_exact(0);
        };
        let st = state.lock().unwrap_or_else(|e| e.into_inner());
        let kept: u64 = st.kept[self.pos.min(st.kept.len())..]
            .iter()
            .map(|k| match k {
                Kept::Data(d) => d.len() as u64,
                Kept::Trailers(_) => 0,
            })
            .sum();
        let mut hint = match &st.body {
            Some(body) => body.size_hint(),
            None => SizeHint::with_exact(0),
        };
        hint.set_lower(hint.lower() + kept);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + kept);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    async fn collect<B>(body: Attempt<B>) -> Result<Vec<u8>, BoxError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Ok(body.collect().await?.to_bytes().to_vec())
    }

    /// A body of separate chunks.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn chunks(parts: &[&'static [u8]]) -> Chunks {
        Chunks(parts.iter().map(|p| Bytes::from_static(p)).collect())
    }

    #[tokio::test]
    async fn a_partly_read_body_is_replayed_whole() {
        let replay = Replay::new(chunks(&[b"ab", b"cd", b"ef"]), 1024);
        let mut first = replay.first();
        let frame = first.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "ab");
        drop(first);
        let second = replay.again().expect("replayable");
        assert_eq!(collect(second).await.unwrap(), b"abcdef");
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_not_replayed() {
        let replay = Replay::new(Full::new(Bytes::from_static(b"0123456789")), 4);
        assert_eq!(collect(replay.first()).await.unwrap(), b"0123456789");
        assert!(replay.again().is_none());
    }

    #[tokio::test]
    async fn an_older_attempt_fails_once_a_new_one_started() {
        let replay = Replay::new(chunks(&[b"ab", b"cd"]), 1024);
        let mut first = replay.first();
        let _ = first.frame().await.unwrap().unwrap();
        let second = replay.again().unwrap();
        assert!(first.frame().await.unwrap().is_err());
        assert_eq!(collect(second).await.unwrap(), b"abcd");
    }
}
