//! Reading `nghttp -v` / `nghttpd -v` traces (ours and nghttp2's tools')
//! for comparison: split into frame events, normalise only what must
//! differ, and compare per direction and stream.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// One event of a trace: its line with the clock (`[t]`) and the indented
/// lines under it.
pub type Block = Vec<String>;

/// Replaces the clock, `[  1.011]`, with `[t]` (after nghttpd's `[id=N] `).
pub fn strip_clock(line: &str) -> String {
    let (prefix, rest) = match line.strip_prefix("[id=") {
        Some(rest) => match rest.find("] ") {
            Some(end) => (&line[..4 + end + 2], &rest[end + 2..]),
            None => return line.to_string(),
        },
        None => ("", line),
    };
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some(close) = inner.find(']') {
            let clock = &inner[..close];
            if clock.contains('.')
                && clock
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ' ')
            {
                return format!("{prefix}[t]{}", &inner[close + 1..]);
            }
        }
    }
    line.to_string()
}

/// Splits a trace into events. Lines without a clock (nghttpd's `IPv4:
/// listen ...`, log lines) and nghttpd's connection-level `closed` lines
/// are dropped; `stream_id=S closed` lines are kept.
pub fn blocks(trace: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut in_block = false;
    for line in trace.lines() {
        if line.starts_with("          ") {
            if in_block {
                if let Some(b) = blocks.last_mut() {
                    b.push(line.to_string());
                }
            }
            continue;
        }
        let line = strip_clock(line);
        in_block = line.contains("[t] ") && !line.ends_with("[t] closed");
        if in_block {
            blocks.push(vec![line]);
        }
    }
    blocks
}

/// The fields whose values must differ between two runs or two programs:
/// the clock-driven `date` and `last-modified`, the programs' names and
/// versions in `server` and `user-agent`, and `:authority` (each server is
/// on its own port).
pub const VOLATILE_FIELDS: [&str; 5] = [
    "date",
    "last-modified",
    "server",
    "user-agent",
    ":authority",
];

/// Normalises what must differ: the [`VOLATILE_FIELDS`]' values, HEADERS
/// frame lengths (HPACK output depends on those values) and PING payloads.
pub fn normalise(block: &[String]) -> Block {
    block
        .iter()
        .map(|line| {
            let mut line = line.clone();
            for name in VOLATILE_FIELDS {
                let field = format!("{name}: ");
                if let Some(at) = line.find(&field) {
                    if line[..at].ends_with(' ') {
                        line.replace_range(at + field.len().., "<volatile>");
                    }
                }
            }
            if let Some(at) = line.find("HEADERS frame <length=") {
                let start = at + "HEADERS frame <length=".len();
                let end = start + line[start..].find(',').unwrap();
                line.replace_range(start..end, "*");
            }
            if line.trim_start().starts_with("(opaque_data=") {
                line = "          (opaque_data=<volatile>)".to_string();
            }
            line
        })
        .collect()
}

/// A block with every number after `=` or `:` replaced by `N`, for frames
/// whose sizes follow the timing of reads and window updates.
pub fn shape(block: &[String]) -> Block {
    block
        .iter()
        .map(|line| {
            let mut out = String::new();
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                out.push(c);
                if (c == '=' || c == ':') && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                        chars.next();
                    }
                    out.push('N');
                }
            }
            out
        })
        .collect()
}

/// `DATA` for `... recv DATA frame <...>`; `None` for other events.
pub fn frame_type_of(block: &[String]) -> Option<&str> {
    let head = &block[0];
    let end = head.find(" frame <")?;
    head[..end].rsplit(' ').next()
}

/// The number after `key=` in `line`.
pub fn number_after(line: &str, key: &str) -> Option<u64> {
    let at = line.find(key)? + key.len();
    line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()
}

/// The stream an event is about (0 for the connection, -1 for none, as
/// `Connected`).
pub fn stream_of(block: &[String]) -> i32 {
    let head = &block[0];
    // `last_stream_id=` and `dep_stream_id=` are on the indented lines.
    number_after(head, "stream_id=").map_or(-1, |n| n as i32)
}

/// A frame's length (`None` when a named exception replaced it).
pub fn length_of(block: &[String]) -> Option<u64> {
    number_after(&block[0], "<length=")
}

/// Whether the event is something received (or a received frame refused).
pub fn is_recv(block: &[String]) -> bool {
    block[0].contains("[t] recv ") || block[0].contains("[t] [INVALID")
}

/// Whether the event is a frame sent (`send X frame`).
pub fn is_send(block: &[String]) -> bool {
    block[0].contains("[t] send ")
}

/// A SETTINGS ACK, in either direction.
pub fn is_settings_ack(block: &[String]) -> bool {
    frame_type_of(block) == Some("SETTINGS") && block[0].contains("flags=0x01")
}

/// `ACK_RACE`: a client ends its session (GOAWAY) as soon as its last
/// stream closes, which drops a SETTINGS ACK still queued; so whether a
/// client sends its ACK (and a server receives it) depends on whether the
/// server's SETTINGS and its response arrived in one read. For nghttp as
/// for h2fetch. Left out: the client's ACK, sent or received.
pub fn is_client_ack(block: &[String], client_side: bool) -> bool {
    is_settings_ack(block) && (is_send(block) == client_side)
}

/// `PRIORITY_FRAMES`: Debian's nghttp 1.52 sends RFC 7540 PRIORITY frames
/// for idle streams 3 to 11 and puts its requests on streams 13, 15, ...
/// with the PRIORITY flag; nghttp2 1.61 and later (our 1.68) send no RFC
/// 7540 priorities. The PRIORITY frames are dropped, streams 13, 15, ...
/// are read as 1, 3, ..., and the PRIORITY flag and its fields are taken
/// off the request HEADERS. (`nghttp --no-dep` would avoid them, but users
/// compare with plain `nghttp -nv`.)
pub fn without_priorities(blocks: Vec<Block>) -> Vec<Block> {
    blocks
        .into_iter()
        .filter(|b| frame_type_of(b) != Some("PRIORITY"))
        .map(|b| {
            b.into_iter()
                .map(|l| {
                    renumber(&l)
                        .replace("flags=0x25", "flags=0x05")
                        .replace(
                            "; END_STREAM | END_HEADERS | PRIORITY",
                            "; END_STREAM | END_HEADERS",
                        )
                        .replace(
                            "(padlen=0, dep_stream_id=11, weight=16, exclusive=0)",
                            "(padlen=0)",
                        )
                })
                .collect()
        })
        .collect()
}

/// `stream_id=13` as `stream_id=1`, 15 as 3, and so on (not
/// `dep_stream_id=`/`last_stream_id=`).
pub fn renumber(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("stream_id=") {
        let end = at + "stream_id=".len();
        out.push_str(&rest[..end]);
        rest = &rest[end..];
        let prefixed = out.ends_with("dep_stream_id=") || out.ends_with("last_stream_id=");
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        match digits.parse::<u32>() {
            Ok(id) if !prefixed && id >= 13 && id % 2 == 1 => {
                out.push_str(&(id - 12).to_string());
                rest = &rest[digits.len()..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// Frames grouped by (received?, stream): the order within a group is
/// compared, the interleaving of groups (which follows the scheduler and
/// the peers' reads) is not.
pub type Groups = BTreeMap<(bool, i32), Vec<Block>>;

/// Groups `blocks` after `f` (normalise, or shape).
pub fn group(blocks: &[Block], f: impl Fn(&[String]) -> Block) -> Groups {
    let mut groups = Groups::new();
    for b in blocks {
        groups
            .entry((is_recv(b), stream_of(b)))
            .or_default()
            .push(f(b));
    }
    groups
}

/// The comparison: every event but DATA and WINDOW_UPDATE line by line
/// after [`normalise`], in order per direction and stream; DATA and
/// WINDOW_UPDATE by [`shape`], as sets per direction and stream (their
/// sizes follow the timing of window updates, even between two runs of the
/// same pair of programs); and the DATA bytes per direction and stream,
/// exactly.
pub fn compare(theirs: &[Block], ours: &[Block], what: &str) {
    let timed = |b: &Block| matches!(frame_type_of(b), Some("DATA") | Some("WINDOW_UPDATE"));
    let exact = |bs: &[Block]| {
        let rest: Vec<Block> = bs.iter().filter(|b| !timed(b)).cloned().collect();
        group(&rest, normalise)
    };
    let shapes = |bs: &[Block]| {
        let mut sets: BTreeMap<(bool, i32), BTreeSet<Block>> = BTreeMap::new();
        for b in bs.iter().filter(|b| timed(b)) {
            sets.entry((is_recv(b), stream_of(b)))
                .or_default()
                .insert(shape(b));
        }
        sets
    };
    assert_groups_eq(&exact(theirs), &exact(ours), what);
    assert_eq!(
        shapes(theirs),
        shapes(ours),
        "{what}: DATA/WINDOW_UPDATE shapes differ"
    );
    assert_eq!(
        data_bytes(theirs),
        data_bytes(ours),
        "{what}: DATA bytes per stream differ"
    );
}

/// DATA bytes per (received?, stream); frames whose length a named
/// exception replaced (after checking it) are not counted.
pub fn data_bytes(blocks: &[Block]) -> BTreeMap<(bool, i32), u64> {
    let mut bytes = BTreeMap::new();
    for b in blocks.iter().filter(|b| frame_type_of(b) == Some("DATA")) {
        if let Some(n) = length_of(b) {
            *bytes.entry((is_recv(b), stream_of(b))).or_default() += n;
        }
    }
    bytes
}

/// Compares two groupings, naming the first group that differs and showing
/// both sides of it.
pub fn assert_groups_eq(theirs: &Groups, ours: &Groups, what: &str) {
    let keys: BTreeSet<_> = theirs.keys().chain(ours.keys()).collect();
    for key in keys {
        let (t, o) = (theirs.get(key), ours.get(key));
        assert!(
            t == o,
            "{what}: {} stream {} differs\n--- theirs\n{}\n--- ours\n{}",
            if key.0 { "received on" } else { "sent on" },
            key.1,
            t.map(|bs| bs.iter().flatten().cloned().collect::<Vec<_>>().join("\n"))
                .unwrap_or_default(),
            o.map(|bs| bs.iter().flatten().cloned().collect::<Vec<_>>().join("\n"))
                .unwrap_or_default(),
        );
    }
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

/// The value of header field `name` in a HEADERS block (sent fields are
/// its indented lines) or in a received field line.
pub fn field<'a>(block: &'a [String], name: &str) -> Option<&'a str> {
    let needle = format!(" {name}: ");
    block
        .iter()
        .find_map(|l| l.find(&needle).map(|at| &l[at + needle.len()..]))
}
