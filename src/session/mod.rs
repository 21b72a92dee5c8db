//! A safe, sans-IO HTTP/2 session over `nghttp2_session`.
//!
//! Bytes from the peer go in through [`Session::recv`]; bytes for the peer
//! come out of [`Session::send`]; events reach a [`Handler`]; frames are
//! queued through the [`SessionRef`] the session dereferences to. No socket and
//! no runtime: two sessions wired back to back in memory speak HTTP/2.
//!
//! ```
//! use nghttp2::session::{HeaderRef, Options, Session};
//!
//! let mut client = Session::client((), &Options::new()).unwrap();
//! let mut server = Session::server((), &Options::new()).unwrap();
//! client.submit_settings(&[]).unwrap();
//! server.submit_settings(&[]).unwrap();
//! client
//!     .submit_request(
//!         [
//!             HeaderRef::new(b":method", b"GET"),
//!             HeaderRef::new(b":scheme", b"https"),
//!             HeaderRef::new(b":authority", b"example.org"),
//!             HeaderRef::new(b":path", b"/"),
//!         ],
//!         None,
//!     )
//!     .unwrap();
//! let mut wire = Vec::new();
//! client.send(&mut wire).unwrap();
//! server.recv(&wire).unwrap();
//! assert_eq!(server.last_proc_stream_id().get(), 1);
//! ```

pub mod conformance;
mod data;
mod frame;
mod handler;
mod header;
mod options;
pub(crate) mod output;
mod raw;
pub(crate) use raw::set_debug_sink;
mod session_ref;
mod settings;
mod stream_id;
pub(crate) mod stream_map;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::os::raw::c_void;
use std::ptr::NonNull;
use std::sync::OnceLock;

pub use data::{Chunk, DataSource, FnSource};
pub use frame::{Flags, Frame, FrameHeader, FrameType, HeaderRef, HeadersCategory, Priority};
pub use handler::{CallbackError, CallbackResult, Handler};
pub use header::{Header, HeaderBlock};
pub use options::Options;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use options::GLITCH_RATE_LIMIT;
pub use session_ref::SessionRef;
pub use settings::{Setting, SettingId};
pub use stream_id::StreamId;

use crate::error::{cvt, cvt_ssize, Error, Initiator, Kind, LibError, Reason};
use crate::ffi::{shim, sys};
use conformance::{Answer, Check, Conformance};
use output::Output;
use raw::Inner;

/// One HTTP/2 connection's protocol state, server or client side.
///
/// Owns the `nghttp2_session` and the Rust user data (the handler, the
/// per-stream bodies). It is `Send` when the handler is, and not `Sync`:
/// nghttp2 sessions are used from one thread at a time.
pub struct Session<H: Handler> {
    raw: NonNull<sys::nghttp2_session>,
    // Safety: the user data is reached by C through a raw pointer during
    // calls, so it is held as a raw pointer too (a Box would assert unique
    // access while C-made references exist). Drop deletes `raw` first, and
    // only then frees this.
    inner: NonNull<Inner<H>>,
    /// Output produced while `recv` flushed a terminating GOAWAY; handed out
    /// first by the next `send`.
    held_output: Vec<u8>,
    /// Set once a C call failed fatally (or a callback panicked): nghttp2
    /// says such a session must not be used again, so every later `recv`
    /// and `send` fails with this code.
    failed: Option<LibError>,
    /// A server session (else a client's).
    server: bool,
}

// SAFETY: the session and its user data are owned exclusively by `Session`
// and only touched through `&mut self`; nghttp2 keeps no thread-local state
// for a session. Everything in the user data is `Send` when `H` is
// (DataSource requires Send; raw pointers in Context only live during calls).
unsafe impl<H: Handler + Send> Send for Session<H> {}

/// The callbacks object every session is made from (nghttp2 copies it).
struct SharedCallbacks(NonNull<sys::nghttp2_session_callbacks>);
// SAFETY: never mutated after creation; nghttp2 only reads it when making a
// session.
unsafe impl Send for SharedCallbacks {}
// SAFETY: as above.
unsafe impl Sync for SharedCallbacks {}

fn callbacks() -> Result<*const sys::nghttp2_session_callbacks, Error> {
    static CALLBACKS: OnceLock<Option<SharedCallbacks>> = OnceLock::new();
    CALLBACKS
        .get_or_init(|| {
            // SAFETY: h2shim_callbacks_new returns a fresh object or null.
            NonNull::new(unsafe { shim::h2shim_callbacks_new() }).map(SharedCallbacks)
        })
        .as_ref()
        .map(|c| c.0.as_ptr() as *const _)
        .ok_or_else(|| LibError::NOMEM.into())
}

impl<H: Handler> Session<H> {
    /// A server session; nghttp2 allocates through Rust's global
    /// allocator. Corresponds to `nghttp2_session_server_new3`.
    #[doc(alias = "nghttp2_session_server_new3")]
    pub fn server(handler: H, options: &Options) -> Result<Session<H>, Error> {
        Session::new(handler, options, true)
    }

    /// A client session; the connection preface is sent with the first
    /// frames; nghttp2 allocates through Rust's global allocator.
    /// Corresponds to `nghttp2_session_client_new3`.
    #[doc(alias = "nghttp2_session_client_new3")]
    pub fn client(handler: H, options: &Options) -> Result<Session<H>, Error> {
        Session::new(handler, options, false)
    }

    fn new(handler: H, options: &Options, server: bool) -> Result<Session<H>, Error> {
        crate::check_version()?;
        let callbacks = callbacks()?;
        let conformance = options
            .conformance_on()
            .then(|| Conformance::new(server && options.expects_client_magic()));
        let options = options.to_raw()?;
        let inner = NonNull::from(Box::leak(Box::new(Inner::new(handler, conformance))));
        let mut raw = std::ptr::null_mut();
        let user_data = inner.as_ptr() as *mut c_void;
        let mut mem = raw::rust_mem();
        // SAFETY: `callbacks`, `options` and `mem` are live; nghttp2 copies
        // all three and keeps `user_data`, which outlives the session (see
        // Drop); `mem`'s functions are static.
        let rv = unsafe {
            if server {
                sys::nghttp2_session_server_new3(
                    &mut raw,
                    callbacks,
                    user_data,
                    options.as_ptr(),
                    &mut mem,
                )
            } else {
                sys::nghttp2_session_client_new3(
                    &mut raw,
                    callbacks,
                    user_data,
                    options.as_ptr(),
                    &mut mem,
                )
            }
        };
        let raw = match (cvt(rv), NonNull::new(raw)) {
            (Ok(_), Some(raw)) => raw,
            (result, _) => {
                // SAFETY: no session refers to `inner`; we still own it.
                drop(unsafe { Box::from_raw(inner.as_ptr()) });
                return Err(result.err().unwrap_or(LibError::NOMEM).into());
            }
        };
        // SAFETY: `inner` is live and no C call is under way.
        unsafe { (*inner.as_ptr()).state.set_raw(raw.as_ptr()) };
        Ok(Session {
            raw,
            inner,
            held_output: Vec::new(),
            failed: None,
            server,
        })
    }

    fn inner(&self) -> &Inner<H> {
        // SAFETY: `inner` lives as long as `self`; outside C calls nothing
        // else references it.
        unsafe { self.inner.as_ref() }
    }

    fn inner_mut(&mut self) -> &mut Inner<H> {
        // SAFETY: as in `inner`, and `&mut self` makes the access unique.
        unsafe { self.inner.as_mut() }
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.inner().handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.inner_mut().handler
    }

    /// The handler and the session view together, for code that drives
    /// both.
    pub fn parts_mut(&mut self) -> (&mut H, &mut SessionRef) {
        let inner = self.inner_mut();
        (&mut inner.handler, inner.state.as_mut())
    }

    /// Resumes a panic caught in a callback of the C call that just returned.
    fn resume_panic(&mut self) {
        if let Some(payload) = self.inner_mut().panic.take() {
            self.failed = Some(LibError::CALLBACK_FAILURE);
            std::panic::resume_unwind(payload);
        }
    }

    /// The error a C call's failure stands for: the handler's own, if it
    /// gave one, else nghttp2's code. A fatal code fails the session.
    fn failure(&mut self, code: LibError) -> Error {
        if code.is_fatal() {
            self.failed = Some(code);
        }
        self.inner_mut()
            .state
            .error
            .take()
            .unwrap_or_else(|| code.into())
    }

    /// Refuses to call into a session that already failed.
    fn check_usable(&self) -> Result<(), Error> {
        match self.failed {
            Some(code) => Err(code.into()),
            None => Ok(()),
        }
    }

    /// True once the session failed fatally; it only waits to be dropped
    /// (after its held output, if any, was sent).
    pub fn has_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Feeds bytes received from the peer and returns how many were
    /// processed (all of them, unless the session failed).
    ///
    /// Input that breaks the protocol is answered the way RFC 9113 asks:
    /// nghttp2 resets the stream or queues a GOAWAY with the right code, and
    /// [`close_reason`](Session::close_reason) tells which once it is sent.
    ///
    /// Errors: a fatal nghttp2 code (a wrong connection preface gives
    /// `NGHTTP2_ERR_BAD_CLIENT_MAGIC`, and a GOAWAY PROTOCOL_ERROR is still
    /// queued for the peer; a flood of SETTINGS or PING frames past
    /// [`Options::max_outbound_ack`] gives `NGHTTP2_ERR_FLOODED`, and more
    /// CONTINUATION frames than [`Options::max_continuations`] give
    /// `NGHTTP2_ERR_TOO_MANY_CONTINUATIONS`, both with a GOAWAY
    /// ENHANCE_YOUR_CALM queued); the handler's own `CallbackError::Fatal`; the
    /// connection error, when the session already ended with one. A
    /// handler's panic resumes here. Corresponds to
    /// `nghttp2_session_mem_recv2`.
    ///
    /// On top of nghttp2, the rules listed in
    /// [`session::conformance`](crate::session::conformance) are enforced
    /// here (unless [`Options::conformance`] turned them off): the input is
    /// handed to nghttp2 up to a frame that breaks one, and the answer
    /// (GOAWAY or RST_STREAM) is queued before nghttp2 reads that frame.
    #[doc(alias = "nghttp2_session_mem_recv2")]
    pub fn recv(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.check_usable()?;
        if let Some(err) = self
            .close_reason()
            .filter(|e| e.is_fatal() && !self.want_read())
        {
            return Err(err);
        }
        // `fed`: what nghttp2 has read; `scanned`: what the conformance
        // scanner has read (it runs ahead, stopping at frames to check).
        let (mut fed, mut scanned) = (0, 0);
        loop {
            let check = match self.inner_mut().conformance.as_mut() {
                Some(c) => c.scan(&data[scanned..]),
                None => None,
            };
            let stop = match check {
                Some((stop, _)) => scanned + stop,
                None => data.len(),
            };
            if stop > fed {
                let n = self.feed(&data[fed..stop])?;
                fed += n;
                if fed < stop {
                    return Ok(fed);
                }
            }
            let Some((_, check)) = check else {
                return Ok(fed);
            };
            scanned = stop + 1;
            self.answer(check);
        }
    }

    /// Heap bytes held by the wrapper's conformance state (see
    /// [`session::conformance`](crate::session::conformance)): 0 until a
    /// stream is ended or reset, then a fixed block however many streams
    /// follow.
    pub fn conformance_heap_size(&self) -> usize {
        self.inner()
            .conformance
            .as_ref()
            .map_or(0, Conformance::heap_size)
    }

    /// Queues the answer to a frame the conformance scanner stopped at;
    /// nghttp2 has read everything before it and nothing of it yet.
    fn answer(&mut self, check: Check) {
        let inner = self.inner_mut();
        let Some(c) = inner.conformance.as_ref() else {
            return;
        };
        let answer = match check {
            Check::Stream(hd) => c.judge(&hd),
            Check::PriorityOnZero(..) => Answer::GoAway(Reason::PROTOCOL_ERROR),
            // A stream error while nghttp2 knows the stream; otherwise it
            // would not send the RST_STREAM (and an idle stream must not get
            // one), so the connection error RFC 9113 section 5.4.1 allows.
            Check::SelfDependency(hd, _) if inner.state.as_ref().is_stream_open(hd.stream_id) => {
                Answer::ResetStream(hd.stream_id, Reason::PROTOCOL_ERROR)
            }
            Check::SelfDependency(..) => Answer::GoAway(Reason::PROTOCOL_ERROR),
        };
        let reason = match answer {
            Answer::Nothing => return,
            Answer::ResetStream(id, reason) => {
                let _ = self.submit_rst_stream(id, reason);
                reason
            }
            Answer::GoAway(reason) => {
                // nghttp2 ignores all further input once terminating; so does
                // the scanner.
                let _ = self.terminate(reason);
                self.inner_mut().conformance = None;
                reason
            }
        };
        // nghttp2 showed no callback for this frame: tell the handler (the
        // trace prints it as nghttp2's own rejected frames).
        let error = if reason == Reason::STREAM_CLOSED {
            LibError::STREAM_CLOSED
        } else {
            LibError::PROTO
        };
        let hd = check.header();
        let header = FrameHeader {
            length: hd.length,
            frame_type: hd.frame_type,
            flags: hd.flags,
            stream_id: hd.stream_id,
        };
        let priority = check.priority();
        let (handler, cx) = self.parts_mut();
        let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.on_rule_broken(cx, &header, priority, error)
        }));
        match told {
            Ok(Ok(())) | Ok(Err(CallbackError::ResetStream)) => {}
            Ok(Err(CallbackError::Fatal(e))) => {
                self.inner_mut().state.error.get_or_insert(e);
            }
            Err(payload) => {
                self.failed = Some(LibError::CALLBACK_FAILURE);
                std::panic::resume_unwind(payload);
            }
        }
    }

    /// Hands `data` to `nghttp2_session_mem_recv2`.
    fn feed(&mut self, data: &[u8]) -> Result<usize, Error> {
        // SAFETY: `raw` is live; `data` is valid for the call; callbacks
        // reach `inner` through the user data while we hold `&mut self`.
        let rv =
            unsafe { sys::nghttp2_session_mem_recv2(self.raw.as_ptr(), data.as_ptr(), data.len()) };
        self.resume_panic();
        self.drop_reaped();
        let n = match cvt_ssize(rv) {
            Ok(n) => n,
            Err(code) => {
                let say = if code == LibError::BAD_CLIENT_MAGIC {
                    // RFC 9113 section 3.4: an invalid preface is a
                    // connection error of type PROTOCOL_ERROR.
                    Some(Reason::PROTOCOL_ERROR)
                } else if code == LibError::FLOODED || code == LibError::TOO_MANY_CONTINUATIONS {
                    // A flood of frames that each want an ACK, or of
                    // CONTINUATION frames: nghttp2 only stops reading, so
                    // the peer is told why.
                    Some(Reason::ENHANCE_YOUR_CALM)
                } else {
                    None
                };
                if let Some(reason) = say {
                    // The session is intact, so it can still say so (once
                    // terminating, nghttp2 drops the queued ACKs).
                    let _ = self.terminate(reason);
                    self.hold_output();
                }
                return Err(self.failure(code));
            }
        };
        Ok(n)
    }

    /// Why the connection ended or is ending, once a GOAWAY went either way:
    /// the code this side sent (for instance FRAME_SIZE_ERROR for an
    /// oversized frame) or, failing that, the one the peer sent. `None`
    /// while no GOAWAY was exchanged. Fatal unless the code is NO_ERROR.
    pub fn close_reason(&self) -> Option<Error> {
        let cx = &self.inner().state;
        let goaway = |(last_stream_id, reason), initiator| {
            Error::new(Kind::GoAway {
                last_stream_id,
                reason,
                initiator,
            })
        };
        match (cx.local_goaway, cx.remote_goaway) {
            (Some(local), _) if local.1 != Reason::NO_ERROR => {
                Some(goaway(local, Initiator::Local))
            }
            (_, Some(remote)) => Some(goaway(remote, Initiator::Remote)),
            (Some(local), None) => Some(goaway(local, Initiator::Local)),
            (None, None) => None,
        }
    }

    /// Writes what is queued (after a failed preface: the GOAWAY) into the
    /// held output, which the next `send` hands out first.
    fn hold_output(&mut self) {
        // Enough for the control frames queued ahead of a GOAWAY; nghttp2
        // sends no DATA once it is terminating.
        const HOLD_LIMIT: usize = 64 * 1024;
        let mut held = Output::from_vec(std::mem::take(&mut self.held_output));
        let _ = self.drain_into(&mut held, HOLD_LIMIT);
        self.held_output = held.into_vec();
    }

    /// Appends everything the session has to send to `out` and returns the
    /// number of bytes appended. Corresponds to `nghttp2_session_mem_send2`.
    #[doc(alias = "nghttp2_session_mem_send2")]
    pub fn send(&mut self, out: &mut Vec<u8>) -> Result<usize, Error> {
        self.send_up_to(out, usize::MAX)
    }

    /// Like [`send`](Session::send), but stops once `out` holds at least
    /// `limit` bytes, so a connection's write buffer stays bounded while the
    /// socket is slow. DATA frames are added only while they fit below
    /// `limit` (or when `out` is empty), so a connection's writes stay
    /// within it; another frame may take `out` up to one frame past
    /// `limit`, never more, whatever the peer's windows.
    pub fn send_up_to(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<usize, Error> {
        let mut output = Output::from_vec(std::mem::take(out));
        let sent = self.send_output(&mut output, limit);
        *out = output.into_vec();
        sent
    }

    /// Like [`send_up_to`](Session::send_up_to), into an [`Output`], which
    /// may keep large DATA payloads by reference instead of copying them.
    pub(crate) fn send_output(&mut self, out: &mut Output, limit: usize) -> Result<usize, Error> {
        let before = out.len();
        if !self.held_output.is_empty() {
            out.extend_from_slice(&std::mem::take(&mut self.held_output));
            if self.failed.is_some() {
                return Ok(out.len() - before);
            }
        }
        self.check_usable()?;
        self.drain_into(out, limit)?;
        Ok(out.len() - before)
    }

    fn drain_into(&mut self, out: &mut Output, limit: usize) -> Result<(), Error> {
        while out.len() < limit {
            self.fill_bodies();
            let state = &mut self.inner_mut().state;
            state.out = out;
            state.out_limit = limit;
            let mut chunk = std::ptr::null();
            // SAFETY: `raw` is live; `state.out` points at `out`, borrowed
            // mutably for this call only and reset right after it.
            let rv = unsafe { sys::nghttp2_session_mem_send2(self.raw.as_ptr(), &mut chunk) };
            self.inner_mut().state.out = std::ptr::null_mut();
            self.resume_panic();
            self.drop_reaped();
            let n = cvt_ssize(rv).map_err(|code| self.failure(code))?;
            // A DATA frame did not fit below the limit: the rest waits for
            // the next call, after the socket took some.
            let full = std::mem::take(&mut self.inner_mut().state.out_full);
            if n == 0 {
                // A body nghttp2 asked for had nothing ready: pull it and
                // go again; otherwise everything is out.
                if !full && self.inner().state.as_ref().has_bodies_to_fill() {
                    continue;
                }
                break;
            }
            if chunk.is_null() {
                return Err(LibError::CALLBACK_FAILURE.into());
            }
            // SAFETY: nghttp2 lends `n` bytes at `chunk` until the next
            // mem_send2; they are copied out right here.
            out.extend_from_slice(unsafe { std::slice::from_raw_parts(chunk, n) });
            if full {
                break;
            }
        }
        Ok(())
    }

    /// Pulls the bodies that need bytes from their sources (user code, run
    /// here rather than inside a callback). A source's panic fails the
    /// session and resumes from here.
    fn fill_bodies(&mut self) {
        let state = &mut self.inner_mut().state;
        if !state.as_ref().has_bodies_to_fill() {
            return;
        }
        let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            state.as_mut().fill_bodies()
        }));
        self.drop_reaped();
        if let Err(payload) = filled {
            self.failed = Some(LibError::CALLBACK_FAILURE);
            std::panic::resume_unwind(payload);
        }
    }

    /// Drops the bodies of streams that closed during the C call that just
    /// returned: their `Drop` is user code, kept out of callbacks.
    fn drop_reaped(&mut self) {
        self.inner_mut().state.drop_reaped();
        let state = &mut self.inner_mut().state;
        if !state.reap_blocks.is_empty() {
            state.reap_blocks.clear();
        }
    }

    /// True when this side has nothing more to do: it neither wants to read
    /// nor to write, and no output is held back.
    pub fn is_done(&self) -> bool {
        !self.want_read() && !self.want_write() && self.held_output.is_empty()
    }

    /// True when output is waiting: frames queued or a flushed GOAWAY held.
    pub fn has_output(&self) -> bool {
        self.want_write() || !self.held_output.is_empty()
    }

    /// Turns a session into the one an HTTP/1.1 `Upgrade: h2c` request
    /// asked for: `settings_payload` is the `HTTP2-Settings` header's
    /// payload (decoded on a server, the one sent on a client), and stream 1
    /// is the upgraded request (a HEAD when `head_request`), which the
    /// client already ended. Corresponds to `nghttp2_session_upgrade2`.
    #[doc(alias = "nghttp2_session_upgrade2")]
    pub fn upgrade(&mut self, settings_payload: &[u8], head_request: bool) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 parses the payload during the call.
        cvt(unsafe {
            sys::nghttp2_session_upgrade2(
                self.raw.as_ptr(),
                settings_payload.as_ptr(),
                settings_payload.len(),
                head_request as i32,
                std::ptr::null_mut(),
            )
        })?;
        // Stream 1 is the HTTP/1.1 request, which the client ended: on a
        // server, the peer ended it; a client ended it itself, and its
        // response comes on it.
        if self.server {
            if let Some(c) = self.inner_mut().conformance.as_mut() {
                c.frame_received(FrameType::HEADERS, Flags::END_STREAM, StreamId::from_raw(1));
            }
        }
        Ok(())
    }

    /// The raw `nghttp2_session`, for calls this crate does not wrap. Using
    /// it is `unsafe`: do not delete it, do not keep it past the `Session`,
    /// and do not call into it while a callback runs.
    pub fn as_raw(&self) -> *mut sys::nghttp2_session {
        self.raw.as_ptr()
    }
}

impl<H: Handler> Deref for Session<H> {
    type Target = SessionRef;

    fn deref(&self) -> &SessionRef {
        self.inner().state.as_ref()
    }
}

impl<H: Handler> DerefMut for Session<H> {
    fn deref_mut(&mut self) -> &mut SessionRef {
        self.inner_mut().state.as_mut()
    }
}

impl<H: Handler> Drop for Session<H> {
    fn drop(&mut self) {
        // SAFETY: we own both. The session goes first: nghttp2_session_del
        // may not call back, but nothing may point at the user data once it
        // is freed. The user data (handler, bodies of streams still open)
        // is then freed exactly once.
        unsafe {
            sys::nghttp2_session_del(self.raw.as_ptr());
            drop(Box::from_raw(self.inner.as_ptr()));
        }
    }
}

impl<H: Handler + fmt::Debug> fmt::Debug for Session<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("handler", self.handler())
            .field("session", &self.inner().state.as_ref())
            .finish()
    }
}
