//! Reading `nghttp -v` / `nghttpd -v` traces for comparison: the parsing,
//! normalising and named exceptions live in the library
//! (`nghttp2::trace::diff`, shared with `h2fetch --diff-nghttp`); this
//! adds the assertions the tests make with them.
#![allow(dead_code)]

use nghttp2::trace::diff::{self, apply, Exception, Report, Role};
#[allow(unused_imports)]
pub use nghttp2::trace::diff::{
    blocks, data_bytes, field, frame_type_of, group, is_recv, is_send, is_settings_ack, length_of,
    normalise, number_after, renumber, shape, stream_of, strip_clock, Block, Groups,
    VOLATILE_FIELDS,
};

/// `ACK_RACE` ([`Exception::AckRace`]): whether `block` is the client's
/// SETTINGS ACK (sent, in a client's trace; received, in a server's).
pub fn is_client_ack(block: &[String], client_side: bool) -> bool {
    is_settings_ack(block) && (is_send(block) == client_side)
}

/// `PRIORITY_FRAMES` ([`Exception::PriorityFrames`]) applied to one trace.
pub fn without_priorities(blocks: Vec<Block>) -> Vec<Block> {
    let role = Role::of(&blocks);
    apply(Exception::PriorityFrames, blocks, role).0
}

/// The comparison ([`diff::compare`], no exception): fails with every
/// difference, in unified form, unless there is none.
pub fn compare(theirs: &[Block], ours: &[Block], what: &str) {
    let differences = diff::compare(theirs, ours);
    assert!(
        differences.is_empty(),
        "{what}: {} differences\n{}",
        differences.len(),
        differences
            .iter()
            .map(|d| d.unified("theirs", "ours"))
            .collect::<String>()
    );
}

/// Fails unless `report` has only named differences, printing it.
pub fn assert_clean(report: &Report, what: &str) {
    assert!(
        report.is_clean(),
        "{what}:\n{}",
        report.render("theirs", "ours")
    );
}

/// Fails unless `blocks` has a frame of each of `types`.
pub fn assert_has(blocks: &[Block], types: &[&str], what: &str) {
    for t in types {
        assert!(
            blocks.iter().any(|b| frame_type_of(b) == Some(t)),
            "{what}: no {t} frame in the trace"
        );
    }
}
