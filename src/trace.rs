//! Frame traces in the format of nghttp2's own tools, `nghttp -v` and
//! `nghttpd -v` (nghttp2's `src/app_helper.cc`), so a trace of this crate's
//! sessions can be diffed line by line against nghttp2's.
//!
//! ```text
//! [  0.003] send SETTINGS frame <length=12, flags=0x00, stream_id=0>
//!           (niv=2)
//!           [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]
//!           [SETTINGS_INITIAL_WINDOW_SIZE(0x04):65535]
//! [  0.004] recv (stream_id=13) :method: GET
//! [  0.004] recv HEADERS frame <length=38, flags=0x05, stream_id=13>
//!           ; END_STREAM | END_HEADERS
//!           (padlen=0)
//!           ; Open new stream
//! ```
//!
//! Three layers, from pure to plumbed:
//!
//! - [`TextFormat`] and [`json_frame`]: pure functions that render one event
//!   into a byte buffer, given the time elapsed since the trace started.
//! - [`Tracer`]: keeps the start [`Instant`], writes the text trace (and,
//!   optionally, one JSON object per frame) to buffered writers.
//! - [`Traced`]: a [`Handler`] that traces every event and forwards it to the
//!   handler it wraps, so `Session::server(Traced::new(app, tracer), &opts)`
//!   prints the trace.
//!
//! Like nghttp2's tools, received header fields are printed as they arrive,
//! before the HEADERS frame that carried them, and sent header fields after
//! the sent HEADERS frame. With a [connection id](Tracer::connection_id)
//! the trace is nghttpd's: every line of a frame event starts with
//! `[id=N] `, and stream closes and the connection's end get their own
//! lines; invalid-frame and `[ERROR]` lines carry no prefix, as in nghttpd.

use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{LibError, Reason};
use crate::session::StreamId;
use crate::session::{
    CallbackResult, Flags, Frame, FrameHeader, FrameType, Handler, Header, HeaderRef,
    HeadersCategory, Priority, SessionRef, Setting,
};

/// Whether a frame was sent or received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Written by this side.
    Send,
    /// Received from the peer.
    Recv,
}

impl Direction {
    /// `send` or `recv`, as the trace prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Send => "send",
            Direction::Recv => "recv",
        }
    }
}

/// An owned snapshot of everything a trace prints about a frame.
///
/// Made from a [`Frame`] inside a callback (`FrameRecord::from(&frame)`), or
/// built by hand (`FrameRecord::new` and the public fields) to render frames
/// that no session produced. Type-specific fields are `None` or empty for
/// the other types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    /// The frame header: type, flags, stream id, payload length.
    pub header: FrameHeader,
    /// DATA, HEADERS, PUSH_PROMISE: padding length (with the pad length
    /// byte).
    pub padlen: usize,
    /// HEADERS: what the block is.
    pub category: Option<HeadersCategory>,
    /// HEADERS with PRIORITY, and PRIORITY: the RFC 7540 priority.
    pub priority: Option<Priority>,
    /// RST_STREAM, GOAWAY: the error code.
    pub error_code: Option<Reason>,
    /// GOAWAY: the last stream id.
    pub last_stream_id: Option<StreamId>,
    /// GOAWAY: the opaque debug data.
    pub debug_data: Vec<u8>,
    /// WINDOW_UPDATE: the increment.
    pub window_size_increment: Option<i32>,
    /// PUSH_PROMISE: the promised stream id.
    pub promised_stream_id: Option<StreamId>,
    /// PING: the opaque data.
    pub ping_data: Option<[u8; 8]>,
    /// SETTINGS: the entries.
    pub settings: Vec<Setting>,
    /// ALTSVC: the origin and the field value.
    pub altsvc: Option<(Vec<u8>, Vec<u8>)>,
    /// ORIGIN: the origins.
    pub origins: Vec<Vec<u8>>,
    /// PRIORITY_UPDATE: the prioritized stream and the field value.
    pub priority_update: Option<(StreamId, Vec<u8>)>,
    /// Sent HEADERS and PUSH_PROMISE: the header fields. Received frames
    /// have none here: their fields arrive one by one, before the frame.
    pub headers: Vec<Header>,
}

impl FrameRecord {
    /// A frame with this header and nothing else filled in.
    pub fn new(
        frame_type: FrameType,
        flags: Flags,
        stream_id: StreamId,
        length: usize,
    ) -> FrameRecord {
        FrameRecord {
            header: FrameHeader {
                length,
                frame_type,
                flags,
                stream_id,
            },
            padlen: 0,
            category: None,
            priority: None,
            error_code: None,
            last_stream_id: None,
            debug_data: Vec::new(),
            window_size_increment: None,
            promised_stream_id: None,
            ping_data: None,
            settings: Vec::new(),
            altsvc: None,
            origins: Vec::new(),
            priority_update: None,
            headers: Vec::new(),
        }
    }
}

impl From<&Frame<'_>> for FrameRecord {
    fn from(frame: &Frame<'_>) -> FrameRecord {
        FrameRecord {
            header: frame.header(),
            padlen: frame.padlen(),
            category: frame.headers_category(),
            priority: frame.priority(),
            error_code: frame.error_code(),
            last_stream_id: frame.last_stream_id(),
            debug_data: frame.goaway_debug_data().unwrap_or_default().to_vec(),
            window_size_increment: frame.window_size_increment(),
            promised_stream_id: frame.promised_stream_id(),
            ping_data: frame.ping_data(),
            settings: frame.settings().collect(),
            altsvc: frame.altsvc().map(|(o, v)| (o.to_vec(), v.to_vec())),
            origins: frame.origins().map(<[u8]>::to_vec).collect(),
            priority_update: frame.priority_update().map(|(id, v)| (id, v.to_vec())),
            headers: frame.sent_headers().map(owned_header).collect(),
        }
    }
}

fn owned_header(h: HeaderRef<'_>) -> Header {
    Header {
        name: h.name.to_vec().into(),
        value: h.value.to_vec().into(),
        sensitive: h.sensitive,
    }
}

// ---------------------------------------------------------------------------
// Text format (app_helper.cc)

const INDENT: &[u8] = b"          ";
const ESC_END: &str = "\x1b[0m";
const ESC_TIMER: &str = "\x1b[33m";
const ESC_SEND: &str = "\x1b[1;35m";
const ESC_RECV: &str = "\x1b[1;36m";
const ESC_NAME: &str = "\x1b[1;34m";

/// `[  0.003]`: seconds and milliseconds, as nghttp2's `print_timer`
/// (`[%3ld.%03ld]`).
pub fn timestamp(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    format!("[{:>3}.{:03}]", millis / 1000, millis % 1000)
}

/// The frame type's name as nghttp2 1.52's tools print it: `DATA`,
/// `WINDOW_UPDATE`, ..., `UNKNOWN` for types they have no name for
/// (CONTINUATION included; nghttp2 never reports one on its own).
pub fn frame_type_name(frame_type: FrameType) -> &'static str {
    match frame_type {
        FrameType::CONTINUATION => "UNKNOWN",
        t => t.name().unwrap_or("UNKNOWN"),
    }
}

/// An error code's name as `nghttp2_http2_strerror` gives it (`unknown`
/// when it has none).
pub fn error_code_name(reason: Reason) -> &'static str {
    reason.name().unwrap_or("unknown")
}

/// The flag names nghttp2's tools print for a frame, in their order.
pub fn flag_names(frame_type: FrameType, flags: Flags) -> Vec<&'static str> {
    let candidates: &[(Flags, &str)] = match frame_type {
        FrameType::DATA => &[(Flags::END_STREAM, "END_STREAM"), (Flags::PADDED, "PADDED")],
        FrameType::HEADERS => &[
            (Flags::END_STREAM, "END_STREAM"),
            (Flags::END_HEADERS, "END_HEADERS"),
            (Flags::PADDED, "PADDED"),
            (Flags::PRIORITY, "PRIORITY"),
        ],
        FrameType::SETTINGS | FrameType::PING => &[(Flags::ACK, "ACK")],
        FrameType::PUSH_PROMISE => &[
            (Flags::END_HEADERS, "END_HEADERS"),
            (Flags::PADDED, "PADDED"),
        ],
        _ => &[],
    };
    candidates
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect()
}

/// `%s` and `%.*s` stop at a NUL byte.
fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(n) => &bytes[..n],
        None => bytes,
    }
}

/// nghttp2's `util::ascii_dump`: printable ASCII kept, the rest as `.`.
fn ascii_dump(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&c| if (0x20..0x7f).contains(&c) { c } else { b'.' })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders trace lines exactly as nghttp2's `app_helper.cc` (and nghttpd's
/// `HttpServer.cc` around it) prints them. Pure: every method appends to a
/// byte buffer and takes the elapsed time as an argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextFormat {
    /// ANSI colours, as the tools use on a terminal.
    pub color: bool,
    /// nghttpd's connection id: frame, header and close lines start with
    /// `[id=N] `.
    pub connection_id: Option<u64>,
}

impl TextFormat {
    fn esc(&self, code: &'static str) -> &'static str {
        if self.color {
            code
        } else {
            ""
        }
    }

    fn prefix(&self, out: &mut Vec<u8>) {
        if let Some(id) = self.connection_id {
            let _ = write!(out, "[id={id}] ");
        }
    }

    fn timer(&self, out: &mut Vec<u8>, elapsed: Duration) {
        let _ = write!(
            out,
            "{}{}{}",
            self.esc(ESC_TIMER),
            timestamp(elapsed),
            self.esc(ESC_END)
        );
    }

    fn nv(&self, out: &mut Vec<u8>, header: HeaderRef<'_>) {
        out.extend_from_slice(self.esc(ESC_NAME).as_bytes());
        out.extend_from_slice(c_str(header.name));
        out.extend_from_slice(self.esc(ESC_END).as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(c_str(header.value));
        out.push(b'\n');
    }

    /// A frame sent or received (`on_frame_send`, `on_frame_recv`): the
    /// frame line, its attribute lines and, for a sent HEADERS or
    /// PUSH_PROMISE, its header fields.
    pub fn frame(&self, out: &mut Vec<u8>, elapsed: Duration, dir: Direction, frame: &FrameRecord) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = write!(out, " {} ", dir.as_str());
        self.frame_body(out, dir, frame);
    }

    /// A frame nghttp2 rejected (`on_invalid_frame_recv`): `[INVALID;
    /// error=...] recv` and the frame. No connection prefix, as nghttpd.
    pub fn invalid_frame(
        &self,
        out: &mut Vec<u8>,
        elapsed: Duration,
        frame: &FrameRecord,
        error: LibError,
    ) {
        self.timer(out, elapsed);
        let _ = write!(out, " [INVALID; error={}] recv ", error.message());
        self.frame_body(out, Direction::Recv, frame);
    }

    /// One received header field (`on_header`), printed before the frame
    /// that carries it: `recv (stream_id=S) name: value`.
    pub fn recv_header(
        &self,
        out: &mut Vec<u8>,
        elapsed: Duration,
        stream_id: StreamId,
        header: HeaderRef<'_>,
    ) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = write!(out, " recv (stream_id={stream_id}");
        if header.sensitive {
            out.extend_from_slice(b", sensitive");
        }
        out.extend_from_slice(b") ");
        self.nv(out, header);
    }

    /// nghttpd's `stream_id=S closed` line.
    pub fn stream_closed(&self, out: &mut Vec<u8>, elapsed: Duration, stream_id: StreamId) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = writeln!(out, " stream_id={stream_id} closed");
    }

    /// nghttpd's `closed` line, when a connection ends.
    pub fn connection_closed(&self, out: &mut Vec<u8>, elapsed: Duration) {
        self.prefix(out);
        self.timer(out, elapsed);
        out.extend_from_slice(b" closed\n");
    }

    /// nghttp2's explanation of an error (`error_callback2`):
    /// `[ERROR] message`. No connection prefix, as nghttpd.
    pub fn error(&self, out: &mut Vec<u8>, elapsed: Duration, message: &str) {
        self.timer(out, elapsed);
        let _ = writeln!(out, " [ERROR] {message}");
    }

    /// A free-form line after the timestamp, such as nghttp's `Connected`.
    pub fn message(&self, out: &mut Vec<u8>, elapsed: Duration, text: &str) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = writeln!(out, " {text}");
    }

    /// `print_frame`: everything after `send `/`recv `.
    fn frame_body(&self, out: &mut Vec<u8>, dir: Direction, f: &FrameRecord) {
        let hd = &f.header;
        let color = match dir {
            Direction::Send => ESC_SEND,
            Direction::Recv => ESC_RECV,
        };
        let _ = writeln!(
            out,
            "{}{}{} frame <length={}, flags=0x{:02x}, stream_id={}>",
            self.esc(color),
            frame_type_name(hd.frame_type),
            self.esc(ESC_END),
            hd.length,
            hd.flags.bits(),
            hd.stream_id
        );
        if hd.flags.bits() != 0 {
            out.extend_from_slice(INDENT);
            let _ = writeln!(out, "; {}", flag_names(hd.frame_type, hd.flags).join(" | "));
        }
        let attr = |out: &mut Vec<u8>, line: fmt::Arguments<'_>| {
            out.extend_from_slice(INDENT);
            let _ = out.write_fmt(line);
            out.push(b'\n');
        };
        let pri = f.priority.unwrap_or(Priority {
            stream_id: StreamId::CONNECTION,
            weight: 0,
            exclusive: false,
        });
        match hd.frame_type {
            FrameType::DATA if f.padlen > 0 => {
                attr(out, format_args!("(padlen={})", f.padlen));
            }
            FrameType::HEADERS => {
                out.extend_from_slice(INDENT);
                let _ = write!(out, "(padlen={}", f.padlen);
                if hd.flags.contains(Flags::PRIORITY) {
                    let _ = write!(
                        out,
                        ", dep_stream_id={}, weight={}, exclusive={}",
                        pri.stream_id, pri.weight, pri.exclusive as u8
                    );
                }
                out.extend_from_slice(b")\n");
                match f.category {
                    Some(HeadersCategory::Request) => attr(out, format_args!("; Open new stream")),
                    Some(HeadersCategory::Response) => {
                        attr(out, format_args!("; First response header"))
                    }
                    Some(HeadersCategory::PushResponse) => {
                        attr(out, format_args!("; First push response header"))
                    }
                    Some(HeadersCategory::Headers) | None => {}
                }
                self.nva(out, &f.headers);
            }
            FrameType::PRIORITY => attr(
                out,
                format_args!(
                    "(dep_stream_id={}, weight={}, exclusive={})",
                    pri.stream_id, pri.weight, pri.exclusive as u8
                ),
            ),
            FrameType::RST_STREAM => {
                let code = f.error_code.unwrap_or(Reason::NO_ERROR);
                attr(
                    out,
                    format_args!("(error_code={}(0x{:02x}))", error_code_name(code), code.0),
                );
            }
            FrameType::SETTINGS => {
                attr(out, format_args!("(niv={})", f.settings.len()));
                for s in &f.settings {
                    attr(
                        out,
                        format_args!(
                            "[{}(0x{:02x}):{}]",
                            s.id.name().unwrap_or("UNKNOWN"),
                            s.id.0,
                            s.value
                        ),
                    );
                }
            }
            FrameType::PUSH_PROMISE => {
                attr(
                    out,
                    format_args!(
                        "(padlen={}, promised_stream_id={})",
                        f.padlen,
                        f.promised_stream_id.unwrap_or_default()
                    ),
                );
                self.nva(out, &f.headers);
            }
            FrameType::PING => attr(
                out,
                format_args!("(opaque_data={})", hex(&f.ping_data.unwrap_or_default())),
            ),
            FrameType::GOAWAY => {
                let code = f.error_code.unwrap_or(Reason::NO_ERROR);
                out.extend_from_slice(INDENT);
                let _ = write!(
                    out,
                    "(last_stream_id={}, error_code={}(0x{:02x}), opaque_data({})=[",
                    f.last_stream_id.unwrap_or_default(),
                    error_code_name(code),
                    code.0,
                    f.debug_data.len()
                );
                out.extend_from_slice(&ascii_dump(&f.debug_data));
                out.extend_from_slice(b"])\n");
            }
            FrameType::WINDOW_UPDATE => attr(
                out,
                format_args!(
                    "(window_size_increment={})",
                    f.window_size_increment.unwrap_or_default()
                ),
            ),
            FrameType::ALTSVC => {
                let (origin, value) = f
                    .altsvc
                    .as_ref()
                    .map_or((&[][..], &[][..]), |(o, v)| (o, v));
                out.extend_from_slice(INDENT);
                out.extend_from_slice(b"(origin=[");
                out.extend_from_slice(c_str(origin));
                out.extend_from_slice(b"], altsvc_field_value=[");
                out.extend_from_slice(c_str(value));
                out.extend_from_slice(b"])\n");
            }
            FrameType::ORIGIN => {
                for origin in &f.origins {
                    out.extend_from_slice(INDENT);
                    out.push(b'[');
                    out.extend_from_slice(c_str(origin));
                    out.extend_from_slice(b"]\n");
                }
            }
            FrameType::PRIORITY_UPDATE => {
                let (id, value) = f
                    .priority_update
                    .as_ref()
                    .map_or((StreamId::CONNECTION, &[][..]), |(id, v)| (*id, v));
                out.extend_from_slice(INDENT);
                let _ = write!(out, "(prioritized_stream_id={id}, priority_field_value=[");
                out.extend_from_slice(c_str(value));
                out.extend_from_slice(b"])\n");
            }
            _ => {}
        }
    }

    fn nva(&self, out: &mut Vec<u8>, headers: &[Header]) {
        for h in headers {
            out.extend_from_slice(INDENT);
            self.nv(out, h.as_ref());
        }
    }
}

// ---------------------------------------------------------------------------
// JSON lines

/// Appends `bytes` (UTF-8, invalid sequences replaced by U+FFFD) as a JSON
/// string literal, quotes included.
pub fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// A JSON object under construction, written straight into a buffer.
struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonObject<'a> {
    fn new(out: &'a mut Vec<u8>) -> JsonObject<'a> {
        out.push(b'{');
        JsonObject { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        json_string(self.out, key.as_bytes());
        self.out.push(b':');
        self.out
    }

    fn num(&mut self, key: &str, value: impl fmt::Display) {
        let _ = write!(self.key(key), "{value}");
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.num(key, value);
    }

    fn str(&mut self, key: &str, value: &[u8]) {
        let out = self.key(key);
        json_string(out, value);
    }

    fn raw(&mut self, key: &str, f: impl FnOnce(&mut Vec<u8>)) {
        f(self.key(key));
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

fn json_list<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

fn json_priority(out: &mut Vec<u8>, p: Priority) {
    let mut o = JsonObject::new(out);
    o.num("dep_stream_id", p.stream_id);
    o.num("weight", p.weight);
    o.bool("exclusive", p.exclusive);
    o.end();
}

/// One frame as a JSON object on one line (newline included), for programs
/// that compare traces.
///
/// Keys: `time` (seconds since the trace started), `connection_id` (when
/// given), `direction` (`send`/`recv`), `type` (the name, or `0xHH` for a
/// type without one), `flags` (the byte), `flag_names`, `stream_id`,
/// `length`; then what the frame type carries, named as in the text trace:
/// `padlen`, `category` (`request`, `response`, `push_response`,
/// `headers`), `priority` (`{dep_stream_id, weight, exclusive}`),
/// `error_code` and `error_name`, `last_stream_id`, `opaque_data` (GOAWAY:
/// the debug data as a string; PING: hex), `window_size_increment`,
/// `promised_stream_id`, `settings` (`[{id, name, value}]`), `origin` and
/// `altsvc_field_value`, `origins`, `prioritized_stream_id` and
/// `priority_field_value`; `headers` (`[{name, value}]`, plus
/// `"sensitive": true` for never-indexed fields) for HEADERS and
/// PUSH_PROMISE; and `invalid` (`{code, error}`) for a frame nghttp2
/// rejected. Strings are UTF-8, with invalid bytes replaced by U+FFFD.
pub fn json_frame(
    out: &mut Vec<u8>,
    elapsed: Duration,
    connection_id: Option<u64>,
    dir: Direction,
    frame: &FrameRecord,
    headers: &[Header],
    invalid: Option<LibError>,
) {
    let hd = &frame.header;
    let millis = elapsed.as_millis();
    let mut o = JsonObject::new(out);
    o.raw("time", |out| {
        let _ = write!(out, "{}.{:03}", millis / 1000, millis % 1000);
    });
    if let Some(id) = connection_id {
        o.num("connection_id", id);
    }
    o.str("direction", dir.as_str().as_bytes());
    match hd.frame_type.name() {
        Some(name) => o.str("type", name.as_bytes()),
        None => o.str("type", format!("0x{:02x}", hd.frame_type.0).as_bytes()),
    }
    o.num("flags", hd.flags.bits());
    o.raw("flag_names", |out| {
        json_list(out, flag_names(hd.frame_type, hd.flags), |out, name| {
            json_string(out, name.as_bytes())
        })
    });
    o.num("stream_id", hd.stream_id);
    o.num("length", hd.length);
    let code = |o: &mut JsonObject<'_>| {
        let code = frame.error_code.unwrap_or(Reason::NO_ERROR);
        o.num("error_code", code.0);
        o.str("error_name", error_code_name(code).as_bytes());
    };
    match hd.frame_type {
        FrameType::DATA => o.num("padlen", frame.padlen),
        FrameType::HEADERS => {
            o.num("padlen", frame.padlen);
            if let Some(cat) = frame.category {
                let name = match cat {
                    HeadersCategory::Request => "request",
                    HeadersCategory::Response => "response",
                    HeadersCategory::PushResponse => "push_response",
                    HeadersCategory::Headers => "headers",
                };
                o.str("category", name.as_bytes());
            }
        }
        FrameType::RST_STREAM => code(&mut o),
        FrameType::SETTINGS => o.raw("settings", |out| {
            json_list(out, &frame.settings, |out, s| {
                let mut e = JsonObject::new(out);
                e.num("id", s.id.0);
                e.str("name", s.id.name().unwrap_or("UNKNOWN").as_bytes());
                e.num("value", s.value);
                e.end();
            })
        }),
        FrameType::PUSH_PROMISE => {
            o.num("padlen", frame.padlen);
            o.num(
                "promised_stream_id",
                frame.promised_stream_id.unwrap_or_default(),
            );
        }
        FrameType::PING => o.str(
            "opaque_data",
            hex(&frame.ping_data.unwrap_or_default()).as_bytes(),
        ),
        FrameType::GOAWAY => {
            o.num("last_stream_id", frame.last_stream_id.unwrap_or_default());
            code(&mut o);
            o.str("opaque_data", &frame.debug_data);
        }
        FrameType::WINDOW_UPDATE => o.num(
            "window_size_increment",
            frame.window_size_increment.unwrap_or_default(),
        ),
        FrameType::ALTSVC => {
            let (origin, value) = frame.altsvc.clone().unwrap_or_default();
            o.str("origin", &origin);
            o.str("altsvc_field_value", &value);
        }
        FrameType::ORIGIN => o.raw("origins", |out| {
            json_list(out, &frame.origins, |out, origin| json_string(out, origin))
        }),
        FrameType::PRIORITY_UPDATE => {
            let (id, value) = frame.priority_update.clone().unwrap_or_default();
            o.num("prioritized_stream_id", id);
            o.str("priority_field_value", &value);
        }
        _ => {}
    }
    if let Some(p) = frame.priority {
        o.raw("priority", |out| json_priority(out, p));
    }
    if matches!(hd.frame_type, FrameType::HEADERS | FrameType::PUSH_PROMISE) {
        o.raw("headers", |out| {
            json_list(out, headers, |out, h| {
                let mut e = JsonObject::new(out);
                e.str("name", &h.name);
                e.str("value", &h.value);
                if h.sensitive {
                    e.bool("sensitive", true);
                }
                e.end();
            })
        });
    }
    if let Some(error) = invalid {
        o.raw("invalid", |out| {
            let mut e = JsonObject::new(out);
            e.num("code", error.code());
            e.str("error", error.message().as_bytes());
            e.end();
        });
    }
    o.end();
    out.push(b'\n');
}

// ---------------------------------------------------------------------------
// Sinks

/// A writer several tracers can share, such as one `--trace-json` file for
/// every connection of a server. Each trace event reaches the inner writer
/// in one `write_all` under the lock, so events never interleave.
#[derive(Clone)]
pub struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl SharedWriter {
    /// Shares `writer`.
    pub fn new(writer: impl Write + Send + 'static) -> SharedWriter {
        SharedWriter(Arc::new(Mutex::new(Box::new(writer))))
    }

    fn with<R>(&self, f: impl FnOnce(&mut dyn Write) -> io::Result<R>) -> io::Result<R> {
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut **guard)
    }
}

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with(|w| w.write_all(buf).map(|()| buf.len()))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|w| w.flush())
    }
}

impl fmt::Debug for SharedWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedWriter")
    }
}

type Sink = BufWriter<Box<dyn Write + Send>>;

fn sink(w: impl Write + Send + 'static) -> Sink {
    // Big enough that one event (a HEADERS frame with its fields) is written
    // in one piece.
    BufWriter::with_capacity(64 * 1024, Box::new(w))
}

// ---------------------------------------------------------------------------
// Tracer

/// Writes a session's trace: the text of nghttp2's tools and, optionally,
/// JSON lines.
///
/// Output goes through a [`BufWriter`]; by default it is flushed after every
/// event, as nghttp2's tools `fflush` after every callback, so a trace is
/// never behind the protocol. [`buffered`](Tracer::buffered) leaves
/// flushing to [`flush`](Tracer::flush) and drop. Write errors do not stop
/// the session: the first is kept for [`take_error`](Tracer::take_error).
pub struct Tracer {
    start: Instant,
    format: TextFormat,
    text: Option<Sink>,
    json: Option<Sink>,
    autoflush: bool,
    /// Received fields of the header block under way (for JSON).
    pending: Vec<Header>,
    buf: Vec<u8>,
    error: Option<io::Error>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("start", &self.start)
            .field("format", &self.format)
            .field("text", &self.text.is_some())
            .field("json", &self.json.is_some())
            .field("autoflush", &self.autoflush)
            .finish()
    }
}

impl Default for Tracer {
    fn default() -> Tracer {
        Tracer::new()
    }
}

impl Tracer {
    /// A tracer that writes nothing yet; its clock starts now.
    pub fn new() -> Tracer {
        Tracer {
            start: Instant::now(),
            format: TextFormat::default(),
            text: None,
            json: None,
            autoflush: true,
            pending: Vec::new(),
            buf: Vec::new(),
            error: None,
        }
    }

    /// Text to standard output, coloured when it is a terminal.
    pub fn stdout() -> Tracer {
        let color = io::stdout().is_terminal();
        Tracer::new().text(io::stdout()).color(color)
    }

    /// Writes the text trace to `w`.
    pub fn text(mut self, w: impl Write + Send + 'static) -> Tracer {
        self.text = Some(sink(w));
        self
    }

    /// Writes one JSON object per frame, one per line, to `w` (see
    /// [`json_frame`] for the keys).
    pub fn json(mut self, w: impl Write + Send + 'static) -> Tracer {
        self.json = Some(sink(w));
        self
    }

    /// Colours the text with ANSI escapes, as nghttp2's tools do on a
    /// terminal.
    pub fn color(mut self, on: bool) -> Tracer {
        self.format.color = on;
        self
    }

    /// nghttpd's trace: lines start with `[id=N] `, and stream closes and
    /// the connection's end are printed.
    pub fn connection_id(mut self, id: u64) -> Tracer {
        self.format.connection_id = Some(id);
        self
    }

    /// Counts time from `start` (the process's or the server's start, as
    /// nghttp2's tools do) instead of from the tracer's creation.
    pub fn start(mut self, start: Instant) -> Tracer {
        self.start = start;
        self
    }

    /// Flush only on [`flush`](Tracer::flush) and drop, not after every
    /// event.
    pub fn buffered(mut self, on: bool) -> Tracer {
        self.autoflush = !on;
        self
    }

    /// The text format in use.
    pub fn format(&self) -> TextFormat {
        self.format
    }

    /// Time since the trace's start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn keep_error(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    /// Renders a text event with `f` and writes it.
    fn emit_text(&mut self, f: impl FnOnce(&TextFormat, &mut Vec<u8>, Duration)) {
        let Some(text) = self.text.as_mut() else {
            return;
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        f(&self.format, &mut buf, self.start.elapsed());
        let mut result = text.write_all(&buf);
        if self.autoflush {
            result = result.and_then(|()| text.flush());
        }
        self.buf = buf;
        self.keep_error(result);
    }

    fn emit_json(
        &mut self,
        dir: Direction,
        frame: &FrameRecord,
        headers: &[Header],
        invalid: Option<LibError>,
    ) {
        let Some(json) = self.json.as_mut() else {
            return;
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        json_frame(
            &mut buf,
            self.start.elapsed(),
            self.format.connection_id,
            dir,
            frame,
            headers,
            invalid,
        );
        let mut result = json.write_all(&buf);
        if self.autoflush {
            result = result.and_then(|()| json.flush());
        }
        self.buf = buf;
        self.keep_error(result);
    }

    fn wants_record(&self) -> bool {
        self.text.is_some() || self.json.is_some()
    }

    /// A header block begins (`on_begin_headers`): forgets the fields of
    /// any block that never completed.
    pub fn begin_headers(&mut self) {
        self.pending.clear();
    }

    /// A received header field (`on_header`).
    pub fn recv_header(&mut self, frame: &Frame<'_>, header: HeaderRef<'_>) {
        let stream_id = frame.stream_id();
        self.emit_text(|fmt, out, t| fmt.recv_header(out, t, stream_id, header));
        if self.json.is_some() {
            self.pending.push(owned_header(header));
        }
    }

    /// A received frame (`on_frame_recv`).
    pub fn recv_frame(&mut self, frame: &Frame<'_>) {
        if self.wants_record() {
            self.trace_frame(Direction::Recv, &FrameRecord::from(frame));
        }
    }

    /// A sent frame (`on_frame_send`), followed by its header fields.
    pub fn send_frame(&mut self, frame: &Frame<'_>) {
        if self.wants_record() {
            self.trace_frame(Direction::Send, &FrameRecord::from(frame));
        }
    }

    /// A received frame nghttp2 rejected (`on_invalid_frame_recv`).
    pub fn invalid_frame(&mut self, frame: &Frame<'_>, error: LibError) {
        if self.wants_record() {
            self.trace_invalid(&FrameRecord::from(frame), error);
        }
    }

    /// Traces a frame given as a record. For received HEADERS and
    /// PUSH_PROMISE, the JSON object carries the fields seen by
    /// [`recv_header`](Tracer::recv_header) since the block began.
    pub fn trace_frame(&mut self, dir: Direction, frame: &FrameRecord) {
        self.emit_text(|fmt, out, t| fmt.frame(out, t, dir, frame));
        let pending = self.take_pending(dir, frame);
        let headers = pending.as_deref().unwrap_or(&frame.headers);
        self.emit_json(dir, frame, headers, None);
    }

    /// Traces a rejected frame given as a record.
    pub fn trace_invalid(&mut self, frame: &FrameRecord, error: LibError) {
        self.emit_text(|fmt, out, t| fmt.invalid_frame(out, t, frame, error));
        let pending = self.take_pending(Direction::Recv, frame);
        let headers = pending.as_deref().unwrap_or(&frame.headers);
        self.emit_json(Direction::Recv, frame, headers, Some(error));
    }

    fn take_pending(&mut self, dir: Direction, frame: &FrameRecord) -> Option<Vec<Header>> {
        let block = matches!(
            frame.header.frame_type,
            FrameType::HEADERS | FrameType::PUSH_PROMISE
        );
        (dir == Direction::Recv && block).then(|| std::mem::take(&mut self.pending))
    }

    /// A stream closed (`on_stream_close`): nghttpd's `stream_id=S closed`
    /// line, printed only with a [connection id](Tracer::connection_id), as
    /// nghttp prints none.
    pub fn stream_closed(&mut self, stream_id: StreamId, reason: Reason) {
        let _ = reason;
        if self.format.connection_id.is_some() {
            self.emit_text(|fmt, out, t| fmt.stream_closed(out, t, stream_id));
        }
    }

    /// The connection ended: nghttpd's `closed` line, printed only with a
    /// [connection id](Tracer::connection_id).
    pub fn connection_closed(&mut self) {
        if self.format.connection_id.is_some() {
            self.emit_text(|fmt, out, t| fmt.connection_closed(out, t));
        }
    }

    /// nghttp2 explains an error (`error_callback2`): `[ERROR] message`.
    pub fn error(&mut self, message: &str) {
        self.emit_text(|fmt, out, t| fmt.error(out, t, message));
    }

    /// A free-form line after the timestamp, such as nghttp's `Connected`.
    pub fn message(&mut self, text: &str) {
        self.emit_text(|fmt, out, t| fmt.message(out, t, text));
    }

    /// Writes `text` as a line of its own, without a timestamp, to the
    /// text output (nghttp's `The negotiated protocol: h2`).
    pub fn line(&mut self, text: &str) {
        self.emit_text(|_, out, _| {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        });
    }

    /// Flushes both outputs.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(text) = self.text.as_mut() {
            text.flush()?;
        }
        if let Some(json) = self.json.as_mut() {
            json.flush()?;
        }
        Ok(())
    }

    /// The first write error since the last call, if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

// ---------------------------------------------------------------------------
// Traced handler

/// A [`Handler`] that traces every event with a [`Tracer`], then forwards it
/// to the handler it wraps.
#[derive(Debug)]
pub struct Traced<H> {
    inner: H,
    tracer: Tracer,
}

impl<H> Traced<H> {
    /// Wraps `inner`.
    pub fn new(inner: H, tracer: Tracer) -> Traced<H> {
        Traced { inner, tracer }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The wrapped handler, mutably.
    pub fn inner_mut(&mut self) -> &mut H {
        &mut self.inner
    }

    /// The tracer (to flush it, or to trace the connection's end).
    pub fn tracer_mut(&mut self) -> &mut Tracer {
        &mut self.tracer
    }

    /// The handler and the tracer.
    pub fn into_parts(self) -> (H, Tracer) {
        (self.inner, self.tracer)
    }
}

impl<H: Handler> Handler for Traced<H> {
    fn on_begin_frame(&mut self, cx: &mut SessionRef, header: &FrameHeader) -> CallbackResult {
        self.inner.on_begin_frame(cx, header)
    }

    fn on_begin_headers(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.tracer.begin_headers();
        self.inner.on_begin_headers(cx, frame)
    }

    fn on_header(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        self.tracer.recv_header(frame, header);
        self.inner.on_header(cx, frame, header)
    }

    fn on_invalid_header(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        self.inner.on_invalid_header(cx, frame, header)
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.tracer.recv_frame(frame);
        self.inner.on_frame_recv(cx, frame)
    }

    fn on_invalid_frame_recv(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        self.tracer.invalid_frame(frame, error);
        self.inner.on_invalid_frame_recv(cx, frame, error)
    }

    fn on_data_chunk_recv(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        data: &[u8],
        flags: Flags,
    ) -> CallbackResult {
        self.inner.on_data_chunk_recv(cx, stream_id, data, flags)
    }

    fn on_frame_send(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.tracer.send_frame(frame);
        self.inner.on_frame_send(cx, frame)
    }

    fn on_frame_not_send(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        self.inner.on_frame_not_send(cx, frame, error)
    }

    fn on_stream_close(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        self.tracer.stream_closed(stream_id, reason);
        self.inner.on_stream_close(cx, stream_id, reason)
    }

    fn on_error(&mut self, cx: &mut SessionRef, error: LibError, message: &str) -> CallbackResult {
        self.tracer.error(message);
        self.inner.on_error(cx, error, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SettingId;

    const T: Duration = Duration::from_millis(3);

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn plain() -> TextFormat {
        TextFormat::default()
    }

    fn rec(t: FrameType, flags: u8, stream_id: u32, length: usize) -> FrameRecord {
        FrameRecord::new(t, Flags(flags), sid(stream_id), length)
    }

    fn sid(n: u32) -> StreamId {
        StreamId::new(n).unwrap()
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(Duration::from_millis(3)), "[  0.003]");
        assert_eq!(timestamp(Duration::from_micros(1_010_999)), "[  1.010]");
        assert_eq!(timestamp(Duration::from_secs(1234)), "[1234.000]");
    }

    #[test]
    fn settings_as_nghttp_sends_them() {
        let mut f = rec(FrameType::SETTINGS, 0, 0, 12);
        f.settings = vec![
            Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100),
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, 65535),
        ];
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &f)),
            "[  0.003] send SETTINGS frame <length=12, flags=0x00, stream_id=0>\n          (niv=2)\n          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]\n          [SETTINGS_INITIAL_WINDOW_SIZE(0x04):65535]\n"
        );
        let ack = rec(FrameType::SETTINGS, 1, 0, 0);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Recv, &ack)),
            "[  0.003] recv SETTINGS frame <length=0, flags=0x01, stream_id=0>\n          ; ACK\n          (niv=0)\n"
        );
        let mut odd = rec(FrameType::SETTINGS, 0, 0, 6);
        odd.settings = vec![Setting::new(SettingId(0x99), 7)];
        assert!(text(|o| plain().frame(o, T, Direction::Recv, &odd))
            .ends_with("          [UNKNOWN(0x99):7]\n"));
    }

    #[test]
    fn headers_sent_with_priority_and_fields() {
        let mut f = rec(FrameType::HEADERS, 0x25, 13, 38);
        f.category = Some(HeadersCategory::Request);
        f.priority = Some(Priority {
            stream_id: sid(11),
            weight: 16,
            exclusive: false,
        });
        f.headers = vec![Header::new(":method", "GET"), Header::new(":path", "/")];
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &f)),
            "[  0.003] send HEADERS frame <length=38, flags=0x25, stream_id=13>
          ; END_STREAM | END_HEADERS | PRIORITY
          (padlen=0, dep_stream_id=11, weight=16, exclusive=0)
          ; Open new stream
          :method: GET
          :path: /
"
        );
    }

    #[test]
    fn headers_categories() {
        let cases = [
            (
                Some(HeadersCategory::Response),
                "          ; First response header\n",
            ),
            (
                Some(HeadersCategory::PushResponse),
                "          ; First push response header\n",
            ),
            (Some(HeadersCategory::Headers), ""),
        ];
        for (cat, line) in cases {
            let mut f = rec(FrameType::HEADERS, 0x04, 13, 91);
            f.category = cat;
            assert_eq!(
                text(|o| plain().frame(o, T, Direction::Recv, &f)),
                format!(
                    "[  0.003] recv HEADERS frame <length=91, flags=0x04, stream_id=13>\n          ; END_HEADERS\n          (padlen=0)\n{line}"
                )
            );
        }
    }

    #[test]
    fn received_header_lines() {
        let h = HeaderRef::new(b":status", b"200");
        assert_eq!(
            text(|o| plain().recv_header(o, T, sid(13), h)),
            "[  0.003] recv (stream_id=13) :status: 200\n"
        );
        assert_eq!(
            text(|o| plain().recv_header(
                o,
                T,
                sid(13),
                HeaderRef::new(b"cookie", b"a=b").sensitive()
            )),
            "[  0.003] recv (stream_id=13, sensitive) cookie: a=b\n"
        );
    }

    #[test]
    fn data_frames() {
        let f = rec(FrameType::DATA, 1, 13, 3);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Recv, &f)),
            "[  0.003] recv DATA frame <length=3, flags=0x01, stream_id=13>\n          ; END_STREAM\n"
        );
        let mut padded = rec(FrameType::DATA, 0x09, 1, 20);
        padded.padlen = 10;
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &padded)),
            "[  0.003] send DATA frame <length=20, flags=0x09, stream_id=1>\n          ; END_STREAM | PADDED\n          (padlen=10)\n"
        );
        let plain_data = rec(FrameType::DATA, 0, 1, 16384);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &plain_data)),
            "[  0.003] send DATA frame <length=16384, flags=0x00, stream_id=1>\n"
        );
    }

    #[test]
    fn goaway_rst_window_update_ping_priority() {
        let mut g = rec(FrameType::GOAWAY, 0, 0, 8);
        g.last_stream_id = Some(sid(0));
        g.error_code = Some(Reason::NO_ERROR);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &g)),
            "[  0.003] send GOAWAY frame <length=8, flags=0x00, stream_id=0>\n          (last_stream_id=0, error_code=NO_ERROR(0x00), opaque_data(0)=[])\n"
        );
        g.error_code = Some(Reason::PROTOCOL_ERROR);
        g.last_stream_id = Some(sid(13));
        g.debug_data = b"bad\x01\xffx".to_vec();
        g.header.length = 14;
        assert!(
            text(|o| plain().frame(o, T, Direction::Recv, &g)).ends_with(
                "(last_stream_id=13, error_code=PROTOCOL_ERROR(0x01), opaque_data(6)=[bad..x])\n"
            )
        );

        let mut r = rec(FrameType::RST_STREAM, 0, 1, 4);
        r.error_code = Some(Reason::CANCEL);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Recv, &r)),
            "[  0.003] recv RST_STREAM frame <length=4, flags=0x00, stream_id=1>\n          (error_code=CANCEL(0x08))\n"
        );
        r.error_code = Some(Reason(0x1234));
        assert!(text(|o| plain().frame(o, T, Direction::Recv, &r))
            .ends_with("(error_code=unknown(0x1234))\n"));

        let mut w = rec(FrameType::WINDOW_UPDATE, 0, 0, 4);
        w.window_size_increment = Some(33554432);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &w)),
            "[  0.003] send WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>\n          (window_size_increment=33554432)\n"
        );

        let mut p = rec(FrameType::PING, 1, 0, 8);
        p.ping_data = Some([0, 1, 2, 0xab, 0xcd, 0xef, 0x10, 0xff]);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Recv, &p)),
            "[  0.003] recv PING frame <length=8, flags=0x01, stream_id=0>\n          ; ACK\n          (opaque_data=000102abcdef10ff)\n"
        );

        let mut pr = rec(FrameType::PRIORITY, 0, 3, 5);
        pr.priority = Some(Priority {
            stream_id: StreamId::CONNECTION,
            weight: 201,
            exclusive: false,
        });
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &pr)),
            "[  0.003] send PRIORITY frame <length=5, flags=0x00, stream_id=3>\n          (dep_stream_id=0, weight=201, exclusive=0)\n"
        );
    }

    #[test]
    fn push_promise_and_extensions() {
        let mut pp = rec(FrameType::PUSH_PROMISE, 0x04, 1, 20);
        pp.promised_stream_id = Some(sid(2));
        pp.headers = vec![Header::new(":path", "/style.css")];
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Send, &pp)),
            "[  0.003] send PUSH_PROMISE frame <length=20, flags=0x04, stream_id=1>\n          ; END_HEADERS\n          (padlen=0, promised_stream_id=2)\n          :path: /style.css\n"
        );
        let mut a = rec(FrameType::ALTSVC, 0, 0, 30);
        a.altsvc = Some((b"https://example.org".to_vec(), b"h3=\":443\"".to_vec()));
        assert!(text(|o| plain().frame(o, T, Direction::Recv, &a))
            .ends_with("ALTSVC frame <length=30, flags=0x00, stream_id=0>\n          (origin=[https://example.org], altsvc_field_value=[h3=\":443\"])\n"));
        let mut or = rec(FrameType::ORIGIN, 0, 0, 40);
        or.origins = vec![b"https://a.example".to_vec(), b"https://b.example".to_vec()];
        assert!(text(|o| plain().frame(o, T, Direction::Recv, &or))
            .ends_with(">\n          [https://a.example]\n          [https://b.example]\n"));
        let mut pu = rec(FrameType::PRIORITY_UPDATE, 0, 0, 7);
        pu.priority_update = Some((sid(1), b"u=1".to_vec()));
        assert!(text(|o| plain().frame(o, T, Direction::Recv, &pu))
            .ends_with("PRIORITY_UPDATE frame <length=7, flags=0x00, stream_id=0>\n          (prioritized_stream_id=1, priority_field_value=[u=1])\n"));
        let unknown = rec(FrameType(0xbb), 0x80, 0, 0);
        assert_eq!(
            text(|o| plain().frame(o, T, Direction::Recv, &unknown)),
            "[  0.003] recv UNKNOWN frame <length=0, flags=0x80, stream_id=0>\n          ; \n"
        );
    }

    #[test]
    fn invalid_frames_and_errors() {
        let mut f = rec(FrameType::DATA, 1, 1, 3);
        f.padlen = 0;
        assert_eq!(
            text(|o| plain().invalid_frame(o, T, &f, LibError::PROTO)),
            "[  0.003] [INVALID; error=Protocol error] recv DATA frame <length=3, flags=0x01, stream_id=1>\n          ; END_STREAM\n"
        );
        let nghttpd = TextFormat {
            color: false,
            connection_id: Some(1),
        };
        // nghttpd registers app_helper's callbacks as they are: no prefix.
        assert!(text(|o| nghttpd.invalid_frame(o, T, &f, LibError::PROTO))
            .starts_with("[  0.003] [INVALID;"));
        assert_eq!(
            text(|o| nghttpd.error(o, T, "Invalid HTTP header field was received")),
            "[  0.003] [ERROR] Invalid HTTP header field was received\n"
        );
    }

    #[test]
    fn nghttpd_prefix_and_close_lines() {
        let fmt = TextFormat {
            color: false,
            connection_id: Some(1),
        };
        let t = Duration::from_millis(1011);
        let mut s = rec(FrameType::SETTINGS, 0, 0, 6);
        s.settings = vec![Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)];
        assert_eq!(
            text(|o| fmt.frame(o, t, Direction::Send, &s)),
            "[id=1] [  1.011] send SETTINGS frame <length=6, flags=0x00, stream_id=0>\n          (niv=1)\n          [SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]\n"
        );
        assert_eq!(
            text(|o| fmt.recv_header(o, t, sid(13), HeaderRef::new(b":method", b"GET"))),
            "[id=1] [  1.011] recv (stream_id=13) :method: GET\n"
        );
        assert_eq!(
            text(|o| fmt.stream_closed(o, t, sid(13))),
            "[id=1] [  1.011] stream_id=13 closed\n"
        );
        assert_eq!(
            text(|o| fmt.connection_closed(o, t)),
            "[id=1] [  1.011] closed\n"
        );
    }

    #[test]
    fn colors_as_app_helper() {
        let fmt = TextFormat {
            color: true,
            connection_id: None,
        };
        let mut f = rec(FrameType::HEADERS, 0x04, 1, 10);
        f.headers = vec![Header::new("a", "b")];
        assert_eq!(
            text(|o| fmt.frame(o, T, Direction::Send, &f)),
            "\x1b[33m[  0.003]\x1b[0m send \x1b[1;35mHEADERS\x1b[0m frame <length=10, flags=0x04, stream_id=1>\n          ; END_HEADERS\n          (padlen=0)\n          \x1b[1;34ma\x1b[0m: b\n"
        );
        assert_eq!(
            text(|o| fmt.recv_header(o, T, sid(1), HeaderRef::new(b"a", b"b"))),
            "\x1b[33m[  0.003]\x1b[0m recv (stream_id=1) \x1b[1;34ma\x1b[0m: b\n"
        );
        assert!(text(|o| fmt.frame(o, T, Direction::Recv, &f))
            .contains(" recv \x1b[1;36mHEADERS\x1b[0m frame"));
    }

    #[test]
    fn json_escaping() {
        let s = text(|o| json_string(o, b"a\"b\\c\n\r\t\x01\x7f\xe2\x80\xa8\xc3\xa9\xff"));
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\n\\r\\t\\u0001\x7f\\u2028\u{e9}\u{fffd}\""
        );
    }

    #[test]
    fn json_lines() {
        let mut f = rec(FrameType::HEADERS, 0x25, 13, 38);
        f.category = Some(HeadersCategory::Request);
        f.priority = Some(Priority {
            stream_id: sid(11),
            weight: 16,
            exclusive: true,
        });
        let headers = [
            Header::new(":method", "GET"),
            Header {
                sensitive: true,
                ..Header::new("cookie", "x=\"1\"")
            },
        ];
        assert_eq!(
            text(|o| json_frame(
                o,
                Duration::from_millis(1011),
                Some(2),
                Direction::Recv,
                &f,
                &headers,
                None
            )),
            concat!(
                r#"{"time":1.011,"connection_id":2,"direction":"recv","type":"HEADERS","flags":37,"#,
                r#""flag_names":["END_STREAM","END_HEADERS","PRIORITY"],"stream_id":13,"length":38,"#,
                r#""padlen":0,"category":"request","priority":{"dep_stream_id":11,"weight":16,"exclusive":true},"#,
                r#""headers":[{"name":":method","value":"GET"},{"name":"cookie","value":"x=\"1\"","sensitive":true}]}"#,
                "\n"
            )
        );
        let mut s = rec(FrameType::SETTINGS, 0, 0, 6);
        s.settings = vec![Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)];
        assert_eq!(
            text(|o| json_frame(o, T, None, Direction::Send, &s, &[], None)),
            concat!(
                r#"{"time":0.003,"direction":"send","type":"SETTINGS","flags":0,"flag_names":[],"stream_id":0,"length":6,"#,
                r#""settings":[{"id":3,"name":"SETTINGS_MAX_CONCURRENT_STREAMS","value":100}]}"#,
                "\n"
            )
        );
        let mut g = rec(FrameType::GOAWAY, 0, 0, 10);
        g.last_stream_id = Some(sid(1));
        g.error_code = Some(Reason::PROTOCOL_ERROR);
        g.debug_data = b"x\n".to_vec();
        assert_eq!(
            text(|o| json_frame(o, T, None, Direction::Recv, &g, &[], Some(LibError::PROTO))),
            concat!(
                r#"{"time":0.003,"direction":"recv","type":"GOAWAY","flags":0,"flag_names":[],"stream_id":0,"length":10,"#,
                r#""last_stream_id":1,"error_code":1,"error_name":"PROTOCOL_ERROR","opaque_data":"x\n","#,
                r#""invalid":{"code":-505,"error":"Protocol error"}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn tracer_writes_text_and_json() {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (t, j) = (Buf::default(), Buf::default());
        let mut tracer = Tracer::new()
            .text(t.clone())
            .json(j.clone())
            .connection_id(7);
        let f = rec(FrameType::DATA, 1, 1, 3);
        tracer.trace_frame(Direction::Recv, &f);
        tracer.stream_closed(sid(1), Reason::NO_ERROR);
        tracer.connection_closed();
        let text = String::from_utf8(t.0.lock().unwrap().clone()).unwrap();
        // Blank out the clock: "[id=7] [  0.000] " is 17 bytes.
        let lines: Vec<String> = text
            .lines()
            .map(|l| match l.strip_prefix("[id=7] [") {
                Some(rest) => format!("[id=7] [  t] {}", &rest[9..]),
                None => l.to_string(),
            })
            .collect();
        assert_eq!(
            lines,
            [
                "[id=7] [  t] recv DATA frame <length=3, flags=0x01, stream_id=1>",
                "          ; END_STREAM",
                "[id=7] [  t] stream_id=1 closed",
                "[id=7] [  t] closed"
            ]
        );
        let json = String::from_utf8(j.0.lock().unwrap().clone()).unwrap();
        assert_eq!(json.lines().count(), 1);
        assert!(json.contains(r#""connection_id":7,"direction":"recv","type":"DATA""#));
    }
}
