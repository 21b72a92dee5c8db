//! The checked-in `src/ffi/shim.rs` must be exactly what bindgen makes of
//! `csrc/shim.h` today.
//!
//! Run with `cargo test --features regen-bindings --test bindings`; set
//! `UPDATE_BINDINGS=1` to overwrite the checked-in copy instead of failing.
#![cfg(feature = "regen-bindings")]

#[test]
fn checked_in_bindings_are_current() {
    let generated = std::fs::read_to_string(env!("NGHTTP2_RS_REGENERATED_BINDINGS"))
        .expect("build.rs wrote the regenerated bindings");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ffi/shim.rs");
    let checked_in = std::fs::read_to_string(path).expect("src/ffi/shim.rs exists");
    if generated == checked_in {
        return;
    }
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(path, &generated).expect("write src/ffi/shim.rs");
        return;
    }
    let first_difference = generated
        .lines()
        .zip(checked_in.lines())
        .position(|(a, b)| a != b)
        .map(|i| i + 1)
        .unwrap_or_else(|| generated.lines().count().min(checked_in.lines().count()) + 1);
    panic!(
        "src/ffi/shim.rs is stale (first difference at line {first_difference}); \
         rerun with UPDATE_BINDINGS=1 to regenerate it"
    );
}
