//! [`Push`]: server push (RFC 9113 section 8.4). A handler promises a
//! request on its own stream; the connection task sends the PUSH_PROMISE,
//! and once it is out serves the promised request with the same service,
//! its response going on the promised stream.
//!
//! The handler and the connection task share a [`Pushes`] per request
//! stream (in the stream's [`Asks`](crate::server::asks::Asks)): `Push::push` queues, the task
//! submits (`nghttp2_submit_push_promise`, never inside a callback) and
//! opens an entry for the promised stream, whose service is called when
//! nghttp2 reports the PUSH_PROMISE sent. A PUSH_PROMISE nghttp2 does not
//! send (the client turned push off or sent GOAWAY, the parent stream
//! ended or was reset) drops its entry; a promised stream the client
//! resets closes like any other.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::uri::{Authority, Scheme};
use http::{Method, Request, Uri};

use crate::error::{Error, LibError, Reason};
use crate::proto::headers::is_connection_specific;
use crate::server::asks::H2Stream;
use crate::server::handler::ConnHandler;
use crate::server::service::HttpService;
use crate::server::StreamEnd;
use crate::session::{Frame, HeaderRef, SessionRef, SettingId, StreamId};

/// How many pushes one stream's handler may have waiting for the
/// connection task.
const MAX_QUEUED: usize = 100;

/// Promises a request to the client (server push, RFC 9113 section 8.4):
/// a PUSH_PROMISE on the request's stream, then the response to the
/// promised request on a stream of its own. The server puts one into the
/// extensions of every HTTP/2 request whose client allows push
/// (SETTINGS_ENABLE_PUSH is not 0), unless
/// [`Builder::push`](crate::server::Builder::push) turned push off;
/// HTTP/1.1 requests, pushed requests, the request an `Upgrade: h2c`
/// turned into stream 1, and requests of clients that turned push off
/// have none.
///
/// The promised request is served by the same service as any other GET,
/// once the PUSH_PROMISE is sent; it carries a [`Pushed`] in its
/// extensions. A push made before the handler returns its response goes
/// out before that response's HEADERS, as section 8.4 asks, so the client
/// knows of it before it reads a body that refers to it.
///
/// ```no_run
/// # use nghttp2::server::{Push, RequestBody};
/// # fn handler(request: &http::Request<RequestBody>) {
/// if let Some(push) = request.extensions().get::<Push>() {
///     let style = http::Request::get("/style.css").body(()).unwrap();
///     if let Err(e) = push.push(style) {
///         eprintln!("not pushed: {e}");
///     }
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Push {
    stream: Arc<H2Stream>,
    scheme: Scheme,
    authority: Authority,
}

/// Marks a request the server pushed (in its extensions): the response
/// goes on the promised stream.
#[derive(Clone, Debug)]
pub struct Pushed {
    parent: StreamId,
}

impl Pushed {
    /// The stream whose PUSH_PROMISE promised this request.
    pub fn parent(&self) -> StreamId {
        self.parent
    }
}

/// The pushes of one request stream, between its handler and the
/// connection task: made by the first push (a stream that pushes nothing
/// holds one pointer).
#[derive(Default)]
pub(crate) struct Pushes(OnceLock<Box<Promises>>);

impl Pushes {
    /// The handler pushed something the connection task has not acted on.
    #[inline]
    pub(crate) fn waiting(&self) -> bool {
        self.0.get().is_some_and(|p| p.waiting())
    }

    fn get(&self) -> Option<&Promises> {
        self.0.get().map(|p| &**p)
    }

    fn get_or_init(&self) -> &Promises {
        self.0.get_or_init(Box::default)
    }
}

/// The queue behind [`Pushes`].
#[derive(Default)]
struct Promises {
    /// Something is queued or promised: the task's quick check.
    any: AtomicBool,
    /// Requests to promise, complete (every pseudo-header known), then,
    /// once their PUSH_PROMISE is submitted, with the promised stream id
    /// (their entries are made next).
    state: Mutex<Vec<(Option<StreamId>, Parts)>>,
}

impl Promises {
    fn state(&self) -> MutexGuard<'_, Vec<(Option<StreamId>, Parts)>> {
        // Updated by single pushes and takes; a poisoned lock leaves it
        // consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn waiting(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }
}

impl Push {
    /// Puts the handle for `request`, on `stream`, into its
    /// extensions, unless the client turned push off or the request names
    /// no authority to push for. Out of line: the request path stays small
    /// where it is called for servers that offer push
    /// ([`Builder::push`](crate::server::Builder::push)).
    #[inline(never)]
    pub(crate) fn offer<B>(cx: &SessionRef, stream: &Arc<H2Stream>, request: &mut Request<B>) {
        if cx.remote_setting(SettingId::ENABLE_PUSH) == 0 {
            return;
        }
        let uri = request.uri();
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return;
        };
        let push = Push {
            stream: stream.clone(),
            scheme: scheme.clone(),
            authority: authority.clone(),
        };
        request.extensions_mut().insert(push);
    }

    /// Queues a PUSH_PROMISE of `request` on the request's stream. The
    /// request must be GET or HEAD (safe and cacheable, RFC 9113 section
    /// 8.4) without a body (a `content-length`, if any, of 0); its URI may
    /// be a path alone (`/style.css`), the scheme and authority then being
    /// the parent request's. Connection-specific header fields are left
    /// out, as in every HTTP/2 message.
    ///
    /// Fails, with nothing sent, when the request breaks those rules, when
    /// the parent stream is closed, or when 100 pushes wait already. A push
    /// accepted here can still not happen: when the client turns push off,
    /// sends GOAWAY or resets the parent stream before the PUSH_PROMISE is
    /// sent, or when the parent's response has ended by then; the service
    /// is then never called for it. The client may also reset the promised
    /// stream (RST_STREAM CANCEL or REFUSED_STREAM) at any time, which
    /// ends it as any reset does.
    pub fn push(&self, request: Request<()>) -> Result<(), Error> {
        let (mut parts, ()) = request.into_parts();
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return Err(Error::user(format!(
                "cannot push a {} request: only GET and HEAD are safe and cacheable (RFC 9113 section 8.4)",
                parts.method
            )));
        }
        if let Some(length) = parts.headers.get(header::CONTENT_LENGTH) {
            if length.as_bytes() != b"0" {
                return Err(Error::user(
                    "cannot push a request with a body (content-length is not 0)",
                ));
            }
        }
        let uri = &parts.uri;
        let Some(path) = uri.path_and_query() else {
            return Err(Error::user("cannot push a request without a path"));
        };
        // Parsed from text rather than put together with
        // `Uri::from_parts`, which then stays inlined in the request path
        // (its only other caller).
        let full = format!(
            "{}://{}{}",
            uri.scheme().unwrap_or(&self.scheme),
            uri.authority().unwrap_or(&self.authority),
            path
        );
        parts.uri = Uri::try_from(full).map_err(|e| Error::user(e.to_string()))?;
        parts.version = http::Version::HTTP_2;
        drop_connection_specific(&mut parts.headers);
        let stream = &self.stream;
        if stream.state().is_detached() {
            return Err(Error::user("cannot push: the request's stream is closed"));
        }
        let promises = stream.ext().promises.get_or_init();
        let mut st = promises.state();
        if st.len() >= MAX_QUEUED {
            return Err(Error::user("cannot push: 100 pushes wait already"));
        }
        st.push((None, parts));
        promises.any.store(true, Ordering::Release);
        drop(st);
        // The task looks at the pushes after it polls the stream.
        stream.schedule_poll();
        Ok(())
    }
}

impl fmt::Debug for Push {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Push")
            .field("stream_id", &self.stream.id())
            .field("authority", &self.authority)
            .finish()
    }
}

/// Drops the header fields HTTP/2 forbids.
fn drop_connection_specific(headers: &mut http::HeaderMap) {
    let forbidden: Vec<_> = headers
        .iter()
        .filter(|(name, value)| is_connection_specific(name, value))
        .map(|(name, _)| name.clone())
        .collect();
    for name in forbidden {
        headers.remove(name);
    }
}

/// Submits the PUSH_PROMISEs queued on `stream` (before its response,
/// when called as the response is submitted); their entries are made by
/// [`ConnHandler::send_pushes`].
#[cold]
pub(crate) fn submit(cx: &mut SessionRef, stream: &H2Stream) {
    let Some(promises) = stream.ext().promises.get() else {
        return;
    };
    let parent = stream.id();
    promises.state().retain_mut(|(promised, parts)| {
        if promised.is_some() {
            return true;
        }
        match submit_one(cx, parent, parts) {
            Ok(id) => {
                *promised = Some(id);
                true
            }
            Err(e) => {
                tracing::debug!(stream = %parent, path = %parts.uri, error = %e, "PUSH_PROMISE not submitted");
                false
            }
        }
    });
}

fn submit_one(cx: &mut SessionRef, parent: StreamId, parts: &Parts) -> Result<StreamId, Error> {
    let scheme = parts.uri.scheme_str().unwrap_or("https");
    let authority = parts.uri.authority().map_or("", |a| a.as_str());
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let pseudo = [
        HeaderRef::new(b":method", parts.method.as_str().as_bytes()),
        HeaderRef::new(b":scheme", scheme.as_bytes()),
        HeaderRef::new(b":authority", authority.as_bytes()),
        HeaderRef::new(b":path", path.as_bytes()),
    ];
    let fields = parts
        .headers
        .iter()
        .map(|(name, value): (_, &HeaderValue)| {
            HeaderRef::new(name.as_str().as_bytes(), value.as_bytes())
        });
    cx.submit_push_promise(parent, pseudo.into_iter().chain(fields))
}

impl<S: HttpService> ConnHandler<S> {
    /// Submits the PUSH_PROMISEs stream `id`'s handler queued since its
    /// response went (or that were not submitted with it), and makes the
    /// entries of the streams promised so far.
    #[cold]
    pub(crate) fn send_pushes(&mut self, cx: &mut SessionRef, id: StreamId) {
        let Some(stream) = self.streams.get(&id).map(|entry| entry.stream().clone()) else {
            return;
        };
        submit(cx, &stream);
        let promised = {
            let Some(promises) = stream.ext().promises.get() else {
                return;
            };
            let mut st = promises.state();
            let (promised, queued): (Vec<_>, Vec<_>) = std::mem::take(&mut *st)
                .into_iter()
                .partition(|(promised, _)| promised.is_some());
            *st = queued;
            // A push queued since `submit` keeps the flag up (and its
            // stream scheduled).
            promises.any.store(!st.is_empty(), Ordering::Release);
            promised
        };
        for (promised, mut parts) in promised {
            parts.extensions.insert(Pushed { parent: id });
            self.adopt_pushed(promised.unwrap_or_default(), parts);
        }
    }

    /// A frame left: when it is a PUSH_PROMISE, the promised stream is
    /// open (reserved), and its request goes to the service.
    pub(crate) fn promise_sent(&mut self, frame: &Frame<'_>) {
        if let Some(entry) = frame
            .promised_stream_id()
            .and_then(|id| self.streams.get(&id))
        {
            entry.stream().schedule_poll();
        }
    }

    /// A frame was not sent: when it is a PUSH_PROMISE, the promised
    /// stream never opened (nghttp2 will say nothing more of it), and its
    /// entry goes.
    pub(crate) fn promise_not_sent(&mut self, frame: &Frame<'_>, error: LibError) {
        let Some(id) = frame.promised_stream_id() else {
            return;
        };
        if let Some(entry) = self.streams.remove(&id) {
            tracing::debug!(stream = %frame.stream_id(), promised = %id, %error, "PUSH_PROMISE not sent");
            entry.asks().end.set(StreamEnd::Reset {
                reason: Reason::REFUSED_STREAM,
                initiator: crate::error::Initiator::Local,
            });
            self.closed.push(entry);
        }
    }
}
