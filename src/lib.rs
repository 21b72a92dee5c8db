//! A safe Rust API over the nghttp2 HTTP/2 C library.
//!
//! - [`session`]: a sans-IO [`Session`](session::Session) over
//!   `nghttp2_session`, with a [`Handler`](session::Handler) for events.
//! - [`hpack`]: HPACK encoding and decoding over `nghttp2_hd_*`.
#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod client;
mod error;
mod ffi;
pub mod hpack;
mod http_source;
mod proto;
pub mod server;
pub mod session;
pub mod trace;
mod write_buf;

use std::ffi::CStr;

pub use error::{Error, Initiator, Kind, LibError, Reason};

/// The oldest nghttp2 this crate accepts: 1.68.1 fixes CVE-2026-27135, and
/// the rapid-reset (1.57), CONTINUATION (1.61) and glitch (1.67) limits are
/// all in.
pub const MIN_NGHTTP2_VERSION: (u32, u32, u32) = (1, 68, 1);

/// The linked nghttp2's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// `major.minor.patch` as a number, `0xMMmmpp`.
    pub num: u32,
    /// The version string, such as `1.68.1`.
    pub text: &'static str,
    /// The ALPN protocol id it negotiates, `h2`.
    pub proto: &'static str,
}

impl Version {
    /// (major, minor, patch).
    pub fn triple(&self) -> (u32, u32, u32) {
        (self.num >> 16, (self.num >> 8) & 0xff, self.num & 0xff)
    }
}

/// The version of the nghttp2 library linked in. Corresponds to
/// `nghttp2_version`.
#[doc(alias = "nghttp2_version")]
pub fn version() -> Version {
    // SAFETY: nghttp2_version(0) returns a pointer to a static struct whose
    // strings are static and NUL-terminated.
    unsafe {
        let info = &*ffi::sys::nghttp2_version(0);
        let text = |p: *const std::os::raw::c_char| {
            if p.is_null() {
                ""
            } else {
                CStr::from_ptr(p).to_str().unwrap_or("")
            }
        };
        Version {
            num: info.version_num as u32,
            text: text(info.version_str as *const _),
            proto: text(info.proto_str as *const _),
        }
    }
}

/// Fails when the linked nghttp2 is older than [`MIN_NGHTTP2_VERSION`].
pub(crate) fn check_version() -> Result<(), Error> {
    let linked = version();
    if linked.triple() < MIN_NGHTTP2_VERSION {
        let (a, b, c) = MIN_NGHTTP2_VERSION;
        return Err(Error::user(format!(
            "nghttp2 {} is linked, but {a}.{b}.{c} or later is required",
            linked.text
        )));
    }
    Ok(())
}

/// Sends nghttp2's own debug output, line by line, to `sink` (`None` turns
/// it off). nghttp2 only produces it when built with `DEBUGBUILD`, which the
/// vendored build is not, so this is for custom builds. Corresponds to
/// `nghttp2_set_debug_vprintf_callback`.
#[doc(alias = "nghttp2_set_debug_vprintf_callback")]
pub fn set_debug_output(sink: Option<fn(&str)>) {
    session::set_debug_sink(sink);
}
