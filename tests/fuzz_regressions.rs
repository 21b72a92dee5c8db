//! Replays fuzz inputs through the fuzz targets' own code (fuzz/harness.rs,
//! shared with the cargo-fuzz crate in fuzz/, which `cargo test` does not
//! build): every file under `fuzz/regressions/<target>/` (inputs that once
//! crashed, kept after the fix) and `fuzz/corpus/<target>/` (the committed
//! seeds). So they run with every `cargo test`, and under valgrind and
//! AddressSanitizer in CI.

#[path = "../fuzz/harness.rs"]
mod harness;
#[path = "../fuzz/seeds.rs"]
mod seeds;

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// A target's name (its directory) and what it runs.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 3] = [
    ("session_server", harness::server),
    ("session_client", harness::client),
    ("hpack_inflate", harness::hpack),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every file of `dir/<target>/` through its target; returns how many.
fn replay(dir: &str) -> usize {
    let mut count = 0;
    let mut failed = Vec::new();
    for (target, run) in TARGETS {
        let Ok(entries) = fs::read_dir(root().join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let data = fs::read(&file).unwrap();
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
    count
}

#[test]
fn regressions_stay_fixed() {
    replay("regressions");
}

#[test]
fn committed_corpus_runs_clean() {
    assert!(replay("corpus") > 0, "no committed seeds under fuzz/corpus");
}

#[test]
fn generated_seeds_run_clean() {
    for seed in seeds::all() {
        let run = TARGETS.iter().find(|t| t.0 == seed.target).unwrap().1;
        if catch_unwind(AssertUnwindSafe(|| run(&seed.data))).is_err() {
            panic!("seed {}/{} fails", seed.target, seed.name);
        }
    }
}

#[test]
fn input_layout() {
    let input = harness::split(&[7, 2, 0, 2, b'a', b'b', b'c', b'd', b'e']);
    assert_eq!(input.config, 7);
    assert_eq!(input.chunks, [&b"a"[..], b"bcd", b"e"]);
    let input = harness::split(&[]);
    assert!(input.chunks.is_empty());
    let data = harness::chunked(1, &[b"ab", b"c", b"def"]);
    assert_eq!(harness::split(&data).chunks, [&b"ab"[..], b"c", b"def"]);
}

/// Writes the seeds to fuzz/corpus/<target>/seed-<name>.
#[test]
#[ignore = "writes files; run by hand to refresh the seed corpus"]
fn write_seed_corpus() {
    for seed in seeds::all() {
        let dir = root().join("corpus").join(seed.target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("seed-{}", seed.name)), &seed.data).unwrap();
    }
}
