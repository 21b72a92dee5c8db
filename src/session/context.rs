//! [`Context`]: the part of a session a handler may act on, inside and
//! outside callbacks: submitting frames, attaching bodies, flow control and
//! queries.

use std::collections::VecDeque;
use std::fmt;
use std::os::raw::c_int;
use std::ptr;

use bytes::{Buf, Bytes};

use crate::error::{cvt, Error, Reason};
use crate::ffi::{shim, sys};
use crate::session::data::{DataSource, Read};
use crate::session::frame::HeaderRef;
use crate::session::header::{fill_nva, Header};
use crate::session::settings::{Setting, SettingId};
use crate::session::stream_map::StreamMap;

/// A body being sent on one stream.
struct OutgoingBody {
    source: Box<dyn DataSource>,
    /// Bytes the source gave that are not sent yet, in order.
    pending: VecDeque<Bytes>,
    /// The number of bytes in `pending`.
    pending_len: usize,
    /// The source answered `Read::End`.
    finished: bool,
    trailers: Option<Vec<Header>>,
}

impl OutgoingBody {
    fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.pending_len += bytes.len();
            self.pending.push_back(bytes);
        }
    }

    /// Appends the first `n` pending bytes to `out` and drops them.
    fn write_to(&mut self, out: &mut Vec<u8>, mut n: usize) {
        self.pending_len -= n;
        while n > 0 {
            let Some(front) = self.pending.front_mut() else {
                return;
            };
            let take = n.min(front.len());
            out.extend_from_slice(&front[..take]);
            n -= take;
            if take == front.len() {
                self.pending.pop_front();
            } else {
                front.advance(take);
            }
        }
    }
}

/// The session as a handler sees it: submit frames, attach bodies, give back
/// window, ask about streams and settings.
///
/// Reached through [`Session`](crate::session::Session) (which dereferences
/// to it) and as the `cx` argument of every [`Handler`](crate::session::Handler)
/// method. Submitted frames are queued and go out on the next
/// [`Session::send`](crate::session::Session::send).
pub struct Context {
    raw: *mut sys::nghttp2_session,
    /// Per-stream outgoing bodies. Keyed by stream id, which a session never
    /// reuses; entries leave on stream close, or when the session drops
    /// (nghttp2_session_del does not report closes).
    bodies: StreamMap<OutgoingBody>,
    /// Scratch space for nghttp2_nv arrays; cleared after every submit so no
    /// pointer outlives the call.
    nva: Vec<sys::nghttp2_nv>,
    /// The output buffer of the `mem_send2` call under way, for
    /// `send_data_callback`; null otherwise.
    pub(crate) out: *mut Vec<u8>,
    /// Once `out` holds this many bytes, `send_data_callback` writes no
    /// more DATA frames in the current call.
    pub(crate) out_limit: usize,
    /// An error a handler gave as `CallbackError::Fatal`, returned by the
    /// `Session` call it interrupted.
    pub(crate) error: Option<Error>,
    /// The GOAWAY this side sent: (last stream id, code).
    pub(crate) local_goaway: Option<(i32, Reason)>,
    /// The GOAWAY the peer sent: (last stream id, code).
    pub(crate) remote_goaway: Option<(i32, Reason)>,
    /// The application itself asked to end the session.
    pub(crate) terminated_locally: bool,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("bodies", &self.bodies.len())
            .field("local_goaway", &self.local_goaway)
            .field("remote_goaway", &self.remote_goaway)
            .finish()
    }
}

const NO_FLAGS: u8 = 0;

impl Context {
    pub(crate) fn new() -> Context {
        Context {
            raw: ptr::null_mut(),
            bodies: StreamMap::default(),
            nva: Vec::new(),
            out: ptr::null_mut(),
            out_limit: usize::MAX,
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

    /// Runs `f` with the nghttp2_nv array of `headers`, then clears it.
    fn with_nva<'h, R>(
        &mut self,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
        f: impl FnOnce(*mut sys::nghttp2_session, &[sys::nghttp2_nv]) -> R,
    ) -> R {
        let mut nva = std::mem::take(&mut self.nva);
        fill_nva(&mut nva, headers);
        let result = f(self.raw, &nva);
        nva.clear();
        self.nva = nva;
        result
    }

    fn attach_body(&mut self, stream_id: i32, source: Box<dyn DataSource>) {
        self.bodies.insert(
            stream_id,
            OutgoingBody {
                source,
                pending: VecDeque::new(),
                pending_len: 0,
                finished: false,
                trailers: None,
            },
        );
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
        cvt(unsafe { sys::nghttp2_submit_settings(self.raw, NO_FLAGS, iv.as_ptr(), iv.len()) })?;
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
    ) -> Result<i32, Error> {
        // SAFETY: h2shim_data_provider returns a plain struct by value.
        let provider = unsafe { shim::h2shim_data_provider() };
        let with_body = body.is_some();
        let stream_id = self.with_nva(headers, |raw, nva| {
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
        })?;
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
        stream_id: i32,
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
                    stream_id,
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

    /// Queues a HEADERS frame: on `stream_id`, or on a new stream when it is
    /// -1 (the new id is returned). Use it for 1xx responses and for headers
    /// whose body follows through [`submit_data`](Context::submit_data).
    /// Corresponds to `nghttp2_submit_headers`.
    #[doc(alias = "nghttp2_submit_headers")]
    pub fn submit_headers<'h>(
        &mut self,
        stream_id: i32,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
        end_stream: bool,
    ) -> Result<i32, Error> {
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
                    stream_id,
                    ptr::null(),
                    nva.as_ptr(),
                    nva.len(),
                    ptr::null_mut(),
                )
            })
        })?;
        Ok(if stream_id == -1 { id } else { stream_id })
    }

    /// Queues trailer fields, ending the stream. Corresponds to
    /// `nghttp2_submit_trailer`.
    #[doc(alias = "nghttp2_submit_trailer")]
    pub fn submit_trailer<'h>(
        &mut self,
        stream_id: i32,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
    ) -> Result<(), Error> {
        self.with_nva(headers, |raw, nva| {
            // SAFETY: `raw` is live; nghttp2 copies `nva`.
            cvt(unsafe { sys::nghttp2_submit_trailer(raw, stream_id, nva.as_ptr(), nva.len()) })
        })?;
        Ok(())
    }

    /// Attaches a body to a stream whose HEADERS were already submitted;
    /// `end_stream` says whether the body's end also ends the stream.
    /// Corresponds to `nghttp2_submit_data2`.
    #[doc(alias = "nghttp2_submit_data2")]
    pub fn submit_data(
        &mut self,
        stream_id: i32,
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
        cvt(unsafe { sys::nghttp2_submit_data2(self.raw, flags, stream_id, &provider) })?;
        self.attach_body(stream_id, body);
        Ok(())
    }

    /// Wakes a body that answered [`Read::Pending`]. Corresponds to
    /// `nghttp2_session_resume_data`.
    #[doc(alias = "nghttp2_session_resume_data")]
    pub fn resume_data(&mut self, stream_id: i32) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_session_resume_data(self.raw, stream_id) })?;
        Ok(())
    }

    /// Queues RST_STREAM. Corresponds to `nghttp2_submit_rst_stream`.
    #[doc(alias = "nghttp2_submit_rst_stream")]
    pub fn submit_rst_stream(&mut self, stream_id: i32, reason: Reason) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_submit_rst_stream(self.raw, NO_FLAGS, stream_id, reason.0) })?;
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
        cvt(unsafe { sys::nghttp2_submit_ping(self.raw, flags, data.as_ptr()) })?;
        Ok(())
    }

    /// Queues GOAWAY. Streams above `last_stream_id` are not processed; the
    /// session goes on until the open ones finish. Corresponds to
    /// `nghttp2_submit_goaway`.
    #[doc(alias = "nghttp2_submit_goaway")]
    pub fn submit_goaway(
        &mut self,
        last_stream_id: i32,
        reason: Reason,
        debug_data: &[u8],
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 copies the debug data.
        cvt(unsafe {
            sys::nghttp2_submit_goaway(
                self.raw,
                NO_FLAGS,
                last_stream_id,
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
        cvt(unsafe { sys::nghttp2_submit_shutdown_notice(self.raw) })?;
        Ok(())
    }

    /// Ends the session: GOAWAY with `reason` and the last stream processed;
    /// nothing is read or sent after it. Corresponds to
    /// `nghttp2_session_terminate_session`.
    #[doc(alias = "nghttp2_session_terminate_session")]
    pub fn terminate(&mut self, reason: Reason) -> Result<(), Error> {
        self.terminated_locally = true;
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_session_terminate_session(self.raw, reason.0) })?;
        Ok(())
    }

    /// Queues WINDOW_UPDATE for a stream (or 0 for the connection).
    /// Corresponds to `nghttp2_submit_window_update`.
    #[doc(alias = "nghttp2_submit_window_update")]
    pub fn submit_window_update(&mut self, stream_id: i32, increment: i32) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe {
            sys::nghttp2_submit_window_update(self.raw, NO_FLAGS, stream_id, increment)
        })?;
        Ok(())
    }

    /// Sets the local receive window of a stream (or 0 for the connection)
    /// to `size`, sending WINDOW_UPDATE as needed. Corresponds to
    /// `nghttp2_session_set_local_window_size`.
    #[doc(alias = "nghttp2_session_set_local_window_size")]
    pub fn set_local_window_size(&mut self, stream_id: i32, size: i32) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe {
            sys::nghttp2_session_set_local_window_size(self.raw, NO_FLAGS, stream_id, size)
        })?;
        Ok(())
    }

    /// Gives `n` bytes of received DATA back to the stream's and the
    /// connection's windows (with `no_auto_window_update`). Corresponds to
    /// `nghttp2_session_consume`.
    #[doc(alias = "nghttp2_session_consume")]
    pub fn consume(&mut self, stream_id: i32, n: usize) -> Result<(), Error> {
        // SAFETY: `raw` is live.
        cvt(unsafe { sys::nghttp2_session_consume(self.raw, stream_id, n) })?;
        Ok(())
    }

    /// Queues PUSH_PROMISE on `stream_id` and returns the promised stream id
    /// (server). Corresponds to `nghttp2_submit_push_promise`.
    #[doc(alias = "nghttp2_submit_push_promise")]
    pub fn submit_push_promise<'h>(
        &mut self,
        stream_id: i32,
        headers: impl IntoIterator<Item = HeaderRef<'h>>,
    ) -> Result<i32, Error> {
        let id = self.with_nva(headers, |raw, nva| {
            // SAFETY: `raw` is live; nghttp2 copies `nva`.
            cvt(unsafe {
                sys::nghttp2_submit_push_promise(
                    raw,
                    NO_FLAGS,
                    stream_id,
                    nva.as_ptr(),
                    nva.len(),
                    ptr::null_mut(),
                )
            })
        })?;
        Ok(id)
    }

    /// Queues PRIORITY_UPDATE (RFC 9218) with a Priority field value such as
    /// `u=1, i` (client). Corresponds to `nghttp2_submit_priority_update`.
    #[doc(alias = "nghttp2_submit_priority_update")]
    pub fn submit_priority_update(
        &mut self,
        stream_id: i32,
        field_value: &[u8],
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 copies the value.
        cvt(unsafe {
            sys::nghttp2_submit_priority_update(
                self.raw,
                NO_FLAGS,
                stream_id,
                field_value.as_ptr(),
                field_value.len(),
            )
        })?;
        Ok(())
    }

    /// Queues ALTSVC (RFC 7838, server): on stream 0 with an origin, or on a
    /// stream with an empty origin. Corresponds to `nghttp2_submit_altsvc`.
    #[doc(alias = "nghttp2_submit_altsvc")]
    pub fn submit_altsvc(
        &mut self,
        stream_id: i32,
        origin: &[u8],
        field_value: &[u8],
    ) -> Result<(), Error> {
        // SAFETY: `raw` is live; nghttp2 copies both buffers.
        cvt(unsafe {
            sys::nghttp2_submit_altsvc(
                self.raw,
                NO_FLAGS,
                stream_id,
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
        cvt(unsafe { sys::nghttp2_submit_origin(self.raw, NO_FLAGS, ov.as_ptr(), ov.len()) })?;
        Ok(())
    }

    /// True while the session wants to read. Corresponds to
    /// `nghttp2_session_want_read`.
    #[doc(alias = "nghttp2_session_want_read")]
    pub fn want_read(&self) -> bool {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_want_read(self.raw) != 0 }
    }

    /// True while the session has something to send. Corresponds to
    /// `nghttp2_session_want_write`.
    #[doc(alias = "nghttp2_session_want_write")]
    pub fn want_write(&self) -> bool {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_want_write(self.raw) != 0 }
    }

    /// How many bytes the peer lets this side send on the stream now.
    /// Corresponds to `nghttp2_session_get_stream_remote_window_size`.
    #[doc(alias = "nghttp2_session_get_stream_remote_window_size")]
    pub fn stream_remote_window_size(&self, stream_id: i32) -> Result<i32, Error> {
        // SAFETY: `raw` is live.
        Ok(cvt(unsafe {
            sys::nghttp2_session_get_stream_remote_window_size(self.raw, stream_id)
        })?)
    }

    /// How many bytes the peer may still send on the stream. Corresponds to
    /// `nghttp2_session_get_stream_local_window_size`.
    #[doc(alias = "nghttp2_session_get_stream_local_window_size")]
    pub fn stream_local_window_size(&self, stream_id: i32) -> Result<i32, Error> {
        // SAFETY: `raw` is live.
        Ok(cvt(unsafe {
            sys::nghttp2_session_get_stream_local_window_size(self.raw, stream_id)
        })?)
    }

    /// How many bytes the peer lets this side send on the connection.
    /// Corresponds to `nghttp2_session_get_remote_window_size`.
    #[doc(alias = "nghttp2_session_get_remote_window_size")]
    pub fn remote_window_size(&self) -> i32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_remote_window_size(self.raw) }
    }

    /// How many bytes the peer may still send on the connection.
    /// Corresponds to `nghttp2_session_get_local_window_size`.
    #[doc(alias = "nghttp2_session_get_local_window_size")]
    pub fn local_window_size(&self) -> i32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_local_window_size(self.raw) }
    }

    /// Received DATA not yet given back with `consume`, for the stream (or 0
    /// for the connection). Corresponds to
    /// `nghttp2_session_get_stream_effective_recv_data_length`.
    #[doc(alias = "nghttp2_session_get_stream_effective_recv_data_length")]
    pub fn unconsumed(&self, stream_id: i32) -> Result<i32, Error> {
        // SAFETY: `raw` is live.
        let n = unsafe {
            if stream_id == 0 {
                sys::nghttp2_session_get_effective_recv_data_length(self.raw)
            } else {
                sys::nghttp2_session_get_stream_effective_recv_data_length(self.raw, stream_id)
            }
        };
        Ok(cvt(n)?)
    }

    /// The value of a setting this side sent and the peer acknowledged.
    /// Corresponds to `nghttp2_session_get_local_settings`.
    #[doc(alias = "nghttp2_session_get_local_settings")]
    pub fn local_setting(&self, id: SettingId) -> u32 {
        // SAFETY: `raw` is live; unknown ids give 0.
        unsafe { sys::nghttp2_session_get_local_settings(self.raw, id.0 as _) }
    }

    /// The value of a setting the peer sent. Corresponds to
    /// `nghttp2_session_get_remote_settings`.
    #[doc(alias = "nghttp2_session_get_remote_settings")]
    pub fn remote_setting(&self, id: SettingId) -> u32 {
        // SAFETY: `raw` is live; unknown ids give 0.
        unsafe { sys::nghttp2_session_get_remote_settings(self.raw, id.0 as _) }
    }

    /// The largest stream id the peer opened that this side processed.
    /// Corresponds to `nghttp2_session_get_last_proc_stream_id`.
    #[doc(alias = "nghttp2_session_get_last_proc_stream_id")]
    pub fn last_proc_stream_id(&self) -> i32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_last_proc_stream_id(self.raw) }
    }

    /// The id the next locally opened stream will get. Corresponds to
    /// `nghttp2_session_get_next_stream_id`.
    #[doc(alias = "nghttp2_session_get_next_stream_id")]
    pub fn next_stream_id(&self) -> u32 {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_next_stream_id(self.raw) }
    }

    /// Frames waiting in nghttp2's outbound queue. Corresponds to
    /// `nghttp2_session_get_outbound_queue_size`.
    #[doc(alias = "nghttp2_session_get_outbound_queue_size")]
    pub fn outbound_queue_size(&self) -> usize {
        // SAFETY: `raw` is live.
        unsafe { sys::nghttp2_session_get_outbound_queue_size(self.raw) }
    }

    /// True while nghttp2 knows the stream as open (or half closed).
    /// Corresponds to `nghttp2_session_find_stream`.
    #[doc(alias = "nghttp2_session_find_stream")]
    pub fn is_stream_open(&self, stream_id: i32) -> bool {
        // SAFETY: `raw` is live; the returned pointer is only compared.
        !unsafe { sys::nghttp2_session_find_stream(self.raw, stream_id) }.is_null()
    }

    /// How many streams have a body attached that has not finished sending.
    pub fn sending_bodies(&self) -> usize {
        self.bodies.len()
    }

    /// True while the stream has a body attached whose source has not yet
    /// answered [`Read::End`] (so more of it is still to come from the
    /// source, as opposed to only waiting for the peer's window).
    pub fn body_unfinished(&self, stream_id: i32) -> bool {
        self.bodies.get(&stream_id).is_some_and(|b| !b.finished)
    }

    /// The GOAWAY the peer sent, if any: (last stream id, code).
    pub fn remote_goaway(&self) -> Option<(i32, Reason)> {
        self.remote_goaway
    }

    /// The GOAWAY this side sent, if any: (last stream id, code).
    pub fn local_goaway(&self) -> Option<(i32, Reason)> {
        self.local_goaway
    }

    /// Drops the body of a closed stream.
    pub(crate) fn detach_body(&mut self, stream_id: i32) {
        self.bodies.remove(&stream_id);
    }

    /// The read callback of every body: pulls from the stream's source and
    /// answers nghttp2 with (length, data flags) or an nghttp2 error code.
    /// Bytes are not copied here: every non-empty read is NO_COPY and
    /// written by [`Context::write_data_frame`].
    ///
    /// The source is asked again while the frame is not full and it has
    /// more ready, so chunk boundaries of the source never cut a DATA frame
    /// short (the frame is gathered from several chunks when written).
    pub(crate) fn read_body(
        &mut self,
        stream_id: i32,
        max_len: usize,
    ) -> Result<(usize, u32), c_int> {
        const EMPTY_READS_BEFORE_PENDING: usize = 16;
        let Some(body) = self.bodies.get_mut(&stream_id) else {
            return Err(sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE);
        };
        let mut empty_reads = 0;
        while body.pending_len < max_len && !body.finished {
            match body.source.read(max_len - body.pending_len) {
                Read::Data(bytes) if bytes.is_empty() => {
                    empty_reads += 1;
                    if empty_reads == EMPTY_READS_BEFORE_PENDING {
                        break;
                    }
                }
                Read::Data(bytes) => body.push(bytes),
                Read::End { last, trailers } => {
                    body.push(last);
                    body.finished = true;
                    body.trailers = trailers;
                }
                Read::Pending => break,
                Read::Reset(reason) => {
                    let _ = self.submit_rst_stream(stream_id, reason);
                    return Err(sys::NGHTTP2_ERR_DEFERRED);
                }
            }
        }
        if body.pending_len == 0 && !body.finished {
            return Err(sys::NGHTTP2_ERR_DEFERRED);
        }
        let n = max_len.min(body.pending_len);
        let mut flags = 0;
        if n > 0 {
            flags |= sys::NGHTTP2_DATA_FLAG_NO_COPY;
        }
        if body.finished && n == body.pending_len {
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
    /// the buffer is full it answers `NGHTTP2_ERR_WOULDBLOCK`, and nghttp2
    /// offers the same frame again on the next call.
    pub(crate) fn write_data_frame(
        &mut self,
        stream_id: i32,
        frame_header: &[u8],
        length: usize,
        padlen: usize,
    ) -> c_int {
        // SAFETY: `out` is either null or the buffer of the mem_send2 call
        // under way, which Session::drain_into borrows mutably for it.
        let Some(out) = (unsafe { self.out.as_mut() }) else {
            return sys::NGHTTP2_ERR_CALLBACK_FAILURE;
        };
        if out.len() >= self.out_limit {
            return sys::NGHTTP2_ERR_WOULDBLOCK;
        }
        let Some(body) = self.bodies.get_mut(&stream_id) else {
            return sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        };
        if length > body.pending_len {
            return sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        out.reserve(frame_header.len() + padlen + length);
        out.extend_from_slice(frame_header);
        if padlen > 0 {
            out.push((padlen - 1) as u8);
        }
        body.write_to(out, length);
        if padlen > 1 {
            out.resize(out.len() + padlen - 1, 0);
        }
        0
    }
}
