//! A safe Rust API over the nghttp2 HTTP/2 C library.
#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod error;
pub mod ffi;
pub mod hpack;

pub use error::{Error, Initiator, Kind, LibError, Reason};
