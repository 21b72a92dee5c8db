//! Compiles the C trampolines in csrc/ against the nghttp2 headers that
//! libnghttp2-sys builds from vendored source (`DEP_NGHTTP2_ROOT`).

use std::env;
use std::path::PathBuf;

fn main() {
    let root = env::var_os("DEP_NGHTTP2_ROOT")
        .map(PathBuf::from)
        .expect("libnghttp2-sys did not export DEP_NGHTTP2_ROOT");
    let include = root.join("include");

    println!("cargo:rerun-if-changed=csrc/shim.c");
    println!("cargo:rerun-if-changed=csrc/shim.h");

    cc::Build::new()
        .file("csrc/shim.c")
        .include(&include)
        .define("NGHTTP2_STATICLIB", None)
        .flag("-Wall")
        .flag("-Wextra")
        // Every callback zeroes a ~150-byte flat frame (a dozen times per
        // request). gcc's default on x86-64 is `rep stos`, whose start-up
        // costs more than the eight vector stores this asks for instead.
        .flag_if_supported("-mmemset-strategy=vector_loop:256:noalign,libcall:-1:noalign")
        .warnings_into_errors(true)
        .compile("nghttp2_rs_shim");

    #[cfg(feature = "regen-bindings")]
    regen::bindings(&include);
}

#[cfg(feature = "regen-bindings")]
mod regen {
    use std::env;
    use std::path::{Path, PathBuf};

    /// Writes bindgen's view of csrc/shim.h to `$OUT_DIR/shim_bindings.rs`;
    /// tests/bindings.rs compares it with the checked-in src/ffi/shim.rs.
    pub fn bindings(include: &Path) {
        let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("shim_bindings.rs");
        let bindings = bindgen::Builder::default()
            .header("csrc/shim.h")
            .clang_arg(format!("-I{}", include.display()))
            .allowlist_type("h2shim_.*")
            .allowlist_function("h2shim_.*")
            .blocklist_type("nghttp2_.*")
            .raw_line("use libnghttp2_sys::{nghttp2_data_provider2, nghttp2_session_callbacks, nghttp2_ssize};")
            .layout_tests(true)
            .derive_default(true)
            .generate_comments(true)
            .generate()
            .expect("bindgen failed on csrc/shim.h");
        bindings.write_to_file(&out).expect("cannot write bindings");
        println!(
            "cargo:rustc-env=NGHTTP2_RS_REGENERATED_BINDINGS={}",
            out.display()
        );
    }
}
