//! `cargo fuzz run hpack_inflate`: see harness::hpack.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::hpack(data));
