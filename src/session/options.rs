//! [`Options`]: the knobs of `nghttp2_option`, applied when a session is made.

use std::ptr::NonNull;

use crate::error::{Error, LibError};
use crate::ffi::sys;
use crate::session::frame::FrameType;

/// The glitch rate limit the server and client builders set (burst, per
/// second), in place of the vendored nghttp2 1.68.1's default of 1000, 33.
///
/// A "glitch" is a frame nghttp2 finds legal but useless; past the token
/// bucket the session sends GOAWAY ENHANCE_YOUR_CALM. 1.68.1 also counts
/// every DATA frame it ignores because its stream is already closed, and on
/// a slow or high-latency link such frames are normal: a peer that cancels
/// a download (or has a stream reset under it) still has a window's worth
/// of DATA in flight, up to a thousand 16 KiB frames for a 16 MiB window,
/// so one cancel could end the connection. nghttp2 1.69 raised the default
/// to 10000, 330 and stopped counting ignored DATA. What is counted cannot
/// be changed from outside the library; the bucket can, and this is 1.69's.
/// Revisit when libnghttp2-sys vendors 1.69 or later.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) const GLITCH_RATE_LIMIT: (u64, u64) = (10_000, 330);

/// Session options, each one corresponding to an `nghttp2_option_set_*`
/// function. Unset options keep nghttp2's defaults.
#[derive(Clone, Debug, Default)]
pub struct Options {
    no_auto_window_update: Option<bool>,
    peer_max_concurrent_streams: Option<u32>,
    max_send_header_block_length: Option<usize>,
    max_deflate_dynamic_table_size: Option<usize>,
    max_outbound_ack: Option<usize>,
    max_settings: Option<usize>,
    stream_reset_rate_limit: Option<(u64, u64)>,
    max_continuations: Option<usize>,
    glitch_rate_limit: Option<(u64, u64)>,
    no_rfc9113_leading_and_trailing_ws_validation: Option<bool>,
    no_http_messaging: Option<bool>,
    no_auto_ping_ack: Option<bool>,
    no_closed_streams: Option<bool>,
    max_reserved_remote_streams: Option<u32>,
    no_recv_client_magic: Option<bool>,
    builtin_recv_extensions: Vec<FrameType>,
    conformance: Option<bool>,
}

impl Options {
    /// nghttp2's defaults.
    pub fn new() -> Options {
        Options::default()
    }

    /// Do not send WINDOW_UPDATE by itself: received DATA counts against
    /// the windows until [`SessionRef::consume`](crate::session::SessionRef::consume)
    /// gives it back. Corresponds to `nghttp2_option_set_no_auto_window_update`.
    #[doc(alias = "nghttp2_option_set_no_auto_window_update")]
    pub fn no_auto_window_update(mut self, on: bool) -> Self {
        self.no_auto_window_update = Some(on);
        self
    }

    /// The peer's MAX_CONCURRENT_STREAMS assumed until its SETTINGS arrive.
    /// Corresponds to `nghttp2_option_set_peer_max_concurrent_streams`.
    #[doc(alias = "nghttp2_option_set_peer_max_concurrent_streams")]
    pub fn peer_max_concurrent_streams(mut self, n: u32) -> Self {
        self.peer_max_concurrent_streams = Some(n);
        self
    }

    /// The largest header block this side will send. Corresponds to
    /// `nghttp2_option_set_max_send_header_block_length`.
    #[doc(alias = "nghttp2_option_set_max_send_header_block_length")]
    pub fn max_send_header_block_length(mut self, n: usize) -> Self {
        self.max_send_header_block_length = Some(n);
        self
    }

    /// The largest HPACK dynamic table the encoder will use. Corresponds to
    /// `nghttp2_option_set_max_deflate_dynamic_table_size`.
    #[doc(alias = "nghttp2_option_set_max_deflate_dynamic_table_size")]
    pub fn max_deflate_dynamic_table_size(mut self, n: usize) -> Self {
        self.max_deflate_dynamic_table_size = Some(n);
        self
    }

    /// How many SETTINGS/PING ACKs may wait to be sent before the session
    /// fails with `NGHTTP2_ERR_FLOODED` (default 1000). Corresponds to
    /// `nghttp2_option_set_max_outbound_ack`.
    #[doc(alias = "nghttp2_option_set_max_outbound_ack")]
    pub fn max_outbound_ack(mut self, n: usize) -> Self {
        self.max_outbound_ack = Some(n);
        self
    }

    /// The most entries one received SETTINGS frame may carry (default 32).
    /// Corresponds to `nghttp2_option_set_max_settings`.
    #[doc(alias = "nghttp2_option_set_max_settings")]
    pub fn max_settings(mut self, n: usize) -> Self {
        self.max_settings = Some(n);
        self
    }

    /// The token bucket for stream resets by the peer (burst, per second;
    /// default 1000, 33): past it the session sends GOAWAY. Corresponds to
    /// `nghttp2_option_set_stream_reset_rate_limit`.
    #[doc(alias = "nghttp2_option_set_stream_reset_rate_limit")]
    pub fn stream_reset_rate_limit(mut self, burst: u64, rate: u64) -> Self {
        self.stream_reset_rate_limit = Some((burst, rate));
        self
    }

    /// The most CONTINUATION frames after one HEADERS (default 8).
    /// Corresponds to `nghttp2_option_set_max_continuations`.
    #[doc(alias = "nghttp2_option_set_max_continuations")]
    pub fn max_continuations(mut self, n: usize) -> Self {
        self.max_continuations = Some(n);
        self
    }

    /// The token bucket for peer "glitches", frames that are legal but
    /// useless (burst, per second; nghttp2 1.68.1's default 1000, 33, which
    /// the server and client builders raise to 10000, 330 as nghttp2 1.69
    /// did). Corresponds to
    /// `nghttp2_option_set_glitch_rate_limit`.
    #[doc(alias = "nghttp2_option_set_glitch_rate_limit")]
    pub fn glitch_rate_limit(mut self, burst: u64, rate: u64) -> Self {
        self.glitch_rate_limit = Some((burst, rate));
        self
    }

    /// Accept header values with leading or trailing white space.
    /// Corresponds to
    /// `nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation`.
    #[doc(alias = "nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation")]
    pub fn no_rfc9113_leading_and_trailing_ws_validation(mut self, on: bool) -> Self {
        self.no_rfc9113_leading_and_trailing_ws_validation = Some(on);
        self
    }

    /// Turn off nghttp2's HTTP messaging checks (pseudo-headers,
    /// content-length...). Corresponds to `nghttp2_option_set_no_http_messaging`.
    #[doc(alias = "nghttp2_option_set_no_http_messaging")]
    pub fn no_http_messaging(mut self, on: bool) -> Self {
        self.no_http_messaging = Some(on);
        self
    }

    /// Do not answer PING by itself. Corresponds to
    /// `nghttp2_option_set_no_auto_ping_ack`.
    #[doc(alias = "nghttp2_option_set_no_auto_ping_ack")]
    pub fn no_auto_ping_ack(mut self, on: bool) -> Self {
        self.no_auto_ping_ack = Some(on);
        self
    }

    /// Do not keep closed streams for the (deprecated) priority tree.
    /// Corresponds to `nghttp2_option_set_no_closed_streams`.
    #[doc(alias = "nghttp2_option_set_no_closed_streams")]
    pub fn no_closed_streams(mut self, on: bool) -> Self {
        self.no_closed_streams = Some(on);
        self
    }

    /// The most streams the peer may reserve with PUSH_PROMISE. Corresponds
    /// to `nghttp2_option_set_max_reserved_remote_streams`.
    #[doc(alias = "nghttp2_option_set_max_reserved_remote_streams")]
    pub fn max_reserved_remote_streams(mut self, n: u32) -> Self {
        self.max_reserved_remote_streams = Some(n);
        self
    }

    /// A server that does not expect the 24-byte client preface (for h2c
    /// upgrade, where it was consumed elsewhere). Corresponds to
    /// `nghttp2_option_set_no_recv_client_magic`.
    #[doc(alias = "nghttp2_option_set_no_recv_client_magic")]
    pub fn no_recv_client_magic(mut self, on: bool) -> Self {
        self.no_recv_client_magic = Some(on);
        self
    }

    /// Have nghttp2 parse a received extension frame it knows (ALTSVC,
    /// ORIGIN, PRIORITY_UPDATE) and hand it to the handler. Corresponds to
    /// `nghttp2_option_set_builtin_recv_extension_type`.
    #[doc(alias = "nghttp2_option_set_builtin_recv_extension_type")]
    pub fn recv_extension(mut self, frame_type: FrameType) -> Self {
        self.builtin_recv_extensions.push(frame_type);
        self
    }

    /// Enforce the RFC 9113 rules nghttp2 1.65+ no longer checks (frames
    /// on streams the peer ended or reset, PRIORITY on stream 0 or on
    /// itself): on by default. Not an nghttp2 option: the table of rules,
    /// their answers and the memory they take is in
    /// [`session::conformance`](crate::session::conformance).
    pub fn conformance(mut self, on: bool) -> Self {
        self.conformance = Some(on);
        self
    }

    /// Whether the wrapper's own conformance checks run (default: yes).
    pub(crate) fn conformance_on(&self) -> bool {
        self.conformance.unwrap_or(true)
    }

    /// Whether a server session made with these options reads the client
    /// connection preface first.
    pub(crate) fn expects_client_magic(&self) -> bool {
        !self.no_recv_client_magic.unwrap_or(false)
    }

    /// Makes the `nghttp2_option` these settings describe.
    pub(crate) fn to_raw(&self) -> Result<RawOptions, Error> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: nghttp2_option_new writes a fresh object into `raw` on
        // success.
        let rv = unsafe { sys::nghttp2_option_new(&mut raw) };
        let raw = match NonNull::new(raw) {
            Some(raw) if rv == 0 => RawOptions(raw),
            _ => return Err(LibError::NOMEM.into()),
        };
        let o = raw.0.as_ptr();
        let flag = |on: bool| on as std::os::raw::c_int;
        // SAFETY: `o` is a live nghttp2_option for every call below, each of
        // which only stores a value in it.
        unsafe {
            if let Some(v) = self.no_auto_window_update {
                sys::nghttp2_option_set_no_auto_window_update(o, flag(v));
            }
            if let Some(v) = self.peer_max_concurrent_streams {
                sys::nghttp2_option_set_peer_max_concurrent_streams(o, v);
            }
            if let Some(v) = self.max_send_header_block_length {
                sys::nghttp2_option_set_max_send_header_block_length(o, v);
            }
            if let Some(v) = self.max_deflate_dynamic_table_size {
                sys::nghttp2_option_set_max_deflate_dynamic_table_size(o, v);
            }
            if let Some(v) = self.max_outbound_ack {
                sys::nghttp2_option_set_max_outbound_ack(o, v);
            }
            if let Some(v) = self.max_settings {
                sys::nghttp2_option_set_max_settings(o, v);
            }
            if let Some((burst, rate)) = self.stream_reset_rate_limit {
                sys::nghttp2_option_set_stream_reset_rate_limit(o, burst, rate);
            }
            if let Some(v) = self.max_continuations {
                sys::nghttp2_option_set_max_continuations(o, v);
            }
            if let Some((burst, rate)) = self.glitch_rate_limit {
                sys::nghttp2_option_set_glitch_rate_limit(o, burst, rate);
            }
            if let Some(v) = self.no_rfc9113_leading_and_trailing_ws_validation {
                sys::nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation(o, flag(v));
            }
            if let Some(v) = self.no_http_messaging {
                sys::nghttp2_option_set_no_http_messaging(o, flag(v));
            }
            if let Some(v) = self.no_auto_ping_ack {
                sys::nghttp2_option_set_no_auto_ping_ack(o, flag(v));
            }
            if let Some(v) = self.no_closed_streams {
                sys::nghttp2_option_set_no_closed_streams(o, flag(v));
            }
            if let Some(v) = self.max_reserved_remote_streams {
                sys::nghttp2_option_set_max_reserved_remote_streams(o, v);
            }
            if let Some(v) = self.no_recv_client_magic {
                sys::nghttp2_option_set_no_recv_client_magic(o, flag(v));
            }
            for frame_type in &self.builtin_recv_extensions {
                sys::nghttp2_option_set_builtin_recv_extension_type(o, frame_type.0);
            }
        }
        Ok(raw)
    }
}

/// An owned `nghttp2_option`, deleted on drop (sessions copy what they need).
pub(crate) struct RawOptions(NonNull<sys::nghttp2_option>);

impl RawOptions {
    pub(crate) fn as_ptr(&self) -> *mut sys::nghttp2_option {
        self.0.as_ptr()
    }
}

impl Drop for RawOptions {
    fn drop(&mut self) {
        // SAFETY: we own the option object and nobody else frees it.
        unsafe { sys::nghttp2_option_del(self.0.as_ptr()) }
    }
}
