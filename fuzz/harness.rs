//! What the fuzz targets do with their input, in one file that both the
//! cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the regression test
//! (`tests/fuzz_regressions.rs`) include with `#[path]`. A crash the fuzzer
//! finds therefore replays under `cargo test` (and under valgrind / ASan in
//! CI) through exactly the same code, without the fuzz crate, and without a
//! `pub` testing module in the library's API.
//!
//! It only uses the crate's public API and `bytes`.
//!
//! Input layout, shared by the three targets:
//!
//! - byte 0: configuration bits (per target, see each function);
//! - byte 1: its low 3 bits are how many chunk-length bytes follow;
//! - that many bytes: chunk lengths, each byte `b` meaning `b + 1` bytes;
//! - the rest: the payload, cut into those chunks, and whatever is left
//!   over as one last chunk.
//!
//! Session payloads are fed to `recv` one chunk at a time (so frames arrive
//! split at every possible place), with a `send` after each; HPACK payloads
//! are one header block per chunk.
//!
//! Besides "no crash, no leak", each harness checks what the wrapper
//! promises: `recv` takes every byte or fails; a failed session stays
//! failed; every body (`DataSource`) is dropped exactly once, by the time
//! its stream closes or the session drops; the output is whole, well-formed
//! frames whose DATA payloads are exactly the bodies the handler gave, in
//! order; the HPACK header-list limit rejects exactly the lists over it
//! while keeping the dynamic table in step with an unlimited inflater.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nghttp2::hpack::{Deflater, HeaderField, Inflater};
use nghttp2::session::{
    CallbackError, CallbackResult, Chunk, DataSource, Flags, Frame, FrameType, Handler, Header,
    HeaderRef, HeadersCategory, Options, Session, SessionRef, Setting, SettingId, StreamId,
};
use nghttp2::{Error, Kind, Reason};

/// The 24-byte client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An empty SETTINGS frame: what a client sends right after the preface.
pub const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

/// The write-buffer limit of the `send_up_to` mode: less than a full DATA
/// frame, so that zero-copy DATA meets a full buffer.
const WRITE_LIMIT: usize = 1000;

/// The most request body a handler keeps per stream (an echo answers with
/// it).
const BODY_CAP: usize = 64 * 1024;

/// A fuzz input, cut as the module documentation describes.
pub struct Input<'a> {
    pub config: u8,
    pub chunks: Vec<&'a [u8]>,
}

/// Cuts `data` into configuration and chunks.
pub fn split(data: &[u8]) -> Input<'_> {
    let config = data.first().copied().unwrap_or(0);
    let count = data.get(1).map_or(0, |b| (b & 7) as usize);
    let lengths = data.get(2..).unwrap_or(&[]);
    let lengths = &lengths[..count.min(lengths.len())];
    let mut rest = data.get(2 + lengths.len()..).unwrap_or(&[]);
    let mut chunks = Vec::new();
    for &len in lengths {
        let n = (len as usize + 1).min(rest.len());
        chunks.push(&rest[..n]);
        rest = &rest[n..];
    }
    if !rest.is_empty() {
        chunks.push(rest);
    }
    Input { config, chunks }
}

/// The inverse of [`split`] for seeds: `payload` as one chunk.
pub fn one_chunk(config: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![config, 0];
    out.extend_from_slice(payload);
    out
}

/// The inverse of [`split`] for seeds: each block its own chunk (at most
/// 7 cut points, each block at most 256 bytes but the last).
pub fn chunked(config: u8, blocks: &[&[u8]]) -> Vec<u8> {
    assert!(blocks.len() <= 8);
    let cuts = &blocks[..blocks.len().saturating_sub(1)];
    let mut out = vec![config, cuts.len() as u8];
    for block in cuts {
        assert!((1..=256).contains(&block.len()));
        out.push((block.len() - 1) as u8);
    }
    for block in blocks {
        out.extend_from_slice(block);
    }
    out
}

// ---------------------------------------------------------------------------
// Bodies that report their own drop.

/// Which bodies are alive, by stream id, for one session.
#[derive(Clone, Default)]
pub struct Tracker(Arc<Mutex<BTreeMap<StreamId, usize>>>);

impl Tracker {
    fn add(&self, stream_id: StreamId) {
        *self.0.lock().unwrap().entry(stream_id).or_default() += 1;
    }

    fn remove(&self, stream_id: StreamId) {
        let mut live = self.0.lock().unwrap();
        let n = live.get_mut(&stream_id).expect("body dropped twice");
        *n -= 1;
        if *n == 0 {
            live.remove(&stream_id);
        }
    }

    /// True while a body of `stream_id` is alive.
    pub fn is_live(&self, stream_id: StreamId) -> bool {
        self.0.lock().unwrap().contains_key(&stream_id)
    }

    /// How many bodies are alive.
    pub fn live(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }

    /// The streams that have a live body.
    pub fn live_streams(&self) -> Vec<StreamId> {
        self.0.lock().unwrap().keys().copied().collect()
    }
}

/// One answer a [`Body`] gives to `read`.
#[derive(Clone, Debug)]
pub enum Step {
    Data(Bytes),
    /// `Chunk::Data` of nothing (the wrapper defers after 16 in a row).
    Empty,
    Pending,
    End(Option<Vec<Header>>),
    Reset(Reason),
}

/// A body that plays a fixed list of steps, then ends.
pub struct Body {
    steps: VecDeque<Step>,
    stream_id: StreamId,
    tracker: Tracker,
}

impl Body {
    pub fn new(stream_id: StreamId, steps: Vec<Step>, tracker: &Tracker) -> Body {
        tracker.add(stream_id);
        Body {
            steps: steps.into(),
            stream_id,
            tracker: tracker.clone(),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.tracker.remove(self.stream_id);
    }
}

impl DataSource for Body {
    fn read(&mut self, _max_len: usize) -> Chunk {
        match self.steps.pop_front() {
            None => Chunk::end(),
            Some(Step::Data(b)) => Chunk::Data(b),
            Some(Step::Empty) => Chunk::Data(Bytes::new()),
            Some(Step::Pending) => Chunk::Pending,
            Some(Step::End(trailers)) => Chunk::End {
                last: Bytes::new(),
                trailers,
            },
            Some(Step::Reset(reason)) => Chunk::Reset(reason),
        }
    }
}

/// The bytes a body made of `steps` sends before it ends or resets.
fn body_bytes(steps: &[Step]) -> Vec<u8> {
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::Data(b) => out.extend_from_slice(b),
            Step::End(_) | Step::Reset(_) => break,
            Step::Empty | Step::Pending => {}
        }
    }
    out
}

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

fn trailers() -> Vec<Header> {
    vec![
        Header::new("x-checksum", "abc123"),
        Header::new("grpc-status", "0"),
    ]
}

/// The response body plan for a request: chosen by stream id and path so
/// that a handful of requests reach every kind.
fn response_plan(kind: usize, request_body: &[u8]) -> Option<Vec<Step>> {
    match kind % 7 {
        0 => None,
        1 => Some(vec![Step::Data(Bytes::from_static(b"hello, world\n"))]),
        2 => Some(vec![Step::Data(Bytes::copy_from_slice(request_body))]),
        3 => Some(vec![
            Step::Data(pattern(1, 3)),
            Step::Data(pattern(700, 4)),
            Step::Data(pattern(17_000, 5)),
            Step::End(Some(trailers())),
        ]),
        4 => Some(vec![
            Step::Pending,
            Step::Data(pattern(300, 6)),
            Step::Pending,
            Step::End(None),
        ]),
        5 => {
            let mut steps = vec![Step::Data(pattern(100, 7))];
            steps.extend((0..20).map(|_| Step::Empty));
            steps.push(Step::Data(pattern(5, 8)));
            steps.push(Step::End(None));
            Some(steps)
        }
        _ => Some(vec![
            Step::Data(pattern(2_000, 9)),
            Step::Reset(Reason::INTERNAL_ERROR),
        ]),
    }
}

// ---------------------------------------------------------------------------
// Handlers.

/// What a session saw of one stream.
#[derive(Default)]
struct Stream {
    path: Vec<u8>,
    body: Vec<u8>,
    answered: bool,
}

/// A handler that records requests (or responses) and, on a server,
/// answers each complete request with a response that has a body.
pub struct Fuzzer {
    server: bool,
    tracker: Tracker,
    streams: BTreeMap<StreamId, Stream>,
    /// Streams whose body may be waiting on `resume_data`.
    bodies: BTreeSet<StreamId>,
    /// Streams nghttp2 has opened (or reserved): requests received, request
    /// HEADERS and PUSH_PROMISE sent or received. A body submitted before
    /// that (a request queued behind the peer's stream limit) waits.
    opened: BTreeSet<StreamId>,
    /// Body bytes each stream this side sends on must carry, in order.
    expected: BTreeMap<StreamId, Vec<u8>>,
    /// Received DATA to give back to the windows after the `recv`, as the
    /// library server does once its handler read it.
    to_consume: Vec<(StreamId, usize)>,
    /// Streams closed during the session call under way.
    closed: Vec<StreamId>,
    consume_now: bool,
    consume_later: bool,
    push: bool,
}

impl Fuzzer {
    fn new(server: bool, tracker: &Tracker) -> Fuzzer {
        Fuzzer {
            server,
            tracker: tracker.clone(),
            streams: BTreeMap::new(),
            bodies: BTreeSet::new(),
            opened: BTreeSet::new(),
            expected: BTreeMap::new(),
            to_consume: Vec::new(),
            closed: Vec::new(),
            consume_now: false,
            consume_later: false,
            push: false,
        }
    }

    /// Attaches `plan` as the body of `stream_id`, remembering its bytes.
    fn body(&mut self, stream_id: StreamId, plan: Vec<Step>) -> Box<dyn DataSource> {
        self.expected.insert(stream_id, body_bytes(&plan));
        self.bodies.insert(stream_id);
        Box::new(Body::new(stream_id, plan, &self.tracker))
    }

    fn answer(&mut self, cx: &mut SessionRef, stream_id: StreamId) {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        if std::mem::replace(&mut stream.answered, true) {
            return;
        }
        let kind = stream_id.get() as usize / 2 + stream.path.len();
        let push = self.push && stream.path == b"/push";
        let request_body = std::mem::take(&mut stream.body);
        let plan = response_plan(kind, &request_body);
        let with_body = plan.is_some();
        let length = plan.as_deref().map(body_bytes).map(|b| b.len().to_string());
        let mut fields = vec![
            HeaderRef::new(b":status", b"200"),
            HeaderRef::new(b"content-type", b"application/octet-stream"),
            HeaderRef::new(b"server", b"fuzz"),
        ];
        if kind.is_multiple_of(3) {
            if let Some(length) = &length {
                fields.push(HeaderRef::new(b"content-length", length.as_bytes()));
            }
        }
        if push {
            let promised = cx.submit_push_promise(
                stream_id,
                [
                    HeaderRef::new(b":method", b"GET"),
                    HeaderRef::new(b":scheme", b"https"),
                    HeaderRef::new(b":authority", b"example.test"),
                    HeaderRef::new(b":path", b"/pushed.css"),
                ],
            );
            if let Ok(promised) = promised {
                let body = self.body(promised, vec![Step::Data(pattern(1_000, 1))]);
                if cx
                    .submit_response(promised, [HeaderRef::new(b":status", b"200")], Some(body))
                    .is_err()
                {
                    self.forget(promised);
                }
            }
        }
        let body = plan.map(|plan| self.body(stream_id, plan));
        if cx.submit_response(stream_id, fields, body).is_err() && with_body {
            self.forget(stream_id);
        }
    }

    /// A body that was never attached (its submit failed).
    fn forget(&mut self, stream_id: StreamId) {
        self.expected.remove(&stream_id);
        self.bodies.remove(&stream_id);
    }
}

impl Handler for Fuzzer {
    fn on_begin_headers(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.streams.entry(frame.stream_id()).or_default();
        self.opened.insert(frame.stream_id());
        if let Some(promised) = frame.promised_stream_id() {
            self.opened.insert(promised);
        }
        Ok(())
    }

    fn on_frame_send(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        match frame.frame_type() {
            FrameType::HEADERS => {
                self.opened.insert(frame.stream_id());
            }
            FrameType::PUSH_PROMISE => {
                self.opened.extend(frame.promised_stream_id());
            }
            _ => {}
        }
        Ok(())
    }

    fn on_header(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        match header.name {
            b"x-fuzz-reset" => return Err(CallbackError::ResetStream),
            b"x-fuzz-fatal" => return Err(CallbackError::Fatal(Error::user("fatal header"))),
            b":path" => {
                let stream = self.streams.entry(frame.stream_id()).or_default();
                stream.path = header.value.to_vec();
            }
            _ => {}
        }
        Ok(())
    }

    fn on_data_chunk_recv(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        data: &[u8],
        _flags: Flags,
    ) -> CallbackResult {
        if let Some(stream) = self.streams.get_mut(&stream_id) {
            let room = BODY_CAP.saturating_sub(stream.body.len());
            stream.body.extend_from_slice(&data[..data.len().min(room)]);
        }
        if self.consume_now {
            let _ = cx.consume(stream_id, data.len());
        } else if self.consume_later {
            self.to_consume.push((stream_id, data.len()));
        }
        Ok(())
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        if self.server
            && frame.is_end_stream()
            && matches!(frame.frame_type(), FrameType::HEADERS | FrameType::DATA)
        {
            self.answer(cx, frame.stream_id());
        }
        if frame.headers_category() == Some(HeadersCategory::PushResponse)
            && frame.stream_id().get().is_multiple_of(4)
        {
            // A client refusing some pushed streams.
            let _ = cx.submit_rst_stream(frame.stream_id(), Reason::REFUSED_STREAM);
        }
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        _cx: &mut SessionRef,
        stream_id: StreamId,
        _reason: Reason,
    ) -> CallbackResult {
        // The wrapper promises a stream's body is dropped once the C call
        // that closed it returned (not inside the callback: its Drop is
        // user code); `check_closed` looks after each call.
        self.closed.push(stream_id);
        self.bodies.remove(&stream_id);
        self.streams.remove(&stream_id);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Driving a session.

/// Feeds the chunks to `session`, sending after each, and returns all it
/// sent. `before_chunk` runs before every chunk but the first. With
/// `write_limit`, output is taken with `send_up_to` in slices of that many
/// bytes, as the library server does with its write buffer.
fn drive(
    session: &mut Session<Fuzzer>,
    chunks: &[&[u8]],
    wire: &mut Vec<u8>,
    max_frame_size: &mut u32,
    write_limit: Option<usize>,
    mut before_chunk: impl FnMut(&mut Session<Fuzzer>, usize),
) {
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            before_chunk(session, i);
        }
        let result = session.recv(chunk);
        check_closed(session);
        *max_frame_size = (*max_frame_size).max(session.remote_setting(SettingId::MAX_FRAME_SIZE));
        after_recv(session);
        let failed = match result {
            Ok(n) => {
                assert_eq!(n, chunk.len(), "recv took part of its input");
                false
            }
            Err(_) => true,
        };
        // Output held back by a failed `recv` comes out whole, whatever
        // the limit.
        let sent = flush(
            session,
            wire,
            write_limit.filter(|_| !failed),
            *max_frame_size,
        );
        if session.has_failed() {
            assert!(session.recv(b"").is_err(), "a failed session took input");
        }
        if failed || sent.is_err() {
            // A real connection closes here, after flushing what it can.
            let _ = session.send(wire);
            return;
        }
    }
}

/// Takes everything `session` has to send: with `send`, or in slices with
/// `send_up_to`, checking that a slice overshoots its limit by at most one
/// frame.
fn flush(
    session: &mut Session<Fuzzer>,
    wire: &mut Vec<u8>,
    write_limit: Option<usize>,
    max_frame_size: u32,
) -> Result<(), Error> {
    let Some(limit) = write_limit else {
        let sent = session.send(wire).map(drop);
        check_closed(session);
        return sent;
    };
    for _ in 0..1_000_000 {
        let before = wire.len();
        let sent = session.send_up_to(wire, before + limit);
        check_closed(session);
        if sent? == 0 {
            return Ok(());
        }
        let overshoot = (wire.len() - before).saturating_sub(limit);
        assert!(
            overshoot <= 9 + max_frame_size as usize,
            "send_up_to went {overshoot} bytes past its limit"
        );
    }
    panic!("send_up_to never ran dry");
}

/// Checks that the bodies of the streams closed during the last session
/// call were dropped by the time it returned.
fn check_closed(session: &mut Session<Fuzzer>) {
    let handler = session.handler_mut();
    for id in handler.closed.drain(..) {
        assert!(
            !handler.tracker.is_live(id),
            "body of stream {id} outlived the call that closed it"
        );
    }
}

/// What a connection does between reading and writing: give back window
/// for consumed DATA, wake bodies that were waiting.
pub fn after_recv(session: &mut Session<Fuzzer>) {
    let (handler, cx) = session.parts_mut();
    for (id, n) in handler.to_consume.drain(..) {
        let _ = cx.consume(id, n);
    }
    for &id in &handler.bodies {
        let _ = cx.resume_data(id);
    }
}

/// Checks `wire` is whole frames, none over `max_frame_size`, and that the
/// DATA of each stream is the body its handler gave: a prefix of it while
/// the stream is open, all of it once the stream ended.
fn check_wire(mut wire: &[u8], max_frame_size: u32, expected: &BTreeMap<StreamId, Vec<u8>>) {
    let trace = tracing();
    let mut data: BTreeMap<StreamId, Vec<u8>> = BTreeMap::new();
    let mut ended = BTreeSet::new();
    while !wire.is_empty() {
        assert!(wire.len() >= 9, "output ends inside a frame header");
        let len = (wire[0] as usize) << 16 | (wire[1] as usize) << 8 | wire[2] as usize;
        let (frame_type, flags) = (wire[3], wire[4]);
        let stream_id =
            StreamId::new(u32::from_be_bytes([wire[5], wire[6], wire[7], wire[8]]) & 0x7fff_ffff)
                .unwrap();
        assert!(
            len <= max_frame_size as usize,
            "frame of {len} bytes over the peer's {max_frame_size}"
        );
        assert!(wire.len() >= 9 + len, "output ends inside a frame");
        let payload = &wire[9..9 + len];
        wire = &wire[9 + len..];
        let end_stream = flags & 0x1 != 0;
        if trace {
            eprintln!(
                "sent: type {frame_type:#x} flags {flags:#x} stream {stream_id} length {len}"
            );
        }
        match frame_type {
            0x0 => {
                let mut payload = payload;
                if flags & 0x8 != 0 {
                    let pad = *payload.first().expect("padded DATA without pad length") as usize;
                    assert!(pad < payload.len(), "DATA padding longer than the frame");
                    payload = &payload[1..payload.len() - pad];
                }
                assert!(
                    !ended.contains(&stream_id),
                    "DATA after END_STREAM on {stream_id}"
                );
                let want = expected
                    .get(&stream_id)
                    .unwrap_or_else(|| panic!("DATA on stream {stream_id}, which has no body"));
                let got = data.entry(stream_id).or_default();
                got.extend_from_slice(payload);
                assert!(
                    want.starts_with(got),
                    "stream {stream_id}: DATA is not the body given"
                );
                if end_stream {
                    ended.insert(stream_id);
                }
            }
            0x1 if end_stream => {
                ended.insert(stream_id);
            }
            _ => {}
        }
    }
    for id in ended {
        if let (Some(want), Some(got)) = (expected.get(&id), data.get(&id)) {
            assert_eq!(
                want.len(),
                got.len(),
                "stream {id} ended with part of its body"
            );
        }
    }
}

/// True when `FUZZ_HARNESS_TRACE` is set: the harness then prints the
/// frames it sent, to make sense of a crashing input.
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_HARNESS_TRACE").is_some())
}

/// Checks, at the end of a run, that every live body belongs to a stream
/// nghttp2 still knows, or has yet to open: a body whose stream went away
/// without a close would be held until the connection ends.
fn check_bodies(session: &Session<Fuzzer>, tracker: &Tracker) {
    assert_eq!(tracker.live(), session.sending_bodies());
    for id in tracker.live_streams() {
        assert!(
            session.is_stream_open(id) || !session.handler().opened.contains(&id),
            "the body of stream {id} outlived the stream"
        );
    }
}

// ---------------------------------------------------------------------------
// Targets.

/// Server target. Configuration bits:
///
/// - 0x01: automatic WINDOW_UPDATE (else the library server's
///   `no_auto_window_update`, giving DATA back after each `recv`);
/// - 0x02: keep closed streams (else `no_closed_streams`, as the server);
/// - 0x04: tight mitigations (reset, glitch, CONTINUATION, SETTINGS and
///   outbound ACK limits);
/// - 0x08: `no_http_messaging`;
/// - 0x10: tiny windows and a stream limit of 3 in this side's SETTINGS;
/// - 0x20: answer `/push` with a PUSH_PROMISE;
/// - 0x40: consume DATA inside the callback rather than after `recv`;
/// - 0x80: take output with `send_up_to` in slices of [`WRITE_LIMIT`].
///
/// Before the input, the session gets a valid preface and empty SETTINGS.
pub fn server(data: &[u8]) {
    let input = split(data);
    let tracker = Tracker::default();
    {
        let mut server = new_server(input.config, &tracker);
        let mut start = PREFACE.to_vec();
        start.extend_from_slice(EMPTY_SETTINGS);
        let mut chunks = vec![start.as_slice()];
        chunks.extend(input.chunks.iter().copied());
        let mut wire = Vec::new();
        let mut max_frame_size = 16_384;
        let write_limit = (input.config & 0x80 != 0).then_some(WRITE_LIMIT);
        drive(
            &mut server,
            &chunks,
            &mut wire,
            &mut max_frame_size,
            write_limit,
            |_, _| {},
        );
        check_bodies(&server, &tracker);
        check_wire(&wire, max_frame_size, &server.handler().expected);
    }
    assert_eq!(tracker.live(), 0, "bodies outlived their session");
}

/// The server session of the server target, with its SETTINGS submitted.
pub fn new_server(cfg: u8, tracker: &Tracker) -> Session<Fuzzer> {
    let mut options = Options::new()
        .no_auto_window_update(cfg & 0x01 == 0)
        .no_closed_streams(cfg & 0x02 == 0)
        .no_http_messaging(cfg & 0x08 != 0);
    if cfg & 0x04 != 0 {
        options = options
            .stream_reset_rate_limit(5, 1)
            .glitch_rate_limit(5, 1)
            .max_continuations(2)
            .max_settings(3)
            .max_outbound_ack(4);
    }
    let mut handler = Fuzzer::new(true, tracker);
    handler.consume_now = cfg & 0x01 == 0 && cfg & 0x40 != 0;
    handler.consume_later = cfg & 0x01 == 0 && cfg & 0x40 == 0;
    handler.push = cfg & 0x20 != 0;
    let mut server = Session::server(handler, &options).expect("server session");
    let settings = if cfg & 0x10 != 0 {
        vec![
            Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 3),
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, 10),
            Setting::new(SettingId::MAX_HEADER_LIST_SIZE, 1024),
        ]
    } else {
        vec![
            Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100),
            Setting::new(SettingId::MAX_HEADER_LIST_SIZE, 64 * 1024),
            Setting::new(SettingId::ENABLE_PUSH, 0),
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, 256 * 1024),
        ]
    };
    server.submit_settings(&settings).expect("submit_settings");
    server
}

/// The requests the client target makes: (method, path, body plan).
pub fn client_requests() -> Vec<(&'static str, &'static str, Option<Vec<Step>>)> {
    vec![
        ("GET", "/", None),
        (
            "POST",
            "/upload",
            Some(vec![
                Step::Data(pattern(100, 1)),
                Step::Data(pattern(20_000, 2)),
                Step::End(Some(trailers())),
            ]),
        ),
        (
            "PUT",
            "/deferred",
            Some(vec![
                Step::Pending,
                Step::Data(pattern(10, 3)),
                Step::Empty,
                Step::End(None),
            ]),
        ),
        ("GET", "/push", None),
    ]
}

/// Submits one of [`client_requests`].
fn submit_request(
    client: &mut Session<Fuzzer>,
    (method, path, plan): (&str, &str, Option<Vec<Step>>),
) {
    let id = StreamId::new(client.next_stream_id()).unwrap();
    let (handler, cx) = client.parts_mut();
    let body = plan.map(|plan| handler.body(id, plan));
    let with_body = body.is_some();
    let headers = [
        HeaderRef::new(b":method", method.as_bytes()),
        HeaderRef::new(b":scheme", b"https"),
        HeaderRef::new(b":authority", b"example.test"),
        HeaderRef::new(b":path", path.as_bytes()),
        HeaderRef::new(b"user-agent", b"nghttp2-rs-fuzz"),
    ];
    match cx.submit_request(headers, body) {
        Ok(got) => assert_eq!(got, id, "stream id other than next_stream_id"),
        Err(_) if with_body => handler.forget(id),
        Err(_) => {}
    }
}

/// Client target: a client that sent its preface, SETTINGS and the
/// [`client_requests`], then reads the input as the server's bytes.
/// Configuration bits:
///
/// - 0x01: `no_auto_window_update`, consuming DATA after each `recv`;
/// - 0x02: `no_http_messaging`;
/// - 0x04: tight limits (reserved push streams, SETTINGS, outbound ACKs);
/// - 0x08: submit one more request, a PING and a PRIORITY_UPDATE before the
///   second chunk;
/// - 0x10: a small receive window in this side's SETTINGS;
/// - 0x80: take output with `send_up_to` in slices of [`WRITE_LIMIT`].
pub fn client(data: &[u8]) {
    let input = split(data);
    let cfg = input.config;
    let tracker = Tracker::default();
    {
        let mut client = new_client(cfg, &tracker);
        let mut wire = Vec::new();
        client.send(&mut wire).expect("first send");
        let mut max_frame_size = 16_384;
        let write_limit = (cfg & 0x80 != 0).then_some(WRITE_LIMIT);
        drive(
            &mut client,
            &input.chunks,
            &mut wire,
            &mut max_frame_size,
            write_limit,
            |client, i| {
                if i == 1 && cfg & 0x08 != 0 {
                    let plan = vec![Step::Data(pattern(50, 4)), Step::End(None)];
                    submit_request(client, ("POST", "/late", Some(plan)));
                    let _ = client.submit_ping(false, *b"fuzzping");
                    let _ = client.submit_priority_update(StreamId::new(1).unwrap(), b"u=1, i");
                }
            },
        );
        check_bodies(&client, &tracker);
        assert!(wire.starts_with(PREFACE), "client output without preface");
        check_wire(
            &wire[PREFACE.len()..],
            max_frame_size,
            &client.handler().expected,
        );
    }
    assert_eq!(tracker.live(), 0, "bodies outlived their session");
}

/// The client session of the client target, with its SETTINGS and
/// [`client_requests`] submitted (nothing sent yet).
pub fn new_client(cfg: u8, tracker: &Tracker) -> Session<Fuzzer> {
    let mut options = Options::new()
        .no_auto_window_update(cfg & 0x01 != 0)
        .no_http_messaging(cfg & 0x02 != 0);
    if cfg & 0x04 != 0 {
        options = options
            .max_reserved_remote_streams(1)
            .max_settings(3)
            .max_outbound_ack(4);
    }
    let mut handler = Fuzzer::new(false, tracker);
    handler.consume_later = cfg & 0x01 != 0;
    let mut client = Session::client(handler, &options).expect("client session");
    let settings = if cfg & 0x10 != 0 {
        vec![Setting::new(SettingId::INITIAL_WINDOW_SIZE, 100)]
    } else {
        vec![]
    };
    client.submit_settings(&settings).expect("submit_settings");
    for request in client_requests() {
        submit_request(&mut client, request);
    }
    client
}

/// HPACK target: each chunk is one header block, decoded by an inflater
/// with the header-list-size limit under test and by a reference one whose
/// limit is at least 64 KiB (so that amplified blocks stay cheap to
/// check). Configuration bits:
///
/// - 0..=2: the limit: 0, 64, 256, 1024, 4096, 16 KiB, 64 KiB, 1 MiB;
/// - 0x08: both tables start at 256 bytes (RFC 7541 C.5/C.6);
/// - 0x10: before every other block, both lower the table size to
///   16 x the block's first byte;
///
/// What the reference decodes is also re-encoded by a `Deflater` and
/// decoded again, which must give the same fields.
pub fn hpack(data: &[u8]) {
    const LIMITS: [usize; 8] = [0, 64, 256, 1024, 4096, 16 << 10, 64 << 10, 1 << 20];
    let input = split(data);
    let cfg = input.config;
    let limit = LIMITS[(cfg & 7) as usize];
    let reference_limit = limit.max(64 << 10);
    let mut limited = Inflater::with_max_header_list_size(limit).expect("inflater");
    let mut reference = Inflater::with_max_header_list_size(reference_limit).expect("inflater");
    let mut deflater = Deflater::new(4096).expect("deflater");
    let mut mirror = Inflater::new().expect("inflater");
    if cfg & 0x08 != 0 {
        for inflater in [&mut limited, &mut reference, &mut mirror] {
            inflater.change_table_size(256).expect("change_table_size");
        }
        deflater.change_table_size(256).expect("change_table_size");
    }
    for (i, block) in input.chunks.iter().enumerate() {
        if cfg & 0x10 != 0 && i % 2 == 1 {
            let size = 16 * block.first().copied().unwrap_or(0) as usize;
            let a = limited.change_table_size(size);
            let b = reference.change_table_size(size);
            assert_eq!(a.is_ok(), b.is_ok(), "change_table_size differs");
        }
        let got = limited.inflate(block);
        let want = match reference.inflate(block) {
            Ok(fields) => fields,
            Err(e) if e.lib_error().is_some() => {
                let got = got.expect_err("the limited inflater took a bad block");
                assert!(got.lib_error().is_some(), "{got}");
                // Both are broken for good now.
                assert!(limited.inflate(b"\x82").is_err());
                assert!(reference.inflate(b"\x82").is_err());
                return;
            }
            Err(e) => {
                // Over the reference's limit, so over the limit under test.
                assert!(matches!(e.kind(), Kind::User(_)), "{e}");
                let got = got.expect_err("a list over both limits passed");
                assert!(matches!(got.kind(), Kind::User(_)), "{got}");
                check_tables(&limited, &reference);
                continue;
            }
        };
        let size: usize = want.iter().map(HeaderField::list_size).sum();
        match got {
            Ok(fields) => {
                assert!(
                    size <= limit,
                    "a list of {size} bytes passed a limit of {limit}"
                );
                assert_eq!(fields, want);
            }
            Err(e) => {
                assert!(
                    size > limit,
                    "a list of {size} bytes failed a limit of {limit}: {e}"
                );
                assert!(matches!(e.kind(), Kind::User(_)), "{e}");
            }
        }
        check_tables(&limited, &reference);
        // Round trip what was decoded.
        let encoded = deflater.deflate(&want).expect("deflate");
        let again = mirror.inflate(&encoded).expect("inflating our own block");
        assert_eq!(again.len(), want.len());
        for (a, b) in again.iter().zip(&want) {
            assert_eq!((&a.name, &a.value), (&b.name, &b.value));
            assert!(a.sensitive || !b.sensitive, "lost the never-indexed flag");
        }
    }
}

/// Two inflaters that saw the same blocks have the same dynamic table.
fn check_tables(a: &Inflater, b: &Inflater) {
    assert_eq!(a.dynamic_table_size(), b.dynamic_table_size());
    assert_eq!(a.num_table_entries(), b.num_table_entries());
    assert_eq!(a.max_dynamic_table_size(), b.max_dynamic_table_size());
    for index in 62..a.num_table_entries() + 1 {
        assert_eq!(a.table_entry(index), b.table_entry(index), "entry {index}");
    }
}
