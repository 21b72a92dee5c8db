//! A safe Rust API over the nghttp2 HTTP/2 C library, and a tokio server
//! and client on top of it.
//!
//! # Modules
//!
//! - [`session`]: a sans-IO [`Session`](session::Session) over
//!   `nghttp2_session`, with a [`Handler`](session::Handler) for events;
//!   its module documentation wires a client and a server back to back.
//! - [`hpack`]: HPACK encoding and decoding over `nghttp2_hd_*`:
//!
//!   ```
//!   use nghttp2::hpack::{Deflater, HeaderField, Inflater};
//!   let block = Deflater::new(4096)?.deflate(&[HeaderField::new(":method", "GET")])?;
//!   let fields = Inflater::new()?.inflate(&block)?;
//!   assert_eq!(fields[0].value, b"GET");
//!   # Ok::<(), nghttp2::Error>(())
//!   ```
//! - [`trace`]: the `nghttp -v` / `nghttpd -v` frame trace, as text or
//!   JSON lines (`Tracer::stdout().connection_id(1)`).
//! - `server` (feature `server`): HTTP/2 and HTTP/1.1 on one port, a
//!   `tower` service (an axum `Router`, say) for both:
//!
//!   ```no_run
//!   # #[cfg(feature = "server")]
//!   # async fn run() -> std::io::Result<()> {
//!   use std::convert::Infallible;
//!   use bytes::Bytes;
//!   use http_body_util::Full;
//!   use nghttp2::server::{service_fn, Builder};
//!   let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!   let hello = service_fn(|_req| async {
//!       Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"hello\n"))))
//!   });
//!   Builder::new()
//!       .serve(listener, hello)
//!       .with_graceful_shutdown(async { let _ = tokio::signal::ctrl_c().await; })
//!       .await
//!   # }
//!   ```
//! - `client` (feature `client`): an HTTP/2 client. `client::Client` pools one
//!   connection per origin (timeouts, retries of refused requests, opt-in
//!   redirects and decompression); `client::Builder::connect` gives one
//!   connection for many streams:
//!
//!   ```no_run
//!   # #[cfg(feature = "client")]
//!   # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//!   use http_body_util::BodyExt;
//!   let client = nghttp2::client::Client::new();
//!   let response = client.get("http://127.0.0.1:8080/").await?;
//!   println!("{}", response.status());
//!   let body = response.into_body().collect().await?.to_bytes();
//!   println!("{} bytes", body.len());
//!   # Ok(()) }
//!   ```
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `server` | `server`: tokio, hyper (HTTP/1.1), tower-service |
//! | `client` | `client`: tokio |
//! | `tls` | TLS by OpenSSL for both (`server::tls`, `https://` in the client) |
//! | `vendored-openssl` | `tls`, with OpenSSL built from source (no system headers needed) |
//! | `cli` (default) | all of the above and what the `h2serve` and `h2fetch` binaries need (clap, tracing-subscriber, libmimalloc-sys) |
//!
//! A library that only serves: `nghttp2 = { version = "0.1",
//! default-features = false, features = ["server"] }` (no clap,
//! tracing-subscriber, mimalloc or OpenSSL). With no feature at all the
//! crate is the sans-IO session, HPACK and trace, without tokio.
#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[cfg(feature = "client")]
pub mod client;
mod error;
mod ffi;
pub mod hpack;
#[cfg(any(feature = "server", feature = "client"))]
mod http_source;
#[cfg(any(feature = "server", feature = "client"))]
mod proto;
#[cfg(feature = "server")]
pub mod server;
pub mod session;
pub mod trace;
#[cfg(any(feature = "server", feature = "client"))]
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
