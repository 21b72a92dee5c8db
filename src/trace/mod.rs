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
//! Two public pieces, and the formats behind them:
//!
//! - [`Tracer`]: keeps the start [`Instant`], writes the text trace (and,
//!   optionally, one JSON object per frame) to buffered writers. Frames that
//!   no session produced can be traced as a [`FrameRecord`].
//! - [`Traced`]: a [`Handler`](crate::session::Handler) that traces every
//!   event and forwards it to the handler it wraps, so
//!   `Session::server(Traced::new(app, tracer), &opts)` prints the trace.
//! - [`diff`]: reads two such traces back and compares them, with what
//!   must differ normalised and every known difference named (what
//!   `h2fetch --diff-nghttp` prints and the comparison tests assert).
//!
//! The module is split by job: `text` renders the lines of nghttp2's tools,
//! `json` the JSON lines (with `serde_json`), `record` holds the frame
//! snapshot both render, `traced` the handler wrapper; the renderers are
//! private, reached only through [`Tracer`].
//!
//! Like nghttp2's tools, received header fields are printed as they arrive,
//! before the HEADERS frame that carried them, and sent header fields after
//! the sent HEADERS frame. With a [connection id](Tracer::connection_id)
//! the trace is nghttpd's: every line of an event starts with `[id=N] `,
//! and stream closes and the connection's end get their own lines. Unlike
//! nghttpd, whose invalid-frame and `[ERROR]` lines carry no prefix, every
//! line here does, so a server's trace of many connections can be split by
//! connection.

pub mod diff;
mod json;
mod record;
mod text;
mod traced;

use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::json::json_frame;
use self::record::owned_header;
pub use self::record::{Direction, FrameRecord};
use self::text::TextFormat;
pub use self::traced::Traced;
use crate::error::{LibError, Reason};
use crate::session::{Frame, FrameType, Header, HeaderRef, StreamId};

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

    /// Writes one JSON object per frame, one per line, to `w`.
    ///
    /// Keys: `time` (seconds since the trace started, three decimals),
    /// `connection_id` (when [set](Tracer::connection_id)), `direction`
    /// (`send`/`recv`), `type` (the name, or `0xHH` for a type without
    /// one), `flags` (the byte), `flag_names`, `stream_id`, `length`; then
    /// what the frame type carries, named as in the text trace: `padlen`,
    /// `category` (`request`, `response`, `push_response`, `headers`),
    /// `priority` (`{dep_stream_id, weight, exclusive}`), `error_code` and
    /// `error_name`, `last_stream_id`, `opaque_data` (GOAWAY: the debug
    /// data as a string; PING: hex), `window_size_increment`,
    /// `promised_stream_id`, `settings` (`[{id, name, value}]`), `origin`
    /// and `altsvc_field_value`, `origins`, `prioritized_stream_id` and
    /// `priority_field_value`; `headers` (`[{name, value}]`, plus
    /// `"sensitive": true` for never-indexed fields) for HEADERS and
    /// PUSH_PROMISE; and `invalid` (`{code, error}`) for a frame nghttp2
    /// rejected. Strings are UTF-8, with invalid bytes replaced by U+FFFD,
    /// escaped as `serde_json` escapes them.
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

    /// nghttpd's trace: every line of an event starts with `[id=N] `
    /// (invalid-frame and `[ERROR]` lines too, where nghttpd prints no
    /// prefix), and stream closes and the connection's end are printed.
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

    /// A received frame that broke a rule the session enforces itself
    /// ([`Handler::on_rule_broken`](crate::session::Handler::on_rule_broken);
    /// nghttp2 showed no callback for it): traced as a rejected frame.
    pub fn rule_broken(
        &mut self,
        header: &crate::session::FrameHeader,
        priority: Option<crate::session::Priority>,
        error: LibError,
    ) {
        if self.wants_record() {
            let mut record = FrameRecord::new(
                header.frame_type,
                header.flags,
                header.stream_id,
                header.length,
            );
            record.priority = priority;
            self.trace_invalid(&record, error);
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

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers the unit tests of the formats share.

    use std::time::Duration;

    use super::FrameRecord;
    use crate::session::{Flags, FrameType, StreamId};

    /// The clock the format tests print: `[  0.003]`.
    pub(crate) const T: Duration = Duration::from_millis(3);

    /// What `f` appends to an empty buffer, as a string.
    pub(crate) fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// A frame record with this header.
    pub(crate) fn rec(t: FrameType, flags: u8, stream_id: u32, length: usize) -> FrameRecord {
        FrameRecord::new(t, Flags(flags), sid(stream_id), length)
    }

    /// Stream `n`.
    pub(crate) fn sid(n: u32) -> StreamId {
        StreamId::new(n).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{rec, sid};
    use super::*;

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
        tracer.trace_invalid(&f, LibError::PROTO);
        tracer.error("Invalid HTTP header field was received");
        tracer.message("Connected");
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
                "[id=7] [  t] [INVALID; error=Protocol error] recv DATA frame <length=3, flags=0x01, stream_id=1>",
                "          ; END_STREAM",
                "[id=7] [  t] [ERROR] Invalid HTTP header field was received",
                "[id=7] [  t] Connected",
                "[id=7] [  t] stream_id=1 closed",
                "[id=7] [  t] closed"
            ]
        );
        let json = String::from_utf8(j.0.lock().unwrap().clone()).unwrap();
        assert_eq!(json.lines().count(), 2);
        assert!(json.contains(r#""connection_id":7,"direction":"recv","type":"DATA""#));
        assert!(json.contains(r#""invalid":{"code":-505,"error":"Protocol error"}"#));
    }
}
