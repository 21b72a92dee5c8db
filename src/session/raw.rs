//! The Rust side of the C trampolines: one `extern "C"` function per entry
//! of `h2shim_callbacks`, generic over the handler type.
//!
//! Every function checks the pointers C gave it, runs its body under
//! [`catch`] so no panic unwinds into C, and answers with the return code
//! the nghttp2 callback it serves expects.

use std::any::Any;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{LibError, Reason};
use crate::ffi::{shim, sys};
use crate::session::conformance::Conformance;
use crate::session::frame::{
    c_slice, Flags, Frame, FrameHeader, FrameType, HeaderRef, NV_FLAG_NO_INDEX,
};
use crate::session::handler::{CallbackError, CallbackResult};
use crate::session::session_ref::State;
use crate::session::stream_id::StreamId;
use crate::session::{Handler, SessionRef};

/// The session's user data. `repr(C)` with the table first: C finds the
/// table by reading the first pointer of the user data.
#[repr(C)]
pub(crate) struct Inner<H> {
    table: &'static shim::h2shim_callbacks,
    /// A panic caught in a callback, resumed by the `Session` method that
    /// made the C call.
    pub(crate) panic: Option<Box<dyn Any + Send>>,
    pub(crate) state: State,
    /// The RFC 9113 rules the wrapper enforces itself (None when turned off).
    pub(crate) conformance: Option<Conformance>,
    pub(crate) handler: H,
}

impl<H: Handler> Inner<H> {
    const TABLE: &'static shim::h2shim_callbacks = &shim::h2shim_callbacks {
        on_begin_frame: Some(on_begin_frame::<H>),
        on_begin_headers: Some(on_begin_headers::<H>),
        on_header: Some(on_header::<H>),
        on_invalid_header: Some(on_invalid_header::<H>),
        on_frame_recv: Some(on_frame_recv::<H>),
        on_invalid_frame_recv: Some(on_invalid_frame_recv::<H>),
        on_data_chunk_recv: Some(on_data_chunk_recv::<H>),
        on_frame_send: Some(on_frame_send::<H>),
        on_frame_not_send: Some(on_frame_not_send::<H>),
        on_stream_close: Some(on_stream_close::<H>),
        on_error: Some(on_error::<H>),
        read_data: Some(read_data::<H>),
        send_data: Some(send_data::<H>),
    };

    pub(crate) fn new(handler: H, conformance: Option<Conformance>) -> Inner<H> {
        Inner {
            table: Self::TABLE,
            panic: None,
            state: State::new(),
            conformance,
            handler,
        }
    }

    /// Runs a handler method under `catch` and turns its answer into the
    /// callback's return code.
    fn dispatch(&mut self, f: impl FnOnce(&mut H, &mut SessionRef) -> CallbackResult) -> c_int {
        let Inner {
            panic,
            state,
            handler,
            ..
        } = self;
        match catch(panic, || f(handler, state.as_mut())) {
            None => sys::NGHTTP2_ERR_CALLBACK_FAILURE,
            Some(Ok(())) => 0,
            Some(Err(CallbackError::ResetStream)) => sys::NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE,
            Some(Err(CallbackError::Fatal(e))) => {
                state.error.get_or_insert(e);
                sys::NGHTTP2_ERR_CALLBACK_FAILURE
            }
        }
    }
}

/// Runs `f`, catching a panic into `slot`. Once a panic is stored, later
/// callbacks do nothing: the session is failing and the panic will be
/// resumed as soon as C returns.
pub(crate) fn catch<R>(slot: &mut Option<Box<dyn Any + Send>>, f: impl FnOnce() -> R) -> Option<R> {
    if slot.is_some() {
        return None;
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(payload) => {
            *slot = Some(payload);
            None
        }
    }
}

/// Recovers the session's `Inner` from the user data C passed back.
///
/// # Safety
///
/// `user_data` must be null or the `Inner<H>` pointer the session was made
/// with, with no other live reference to it.
unsafe fn inner<'a, H>(user_data: *mut c_void) -> Option<&'a mut Inner<H>> {
    // SAFETY: the caller's contract.
    unsafe { (user_data as *mut Inner<H>).as_mut() }
}

/// # Safety
///
/// `frame` must be null or a frame flattened by shim.c for this callback.
unsafe fn frame<'a>(frame: *const shim::h2shim_frame) -> Option<Frame<'a>> {
    // SAFETY: the caller's contract; Frame::from_raw's pointers come from
    // nghttp2 and live for the callback.
    unsafe { frame.as_ref().map(|f| Frame::from_raw(f)) }
}

const FAIL: c_int = sys::NGHTTP2_ERR_CALLBACK_FAILURE;

/// The Rust side of nghttp2's `on_begin_frame_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_begin_frame<H: Handler>(
    user_data: *mut c_void,
    hd: *const shim::h2shim_frame_hd,
) -> c_int {
    // SAFETY: C passes the session's user data and a header it owns for the
    // duration of the call.
    let (Some(inner), Some(hd)) = (unsafe { inner::<H>(user_data) }, unsafe { hd.as_ref() }) else {
        return FAIL;
    };
    let hd = FrameHeader::from_raw(hd);
    inner.dispatch(|h, cx| h.on_begin_frame(cx, &hd))
}

/// The Rust side of nghttp2's `on_begin_headers_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_begin_headers<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
) -> c_int {
    // SAFETY: user data and frame as the callback contract gives them.
    let (Some(inner), Some(f)) = (unsafe { inner::<H>(user_data) }, unsafe { frame(f) }) else {
        return FAIL;
    };
    inner.dispatch(|h, cx| h.on_begin_headers(cx, &f))
}

/// # Safety
///
/// `name`/`value` must point at `namelen`/`valuelen` bytes for the call.
unsafe fn header<'a>(
    name: *const u8,
    namelen: usize,
    value: *const u8,
    valuelen: usize,
    flags: u8,
) -> HeaderRef<'a> {
    HeaderRef {
        // SAFETY: the caller's contract (nghttp2_rcbuf contents).
        name: unsafe { c_slice(name, namelen) },
        // SAFETY: as above.
        value: unsafe { c_slice(value, valuelen) },
        sensitive: flags & NV_FLAG_NO_INDEX != 0,
    }
}

/// The body of both header trampolines: checks C's pointers, borrows the
/// field and hands it to `call`.
///
/// # Safety
///
/// As the callbacks: `user_data` is the session's, `f` a frame flattened for
/// this call, `name`/`value` point at `namelen`/`valuelen` bytes.
#[allow(clippy::too_many_arguments)]
unsafe fn dispatch_header<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
    name: *const u8,
    namelen: usize,
    value: *const u8,
    valuelen: usize,
    flags: u8,
    call: impl FnOnce(&mut H, &mut SessionRef, &Frame<'_>, HeaderRef<'_>) -> CallbackResult,
) -> c_int {
    // SAFETY: user data and frame as the callback contract gives them.
    let (Some(inner), Some(f)) = (unsafe { inner::<H>(user_data) }, unsafe { frame(f) }) else {
        return FAIL;
    };
    // SAFETY: the rcbuf bytes live for the callback.
    let field = unsafe { header(name, namelen, value, valuelen, flags) };
    inner.dispatch(|h, cx| call(h, cx, &f, field))
}

/// The Rust side of nghttp2's `on_header_callback2`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_header<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
    name: *const u8,
    namelen: usize,
    value: *const u8,
    valuelen: usize,
    flags: u8,
) -> c_int {
    // SAFETY: forwarded unchanged from nghttp2's on_header_callback2.
    unsafe {
        dispatch_header::<H>(
            user_data,
            f,
            name,
            namelen,
            value,
            valuelen,
            flags,
            |h, cx, f, field| h.on_header(cx, f, field),
        )
    }
}

/// The Rust side of nghttp2's `on_invalid_header_callback2`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_invalid_header<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
    name: *const u8,
    namelen: usize,
    value: *const u8,
    valuelen: usize,
    flags: u8,
) -> c_int {
    // SAFETY: forwarded unchanged from nghttp2's on_invalid_header_callback2.
    unsafe {
        dispatch_header::<H>(
            user_data,
            f,
            name,
            namelen,
            value,
            valuelen,
            flags,
            |h, cx, f, field| h.on_invalid_header(cx, f, field),
        )
    }
}

/// The Rust side of nghttp2's `on_frame_recv_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_frame_recv<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
) -> c_int {
    // SAFETY: user data and frame as the callback contract gives them.
    let (Some(inner), Some(f)) = (unsafe { inner::<H>(user_data) }, unsafe { frame(f) }) else {
        return FAIL;
    };
    if let Some(c) = inner.conformance.as_mut() {
        c.frame_received(f.frame_type(), f.flags(), f.stream_id());
    }
    if f.frame_type() == FrameType::GOAWAY {
        inner.state.remote_goaway = Some((
            f.last_stream_id().unwrap_or_default(),
            f.error_code().unwrap_or(Reason::NO_ERROR),
        ));
    }
    inner.dispatch(|h, cx| h.on_frame_recv(cx, &f))
}

/// The Rust side of nghttp2's `on_invalid_frame_recv_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_invalid_frame_recv<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
    lib_error_code: c_int,
) -> c_int {
    // SAFETY: user data and frame as the callback contract gives them.
    let (Some(inner), Some(f)) = (unsafe { inner::<H>(user_data) }, unsafe { frame(f) }) else {
        return FAIL;
    };
    inner.dispatch(|h, cx| h.on_invalid_frame_recv(cx, &f, LibError::from_code(lib_error_code)))
}

/// The Rust side of nghttp2's `on_data_chunk_recv_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_data_chunk_recv<H: Handler>(
    user_data: *mut c_void,
    flags: u8,
    stream_id: i32,
    data: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: the session's user data.
    let Some(inner) = (unsafe { inner::<H>(user_data) }) else {
        return FAIL;
    };
    if data.is_null() && len > 0 {
        return FAIL;
    }
    // SAFETY: nghttp2 lends `len` bytes until the callback returns.
    let data = unsafe { c_slice(data, len) };
    let stream_id = StreamId::from_raw(stream_id);
    inner.dispatch(|h, cx| h.on_data_chunk_recv(cx, stream_id, data, Flags(flags)))
}

/// The Rust side of nghttp2's `on_frame_send_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_frame_send<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
) -> c_int {
    // SAFETY: user data and frame as the callback contract gives them.
    let (Some(inner), Some(f)) = (unsafe { inner::<H>(user_data) }, unsafe { frame(f) }) else {
        return FAIL;
    };
    if let Some(c) = inner.conformance.as_mut() {
        c.frame_sent(f.frame_type(), f.stream_id());
    }
    if f.frame_type() == FrameType::GOAWAY {
        inner.state.local_goaway = Some((
            f.last_stream_id().unwrap_or_default(),
            f.error_code().unwrap_or(Reason::NO_ERROR),
        ));
    }
    let rv = inner.dispatch(|h, cx| h.on_frame_send(cx, &f));
    release_block(inner, &f);
    rv
}

/// A HEADERS frame left (or was given up): the block its fields were read
/// from in place, if any, may go.
fn release_block<H>(inner: &mut Inner<H>, f: &Frame<'_>) {
    if f.frame_type() == FrameType::HEADERS && inner.state.holds_blocks() {
        let fields = f.sent_headers();
        let count = fields.len();
        let first = fields
            .take(1)
            .next()
            .map(|h| (h.name.as_ptr() as usize, h.value.as_ptr() as usize));
        inner.state.release_block(f.stream_id(), first, count);
    }
}

/// The Rust side of nghttp2's `on_frame_not_send_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_frame_not_send<H: Handler>(
    user_data: *mut c_void,
    f: *const shim::h2shim_frame,
    lib_error_code: c_int,
) -> c_int {
    // SAFETY: user data and frame as the callback contract gives them.
    let (Some(inner), Some(f)) = (unsafe { inner::<H>(user_data) }, unsafe { frame(f) }) else {
        return FAIL;
    };
    let stream_id = f.stream_id();
    let rv = inner.dispatch(|h, cx| {
        // A request whose HEADERS never left never opened a stream, so no
        // close will come for it: its body goes now.
        if f.frame_type() == FrameType::HEADERS && !cx.is_stream_open(stream_id) {
            cx.detach_body(stream_id);
        }
        h.on_frame_not_send(cx, &f, LibError::from_code(lib_error_code))
    });
    release_block(inner, &f);
    rv
}

/// The Rust side of nghttp2's `on_stream_close_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_stream_close<H: Handler>(
    user_data: *mut c_void,
    stream_id: i32,
    error_code: u32,
) -> c_int {
    // SAFETY: the session's user data.
    let Some(inner) = (unsafe { inner::<H>(user_data) }) else {
        return FAIL;
    };
    let stream_id = StreamId::from_raw(stream_id);
    inner.dispatch(|h, cx| {
        cx.detach_body(stream_id);
        h.on_stream_close(cx, stream_id, Reason(error_code))
    })
}

/// The Rust side of nghttp2's `error_callback2`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn on_error<H: Handler>(
    user_data: *mut c_void,
    lib_error_code: c_int,
    msg: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: the session's user data.
    let Some(inner) = (unsafe { inner::<H>(user_data) }) else {
        return FAIL;
    };
    // SAFETY: nghttp2 lends `len` bytes of message for the call.
    let msg = unsafe { c_slice(msg as *const u8, len) };
    let msg = String::from_utf8_lossy(msg);
    inner.dispatch(|h, cx| h.on_error(cx, LibError::from_code(lib_error_code), &msg))
}

/// The Rust side of nghttp2's `the data provider's read_callback2`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn read_data<H: Handler>(
    user_data: *mut c_void,
    stream_id: i32,
    length: usize,
    data_flags: *mut u32,
) -> sys::nghttp2_ssize {
    // SAFETY: the session's user data, and nghttp2's flags word for the call.
    let (Some(inner), Some(data_flags)) = (unsafe { inner::<H>(user_data) }, unsafe {
        data_flags.as_mut()
    }) else {
        return FAIL as sys::nghttp2_ssize;
    };
    let Inner { panic, state, .. } = inner;
    let stream_id = StreamId::from_raw(stream_id);
    match catch(panic, || state.as_mut().read_body(stream_id, length)) {
        None => FAIL as sys::nghttp2_ssize,
        Some(Ok((n, flags))) => {
            *data_flags |= flags;
            n as sys::nghttp2_ssize
        }
        Some(Err(code)) => code as sys::nghttp2_ssize,
    }
}

/// The Rust side of nghttp2's `send_data_callback`, reached through shim.c.
///
/// # Safety
///
/// Called by shim.c only, with the arguments nghttp2 gave the callback:
/// `user_data` is the `Inner<H>` the session was made with (no other
/// reference to it is live during the call), and every pointer is null
/// or valid, for the length given, until the callback returns.
unsafe extern "C" fn send_data<H: Handler>(
    user_data: *mut c_void,
    stream_id: i32,
    framehd: *const u8,
    length: usize,
    padlen: usize,
) -> c_int {
    const FRAME_HEADER_LEN: usize = 9;
    // SAFETY: the session's user data.
    let Some(inner) = (unsafe { inner::<H>(user_data) }) else {
        return FAIL;
    };
    if framehd.is_null() {
        return FAIL;
    }
    // SAFETY: nghttp2 passes the 9-byte frame header it built for this frame.
    let framehd = unsafe { c_slice(framehd, FRAME_HEADER_LEN) };
    let Inner { panic, state, .. } = inner;
    let stream_id = StreamId::from_raw(stream_id);
    catch(panic, || {
        state
            .as_mut()
            .write_data_frame(stream_id, framehd, length, padlen)
    })
    .unwrap_or(FAIL)
}

/// Where nghttp2's debug output goes (see [`crate::set_debug_output`]).
static DEBUG_SINK: std::sync::RwLock<Option<fn(&str)>> = std::sync::RwLock::new(None);

/// Receives one line of nghttp2's debug output, formatted by shim.c.
///
/// # Safety
///
/// Called by shim.c only: `msg` points at `len` bytes valid for the call.
unsafe extern "C" fn debug_sink(msg: *const c_char, len: usize) {
    // SAFETY: shim.c formats into a buffer of `len` bytes valid for the call.
    let msg = unsafe { c_slice(msg as *const u8, len) };
    let mut ignored = None;
    let _ = catch(&mut ignored, || {
        if let Ok(sink) = DEBUG_SINK.read() {
            if let Some(sink) = *sink {
                sink(String::from_utf8_lossy(msg).trim_end());
            }
        }
    });
}

/// Installs (or with `None`, removes) the receiver of nghttp2's debug output.
pub(crate) fn set_debug_sink(sink: Option<fn(&str)>) {
    if let Ok(mut slot) = DEBUG_SINK.write() {
        *slot = sink;
    }
    // SAFETY: installs a function pointer that stays valid forever.
    unsafe {
        shim::h2shim_set_debug_sink(
            sink.map(|_| debug_sink as unsafe extern "C" fn(*const c_char, usize)),
        )
    }
}

/// Bytes in front of every block handed to nghttp2, holding the block's
/// size (C's `free` does not pass it, Rust's `dealloc` needs it); also the
/// blocks' alignment. Eight: nghttp2 stores nothing aligned beyond a
/// pointer or a `uint64_t` (no `long double`, `max_align_t` or vector
/// types), and on 64-bit targets word-aligned layouts take the global
/// allocator's plain path where 16 took mimalloc's aligned one (4.4
/// blocks per request, about 90 instructions).
const MEM_HEADER: usize = 8;
const _: () = assert!(std::mem::size_of::<usize>() <= MEM_HEADER);

/// Allocates `size` bytes (zeroed or not) from Rust's global allocator,
/// with the size recorded in front; null when out of memory.
fn mem_alloc(size: usize, zeroed: bool) -> *mut c_void {
    let Some(layout) = size
        .checked_add(MEM_HEADER)
        .and_then(|total| std::alloc::Layout::from_size_align(total, MEM_HEADER).ok())
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout's size is at least MEM_HEADER, so not zero.
    let base = unsafe {
        if zeroed {
            std::alloc::alloc_zeroed(layout)
        } else {
            std::alloc::alloc(layout)
        }
    };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `base` is a fresh block of at least MEM_HEADER bytes, aligned
    // for usize; the caller's part starts MEM_HEADER bytes in.
    unsafe {
        (base as *mut usize).write(size);
        base.add(MEM_HEADER) as *mut c_void
    }
}

/// The block `ptr` (from [`mem_alloc`]) starts at, and its layout.
///
/// # Safety
///
/// `ptr` must be a live, non-null block from `mem_alloc` or `mem_realloc`.
unsafe fn mem_block(ptr: *mut c_void) -> (*mut u8, std::alloc::Layout) {
    // SAFETY: the caller's contract: MEM_HEADER bytes in front hold the size.
    unsafe {
        let base = (ptr as *mut u8).sub(MEM_HEADER);
        let size = (base as *const usize).read();
        (
            base,
            std::alloc::Layout::from_size_align_unchecked(size + MEM_HEADER, MEM_HEADER),
        )
    }
}

/// `nghttp2_mem.malloc`.
unsafe extern "C" fn mem_malloc(size: usize, _user_data: *mut c_void) -> *mut c_void {
    mem_alloc(size, false)
}

/// `nghttp2_mem.calloc`.
unsafe extern "C" fn mem_calloc(nmemb: usize, size: usize, _user_data: *mut c_void) -> *mut c_void {
    match nmemb.checked_mul(size) {
        Some(total) => mem_alloc(total, true),
        None => std::ptr::null_mut(),
    }
}

/// `nghttp2_mem.free`.
///
/// # Safety
///
/// `ptr` is null or a live block from this allocator (nghttp2's contract).
unsafe extern "C" fn mem_free(ptr: *mut c_void, _user_data: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: nghttp2 frees only what this allocator gave it, once.
    unsafe {
        let (base, layout) = mem_block(ptr);
        std::alloc::dealloc(base, layout);
    }
}

/// `nghttp2_mem.realloc`.
///
/// # Safety
///
/// `ptr` is null or a live block from this allocator (nghttp2's contract).
unsafe extern "C" fn mem_realloc(
    ptr: *mut c_void,
    size: usize,
    _user_data: *mut c_void,
) -> *mut c_void {
    if ptr.is_null() {
        return mem_alloc(size, false);
    }
    let Some(total) = size
        .checked_add(MEM_HEADER)
        .filter(|&t| std::alloc::Layout::from_size_align(t, MEM_HEADER).is_ok())
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: `ptr` came from this allocator; `total` is a valid, non-zero
    // size for its alignment. On failure the old block stays untouched, as
    // C's realloc leaves it.
    unsafe {
        let (base, layout) = mem_block(ptr);
        let moved = std::alloc::realloc(base, layout, total);
        if moved.is_null() {
            return std::ptr::null_mut();
        }
        (moved as *mut usize).write(size);
        moved.add(MEM_HEADER) as *mut c_void
    }
}

/// nghttp2's memory functions routed to Rust's global allocator, so a
/// program that picks an allocator (mimalloc, jemalloc) gets it for
/// nghttp2's sessions, streams, header tables and frame buffers too.
/// nghttp2 copies the struct into each session; the functions are static.
pub(crate) fn rust_mem() -> sys::nghttp2_mem {
    sys::nghttp2_mem {
        mem_user_data: std::ptr::null_mut(),
        malloc: Some(mem_malloc),
        free: Some(mem_free),
        calloc: Some(mem_calloc),
        realloc: Some(mem_realloc),
    }
}

#[cfg(test)]
mod mem_tests {
    use super::*;

    #[test]
    fn blocks_round_trip_through_the_global_allocator() {
        let mem = rust_mem();
        // SAFETY: the functions' contracts: blocks from this allocator only.
        unsafe {
            let p = mem.malloc.unwrap()(5, std::ptr::null_mut()) as *mut u8;
            assert!(!p.is_null());
            assert_eq!(p as usize % MEM_HEADER, 0);
            std::ptr::copy_nonoverlapping(b"hello".as_ptr(), p, 5);
            let q =
                mem.realloc.unwrap()(p as *mut c_void, 100_000, std::ptr::null_mut()) as *mut u8;
            assert_eq!(std::slice::from_raw_parts(q, 5), b"hello");
            let q = mem.realloc.unwrap()(q as *mut c_void, 3, std::ptr::null_mut()) as *mut u8;
            assert_eq!(std::slice::from_raw_parts(q, 3), b"hel");
            mem.free.unwrap()(q as *mut c_void, std::ptr::null_mut());
            let z = mem.calloc.unwrap()(10, 10, std::ptr::null_mut()) as *mut u8;
            assert!(std::slice::from_raw_parts(z, 100).iter().all(|&b| b == 0));
            mem.free.unwrap()(z as *mut c_void, std::ptr::null_mut());
            mem.free.unwrap()(std::ptr::null_mut(), std::ptr::null_mut());
            assert!(mem.calloc.unwrap()(usize::MAX, 2, std::ptr::null_mut()).is_null());
            assert!(mem.malloc.unwrap()(usize::MAX - 8, std::ptr::null_mut()).is_null());
        }
    }
}
