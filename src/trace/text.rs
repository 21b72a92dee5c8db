//! The text format of nghttp2's tools, `nghttp -v` and `nghttpd -v`, as
//! nghttp2's `src/app_helper.cc` (and nghttpd's `src/HttpServer.cc` around
//! it) prints it.

use std::fmt;
use std::io::Write;
use std::time::Duration;

use super::record::{Direction, FrameRecord};
use crate::error::{LibError, Reason};
use crate::session::{Flags, FrameType, Header, HeaderRef, HeadersCategory, Priority, StreamId};

const INDENT: &[u8] = b"          ";
const ESC_END: &str = "\x1b[0m";
const ESC_TIMER: &str = "\x1b[33m";
const ESC_SEND: &str = "\x1b[1;35m";
const ESC_RECV: &str = "\x1b[1;36m";
const ESC_NAME: &str = "\x1b[1;34m";

/// `[  0.003]`: seconds and milliseconds, as nghttp2's `print_timer`
/// (`[%3ld.%03ld]`).
pub(crate) fn timestamp(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    format!("[{:>3}.{:03}]", millis / 1000, millis % 1000)
}

/// The frame type's name as nghttp2 1.52's tools print it: `DATA`,
/// `WINDOW_UPDATE`, ..., `UNKNOWN` for types they have no name for
/// (CONTINUATION included; nghttp2 never reports one on its own).
pub(crate) fn frame_type_name(frame_type: FrameType) -> &'static str {
    match frame_type {
        FrameType::CONTINUATION => "UNKNOWN",
        t => t.name().unwrap_or("UNKNOWN"),
    }
}

/// An error code's name as `nghttp2_http2_strerror` gives it (`unknown`
/// when it has none).
pub(crate) fn error_code_name(reason: Reason) -> &'static str {
    reason.name().unwrap_or("unknown")
}

/// The flag names nghttp2's tools print for a frame, in their order.
pub(crate) fn flag_names(frame_type: FrameType, flags: Flags) -> Vec<&'static str> {
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders trace lines exactly as nghttp2's `app_helper.cc` (and nghttpd's
/// `HttpServer.cc` around it) prints them, except that with a connection id
/// every line carries the prefix (see [`invalid_frame`](Self::invalid_frame)).
/// Pure: every method appends to a byte buffer and takes the elapsed time
/// as an argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextFormat {
    /// ANSI colours, as the tools use on a terminal.
    pub(crate) color: bool,
    /// nghttpd's connection id: every line of an event starts with
    /// `[id=N] `.
    pub(crate) connection_id: Option<u64>,
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
    pub(crate) fn frame(
        &self,
        out: &mut Vec<u8>,
        elapsed: Duration,
        dir: Direction,
        frame: &FrameRecord,
    ) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = write!(out, " {} ", dir.as_str());
        self.frame_body(out, dir, frame);
    }

    /// A frame nghttp2 rejected (`on_invalid_frame_recv`): `[INVALID;
    /// error=...] recv` and the frame. With a connection id the line starts
    /// with `[id=N] ` like every other; nghttpd prints none here (it
    /// registers app_helper's callback as is), which leaves the line
    /// unattributable in a trace of many connections.
    pub(crate) fn invalid_frame(
        &self,
        out: &mut Vec<u8>,
        elapsed: Duration,
        frame: &FrameRecord,
        error: LibError,
    ) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = write!(out, " [INVALID; error={}] recv ", error.message());
        self.frame_body(out, Direction::Recv, frame);
    }

    /// One received header field (`on_header`), printed before the frame
    /// that carries it: `recv (stream_id=S) name: value`.
    pub(crate) fn recv_header(
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
    pub(crate) fn stream_closed(&self, out: &mut Vec<u8>, elapsed: Duration, stream_id: StreamId) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = writeln!(out, " stream_id={stream_id} closed");
    }

    /// nghttpd's `closed` line, when a connection ends.
    pub(crate) fn connection_closed(&self, out: &mut Vec<u8>, elapsed: Duration) {
        self.prefix(out);
        self.timer(out, elapsed);
        out.extend_from_slice(b" closed\n");
    }

    /// nghttp2's explanation of an error (`error_callback2`):
    /// `[ERROR] message`, after the connection prefix (which nghttpd leaves
    /// out here, as for [`invalid_frame`](Self::invalid_frame)).
    pub(crate) fn error(&self, out: &mut Vec<u8>, elapsed: Duration, message: &str) {
        self.prefix(out);
        self.timer(out, elapsed);
        let _ = writeln!(out, " [ERROR] {message}");
    }

    /// A free-form line after the timestamp, such as nghttp's `Connected`.
    pub(crate) fn message(&self, out: &mut Vec<u8>, elapsed: Duration, text: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Setting, SettingId};
    use crate::trace::test_support::{rec, sid, text, T};

    fn plain() -> TextFormat {
        TextFormat::default()
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
        assert_eq!(
            text(|o| plain().error(o, T, "Invalid HTTP header field was received")),
            "[  0.003] [ERROR] Invalid HTTP header field was received\n"
        );
    }

    /// Issue 9: nghttpd prints its `[INVALID; ...]` and `[ERROR]` lines
    /// without `[id=N] `; ours carry it like every other line.
    #[test]
    fn invalid_and_error_lines_carry_the_connection_prefix() {
        let nghttpd = TextFormat {
            color: false,
            connection_id: Some(1),
        };
        let f = rec(FrameType::DATA, 1, 1, 3);
        assert_eq!(
            text(|o| nghttpd.invalid_frame(o, T, &f, LibError::PROTO)),
            "[id=1] [  0.003] [INVALID; error=Protocol error] recv DATA frame <length=3, flags=0x01, stream_id=1>\n          ; END_STREAM\n"
        );
        assert_eq!(
            text(|o| nghttpd.error(o, T, "Invalid HTTP header field was received")),
            "[id=1] [  0.003] [ERROR] Invalid HTTP header field was received\n"
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
}
