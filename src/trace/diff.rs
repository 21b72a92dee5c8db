//! Behaviour diffs: two `nghttp -v` / `nghttpd -v` traces (nghttp2's
//! tools', or this crate's, which print the same lines) compared frame by
//! frame, with only what must differ normalised and every other known
//! difference *named*, with its reason.
//!
//! This is the comparison `h2fetch --diff-nghttp` and `h2fetch
//! --diff-traces` print, and the one the crate's comparison tests assert.
//!
//! - [`blocks`] splits a trace into events (a line with the clock and the
//!   indented lines under it), dropping the clock.
//! - [`normalise`] hides what differs between any two runs: the
//!   [`VOLATILE_FIELDS`]' values, HEADERS lengths (HPACK output follows
//!   those values) and PING payloads.
//! - Each [`Exception`] is a known difference between nghttp2's tools
//!   (Debian's 1.52) and this crate's (nghttp2 1.68), or between the two
//!   servers' deliberate choices. Only the exceptions asked for are applied,
//!   and each changes only the events it names; the [`Report`] keeps what
//!   it changed on each side ([`Applied`]).
//! - The comparison ([`compare`]): every event but DATA and WINDOW_UPDATE
//!   line by line, in order per direction and stream (not the interleaving
//!   of directions and streams, see [`Exception::SettingsAfterPreface`]);
//!   DATA and WINDOW_UPDATE by [`shape`], as sets per direction and stream
//!   (their sizes follow the timing of window updates); and the DATA bytes
//!   per direction and stream, exactly.
//!
//! ```
//! use nghttp2::trace::diff::{diff, Exception};
//!
//! let theirs = "[  0.001] Connected\n\
//!               [  0.002] send SETTINGS frame <length=0, flags=0x01, stream_id=0>\n\
//!               \x20         ; ACK\n";
//! let ours = "[  0.004] Connected\n";
//! // Without ACK_RACE the missing SETTINGS ACK is an unnamed difference...
//! assert!(!diff(theirs, ours, &[]).is_clean());
//! // ...with it, a named one.
//! let report = diff(theirs, ours, &Exception::ALL);
//! assert!(report.is_clean());
//! assert_eq!(report.named().next().unwrap().exception, Exception::AckRace);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One event of a trace: its line (clock replaced by `[t]`) and the
/// indented lines under it.
pub type Block = Vec<String>;

/// The indentation of the lines under an event's line.
const INDENT: &str = "          ";

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
        if line.starts_with(INDENT) {
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
                if let Some(end) = line[start..].find(',') {
                    line.replace_range(start..start + end, "*");
                }
            }
            if line.trim_start().starts_with("(opaque_data=") {
                line = format!("{INDENT}(opaque_data=<volatile>)");
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
    let head = block.first()?;
    let end = head.find(" frame <")?;
    head[..end].rsplit(' ').next()
}

/// The number after `key` in `line` (`key` ends with `=` or similar).
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
    // `last_stream_id=` and `dep_stream_id=` are on the indented lines.
    block
        .first()
        .and_then(|head| number_after(head, "stream_id="))
        .map_or(-1, |n| n as i32)
}

/// A frame's length (`None` when an exception replaced it).
pub fn length_of(block: &[String]) -> Option<u64> {
    number_after(block.first()?, "<length=")
}

/// Whether the event is something received (or a received frame refused).
pub fn is_recv(block: &[String]) -> bool {
    block
        .first()
        .is_some_and(|h| h.contains("[t] recv ") || h.contains("[t] [INVALID"))
}

/// Whether the event is a frame sent (`send X frame`).
pub fn is_send(block: &[String]) -> bool {
    block.first().is_some_and(|h| h.contains("[t] send "))
}

/// A SETTINGS ACK, in either direction.
pub fn is_settings_ack(block: &[String]) -> bool {
    frame_type_of(block) == Some("SETTINGS") && block[0].contains("flags=0x01")
}

/// The value of header field `name` in a HEADERS block (sent fields are
/// its indented lines) or in a received field line.
pub fn field<'a>(block: &'a [String], name: &str) -> Option<&'a str> {
    let needle = format!(" {name}: ");
    block
        .iter()
        .find_map(|l| l.find(&needle).map(|at| &l[at + needle.len()..]))
}

/// `stream_id=13` as `stream_id=1`, 15 as 3, and so on (not
/// `dep_stream_id=`/`last_stream_id=`): nghttp 1.52's request streams as
/// nghttp2 1.61's (see [`Exception::PriorityFrames`]).
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

/// DATA bytes per (received?, stream); frames whose length an exception
/// replaced are not counted.
pub fn data_bytes(blocks: &[Block]) -> BTreeMap<(bool, i32), u64> {
    let mut bytes = BTreeMap::new();
    for b in blocks.iter().filter(|b| frame_type_of(b) == Some("DATA")) {
        if let Some(n) = length_of(b) {
            *bytes.entry((is_recv(b), stream_of(b))).or_default() += n;
        }
    }
    bytes
}

/// Whose trace: a client's (`nghttp -v`, `h2fetch -v`) or a server's
/// (`nghttpd -v`, `h2serve -v`, whose lines start with `[id=N] `).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A client's trace: it sends requests, receives responses.
    Client,
    /// A server's trace.
    Server,
}

impl Role {
    /// A server's trace when its first event has nghttpd's `[id=N] `
    /// prefix, a client's otherwise.
    pub fn of(blocks: &[Block]) -> Role {
        match blocks.first() {
            Some(b) if b[0].starts_with("[id=") => Role::Server,
            _ => Role::Client,
        }
    }

    /// Whether `block` is a frame the server sent (received, in a client's
    /// trace).
    fn sent_by_server(self, block: &[String]) -> bool {
        match self {
            Role::Client => is_recv(block),
            Role::Server => is_send(block),
        }
    }
}

/// A known difference between two traces, with its name (as the tests and
/// `h2fetch --diff-nghttp` print it) and its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exception {
    /// `WINDOWS`: h2serve advertises SETTINGS_INITIAL_WINDOW_SIZE 256 KiB
    /// and opens its connection window to 1 MiB with a WINDOW_UPDATE by
    /// default (a deliberate choice for uploads); nghttpd keeps RFC 9113's
    /// 65535 bytes (`h2serve -w 16 -W 16` does the same). The server's
    /// SETTINGS_INITIAL_WINDOW_SIZE entry and the connection WINDOW_UPDATEs
    /// it sends before it received any DATA are left out.
    Windows,
    /// `SERVER_SETTINGS`: h2serve's SETTINGS also carry
    /// SETTINGS_MAX_HEADER_LIST_SIZE 65536 (the limit it enforces, 431 past
    /// it), SETTINGS_ENABLE_PUSH 0 (it never pushes) and
    /// SETTINGS_NO_RFC7540_PRIORITIES 1 (RFC 9218 priorities); nghttpd 1.52 sends
    /// only SETTINGS_MAX_CONCURRENT_STREAMS. Exactly these entries are taken
    /// out of the server's SETTINGS, whose length and `niv` are reduced.
    ServerSettings,
    /// `ERROR_PAGE`: both servers answer a missing file with a small page
    /// whose address line names the server (nghttpd's adds ` at port N`),
    /// so a 404's `content-length` and DATA lengths differ; on 404 streams
    /// they are replaced by `<404 page>`.
    ErrorPage,
    /// `PRIORITY_FRAMES`: Debian's nghttp 1.52 sends RFC 7540 PRIORITY
    /// frames for idle streams 3 to 11 and puts its requests on streams 13,
    /// 15, ... with the PRIORITY flag; nghttp2 1.61 and later (this crate
    /// links 1.68) send no RFC 7540 priorities. On a trace with that
    /// layout the PRIORITY frames are dropped, streams 13, 15, ... are read
    /// as 1, 3, ..., and the PRIORITY flag and its fields are taken off the
    /// request HEADERS.
    PriorityFrames,
    /// `PRIORITY_NOT_REPORTED`: nghttpd 1.52 reports and prints the RFC 7540
    /// PRIORITY frames it receives; nghttp2 1.61 and later ignore them
    /// without reporting them, so h2serve's trace has none. Received
    /// PRIORITY frames are left out of servers' traces.
    PriorityNotReported,
    /// `ACK_RACE`: a client ends its session (GOAWAY) as soon as its last
    /// stream closes, which drops a SETTINGS ACK still queued; so whether a
    /// client sends its ACK (and a server receives it) depends on whether
    /// the server's SETTINGS and its response arrived in one read, for
    /// nghttp as for h2fetch. The client's ACK, sent or received, is left
    /// out.
    AckRace,
    /// `SETTINGS_AFTER_PREFACE`: nghttpd writes its SETTINGS as soon as it
    /// accepts a connection, h2serve after reading the client's preface;
    /// and the order of concurrent streams' frames follows the peers' reads
    /// and two nghttp2 versions' schedulers. So the interleaving of
    /// directions and streams is never compared: events are compared in
    /// order per direction and stream. Always in effect; it changes no
    /// event.
    SettingsAfterPreface,
}

impl Exception {
    /// Every exception, in the order they are applied.
    pub const ALL: [Exception; 7] = [
        Exception::PriorityNotReported,
        Exception::PriorityFrames,
        Exception::AckRace,
        Exception::ServerSettings,
        Exception::Windows,
        Exception::ErrorPage,
        Exception::SettingsAfterPreface,
    ];

    /// The name the tests and the tool print, `ACK_RACE`.
    pub fn name(self) -> &'static str {
        match self {
            Exception::Windows => "WINDOWS",
            Exception::ServerSettings => "SERVER_SETTINGS",
            Exception::ErrorPage => "ERROR_PAGE",
            Exception::PriorityFrames => "PRIORITY_FRAMES",
            Exception::PriorityNotReported => "PRIORITY_NOT_REPORTED",
            Exception::AckRace => "ACK_RACE",
            Exception::SettingsAfterPreface => "SETTINGS_AFTER_PREFACE",
        }
    }

    /// Why the difference is expected, in one line.
    pub fn reason(self) -> &'static str {
        match self {
            Exception::Windows => {
                "h2serve opens 256 KiB stream and 1 MiB connection windows by default \
                 (nghttpd: 65535, as h2serve -w 16 -W 16)"
            }
            Exception::ServerSettings => {
                "h2serve also announces MAX_HEADER_LIST_SIZE (the limit it enforces), \
                 ENABLE_PUSH=0 (it never pushes) and NO_RFC7540_PRIORITIES=1 (RFC 9218)"
            }
            Exception::ErrorPage => {
                "the 404 page names its server (nghttpd adds ` at port N`), so its length differs"
            }
            Exception::PriorityFrames => {
                "nghttp 1.52 sends RFC 7540 PRIORITY frames and starts requests at stream 13; \
                 nghttp2 1.61 and later send no RFC 7540 priorities"
            }
            Exception::PriorityNotReported => {
                "nghttpd 1.52 prints the RFC 7540 PRIORITY frames it receives; nghttp2 1.61 and \
                 later ignore them without reporting them"
            }
            Exception::AckRace => {
                "a client's SETTINGS ACK is dropped when its session ends first, which depends \
                 on how the server's frames were read"
            }
            Exception::SettingsAfterPreface => {
                "the interleaving of directions and streams follows the peers' reads and \
                 schedulers; events are compared in order per direction and stream"
            }
        }
    }

    /// The exception named `name` (`ACK_RACE`).
    pub fn from_name(name: &str) -> Option<Exception> {
        Exception::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one exception changed: the events it dropped or rewrote on each
/// side, as they were before (clock stripped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Which exception.
    pub exception: Exception,
    /// The events it changed in the first trace ("theirs").
    pub theirs: Vec<Block>,
    /// The events it changed in the second trace ("ours").
    pub ours: Vec<Block>,
}

impl Applied {
    /// Whether it hid a difference: the events it changed differ between
    /// the two sides (after [`normalise`], DATA and WINDOW_UPDATE by
    /// [`shape`]). An exception that changed the same events on both sides
    /// hid nothing.
    pub fn hid_a_difference(&self) -> bool {
        let key = |bs: &[Block]| {
            let mut v: Vec<Block> = bs.iter().map(|b| comparable(b)).collect();
            v.sort();
            v
        };
        key(&self.theirs) != key(&self.ours)
    }
}

/// What an unnamed difference is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DifferenceKind {
    /// The events other than DATA and WINDOW_UPDATE, in order.
    Events,
    /// The shapes of the DATA and WINDOW_UPDATE frames, as a set.
    Shapes,
    /// The number of DATA bytes.
    DataBytes,
}

/// A difference no exception names, for one direction and stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// What differs.
    pub kind: DifferenceKind,
    /// Received (`true`) or sent events.
    pub received: bool,
    /// The stream (0 for the connection, -1 for events of none).
    pub stream: i32,
    /// The first trace's lines for it.
    pub theirs: Vec<String>,
    /// The second trace's lines for it.
    pub ours: Vec<String>,
}

impl Difference {
    /// `received on stream 1`, `sent on stream 0`, `events of no stream`.
    pub fn place(&self) -> String {
        let what = match self.kind {
            DifferenceKind::Events => "",
            DifferenceKind::Shapes => "DATA/WINDOW_UPDATE shapes ",
            DifferenceKind::DataBytes => "DATA bytes ",
        };
        if self.stream < 0 {
            return format!("{what}events of no stream");
        }
        let dir = if self.received { "received" } else { "sent" };
        format!("{what}{dir} on stream {}", self.stream)
    }

    /// The difference in unified form: a `---`/`+++` header naming both
    /// sides, then every line of the group, prefixed by `-` (only in the
    /// first trace), `+` (only in the second) or ` ` (in both).
    pub fn unified(&self, theirs_name: &str, ours_name: &str) -> String {
        let place = self.place();
        let mut out = format!("--- {theirs_name}: {place}\n+++ {ours_name}: {place}\n");
        let a: Vec<&str> = self.theirs.iter().map(String::as_str).collect();
        let b: Vec<&str> = self.ours.iter().map(String::as_str).collect();
        let diff = similar::TextDiff::from_slices(&a, &b);
        for change in diff.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            out.push(sign);
            out.push_str(change.value());
            out.push('\n');
        }
        out
    }
}

/// The outcome of a comparison: the exceptions applied, and what differs
/// besides.
#[derive(Clone, Debug)]
pub struct Report {
    /// Whose traces (taken from the first).
    pub role: Role,
    /// Every exception asked for that changed an event, in the order
    /// applied.
    pub applied: Vec<Applied>,
    /// The differences no exception names.
    pub differences: Vec<Difference>,
    /// The traces as compared, after the exceptions (first, second).
    pub compared: (Vec<Block>, Vec<Block>),
}

impl Report {
    /// Whether only named differences remain.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// The exceptions that hid a difference ([`Applied::hid_a_difference`]).
    pub fn named(&self) -> impl Iterator<Item = &Applied> {
        self.applied.iter().filter(|a| a.hid_a_difference())
    }

    /// What `exception` changed, if it changed anything.
    pub fn get(&self, exception: Exception) -> Option<&Applied> {
        self.applied.iter().find(|a| a.exception == exception)
    }

    /// The report as `h2fetch --diff-nghttp` prints it, naming the first
    /// trace `theirs_name` (`-` lines) and the second `ours_name` (`+`).
    pub fn render(&self, theirs_name: &str, ours_name: &str) -> String {
        let mut out = String::new();
        for a in self.named() {
            out.push_str(&format!(
                "named {}: {}\n",
                a.exception.name(),
                a.exception.reason()
            ));
            for (sign, side) in [('-', &a.theirs), ('+', &a.ours)] {
                for b in side.iter().take(NAMED_SHOWN) {
                    out.push_str(&format!("  {sign}{}\n", b[0]));
                }
                if side.len() > NAMED_SHOWN {
                    out.push_str(&format!(
                        "  {sign}... and {} more\n",
                        side.len() - NAMED_SHOWN
                    ));
                }
            }
        }
        for d in &self.differences {
            out.push_str(&d.unified(theirs_name, ours_name));
        }
        let named = self.named().count();
        out.push_str(&format!(
            "{} unnamed difference{}, {named} named (events compared in order per direction \
             and stream, not interleaved: {})\n",
            self.differences.len(),
            if self.differences.len() == 1 { "" } else { "s" },
            Exception::SettingsAfterPreface.name(),
        ));
        out
    }
}

/// How many events of each side a named difference lists.
const NAMED_SHOWN: usize = 8;

/// What an event is compared as: normalised, DATA and WINDOW_UPDATE by
/// shape.
fn comparable(block: &[String]) -> Block {
    if is_timed(block) {
        shape(&normalise(block))
    } else {
        normalise(block)
    }
}

/// DATA and WINDOW_UPDATE: their sizes follow the timing of reads.
fn is_timed(block: &[String]) -> bool {
    matches!(frame_type_of(block), Some("DATA") | Some("WINDOW_UPDATE"))
}

/// Compares two traces' texts, applying `exceptions` (in
/// [`Exception::ALL`]'s order); see [`diff_blocks`].
pub fn diff(theirs: &str, ours: &str, exceptions: &[Exception]) -> Report {
    diff_blocks(blocks(theirs), blocks(ours), exceptions)
}

/// Compares two traces' events: applies `exceptions` to both sides (each
/// one only changes the events it names, and keeps them in the report),
/// then [`compare`]s what is left.
pub fn diff_blocks(theirs: Vec<Block>, ours: Vec<Block>, exceptions: &[Exception]) -> Report {
    let role = Role::of(&theirs);
    let (mut theirs, mut ours) = (theirs, ours);
    let mut applied = Vec::new();
    for exception in Exception::ALL {
        if !exceptions.contains(&exception) {
            continue;
        }
        let (t, t_changed) = apply(exception, theirs, role);
        let (o, o_changed) = apply(exception, ours, role);
        theirs = t;
        ours = o;
        if !t_changed.is_empty() || !o_changed.is_empty() {
            applied.push(Applied {
                exception,
                theirs: t_changed,
                ours: o_changed,
            });
        }
    }
    let differences = compare(&theirs, &ours);
    Report {
        role,
        applied,
        differences,
        compared: (theirs, ours),
    }
}

/// Applies one exception to one trace: the trace after it, and the events
/// it dropped or changed (as they were).
pub fn apply(exception: Exception, blocks: Vec<Block>, role: Role) -> (Vec<Block>, Vec<Block>) {
    let mut changed = Vec::new();
    let out = match exception {
        Exception::PriorityNotReported => {
            let drop = |b: &Block| role == Role::Server && is_recv(b) && is_priority(b);
            blocks
                .into_iter()
                .filter(|b| {
                    let dropped = drop(b);
                    if dropped {
                        changed.push(b.clone());
                    }
                    !dropped
                })
                .collect()
        }
        Exception::PriorityFrames => {
            // nghttp 1.52's layout: request HEADERS depend on stream 11.
            let layout = blocks
                .iter()
                .any(|b| b.iter().any(|l| l.contains("dep_stream_id=11,")));
            if !layout {
                return (blocks, changed);
            }
            let mut out = Vec::new();
            for b in blocks {
                if is_priority(&b) {
                    changed.push(b);
                    continue;
                }
                // Kept as changed: what is more than a new stream number.
                let renumbered: Block = b.iter().map(|l| renumber(l)).collect();
                let new: Block = b.iter().map(|l| without_priority(l)).collect();
                if new != renumbered {
                    changed.push(b);
                }
                out.push(new);
            }
            out
        }
        Exception::AckRace => {
            let client_ack = |b: &Block| is_settings_ack(b) && !role.sent_by_server(b);
            blocks
                .into_iter()
                .filter(|b| {
                    let dropped = client_ack(b);
                    if dropped {
                        changed.push(b.clone());
                    }
                    !dropped
                })
                .collect()
        }
        Exception::ServerSettings => {
            without_entries(blocks, role, &SERVER_SETTINGS_ENTRIES, &mut changed)
        }
        Exception::Windows => {
            let blocks = without_entries(blocks, role, &WINDOW_ENTRIES, &mut changed);
            // The connection WINDOW_UPDATEs a server sends before it has
            // received any DATA: its choice of window, not flow control.
            let mut server_got_data = false;
            let mut out = Vec::new();
            for b in blocks {
                let kind = frame_type_of(&b);
                if kind == Some("DATA") && !role.sent_by_server(&b) {
                    server_got_data = true;
                }
                if kind == Some("WINDOW_UPDATE")
                    && stream_of(&b) == 0
                    && role.sent_by_server(&b)
                    && !server_got_data
                {
                    changed.push(b);
                    continue;
                }
                out.push(b);
            }
            out
        }
        Exception::ErrorPage => {
            let not_found: BTreeSet<i32> = blocks
                .iter()
                .filter(|b| b.iter().any(|l| l.ends_with(" :status: 404")))
                .map(|b| stream_of(b))
                .collect();
            blocks
                .into_iter()
                .map(|b| {
                    if !not_found.contains(&stream_of(&b)) {
                        return b;
                    }
                    let new: Block = b.iter().map(|l| without_page_length(l)).collect();
                    if new != b {
                        changed.push(b);
                    }
                    new
                })
                .collect()
        }
        Exception::SettingsAfterPreface => blocks,
    };
    (out, changed)
}

fn is_priority(block: &[String]) -> bool {
    frame_type_of(block) == Some("PRIORITY")
}

/// One line of nghttp 1.52's request HEADERS as nghttp2 1.61's.
fn without_priority(line: &str) -> String {
    renumber(line)
        .replace("flags=0x25", "flags=0x05")
        .replace("flags=0x24", "flags=0x04")
        .replace(
            "; END_STREAM | END_HEADERS | PRIORITY",
            "; END_STREAM | END_HEADERS",
        )
        .replace("; END_HEADERS | PRIORITY", "; END_HEADERS")
        .replace(", dep_stream_id=11, weight=16, exclusive=0)", ")")
}

/// A 404's `content-length` value and DATA lengths as `<404 page>`.
fn without_page_length(line: &str) -> String {
    if let Some(at) = line.find(" content-length: ") {
        return format!("{}<404 page>", &line[..at + " content-length: ".len()]);
    }
    if line.contains(" DATA frame <length=") {
        if let Some(n) = number_after(line, "<length=") {
            return line.replace(&format!("<length={n},"), "<length=<404 page>,");
        }
    }
    line.to_string()
}

/// [`Exception::ServerSettings`]' entries.
const SERVER_SETTINGS_ENTRIES: [&str; 3] = [
    "[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):65536]",
    "[SETTINGS_ENABLE_PUSH(0x02):0]",
    "[SETTINGS_NO_RFC7540_PRIORITIES(0x09):1]",
];

/// [`Exception::Windows`]' entry (any value).
const WINDOW_ENTRIES: [&str; 1] = ["[SETTINGS_INITIAL_WINDOW_SIZE(0x04):"];

/// The server's SETTINGS frames without the entries starting with one of
/// `entries`, their length and `niv` reduced to match.
fn without_entries(
    blocks: Vec<Block>,
    role: Role,
    entries: &[&str],
    changed: &mut Vec<Block>,
) -> Vec<Block> {
    blocks
        .into_iter()
        .map(|b| {
            let settings = frame_type_of(&b) == Some("SETTINGS")
                && !is_settings_ack(&b)
                && role.sent_by_server(&b);
            if !settings {
                return b;
            }
            let is_entry = |l: &String| {
                l.strip_prefix(INDENT)
                    .is_some_and(|l| entries.iter().any(|e| l.starts_with(e)))
            };
            let removed = b.iter().filter(|l| is_entry(l)).count();
            if removed == 0 {
                return b;
            }
            changed.push(b.clone());
            let mut kept: Block = b.iter().filter(|l| !is_entry(l)).cloned().collect();
            if let Some(len) = number_after(&kept[0], "<length=") {
                kept[0] = kept[0].replace(
                    &format!("<length={len},"),
                    &format!("<length={},", len.saturating_sub(6 * removed as u64)),
                );
            }
            for l in kept.iter_mut().skip(1) {
                if let Some(niv) = number_after(l, "(niv=") {
                    *l = format!("{INDENT}(niv={})", niv.saturating_sub(removed as u64));
                }
            }
            kept
        })
        .collect()
}

/// Frames grouped by (received?, stream): the order within a group is
/// compared, the interleaving of groups is not.
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

/// The comparison, with no exception: every event but DATA and
/// WINDOW_UPDATE line by line after [`normalise`], in order per direction
/// and stream; DATA and WINDOW_UPDATE by [`shape`], as sets per direction
/// and stream; and the DATA bytes per direction and stream, exactly. The
/// differences, each for one direction and stream.
pub fn compare(theirs: &[Block], ours: &[Block]) -> Vec<Difference> {
    let mut out = Vec::new();
    let exact = |bs: &[Block]| {
        let rest: Vec<Block> = bs.iter().filter(|b| !is_timed(b)).cloned().collect();
        group(&rest, normalise)
    };
    let (t, o) = (exact(theirs), exact(ours));
    let flat = |g: Option<&Vec<Block>>| -> Vec<String> {
        g.map(|bs| bs.iter().flatten().cloned().collect())
            .unwrap_or_default()
    };
    for key in t.keys().chain(o.keys()).collect::<BTreeSet<_>>() {
        if t.get(key) != o.get(key) {
            out.push(Difference {
                kind: DifferenceKind::Events,
                received: key.0,
                stream: key.1,
                theirs: flat(t.get(key)),
                ours: flat(o.get(key)),
            });
        }
    }
    let shapes = |bs: &[Block]| {
        let mut sets: BTreeMap<(bool, i32), BTreeSet<Block>> = BTreeMap::new();
        for b in bs.iter().filter(|b| is_timed(b)) {
            sets.entry((is_recv(b), stream_of(b)))
                .or_default()
                .insert(shape(&normalise(b)));
        }
        sets
    };
    let (t, o) = (shapes(theirs), shapes(ours));
    for key in t.keys().chain(o.keys()).collect::<BTreeSet<_>>() {
        let (a, b) = (t.get(key), o.get(key));
        if a != b {
            let lines = |s: Option<&BTreeSet<Block>>| -> Vec<String> {
                s.map(|s| s.iter().flatten().cloned().collect())
                    .unwrap_or_default()
            };
            out.push(Difference {
                kind: DifferenceKind::Shapes,
                received: key.0,
                stream: key.1,
                theirs: lines(a),
                ours: lines(b),
            });
        }
    }
    let (t, o) = (data_bytes(theirs), data_bytes(ours));
    for key in t.keys().chain(o.keys()).collect::<BTreeSet<_>>() {
        let (a, b) = (t.get(key).copied(), o.get(key).copied());
        if a != b {
            let line = |n: Option<u64>| vec![format!("{} bytes", n.unwrap_or(0))];
            out.push(Difference {
                kind: DifferenceKind::DataBytes,
                received: key.0,
                stream: key.1,
                theirs: line(a),
                ours: line(b),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_read_lines() {
        let b =
            vec!["[id=1] [t] recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>".into()];
        assert_eq!(frame_type_of(&b), Some("WINDOW_UPDATE"));
        assert_eq!(stream_of(&b), 0);
        assert_eq!(length_of(&b), Some(4));
        assert!(is_recv(&b));
        assert_eq!(Role::of(&[b]), Role::Server);
        assert_eq!(
            strip_clock("[id=12] [  1.011] closed"),
            "[id=12] [t] closed"
        );
        assert_eq!(
            renumber("[t] recv (stream_id=15) x, dep_stream_id=13 last_stream_id=17 stream_id=11"),
            "[t] recv (stream_id=3) x, dep_stream_id=13 last_stream_id=17 stream_id=11"
        );
        for e in Exception::ALL {
            assert_eq!(Exception::from_name(e.name()), Some(e));
        }
    }

    const NGHTTPD: &str = "\
IPv4: listen 0.0.0.0:3000
[id=1] [  0.001] send SETTINGS frame <length=6, flags=0x00, stream_id=0>
          (niv=1)
          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
[id=1] [  0.002] recv SETTINGS frame <length=0, flags=0x01, stream_id=0>
          ; ACK
          (niv=0)
";

    const H2SERVE: &str = "\
[id=1] [  0.003] send SETTINGS frame <length=24, flags=0x00, stream_id=0>
          (niv=4)
          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
          [SETTINGS_INITIAL_WINDOW_SIZE(0x04):262144]
          [SETTINGS_MAX_HEADER_LIST_SIZE(0x06):65536]
          [SETTINGS_ENABLE_PUSH(0x02):0]
[id=1] [  0.003] send WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>
          (window_size_increment=983041)
";

    #[test]
    fn server_exceptions_are_named_and_only_theirs_lines_change() {
        let report = diff(NGHTTPD, H2SERVE, &Exception::ALL);
        assert!(report.is_clean(), "{}", report.render("a", "b"));
        let named: Vec<Exception> = report.named().map(|a| a.exception).collect();
        assert_eq!(
            named,
            [
                Exception::AckRace,
                Exception::ServerSettings,
                Exception::Windows
            ]
        );
        assert_eq!(report.compared.0, report.compared.1);

        let report = diff(NGHTTPD, H2SERVE, &[Exception::AckRace]);
        assert!(!report.is_clean());
        let text = report.render("nghttpd", "h2serve");
        assert!(
            text.contains("+          [SETTINGS_ENABLE_PUSH(0x02):0]"),
            "{text}"
        );
        assert!(text.contains("+++ h2serve: sent on stream 0"), "{text}");
    }

    const NOT_FOUND: &str = "\
[  0.001] recv (stream_id=1) :status: 404
[  0.001] recv (stream_id=1) content-length: 147
[  0.001] recv HEADERS frame <length=29, flags=0x04, stream_id=1>
          ; END_HEADERS
[  0.002] recv DATA frame <length=147, flags=0x01, stream_id=1>
          ; END_STREAM
";

    #[test]
    fn data_lengths_are_compared_by_shape_and_total() {
        let shorter = NOT_FOUND
            .replace("content-length: 147", "content-length: 134")
            .replace("<length=147,", "<length=134,");
        // Without ERROR_PAGE: the field line and the DATA bytes differ, the
        // DATA frame's shape does not.
        let report = diff(NOT_FOUND, &shorter, &[]);
        let kinds: Vec<DifferenceKind> = report.differences.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DifferenceKind::Events, DifferenceKind::DataBytes]);
        let text = report.render("a", "b");
        assert!(
            text.contains("--- a: DATA bytes received on stream 1\n+++ b: DATA bytes received on stream 1\n-147 bytes\n+134 bytes\n"),
            "{text}"
        );
        // With it, named.
        let report = diff(NOT_FOUND, &shorter, &[Exception::ErrorPage]);
        assert!(report.is_clean(), "{}", report.render("a", "b"));
        assert_eq!(report.named().count(), 1);
        // A DATA frame without END_STREAM is another shape.
        let open = NOT_FOUND.replace("          ; END_STREAM\n", "");
        let report = diff(NOT_FOUND, &open, &Exception::ALL);
        let kinds: Vec<DifferenceKind> = report.differences.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DifferenceKind::Shapes]);
    }

    #[test]
    fn nghttp_1_52_streams_are_read_as_nghttp2_1_61s() {
        let old = "\
[  0.001] send PRIORITY frame <length=5, flags=0x00, stream_id=11>
          (dep_stream_id=0, weight=16, exclusive=0)
[  0.001] send HEADERS frame <length=38, flags=0x25, stream_id=13>
          ; END_STREAM | END_HEADERS | PRIORITY
          (padlen=0, dep_stream_id=11, weight=16, exclusive=0)
          ; Open new stream
[  0.002] recv (stream_id=13) :status: 200
";
        let new = "\
[  0.001] send HEADERS frame <length=38, flags=0x05, stream_id=1>
          ; END_STREAM | END_HEADERS
          (padlen=0)
          ; Open new stream
[  0.002] recv (stream_id=1) :status: 200
";
        assert!(!diff(old, new, &[]).is_clean());
        let report = diff(old, new, &[Exception::PriorityFrames]);
        assert!(report.is_clean(), "{}", report.render("old", "new"));
        let applied = report.get(Exception::PriorityFrames).unwrap();
        // The PRIORITY frame and the HEADERS; not the renumbered field line.
        assert_eq!(applied.theirs.len(), 2);
        assert!(applied.ours.is_empty());
    }
}
