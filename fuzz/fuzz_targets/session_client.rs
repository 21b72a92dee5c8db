//! `cargo fuzz run session_client`: see harness::client.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::client(data));
