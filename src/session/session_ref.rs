//! [`SessionRef`]: the part of a session a handler may act on, inside and
//! outside callbacks: submitting frames, attaching bodies, flow control and
//! queries.
//!
//! `SessionRef` is a borrowed view: it only exists behind `&` or `&mut`
//! (it is unsized, like `str` or `Path`), so safe code cannot move, swap
//! or replace the state that belongs to one `nghttp2_session` and put it
//! under another.
//!
//! ```compile_fail,E0277
//! use nghttp2::session::{Options, Session};
//! let mut a = Session::client((), &Options::default()).unwrap();
//! let mut b = Session::client((), &Options::default()).unwrap();
//! std::mem::swap(&mut *a, &mut *b); // `SessionRef` is not `Sized`
//! ```
//!
//! ```compile_fail,E0277
//! use nghttp2::session::{Options, Session};
//! let mut a = Session::client((), &Options::default()).unwrap();
//! let b = Session::client((), &Options::default()).unwrap();
//! let _ = std::mem::replace(&mut *a, *b); // cannot move out of a view
//! ```
//!
//! ```compile_fail,E0277
//! use nghttp2::session::{Options, Session};
//! let mut a = Session::client((), &Options::default()).unwrap();
//! let mut b = Session::client((), &Options::default()).unwrap();
//! let (_, cx_a) = a.parts_mut();
//! let (_, cx_b) = b.parts_mut();
//! std::mem::swap(cx_a, cx_b); // the same inside a handler's callback
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::os::raw::c_int;
use std::ptr;

use bytes::Bytes;

use crate::error::{cvt, Error, Reason};
use crate::ffi::{shim, sys};
use crate::session::data::{Chunk, DataSource};
use crate::session::frame::HeaderRef;
use crate::session::frame::NV_FLAG_NO_INDEX;
use crate::session::header::{
    fill_nva, Header, HeaderBlock, NV_FLAG_NO_COPY_NAME, NV_FLAG_NO_COPY_VALUE,
};
use crate::session::output::Output;
use crate::session::settings::{Setting, SettingId};
use crate::session::stream_id::StreamId;
use crate::session::stream_map::StreamMap;

/// The length of a frame header.
const FRAME_HEADER_LEN: usize = 9;

/// The longest DATA payload nghttp2 frames (`NGHTTP2_DATA_PAYLOADLEN`;
/// no `data_source_read_length_callback` is set).
const DATA_PAYLOAD_MAX: usize = 16_384;

/// How many body bytes a stream holds ready for nghttp2: two DATA frames
/// of nghttp2's payload size. Every frame goes out full, and one frame is
/// ready while the one before it is written: with a single frame's worth,
/// nghttp2 found the body empty after every frame and deferred it, which
/// cost a deferral, a refill and another `mem_send2` per frame (23.0M
/// instructions per 100 MiB download against 18.2M with two). The
/// peer's windows still bound it: a body is never read ahead of what they
/// let out.
const FILL_TARGET: usize = 2 * DATA_PAYLOAD_MAX;

/// A body being sent on one stream.
struct OutgoingBody {
    source: Box<dyn DataSource>,
    /// Bytes the source gave that are not sent yet, in order.
    pending: Pending,
    /// The number of bytes in `pending`.
    pending_len: usize,
    /// How many of them, from the front, nghttp2 may frame now: no more
    /// than the peer's windows let out when they were taken. A chunk larger
    /// than that is made ready as the windows open, so that it does not go
    /// out ahead of streams nghttp2's scheduler would rank before it.
    ready: usize,
    /// The source answered `Chunk::End`.
    source_ended: bool,
    /// The source answered `Chunk::Pending`: it is not asked again until
    /// [`SessionRef::resume_data`].
    source_waiting: bool,
    /// nghttp2 was answered `NGHTTP2_ERR_DEFERRED` and waits for
    /// `nghttp2_session_resume_data`.
    deferred: bool,
    /// The stream is in `State::to_fill`.
    queued: bool,
    trailers: Option<Vec<Header>>,
}

impl OutgoingBody {
    fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.pending_len += bytes.len();
            self.pending.push_back(bytes);
        }
    }

    /// The whole body is ready: the source ended and every byte it gave
    /// may be framed.
    fn finished(&self) -> bool {
        self.source_ended && self.ready == self.pending_len
    }

    /// Appends the first `n` ready bytes to `out` (by reference where
    /// `out` allows) and drops them.
    fn write_to(&mut self, out: &mut Output, mut n: usize) {
        self.pending_len -= n;
        self.ready -= n;
        while n > 0 {
            let Some(front) = self.pending.front_mut() else {
                return;
            };
            let take = n.min(front.len());
            out.append_from(front, take);
            n -= take;
            if front.is_empty() {
                self.pending.pop_front();
            }
        }
    }
}

/// The chunks of a body not sent yet, in order. The first is kept inline:
/// a body usually has one chunk pending at a time, so most bodies never
/// allocate the queue (a `VecDeque` did, once per response).
#[derive(Default)]
struct Pending {
    /// The first chunk; empty only when nothing is pending.
    front: Bytes,
    /// The chunks after it.
    rest: VecDeque<Bytes>,
}

impl Pending {
    /// Queues a chunk (never an empty one).
    fn push_back(&mut self, bytes: Bytes) {
        debug_assert!(!bytes.is_empty());
        if self.front.is_empty() {
            self.front = bytes;
        } else {
            self.rest.push_back(bytes);
        }
    }

    fn front_mut(&mut self) -> Option<&mut Bytes> {
        (!self.front.is_empty()).then_some(&mut self.front)
    }

    fn pop_front(&mut self) {
        self.front = self.rest.pop_front().unwrap_or_default();
    }
}

/// A header block submitted without copy, and how its frame is recognised
/// when nghttp2 reports it sent.
struct HeldBlock {
    stream_id: StreamId,
    /// The addresses of the first field's name and value, as nghttp2 keeps
    /// them in the frame's field array.
    first: Option<(usize, usize)>,
    count: usize,
    block: Box<dyn HeaderBlock>,
}

/// What a session keeps beside nghttp2's own state: the bodies being sent
/// and the bookkeeping of the C call under way. Owned by the session's
/// user data; users only see it as a [`SessionRef`].
pub(crate) struct State {
    raw: *mut sys::nghttp2_session,
    /// Per-stream outgoing bodies. Keyed by stream id, which a session never
    /// reuses; entries leave on stream close, or when the session drops
    /// (nghttp2_session_del does not report closes).
    bodies: StreamMap<OutgoingBody>,
    /// Body bytes taken from sources and not yet written, over all streams.
    body_bytes: usize,
    /// Streams whose body is to be pulled from its source before the next
    /// `mem_send2` (sources are user code, so they are never read inside
    /// nghttp2's callbacks).
    to_fill: Vec<StreamId>,
    /// Bodies of streams that closed during a C call, dropped once it
    /// returned (a source's `Drop` is user code too).
    reap: Vec<Box<dyn DataSource>>,
    /// Header blocks nghttp2 reads in place, each until its HEADERS frame
    /// is sent or given up (see [`HeaderBlock`]).
    held_blocks: Vec<HeldBlock>,
    /// Blocks released during a C call, dropped once it returned.
    pub(crate) reap_blocks: Vec<Box<dyn HeaderBlock>>,
    /// Scratch space for nghttp2_nv arrays; cleared after every submit so no
    /// pointer outlives the call.
    nva: Vec<sys::nghttp2_nv>,
    /// The output buffer of the `mem_send2` call under way, for
    /// `send_data_callback`; null otherwise.
    pub(crate) out: *mut Output,
    /// DATA frames go into `out` only while they fit below this many
    /// bytes (or into an empty `out`).
    pub(crate) out_limit: usize,
    /// A DATA frame did not fit below `out_limit` in the current call (its
    /// stream was deferred, or nghttp2 holds the packed frame): the output
    /// is full for now.
    pub(crate) out_full: bool,
    /// An error a handler gave as `CallbackError::Fatal`, returned by the
    /// `Session` call it interrupted.
    pub(crate) error: Option<Error>,
    /// The GOAWAY this side sent: (last stream id, code).
    pub(crate) local_goaway: Option<(StreamId, Reason)>,
    /// The GOAWAY the peer sent: (last stream id, code).
    pub(crate) remote_goaway: Option<(StreamId, Reason)>,
    /// The application itself asked to end the session.
    pub(crate) terminated_locally: bool,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            raw: ptr::null_mut(),
            bodies: StreamMap::default(),
            body_bytes: 0,
            to_fill: Vec::new(),
            reap: Vec::new(),
            held_blocks: Vec::new(),
            reap_blocks: Vec::new(),
            nva: Vec::new(),
            out: ptr::null_mut(),
            out_limit: usize::MAX,
            out_full: false,
            error: None,
            local_goaway: None,
            remote_goaway: None,
            terminated_locally: false,
        }
    }

    /// Set once, right after nghttp2 made the session.
    pub(crate) fn set_raw(&mut self, raw: *mut sys::nghttp2_session) {
        self.raw = raw;
    }

    /// The view handlers and users get.
    pub(crate) fn as_ref(&self) -> &SessionRef {
        let view = ptr::slice_from_raw_parts(self as *const State as *const (), 0);
        // SAFETY: `SessionRef` is `repr(C)` with `State` first and a
        // zero-length tail of `()`, so a pointer to a `State` with slice
        // length 0 points at a valid `SessionRef` of the same size; the
        // borrow of `self` bounds its lifetime.
        unsafe { &*(view as *const SessionRef) }
    }

    /// The view handlers and users get, mutably.
    pub(crate) fn as_mut(&mut self) -> &mut SessionRef {
        let view = ptr::slice_from_raw_parts_mut(self as *mut State as *mut (), 0);
        // SAFETY: as in `as_ref`, and the unique borrow of `self` makes the
        // view unique.
        unsafe { &mut *(view as *mut SessionRef) }
    }

    /// Takes a stream's body off the session, with the bytes it held.
    fn remove_body(&mut self, stream_id: StreamId) -> Option<OutgoingBody> {
        let body = self.bodies.remove(&stream_id)?;
        self.body_bytes -= body.pending_len;
        Some(body)
    }

    /// True while a header block waits for its frame.
    pub(crate) fn holds_blocks(&self) -> bool {
        !self.held_blocks.is_empty()
    }

    /// A HEADERS frame on `stream_id` whose fields start at `first` (the
    /// addresses of the first name and value) and number `count` was sent
    /// or given up: the block it was read from may go. nghttp2 sends a
    /// stream's HEADERS frames in the order they were submitted, so the
    /// oldest match is the one.
    pub(crate) fn release_block(
        &mut self,
        stream_id: StreamId,
        first: Option<(usize, usize)>,
        count: usize,
    ) {
        if let Some(i) = self
            .held_blocks
            .iter()
            .position(|b| b.stream_id == stream_id && b.first == first && b.count == count)
        {
            // `remove`, not `swap_remove`: the order of the others is
            // what tells two blocks of one stream apart.
            let held = self.held_blocks.remove(i);
            self.reap_blocks.push(held.block);
        }
    }

    /// Drops the bodies of streams that closed during the last C call, now
    /// that it returned.
    pub(crate) fn drop_reaped(&mut self) {
        // Cleared in place: the list keeps its allocation for the next
        // call (a body closes on most requests).
        self.reap.clear();
    }
}

/// The session as a handler sees it: submit frames, attach bodies, give back
/// window, ask about streams and settings.
///
/// Reached through [`Session`](crate::session::Session) (which dereferences
/// to it) and as the `session` argument of every
/// [`Handler`](crate::session::Handler) method. Submitted frames are queued
/// and go out on the next [`Session::send`](crate::session::Session::send).
///
/// It only exists behind a reference: it is unsized, so it cannot be moved
/// out of, swapped or replaced (see the [module docs](crate::session)).
#[repr(C)]
pub struct SessionRef {
    state: State,
    /// Makes the type unsized: no `SessionRef` can exist by value.
    _unsized: [()],
}

impl fmt::Debug for SessionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRef")
            .field("bodies", &self.state.bodies.len())
            .field("local_goaway", &self.state.local_goaway)
            .field("remote_goaway", &self.state.remote_goaway)
            .finish()
    }
}

const NO_FLAGS: u8 = 0;

impl SessionRef {
    /// Runs `f` with the nghttp2_nv array of `headers`, then clears it.
    fn with_nva<'h, R>(
        &mut self,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
        f: impl FnOnce(*mut sys::nghttp2_session, &[sys::nghttp2_nv]) -> R,
    ) -> R {
        let mut nva = std::mem::take(&mut self.state.nva);
        fill_nva(&mut nva, headers);
        let result = f(self.state.raw, &nva);
        nva.clear();
        self.state.nva = nva;
        result
    }

    fn attach_body(&mut self, stream_id: StreamId, source: Box<dyn DataSource>) {
        if let Some(old) = self.state.remove_body(stream_id) {
            self.state.reap.push(old.source);
        }
        self.state.bodies.insert(
            stream_id,
            OutgoingBody {
                source,
                pending: Pending::default(),
                pending_len: 0,
                ready: 0,
                source_ended: false,
                source_waiting: false,
                deferred: false,
                queued: true,
                trailers: None,
            },
        );
        self.state.to_fill.push(stream_id);
    }

    /// Queues a SETTINGS frame. Corresponds to `nghttp2_submit_settings`.
    #[doc(alias = "nghttp2_submit_settings")]
    pub fn submit_settings(&mut self, settings: &[Setting]) -> Result<(), Error> {
        let iv: Vec<sys::nghttp2_settings_entry> = settings
            .iter()
            .map(|s| sys::nghttp2_settings_entry {
                settings_id: s.id.0,
                value: s.value,
            })
            .collect();
        // SAFETY: `raw` is live; nghttp2 copies the `iv` array.
        cvt(unsafe {
            sys::nghttp2_submit_settings(self.state.raw, NO_FLAGS, iv.as_ptr(), iv.len())
        })?;
        Ok(())
    }

    /// Queues a request (client) and returns its stream id; `body` is sent as
    /// the peer's window allows, or the HEADERS carries END_STREAM when there
    /// is none. Corresponds to `nghttp2_submit_request2`.
    #[doc(alias = "nghttp2_submit_request2")]
    pub fn submit_request<'h>(
        &mut self,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
        body: Option<Box<dyn DataSource>>,
    ) -> Result<StreamId, Error> {
        // SAFETY: h2shim_data_provider returns a plain struct by value.
        let provider = unsafe { shim::h2shim_data_provider() };
        let with_body = body.is_some();
        let stream_id = self
            .with_nva(headers, |raw, nva| {
                // SAFETY: `raw` is live; nghttp2 copies `nva` and `provider`.
                cvt(unsafe {
                    sys::nghttp2_submit_request2(
                        raw,
                        ptr::null(),
                        nva.as_ptr(),
                        nva.len(),
                        if with_body { &provider } else { ptr::null() },
                        ptr::null_mut(),
                    )
                })
            })
            .map(StreamId::from_raw)?;
        if let Some(body) = body {
            self.attach_body(stream_id, body);
        }
        Ok(stream_id)
    }

    /// Queues a response on a request stream (server). Corresponds to
    /// `nghttp2_submit_response2`.
    #[doc(alias = "nghttp2_submit_response2")]
    pub fn submit_response<'h>(
        &mut self,
        stream_id: StreamId,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
        body: Option<Box<dyn DataSource>>,
    ) -> Result<(), Error> {
        // SAFETY: h2shim_data_provider returns a plain struct by value.
        let provider = unsafe { shim::h2shim_data_provider() };
        let with_body = body.is_some();
        self.with_nva(headers, |raw, nva| {
            // SAFETY: `raw` is live; nghttp2 copies `nva` and `provider`.
            cvt(unsafe {
                sys::nghttp2_submit_response2(
                    raw,
                    stream_id.raw(),
                    nva.as_ptr(),
                    nva.len(),
                    if with_body { &provider } else { ptr::null() },
                )
            })
        })?;
        if let Some(body) = body {
            self.attach_body(stream_id, body);
        }
        Ok(())
    }

    /// Queues a response on a request stream (server) whose header block
    /// nghttp2 reads in place, without copying it: the session holds
    /// `block` until the frame is sent (see [`HeaderBlock`]). Corresponds to
    /// `nghttp2_submit_response2` with `NGHTTP2_NV_FLAG_NO_COPY_NAME` and
    /// `NGHTTP2_NV_FLAG_NO_COPY_VALUE`.
    #[doc(alias = "NGHTTP2_NV_FLAG_NO_COPY_VALUE")]
    pub fn submit_response_block(
        &mut self,
        stream_id: StreamId,
        block: Box<dyn HeaderBlock>,
        body: Option<Box<dyn DataSource>>,
    ) -> Result<(), Error> {
        // SAFETY: h2shim_data_provider returns a plain struct by value.
        let provider = unsafe { shim::h2shim_data_provider() };
        let mut nva = std::mem::take(&mut self.state.nva);
        nva.clear();
        block.for_each_field(&mut |h| {
            nva.push(sys::nghttp2_nv {
                name: h.name.as_ptr() as *mut u8,
                value: h.value.as_ptr() as *mut u8,
                namelen: h.name.len(),
                valuelen: h.value.len(),
                flags: NV_FLAG_NO_COPY_NAME
                    | NV_FLAG_NO_COPY_VALUE
                    | if h.sensitive { NV_FLAG_NO_INDEX } else { 0 },
            })
        });
        let first = nva.first().map(|nv| (nv.name as usize, nv.value as usize));
        let count = nva.len();
        // SAFETY: `raw` is live; nghttp2 copies `nva` (the array) and
        // `provider`; the bytes the entries point at belong to `block`
        // (or are 'static, HeaderBlock's contract), which the session
        // holds until nghttp2 reports the frame sent or not sent, or
        // deletes the session.
        let rv = unsafe {
            sys::nghttp2_submit_response2(
                self.state.raw,
                stream_id.raw(),
                nva.as_ptr(),
                nva.len(),
                if body.is_some() {
                    &provider
                } else {
                    ptr::null()
                },
            )
        };
        nva.clear();
        self.state.nva = nva;
        if let Err(e) = cvt(rv) {
            self.state.reap_blocks.push(block);
            return Err(e.into());
        }
        self.state.held_blocks.push(HeldBlock {
            stream_id,
            first,
            count,
            block,
        });
        if let Some(body) = body {
            self.attach_body(stream_id, body);
        }
        Ok(())
    }

    /// Queues a HEADERS frame: on the stream `stream_id` names, or on a new
    /// stream when it is `None`; returns the stream's id. Use it for 1xx
    /// responses, and for headers whose body follows through
    /// [`submit_data`](SessionRef::submit_data).
    /// Corresponds to `nghttp2_submit_headers`.
    #[doc(alias = "nghttp2_submit_headers")]
    pub fn submit_headers<'h>(
        &mut self,
        stream_id: Option<StreamId>,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
        end_stream: bool,
    ) -> Result<StreamId, Error> {
        let flags = if end_stream {
            sys::NGHTTP2_FLAG_END_STREAM as u8
        } else {
            NO_FLAGS
        };
        let id = self.with_nva(headers, |raw, nva| {
            // SAFETY: `raw` is live; nghttp2 copies `nva`.
            cvt(unsafe {
                sys::nghttp2_submit_headers(
                    raw,
                    flags,
                    stream_id.map_or(-1, StreamId::raw),
                    ptr::null(),
                    nva.as_ptr(),
                    nva.len(),
                    ptr::null_mut(),
                )
            })
        })?;
        Ok(stream_id.unwrap_or(StreamId::from_raw(id)))
    }

    /// Queues trailer fields, ending the stream. Corresponds to
    /// `nghttp2_submit_trailer`.
    #[doc(alias = "nghttp2_submit_trailer")]
    pub fn submit_trailer<'h>(
        &mut self,
        stream_id: StreamId,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
    ) -> Result<(), Error> {
        self.with_nva(headers, |raw, nva| {
            // SAFETY: `raw` is live; nghttp2 copies `nva`.
            cvt(unsafe {
                sys::nghttp2_submit_trailer(raw, stream_id.raw(), nva.as_ptr(), nva.len())
            })
        })?;
        Ok(())
    }

    /// Attaches a body to a stream whose HEADERS were already submitted;
    /// `end_stream` says whether the body's end also ends the stream.
    /// Corresponds to `nghttp2_submit_data2`.
    #[doc(alias = "nghttp2_submit_data2")]
    pub fn submit_data(
        &mut self,
        stream_id: StreamId,
        end_stream: bool,
        body: Box<dyn DataSource>,
    ) -> Result<(), Error> {
        // SAFETY: h2shim_data_provider returns a plain struct by value.
        let provider = unsafe { shim::h2shim_data_provider() };
        let flags = if end_stream {
            sys::NGHTTP2_FLAG_END_STREAM as u8
        } else {
            NO_FLAGS
        };
        // SAFETY: `raw` is live; nghttp2 copies the provider.
        cvt(unsafe {
            sys::nghttp2_submit_data2(self.state.raw, flags, stream_id.raw(), &provider)
        })?;
        self.attach_body(stream_id, body);
        Ok(())
    }

    /// Wakes a body whose source answered [`Chunk::Pending`]: the source is
    /// asked again before the next frames are written, outside nghttp2's
    /// callbacks, and nghttp2 is told to resume the stream
    /// (`nghttp2_session_resume_data`) once it has bytes or its end.
    #[doc(alias = "nghttp2_session_resume_data")]
    pub fn resume_data(&mut self, stream_id: StreamId) -> Result<(), Error> {
        let Some(body) = self.state.bodies.get_mut(&stream_id) else {
            return Err(crate::error::LibError::INVALID_ARGUMENT.into());
        };
        body.source_waiting = false;
        if !body.queued {
            body.queued = true;
            self.state.to_fill.push(stream_id);
        }
        Ok(())
    }

    /// Queues RST_STREAM. Corresponds to `nghttp2_submit_rst_stream`.
    #[doc(alias = "nghttp2_submit_rst_stream")]
    pub fn submit_rst_stream(&mut self, stream_id: StreamId, reason: Reason) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe {
            sys::nghttp2_submit_rst_stream(self.state.raw, NO_FLAGS, stream_id.raw(), reason.0)
        })?;
        Ok(())
    }

    /// Queues a PING with these 8 bytes (an ACK when `ack`, for sessions
    /// made with `no_auto_ping_ack`). Corresponds to `nghttp2_submit_ping`.
    #[doc(alias = "nghttp2_submit_ping")]
    pub fn submit_ping(&mut self, ack: bool, data: [u8; 8]) -> Result<(), Error> {
        let flags = if ack {
            sys::NGHTTP2_FLAG_ACK as u8
        } else {
            NO_FLAGS
        };
        // SAFETY: `raw` is live; nghttp2 copies the 8 bytes.
        cvt(unsafe { sys::nghttp2_submit_ping(self.state.raw, flags, data.as_ptr()) })?;
        Ok(())
    }

    /// Queues GOAWAY. Streams above `last_stream_id` are not processed; the
    /// session goes on until the open ones finish. Corresponds to
    /// `nghttp2_submit_goaway`.
    #[doc(alias = "nghttp2_submit_goaway")]
    pub fn submit_goaway(
        &mut self,
        last_stream_id: StreamId,
        reason: Reason,
        debug_data: &[u8],
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 copies the debug data.
        cvt(unsafe {
            sys::nghttp2_submit_goaway(
                self.state.raw,
                NO_FLAGS,
                last_stream_id.raw(),
                reason.0,
                debug_data.as_ptr(),
                debug_data.len(),
            )
        })?;
        Ok(())
    }

    /// Queues the graceful-shutdown notice: a GOAWAY with the largest stream
    /// id, to be followed by a real one (server). Corresponds to
    /// `nghttp2_submit_shutdown_notice`.
    #[doc(alias = "nghttp2_submit_shutdown_notice")]
    pub fn submit_shutdown_notice(&mut self) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_submit_shutdown_notice(self.state.raw) })?;
        Ok(())
    }

    /// Ends the session: GOAWAY with `reason` and the last stream processed;
    /// nothing is read or sent after it. Corresponds to
    /// `nghttp2_session_terminate_session`.
    #[doc(alias = "nghttp2_session_terminate_session")]
    pub fn terminate(&mut self, reason: Reason) -> Result<(), Error> {
        self.state.terminated_locally = true;
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_session_terminate_session(self.state.raw, reason.0) })?;
        Ok(())
    }

    /// Queues WINDOW_UPDATE for a stream (or 0 for the connection).
    /// Corresponds to `nghttp2_submit_window_update`.
    #[doc(alias = "nghttp2_submit_window_update")]
    pub fn submit_window_update(
        &mut self,
        stream_id: StreamId,
        increment: i32,
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe {
            sys::nghttp2_submit_window_update(self.state.raw, NO_FLAGS, stream_id.raw(), increment)
        })?;
        Ok(())
    }

    /// Sets the local receive window of a stream (or 0 for the connection)
    /// to `size`, sending WINDOW_UPDATE as needed. Corresponds to
    /// `nghttp2_session_set_local_window_size`.
    #[doc(alias = "nghttp2_session_set_local_window_size")]
    pub fn set_local_window_size(&mut self, stream_id: StreamId, size: i32) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe {
            sys::nghttp2_session_set_local_window_size(
                self.state.raw,
                NO_FLAGS,
                stream_id.raw(),
                size,
            )
        })?;
        Ok(())
    }

    /// Gives `n` bytes of received DATA back to the stream's and the
    /// connection's windows (with `no_auto_window_update`). Corresponds to
    /// `nghttp2_session_consume`.
    #[doc(alias = "nghttp2_session_consume")]
    pub fn consume(&mut self, stream_id: StreamId, n: usize) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_session_consume(self.state.raw, stream_id.raw(), n) })?;
        Ok(())
    }

    /// Queues PUSH_PROMISE on `stream_id` and returns the promised stream id
    /// (server). Corresponds to `nghttp2_submit_push_promise`.
    #[doc(alias = "nghttp2_submit_push_promise")]
    pub fn submit_push_promise<'h>(
        &mut self,
        stream_id: StreamId,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
    ) -> Result<StreamId, Error> {
        let id = self.with_nva(headers, |raw, nva| {
            // SAFETY: `raw` is live; nghttp2 copies `nva`.
            cvt(unsafe {
                sys::nghttp2_submit_push_promise(
                    raw,
                    NO_FLAGS,
                    stream_id.raw(),
                    nva.as_ptr(),
                    nva.len(),
                    ptr::null_mut(),
                )
            })
        })?;
        Ok(StreamId::from_raw(id))
    }

    /// Queues PRIORITY_UPDATE (RFC 9218) with a Priority field value such as
    /// `u=1, i` (client). Corresponds to `nghttp2_submit_priority_update`.
    #[doc(alias = "nghttp2_submit_priority_update")]
    pub fn submit_priority_update(
        &mut self,
        stream_id: StreamId,
        field_value: &[u8],
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 copies the value.
        cvt(unsafe {
            sys::nghttp2_submit_priority_update(
                self.state.raw,
                NO_FLAGS,
                stream_id.raw(),
                field_value.as_ptr(),
                field_value.len(),
            )
        })?;
        Ok(())
    }

    /// Sets the RFC 9218 priority nghttp2's scheduler gives a stream's DATA
    /// (server): `urgency` 0 (first) to 7 (last; larger values count as
    /// 7), `incremental` to share bandwidth with other incremental streams
    /// of the same urgency instead of going one after another. With
    /// `ignore_client_signal`, later `priority` signals from the client
    /// (PRIORITY_UPDATE frames) no longer change it, as nghttpx does when
    /// a backend's response carries a `priority` header.
    ///
    /// Only takes effect if this side submitted
    /// `SETTINGS_NO_RFC7540_PRIORITIES=1`; without it nghttp2 does nothing
    /// and answers `Ok`. A client session gets
    /// `NGHTTP2_ERR_INVALID_STATE` (clients signal with
    /// [`submit_priority_update`](SessionRef::submit_priority_update)), a
    /// stream nghttp2 does not know `NGHTTP2_ERR_INVALID_ARGUMENT`.
    /// Corresponds to `nghttp2_session_change_extpri_stream_priority`.
    #[doc(alias = "nghttp2_session_change_extpri_stream_priority")]
    pub fn change_extpri_stream_priority(
        &mut self,
        stream_id: StreamId,
        urgency: u8,
        incremental: bool,
        ignore_client_signal: bool,
    ) -> Result<(), Error> {
        let extpri = sys::nghttp2_extpri {
            urgency: u32::from(urgency),
            inc: c_int::from(incremental),
        };
        // SAFETY: `raw` is live; nghttp2 copies `extpri`.
        cvt(unsafe {
            sys::nghttp2_session_change_extpri_stream_priority(
                self.state.raw,
                stream_id.raw(),
                &extpri,
                c_int::from(ignore_client_signal),
            )
        })?;
        Ok(())
    }

    /// Queues ALTSVC (RFC 7838, server): on stream 0 with an origin, or on a
    /// stream with an empty origin. Corresponds to `nghttp2_submit_altsvc`.
    #[doc(alias = "nghttp2_submit_altsvc")]
    pub fn submit_altsvc(
        &mut self,
        stream_id: StreamId,
        origin: &[u8],
        field_value: &[u8],
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 copies both buffers.
        cvt(unsafe {
            sys::nghttp2_submit_altsvc(
                self.state.raw,
                NO_FLAGS,
                stream_id.raw(),
                origin.as_ptr(),
                origin.len(),
                field_value.as_ptr(),
                field_value.len(),
            )
        })?;
        Ok(())
    }

    /// Queues ORIGIN (RFC 8336, server). Corresponds to
    /// `nghttp2_submit_origin`.
    #[doc(alias = "nghttp2_submit_origin")]
    pub fn submit_origin(&mut self, origins: &[&[u8]]) -> Result<(), Error> {
        let ov: Vec<sys::nghttp2_origin_entry> = origins
            .iter()
            .map(|o| sys::nghttp2_origin_entry {
                origin: o.as_ptr() as *mut u8,
                origin_len: o.len(),
            })
            .collect();
        // SAFETY: `raw` is live; nghttp2 copies the entries and bytes.
        cvt(unsafe {
            sys::nghttp2_submit_origin(self.state.raw, NO_FLAGS, ov.as_ptr(), ov.len())
        })?;
        Ok(())
    }

    /// True while the session wants to read. Corresponds to
    /// `nghttp2_session_want_read`.
    #[doc(alias = "nghttp2_session_want_read")]
    pub fn want_read(&self) -> bool {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_want_read(self.state.raw) != 0 }
    }

    /// True while the session has something to send. Corresponds to
    /// `nghttp2_session_want_write`.
    #[doc(alias = "nghttp2_session_want_write")]
    pub fn want_write(&self) -> bool {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_want_write(self.state.raw) != 0 }
    }

    /// How many bytes the peer lets this side send on the stream now.
    /// Corresponds to `nghttp2_session_get_stream_remote_window_size`.
    #[doc(alias = "nghttp2_session_get_stream_remote_window_size")]
    pub fn stream_remote_window_size(&self, stream_id: StreamId) -> Result<i32, Error> {
        // SAFETY: `raw` is live.
        Ok(cvt(unsafe {
            sys::nghttp2_session_get_stream_remote_window_size(self.state.raw, stream_id.raw())
        })?)
    }

    /// How many bytes the peer may still send on the stream. Corresponds to
    /// `nghttp2_session_get_stream_local_window_size`.
    #[doc(alias = "nghttp2_session_get_stream_local_window_size")]
    pub fn stream_local_window_size(&self, stream_id: StreamId) -> Result<i32, Error> {
        // SAFETY: `raw` is live.
        Ok(cvt(unsafe {
            sys::nghttp2_session_get_stream_local_window_size(self.state.raw, stream_id.raw())
        })?)
    }

    /// How many bytes the peer lets this side send on the connection.
    /// Corresponds to `nghttp2_session_get_remote_window_size`.
    #[doc(alias = "nghttp2_session_get_remote_window_size")]
    pub fn remote_window_size(&self) -> i32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_remote_window_size(self.state.raw) }
    }

    /// How many bytes the peer may still send on the connection.
    /// Corresponds to `nghttp2_session_get_local_window_size`.
    #[doc(alias = "nghttp2_session_get_local_window_size")]
    pub fn local_window_size(&self) -> i32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_local_window_size(self.state.raw) }
    }

    /// Received DATA not yet given back with `consume`, for the stream (or 0
    /// for the connection). Corresponds to
    /// `nghttp2_session_get_stream_effective_recv_data_length`.
    #[doc(alias = "nghttp2_session_get_stream_effective_recv_data_length")]
    pub fn unconsumed(&self, stream_id: StreamId) -> Result<i32, Error> {
        // SAFETY: `raw` is live.
        let n = unsafe {
            if stream_id.is_connection() {
                sys::nghttp2_session_get_effective_recv_data_length(self.state.raw)
            } else {
                sys::nghttp2_session_get_stream_effective_recv_data_length(
                    self.state.raw,
                    stream_id.raw(),
                )
            }
        };
        Ok(cvt(n)?)
    }

    /// The value of a setting this side sent and the peer acknowledged.
    /// Corresponds to `nghttp2_session_get_local_settings`.
    #[doc(alias = "nghttp2_session_get_local_settings")]
    pub fn local_setting(&self, id: SettingId) -> u32 {
        // SAFETY: `raw` is live; unknown ids give 0.
        unsafe { sys::nghttp2_session_get_local_settings(self.state.raw, id.0 as _) }
    }

    /// The value of a setting the peer sent. Corresponds to
    /// `nghttp2_session_get_remote_settings`.
    #[doc(alias = "nghttp2_session_get_remote_settings")]
    pub fn remote_setting(&self, id: SettingId) -> u32 {
        // SAFETY: `raw` is live; unknown ids give 0.
        unsafe { sys::nghttp2_session_get_remote_settings(self.state.raw, id.0 as _) }
    }

    /// The largest stream id the peer opened that this side processed.
    /// Corresponds to `nghttp2_session_get_last_proc_stream_id`.
    #[doc(alias = "nghttp2_session_get_last_proc_stream_id")]
    pub fn last_proc_stream_id(&self) -> StreamId {
        // SAFETY: `raw` is live.
        StreamId::from_raw(unsafe { sys::nghttp2_session_get_last_proc_stream_id(self.state.raw) })
    }

    /// The id the next locally opened stream will get. Corresponds to
    /// `nghttp2_session_get_next_stream_id`.
    #[doc(alias = "nghttp2_session_get_next_stream_id")]
    pub fn next_stream_id(&self) -> u32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_next_stream_id(self.state.raw) }
    }

    /// Frames waiting in nghttp2's outbound queue. Corresponds to
    /// `nghttp2_session_get_outbound_queue_size`.
    #[doc(alias = "nghttp2_session_get_outbound_queue_size")]
    pub fn outbound_queue_size(&self) -> usize {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_outbound_queue_size(self.state.raw) }
    }

    /// True while nghttp2 knows the stream as open (or half closed).
    /// Corresponds to `nghttp2_session_find_stream`.
    #[doc(alias = "nghttp2_session_find_stream")]
    pub fn is_stream_open(&self, stream_id: StreamId) -> bool {
        // SAFETY: `raw` is live; the returned pointer is only compared.
        !unsafe { sys::nghttp2_session_find_stream(self.state.raw, stream_id.raw()) }.is_null()
    }

    /// How many streams have a body attached that has not finished sending.
    pub fn sending_bodies(&self) -> usize {
        self.state.bodies.len()
    }

    /// True while the stream has a body attached whose source has not yet
    /// answered [`Chunk::End`] (so more of it is still to come from the
    /// source, as opposed to only waiting for the peer's window).
    pub fn body_unfinished(&self, stream_id: StreamId) -> bool {
        self.state
            .bodies
            .get(&stream_id)
            .is_some_and(|b| !b.finished())
    }

    /// The GOAWAY the peer sent, if any: (last stream id, code).
    pub fn remote_goaway(&self) -> Option<(StreamId, Reason)> {
        self.state.remote_goaway
    }

    /// The GOAWAY this side sent, if any: (last stream id, code).
    pub fn local_goaway(&self) -> Option<(StreamId, Reason)> {
        self.state.local_goaway
    }

    /// Takes the body of a closed stream off the session; it is dropped
    /// once the C call under way returned.
    pub(crate) fn detach_body(&mut self, stream_id: StreamId) {
        if let Some(body) = self.state.remove_body(stream_id) {
            self.state.reap.push(body.source);
        }
    }

    /// Body bytes the session took from sources and has not written yet,
    /// over all streams (at most two DATA frames, 32 KiB, per stream).
    pub fn buffered_body_bytes(&self) -> usize {
        self.state.body_bytes
    }

    /// True when a body waits to be pulled from its source.
    pub(crate) fn has_bodies_to_fill(&self) -> bool {
        !self.state.to_fill.is_empty()
    }

    /// Pulls every body that needs bytes from its source, up to
    /// [`FILL_TARGET`] bytes held per stream and no more than the peer's
    /// windows allow now, and resumes in nghttp2 the
    /// streams it had deferred that now have something to send. Runs
    /// outside nghttp2's callbacks: sources are user code.
    ///
    /// A source's panic propagates to the caller, which fails the session.
    pub(crate) fn fill_bodies(&mut self) {
        const EMPTY_READS_BEFORE_PENDING: usize = 16;
        let mut to_fill = std::mem::take(&mut self.state.to_fill);
        for stream_id in to_fill.drain(..) {
            let Some(body) = self.state.bodies.get_mut(&stream_id) else {
                continue;
            };
            body.queued = false;
            // Pull no further ahead than the peer's windows let the body
            // go: a stream the peer does not read holds nothing.
            // SAFETY: `raw` is live; no C call is under way.
            let (stream_window, connection_window) = unsafe {
                (
                    sys::nghttp2_session_get_stream_remote_window_size(
                        self.state.raw,
                        stream_id.raw(),
                    ),
                    sys::nghttp2_session_get_remote_window_size(self.state.raw),
                )
            };
            let window = stream_window.min(connection_window).max(0) as usize;
            let target = FILL_TARGET.min(window);
            let held_before = body.pending_len;
            let mut empty_reads = 0;
            let mut reset = None;
            loop {
                // What the source gave already first; the source is asked
                // only once all of that is ready.
                body.ready = body.ready.max(body.pending_len.min(target));
                if body.ready < body.pending_len
                    || body.ready >= target
                    || body.source_ended
                    || body.source_waiting
                {
                    break;
                }
                match body.source.read(target - body.ready) {
                    Chunk::Data(bytes) if bytes.is_empty() => {
                        empty_reads += 1;
                        if empty_reads == EMPTY_READS_BEFORE_PENDING {
                            body.source_waiting = true;
                        }
                    }
                    Chunk::Data(bytes) => body.push(bytes),
                    Chunk::End { last, trailers } => {
                        body.push(last);
                        body.source_ended = true;
                        body.trailers = trailers;
                    }
                    Chunk::Pending => body.source_waiting = true,
                    Chunk::Reset(reason) => {
                        reset = Some(reason);
                        break;
                    }
                }
            }
            self.state.body_bytes += body.pending_len - held_before;
            if let Some(reason) = reset {
                if let Some(body) = self.state.remove_body(stream_id) {
                    self.state.reap.push(body.source);
                }
                let _ = self.submit_rst_stream(stream_id, reason);
                continue;
            }
            if body.deferred && (body.ready > 0 || body.finished()) {
                body.deferred = false;
                // SAFETY: `raw` is live; no C call is under way.
                let _ =
                    unsafe { sys::nghttp2_session_resume_data(self.state.raw, stream_id.raw()) };
            }
        }
        // Keep the allocation; callbacks of the next C call may queue more.
        to_fill.append(&mut self.state.to_fill);
        self.state.to_fill = to_fill;
    }

    /// The read callback of every body: answers nghttp2 from what the
    /// stream's source already gave (never calling the source) with
    /// (length, data flags) or an nghttp2 error code. Bytes are not copied
    /// here: every non-empty read is NO_COPY and written by
    /// [`SessionRef::write_data_frame`].
    ///
    /// With less than a frame ready from a source that may have more, the
    /// stream is deferred and queued to be filled before the next
    /// `mem_send2`; once the held bytes run low the stream is queued too, so
    /// that the next frame is ready in time.
    pub(crate) fn read_body(
        &mut self,
        stream_id: StreamId,
        max_len: usize,
    ) -> Result<(usize, u32), c_int> {
        let State {
            bodies,
            to_fill,
            out,
            out_limit,
            out_full,
            ..
        } = &mut self.state;
        let Some(body) = bodies.get_mut(&stream_id) else {
            return Err(sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE);
        };
        let n = max_len.min(body.ready);
        // A frame that would not fit below the output's limit and that the
        // windows cut short is not packed now: nghttp2 would keep its
        // length even if the windows grew before it is written. The stream
        // is filled and resumed for the next write. A frame as long as a
        // frame gets, or the body's last bytes, cannot grow: it is packed,
        // and `write_data_frame` holds it back until the output has room
        // (a deferral here cost a refill and a resume per write).
        let final_length = n == DATA_PAYLOAD_MAX || body.finished() && n == body.ready;
        // SAFETY: `out` is either null or the buffer of the mem_send2 call
        // under way, which Session::drain_into borrows mutably for it.
        if let Some(out) = unsafe { out.as_ref() } {
            if n > 0
                && !final_length
                && !out.is_empty()
                && out.len() + FRAME_HEADER_LEN + n > *out_limit
            {
                *out_full = true;
                body.deferred = true;
                if !body.queued {
                    body.queued = true;
                    to_fill.push(stream_id);
                }
                return Err(sys::NGHTTP2_ERR_DEFERRED);
            }
        }
        if !body.finished()
            && !body.source_waiting
            && !body.queued
            && body.ready - n < FILL_TARGET / 2
        {
            body.queued = true;
            to_fill.push(stream_id);
        }
        // A frame is only cut short by the end of the body or by a source
        // that has nothing more now; otherwise the stream waits to be
        // filled, so chunk boundaries never shorten a DATA frame.
        if body.ready < max_len && !body.finished() && !body.source_waiting
            || body.ready == 0 && !body.finished()
        {
            body.deferred = true;
            return Err(sys::NGHTTP2_ERR_DEFERRED);
        }
        let mut flags = 0;
        if n > 0 {
            flags |= sys::NGHTTP2_DATA_FLAG_NO_COPY;
        }
        if body.finished() && n == body.ready {
            flags |= sys::NGHTTP2_DATA_FLAG_EOF;
            if let Some(trailers) = body.trailers.take() {
                flags |= sys::NGHTTP2_DATA_FLAG_NO_END_STREAM;
                if self
                    .submit_trailer(stream_id, trailers.iter().map(Header::as_ref))
                    .is_err()
                {
                    return Err(sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE);
                }
            }
        }
        Ok((n, flags))
    }

    /// `send_data_callback`: writes one whole DATA frame (header, optional
    /// padding, `length` bytes of the stream's pending body) to the output.
    ///
    /// nghttp2 keeps calling it within one `mem_send2` for as long as the
    /// windows allow, so it is also where the output's limit is kept: once
    /// the frame would not fit below it, it answers
    /// `NGHTTP2_ERR_WOULDBLOCK`, and nghttp2 offers the same frame again on
    /// the next call. Once a full-sized frame would not fit, it ends the
    /// call itself (`NGHTTP2_ERR_PAUSE`, the frame written).
    pub(crate) fn write_data_frame(
        &mut self,
        stream_id: StreamId,
        frame_header: &[u8],
        length: usize,
        padlen: usize,
    ) -> c_int {
        // SAFETY: `out` is either null or the buffer of the mem_send2 call
        // under way, which Session::drain_into borrows mutably for it.
        let Some(out) = (unsafe { self.state.out.as_mut() }) else {
            return sys::NGHTTP2_ERR_CALLBACK_FAILURE;
        };
        // A DATA frame goes out only whole and within the limit (or alone):
        // a write a frame past a 64 KiB mark would cost the socket a
        // second, tiny segment per write.
        let frame_len = frame_header.len() + padlen + length;
        if !out.is_empty() && out.len() + frame_len > self.state.out_limit {
            // nghttp2 keeps the frame and offers it again on the next
            // mem_send2, which comes after the socket took this output.
            self.state.out_full = true;
            return sys::NGHTTP2_ERR_WOULDBLOCK;
        }
        let Some(body) = self.state.bodies.get_mut(&stream_id) else {
            return sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        };
        if length > body.ready {
            return sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        out.extend_from_slice(frame_header);
        if padlen > 0 {
            out.extend_from_slice(&[(padlen - 1) as u8]);
        }
        body.write_to(out, length);
        // The stream's next frame needs the body filled first: mem_send2
        // returns now, so that Session::drain_into fills it before nghttp2
        // asks for that frame. Asked first, the read would find too little
        // and defer the stream, to be resumed after the fill.
        let refill_first = body.queued
            && body.ready < DATA_PAYLOAD_MAX
            && !body.source_ended
            && !body.source_waiting;
        self.state.body_bytes -= length;
        if padlen > 1 {
            out.extend_with(padlen - 1, 0);
        }
        // When a frame as long as a frame gets would no longer fit, the
        // output is full now: mem_send2 returns, rather than offer the
        // next frame only to have it refused (a call per write saved).
        if out.len() + FRAME_HEADER_LEN + DATA_PAYLOAD_MAX > self.state.out_limit {
            self.state.out_full = true;
            return sys::NGHTTP2_ERR_PAUSE;
        }
        if refill_first {
            sys::NGHTTP2_ERR_PAUSE
        } else {
            0
        }
    }
}
