//! The RFC 9113 rules this crate enforces itself, on top of nghttp2.
//!
//! nghttp2 1.65 dropped RFC 7540 priorities and stopped keeping closed
//! streams, so the vendored 1.68.1 silently drops frames that RFC 9113 says
//! an endpoint must answer. A small, pure state machine in this module
//! answers them, in every [`Session`](crate::session::Session) (server,
//! client, and so the tokio server and client) unless
//! [`Options::conformance`](crate::session::Options::conformance) turns it
//! off:
//!
//! - [`Session::recv`](crate::session::Session::recv) runs a frame scanner
//!   over the received bytes: nghttp2 shows no callback at all for a DATA
//!   frame on a stream it forgot, and never shows a PRIORITY payload, so
//!   frame boundaries are found here (9-byte headers, lengths; the 5-byte
//!   PRIORITY payload is read, everything else skipped);
//! - the session's trampolines tell it which streams the peer ended
//!   (`on_frame_recv` of DATA or HEADERS with END_STREAM) or reset
//!   (`on_frame_recv` of RST_STREAM), and which ones this side reset
//!   (`on_frame_send` of RST_STREAM);
//! - when a frame touches such a stream, or is a PRIORITY to check, `recv`
//!   hands nghttp2 the input only up to that frame (so its state, and the
//!   marks, are exactly those the frame meets), decides, queues the answer
//!   with `nghttp2_session_terminate_session` or `nghttp2_submit_rst_stream`
//!   (between nghttp2 calls, never inside a callback), then hands nghttp2
//!   the rest. Once terminating, nghttp2 ignores all further input, so it
//!   never acts on the frame against the answer; a PRIORITY frame it only
//!   ignores.
//!
//! The frame and the answer reach the handler
//! ([`Handler::on_rule_broken`](crate::session::Handler::on_rule_broken)),
//! and the `-v` trace prints them as nghttpd prints the frames nghttp2
//! rejects: `[INVALID; error=Stream was already closed or invalid] recv
//! DATA frame <length=4, flags=0x00, stream_id=1>`, then the GOAWAY sent.
//!
//! # What is enforced, and the test that proves it
//!
//! Tests are in tests/conformance.rs; each socket test runs against the
//! library server over h2c and TLS and against h2serve over h2c and TLS.
//!
//! | Rule (RFC) | Answer | Tests |
//! |---|---|---|
//! | DATA or HEADERS on a stream the peer ended with END_STREAM, half-closed (remote) or closed (9113 §5.1) | GOAWAY STREAM_CLOSED | `data_after_end_stream_is_a_connection_error`, `headers_after_end_stream_is_a_connection_error`, `data_after_end_stream_in_the_same_write`, client side: `client_rejects_data_after_end_stream` |
//! | WINDOW_UPDATE, RST_STREAM and PRIORITY after the peer's END_STREAM stay allowed (9113 §5.1) | none | `frames_allowed_after_end_stream_pass` |
//! | any frame but PRIORITY after the peer's RST_STREAM (9113 §5.1, 7540 §5.1) | GOAWAY STREAM_CLOSED | `data_after_peer_reset_is_a_connection_error`, `headers_after_peer_reset_in_one_write_is_a_connection_error`, `window_update_after_peer_reset_is_a_connection_error`, client side: `client_rejects_data_after_server_reset` |
//! | frames arriving after *this side* sent RST_STREAM are ignored (9113 §5.1, MUST) | none | `data_after_our_reset_is_ignored` |
//! | PRIORITY on stream 0 (9113 §6.3) | GOAWAY PROTOCOL_ERROR | `priority_on_stream_zero_is_a_connection_error`, client side: `client_rejects_priority_on_stream_zero` |
//! | PRIORITY naming its own stream as dependency (7540 §5.3.1) | RST_STREAM PROTOCOL_ERROR on a stream nghttp2 knows, else GOAWAY PROTOCOL_ERROR | `priority_self_dependency_on_an_open_stream_resets_it`, `priority_self_dependency_on_an_idle_stream_is_a_connection_error` |
//! | bounded memory; past the window, nghttp2's behaviour (ignore) | — | `old_streams_past_the_window_are_ignored_and_memory_stays_bounded`, unit tests `window_is_bounded`, `no_memory_until_a_stream_ends` |
//! | the switch | — | `the_checks_can_be_turned_off` |
//! | the trace shows frame and answer | — | `the_trace_shows_the_frame_and_the_answer` |
//!
//! HEADERS naming its own stream as dependency is still caught by nghttp2
//! 1.68 itself (a connection error PROTOCOL_ERROR since 1.67).
//!
//! # Stream error or connection error
//!
//! RFC 9113 §5.1 asks for a stream error STREAM_CLOSED in half-closed
//! (remote) and after a received RST_STREAM, and allows a connection error
//! on a closed stream; §5.4.1 lets any stream error be treated as a
//! connection error. These frames are answered with a connection error
//! (GOAWAY STREAM_CLOSED), because that is what nghttp2 1.68 itself does
//! for DATA and HEADERS on a half-closed (remote) stream it still knows
//! (`"DATA: stream in half-closed(remote)"`, `"HEADERS: stream closed"`: "we
//! go further, and make it connection error"), and what earlier nghttp2
//! did for the closed streams it kept; and because
//! `nghttp2_submit_rst_stream` silently drops an RST_STREAM for a stream
//! nghttp2 no longer knows, so a stream error could not even be sent. For
//! the same reason a self-dependent PRIORITY is a stream error only while
//! nghttp2 knows the stream (an RST_STREAM on an idle stream would itself
//! break §6.4).
//!
//! # Where nghttp2 is stricter, and stays so
//!
//! nghttp2 1.68 treats a stream flow-control window overflow (a
//! WINDOW_UPDATE taking a stream's window past 2^31-1) and a WINDOW_UPDATE
//! with an increment of 0 on a stream as connection errors
//! (FLOW_CONTROL_ERROR, PROTOCOL_ERROR), where RFC 9113 §6.9 and §6.9.1
//! allow a stream error; 1.67 promoted these and other stream errors to
//! connection errors against the "MadeYouReset" attack (CVE-2025-8671).
//! They are left as nghttp2 decides (`nghttp2_stricter_choices_stay_connection_errors`).
//!
//! # Bounded memory
//!
//! What is remembered is two bits per stream id, in a ring covering the
//! [`WINDOW`] most recent ids of each parity (client- and server-initiated),
//! allocated when the first stream is ended or reset: a connection that
//! never ended a stream owns nothing here, and any other owns one fixed
//! block of 2 × `WINDOW` / 4 bytes (2 KiB, plus 32 bytes of ring heads),
//! however many streams the peer opens (`Session::conformance_heap_size`).
//! A frame for a stream older than the window is left to nghttp2, which
//! ignores it, as without this module. The per-connection state outside
//! the heap is a few dozen bytes. The input is split (one more
//! `nghttp2_session_mem_recv2` call) only at frames that touch an ended or
//! reset stream, or at a PRIORITY frame to check.

use crate::error::Reason;
use crate::session::frame::{Flags, FrameType, Priority};
use crate::session::stream_id::StreamId;

/// How many stream ids of each parity are remembered.
pub const WINDOW: u32 = 4096;

/// The 24-byte client connection preface a server reads first.
const PREFACE_LEN: usize = 24;
const FRAME_HEADER_LEN: usize = 9;
const PRIORITY_LEN: usize = 5;

/// What the session must do about a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Nothing: nghttp2 handles the frame as it does.
    Nothing,
    /// A stream error: RST_STREAM with this code.
    ResetStream(StreamId, Reason),
    /// A connection error: GOAWAY with this code, then close.
    GoAway(Reason),
}

/// What is known of one stream, two bits of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Mark {
    /// Nothing known (open, idle, or older than the window).
    None = 0,
    /// The peer sent END_STREAM: no DATA or HEADERS may follow.
    PeerEnded = 1,
    /// The peer sent RST_STREAM: nothing but PRIORITY may follow.
    PeerReset = 2,
    /// This side sent RST_STREAM: whatever follows is ignored.
    WeReset = 3,
}

impl Mark {
    fn from_bits(bits: u64) -> Mark {
        match bits & 3 {
            1 => Mark::PeerEnded,
            2 => Mark::PeerReset,
            3 => Mark::WeReset,
            _ => Mark::None,
        }
    }
}

/// The marks of the last [`WINDOW`] stream ids of one parity, as a ring of
/// 2-bit entries indexed by `stream id >> 1`.
#[derive(Debug)]
struct Ring {
    /// The highest index marked so far; entries in `(hi - WINDOW, hi]` are
    /// valid.
    hi: u32,
    bits: Box<[u64; (WINDOW as usize) * 2 / 64]>,
}

impl Ring {
    fn new() -> Ring {
        Ring {
            hi: 0,
            bits: Box::new([0; (WINDOW as usize) * 2 / 64]),
        }
    }

    fn slot(index: u32) -> (usize, u32) {
        let pos = (index % WINDOW) as usize * 2;
        (pos / 64, (pos % 64) as u32)
    }

    fn raw(&self, index: u32) -> Mark {
        let (word, shift) = Ring::slot(index);
        Mark::from_bits(self.bits[word] >> shift)
    }

    fn put(&mut self, index: u32, mark: Mark) {
        let (word, shift) = Ring::slot(index);
        self.bits[word] = (self.bits[word] & !(3 << shift)) | ((mark as u64) << shift);
    }

    fn get(&self, index: u32) -> Mark {
        if index > self.hi || self.hi - index >= WINDOW {
            return Mark::None;
        }
        self.raw(index)
    }

    fn set(&mut self, index: u32, mark: Mark) {
        if index > self.hi {
            // Slide the window: the entries that now stand for new ids are
            // cleared.
            if index - self.hi >= WINDOW {
                self.bits.fill(0);
            } else {
                for i in self.hi + 1..index {
                    self.put(i, Mark::None);
                }
            }
            self.hi = index;
        } else if self.hi - index >= WINDOW {
            return;
        }
        // What this side did last wins over what the peer did; a peer reset
        // wins over a peer end.
        let keep = self.raw(index).max_by(mark);
        self.put(index, keep);
    }
}

impl Mark {
    fn max_by(self, other: Mark) -> Mark {
        if (other as u8) > (self as u8) {
            other
        } else {
            self
        }
    }
}

/// Where the frame scanner is in the byte stream.
#[derive(Clone, Copy, Debug)]
enum Scan {
    /// Skipping this many bytes of the client preface.
    Preface(usize),
    /// Reading a frame header; `have` bytes of it are in `hd`.
    Header { have: usize },
    /// Reading a PRIORITY payload; `have` bytes of it are in `pri`.
    Priority { have: usize },
    /// Skipping this many bytes of payload.
    Payload(usize),
}

/// A frame header, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Payload length.
    pub length: usize,
    /// Frame type.
    pub frame_type: FrameType,
    /// Flags.
    pub flags: Flags,
    /// Stream id.
    pub stream_id: StreamId,
}

/// A point in the input where the session must look before nghttp2 reads
/// further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// A frame on a stream that was ended or reset: decide with
    /// [`Conformance::judge`] once nghttp2 has read everything before it.
    Stream(Header),
    /// A PRIORITY frame on stream 0.
    PriorityOnZero(Header, Priority),
    /// A PRIORITY frame naming its own stream as dependency.
    SelfDependency(Header, Priority),
}

impl Check {
    /// The frame in question.
    pub(crate) fn header(&self) -> &Header {
        match self {
            Check::Stream(hd) | Check::PriorityOnZero(hd, _) | Check::SelfDependency(hd, _) => hd,
        }
    }

    /// Its priority, for a PRIORITY frame.
    pub(crate) fn priority(&self) -> Option<Priority> {
        match self {
            Check::Stream(_) => None,
            Check::PriorityOnZero(_, p) | Check::SelfDependency(_, p) => Some(*p),
        }
    }
}

/// The conformance state of one session: the frame scanner and the marks
/// of recent streams.
#[derive(Debug)]
pub(crate) struct Conformance {
    scan: Scan,
    hd: [u8; FRAME_HEADER_LEN],
    pri: [u8; PRIORITY_LEN],
    /// The header of the frame being read.
    cur: Option<Header>,
    /// Allocated on the first mark, one per parity (even, odd).
    rings: Option<Box<[Ring; 2]>>,
    /// Streams the scanner saw ended or reset by the peer since the last
    /// point where nghttp2 caught up (the callbacks will mark them); past
    /// its size, any stream counts.
    pending: [u32; 8],
    pending_len: usize,
}

impl Conformance {
    /// The state of a new session; a server first skips the client preface
    /// (unless the session was made with `no_recv_client_magic`).
    pub fn new(expect_preface: bool) -> Conformance {
        Conformance {
            scan: if expect_preface {
                Scan::Preface(PREFACE_LEN)
            } else {
                Scan::Header { have: 0 }
            },
            hd: [0; FRAME_HEADER_LEN],
            pri: [0; PRIORITY_LEN],
            cur: None,
            rings: None,
            pending: [0; 8],
            pending_len: 0,
        }
    }

    /// Bytes of heap this state owns (0 until the first stream is marked).
    pub fn heap_size(&self) -> usize {
        if self.rings.is_some() {
            std::mem::size_of::<[Ring; 2]>()
                + 2 * std::mem::size_of::<[u64; (WINDOW as usize) * 2 / 64]>()
        } else {
            0
        }
    }

    fn mark(&mut self, stream_id: StreamId, mark: Mark) {
        let id = stream_id.get();
        if id == 0 {
            return;
        }
        let rings = self
            .rings
            .get_or_insert_with(|| Box::new([Ring::new(), Ring::new()]));
        rings[(id & 1) as usize].set(id >> 1, mark);
    }

    /// What is known of a stream.
    pub(crate) fn mark_of(&self, stream_id: StreamId) -> Mark {
        let id = stream_id.get();
        match &self.rings {
            Some(rings) if id > 0 => rings[(id & 1) as usize].get(id >> 1),
            _ => Mark::None,
        }
    }

    /// nghttp2 accepted a frame from the peer (`on_frame_recv`).
    pub fn frame_received(&mut self, frame_type: FrameType, flags: Flags, stream_id: StreamId) {
        if frame_type == FrameType::RST_STREAM {
            self.mark(stream_id, Mark::PeerReset);
        } else if (frame_type == FrameType::DATA || frame_type == FrameType::HEADERS)
            && flags.contains(Flags::END_STREAM)
        {
            self.mark(stream_id, Mark::PeerEnded);
        }
    }

    /// This side sent a frame (`on_frame_send`).
    pub fn frame_sent(&mut self, frame_type: FrameType, stream_id: StreamId) {
        if frame_type == FrameType::RST_STREAM {
            self.mark(stream_id, Mark::WeReset);
        }
    }

    fn is_pending(&self, stream_id: StreamId) -> bool {
        let id = stream_id.get();
        self.pending_len > self.pending.len() || self.pending[..self.pending_len].contains(&id)
    }

    fn note_pending(&mut self, stream_id: StreamId) {
        if self.pending_len < self.pending.len() {
            self.pending[self.pending_len] = stream_id.get();
        }
        self.pending_len = (self.pending_len + 1).min(self.pending.len() + 1);
    }

    /// Scans `input` for the next point that needs a check. Returns the
    /// offset in `input` of the byte *before which* nghttp2 must stop (so
    /// it has not yet acted on the frame in question) and the check; or
    /// `None` once all of `input` was scanned without one.
    pub fn scan(&mut self, input: &[u8]) -> Option<(usize, Check)> {
        let mut pos = 0;
        while pos < input.len() {
            match self.scan {
                Scan::Preface(left) => {
                    let n = left.min(input.len() - pos);
                    pos += n;
                    self.scan = if left == n {
                        Scan::Header { have: 0 }
                    } else {
                        Scan::Preface(left - n)
                    };
                }
                Scan::Payload(left) => {
                    let n = left.min(input.len() - pos);
                    pos += n;
                    self.scan = if left == n {
                        Scan::Header { have: 0 }
                    } else {
                        Scan::Payload(left - n)
                    };
                }
                Scan::Header { have } => {
                    let n = (FRAME_HEADER_LEN - have).min(input.len() - pos);
                    self.hd[have..have + n].copy_from_slice(&input[pos..pos + n]);
                    let have = have + n;
                    if have < FRAME_HEADER_LEN {
                        self.scan = Scan::Header { have };
                        pos += n;
                        continue;
                    }
                    // The last header byte is at pos + n - 1: nghttp2 must
                    // stop before it to not yet act on this frame.
                    let stop = pos + n - 1;
                    pos += n;
                    let hd = self.decode();
                    self.cur = Some(hd);
                    self.scan = if hd.length == 0 {
                        Scan::Header { have: 0 }
                    } else {
                        Scan::Payload(hd.length)
                    };
                    if hd.frame_type == FrameType::PRIORITY && hd.length == PRIORITY_LEN {
                        self.scan = Scan::Priority { have: 0 };
                        continue;
                    }
                    if let Some(check) = self.on_header(hd) {
                        return Some((stop, check));
                    }
                }
                Scan::Priority { have } => {
                    let n = (PRIORITY_LEN - have).min(input.len() - pos);
                    self.pri[have..have + n].copy_from_slice(&input[pos..pos + n]);
                    let have = have + n;
                    let stop = pos + n - 1;
                    pos += n;
                    if have < PRIORITY_LEN {
                        self.scan = Scan::Priority { have };
                        continue;
                    }
                    self.scan = Scan::Header { have: 0 };
                    let Some(hd) = self.cur else { continue };
                    let dep =
                        u32::from_be_bytes([self.pri[0], self.pri[1], self.pri[2], self.pri[3]])
                            & 0x7fff_ffff;
                    let priority = Priority {
                        stream_id: StreamId::from_raw(dep as i32),
                        weight: self.pri[4] as i32 + 1,
                        exclusive: self.pri[0] & 0x80 != 0,
                    };
                    let check = if hd.stream_id.get() == 0 {
                        Check::PriorityOnZero(hd, priority)
                    } else if dep == hd.stream_id.get() {
                        Check::SelfDependency(hd, priority)
                    } else {
                        continue;
                    };
                    self.pending_len = 0;
                    return Some((stop, check));
                }
            }
        }
        None
    }

    fn decode(&self) -> Header {
        let h = &self.hd;
        Header {
            length: (h[0] as usize) << 16 | (h[1] as usize) << 8 | h[2] as usize,
            frame_type: FrameType(h[3]),
            flags: Flags(h[4]),
            stream_id: StreamId::from_raw(
                (u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff) as i32,
            ),
        }
    }

    /// A complete frame header: does it need a check, and will it mark a
    /// stream once nghttp2 reads it?
    fn on_header(&mut self, hd: Header) -> Option<Check> {
        if hd.stream_id.get() == 0 {
            return None;
        }
        let t = hd.frame_type;
        let watched = t == FrameType::DATA
            || t == FrameType::HEADERS
            || t == FrameType::WINDOW_UPDATE
            || t == FrameType::RST_STREAM;
        if !watched {
            return None;
        }
        // Only what `judge` could answer is a check (each one costs an
        // extra nghttp2 call): DATA and HEADERS after the peer's end, any
        // of these after its reset, and whatever a frame earlier in the
        // input (not yet read by nghttp2) may turn into either.
        let data_or_headers = t == FrameType::DATA || t == FrameType::HEADERS;
        let worth = match self.mark_of(hd.stream_id) {
            Mark::PeerEnded => data_or_headers,
            Mark::PeerReset => true,
            Mark::WeReset => false,
            Mark::None => self.is_pending(hd.stream_id),
        };
        let check = worth.then_some(Check::Stream(hd));
        if check.is_some() {
            // nghttp2 reads every frame before this one before the check:
            // their marks will be in place.
            self.pending_len = 0;
        }
        if t == FrameType::RST_STREAM || (data_or_headers && hd.flags.contains(Flags::END_STREAM)) {
            self.note_pending(hd.stream_id);
        }
        check
    }

    /// The answer to a [`Check::Stream`], once nghttp2 has read everything
    /// before the frame (so the marks are current).
    pub fn judge(&self, hd: &Header) -> Answer {
        let t = hd.frame_type;
        match self.mark_of(hd.stream_id) {
            Mark::PeerEnded if t == FrameType::DATA || t == FrameType::HEADERS => {
                Answer::GoAway(Reason::STREAM_CLOSED)
            }
            Mark::PeerReset => Answer::GoAway(Reason::STREAM_CLOSED),
            _ => Answer::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(t: u8, flags: u8, id: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
        v.push(t);
        v.push(flags);
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn sid(n: i32) -> StreamId {
        StreamId::from_raw(n)
    }

    /// Scans `input` as `recv` does and returns the checks with their
    /// judgements.
    fn run(c: &mut Conformance, input: &[u8]) -> Vec<(usize, Check, Answer)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((stop, check)) = c.scan(&input[at..]) {
            let answer = match check {
                Check::Stream(hd) => c.judge(&hd),
                Check::PriorityOnZero(..) => Answer::GoAway(Reason::PROTOCOL_ERROR),
                Check::SelfDependency(hd, _) => {
                    Answer::ResetStream(hd.stream_id, Reason::PROTOCOL_ERROR)
                }
            };
            out.push((at + stop, check, answer));
            at += stop + 1;
        }
        out
    }

    #[test]
    fn preface_is_skipped_and_headers_found_across_splits() {
        let mut c = Conformance::new(true);
        c.frame_received(FrameType::HEADERS, Flags(1), sid(1));
        let mut input = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        input.extend(frame(4, 0, 0, &[]));
        input.extend(frame(0, 0, 1, b"hello"));
        // Fed one byte at a time, the DATA header still completes once.
        let mut checks = Vec::new();
        for (i, b) in input.iter().enumerate() {
            if let Some((stop, check)) = c.scan(std::slice::from_ref(b)) {
                assert_eq!(stop, 0);
                checks.push((i, check));
            }
        }
        assert_eq!(checks.len(), 1);
        let (at, Check::Stream(hd)) = checks[0] else {
            panic!("{checks:?}")
        };
        assert_eq!(at, 24 + 9 + 8, "stops before the last header byte");
        assert_eq!(hd.frame_type, FrameType::DATA);
        assert_eq!(c.judge(&hd), Answer::GoAway(Reason::STREAM_CLOSED));
    }

    #[test]
    fn frames_after_end_stream() {
        let mut c = Conformance::new(false);
        c.frame_received(FrameType::HEADERS, Flags(1), sid(1));
        let mut input = frame(8, 0, 1, &1u32.to_be_bytes());
        input.extend(frame(3, 0, 1, &0u32.to_be_bytes()));
        input.extend(frame(2, 0, 1, &[0, 0, 0, 3, 16]));
        let got = run(&mut c, &input);
        // WINDOW_UPDATE and RST_STREAM are allowed after END_STREAM.
        assert!(got.iter().all(|g| g.2 == Answer::Nothing), "{got:?}");
        let mut c = Conformance::new(false);
        c.frame_received(FrameType::DATA, Flags(1), sid(3));
        let got = run(&mut c, &frame(1, 4, 3, b""));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, Answer::GoAway(Reason::STREAM_CLOSED));
    }

    #[test]
    fn frames_after_peer_reset_but_not_ours() {
        let mut c = Conformance::new(false);
        c.frame_received(FrameType::RST_STREAM, Flags(0), sid(1));
        c.frame_sent(FrameType::RST_STREAM, sid(3));
        c.frame_received(FrameType::HEADERS, Flags(1), sid(3));
        for t in [0u8, 1, 8] {
            let got = run(&mut c, &frame(t, 0, 1, &[0, 0, 0, 1]));
            assert_eq!(got[0].2, Answer::GoAway(Reason::STREAM_CLOSED), "type {t}");
            let got = run(&mut c, &frame(t, 0, 3, &[0, 0, 0, 1]));
            assert!(
                got.iter().all(|g| g.2 == Answer::Nothing),
                "type {t}: {got:?}"
            );
        }
        // PRIORITY is always allowed.
        assert!(run(&mut c, &frame(2, 0, 1, &[0, 0, 0, 3, 16])).is_empty());
    }

    #[test]
    fn an_end_in_the_same_input_is_checked_after_nghttp2_reads_it() {
        let mut c = Conformance::new(false);
        let mut input = frame(1, 5, 1, b"\x82");
        let data_at = input.len();
        input.extend(frame(0, 0, 1, b"x"));
        input.extend(frame(1, 5, 3, b"\x82"));
        let (stop, check) = c.scan(&input).expect("DATA on 1 is checked");
        assert_eq!(stop, data_at + 8);
        // nghttp2 read the HEADERS with END_STREAM before the check.
        c.frame_received(FrameType::HEADERS, Flags(5), sid(1));
        let Check::Stream(hd) = check else { panic!() };
        assert_eq!(c.judge(&hd), Answer::GoAway(Reason::STREAM_CLOSED));
        // The next stream's HEADERS is not a check.
        assert_eq!(c.scan(&input[stop + 1..]), None);
    }

    #[test]
    fn priority_checks() {
        let mut c = Conformance::new(false);
        let mut input = frame(2, 0, 0, &[0, 0, 0, 1, 16]);
        input.extend(frame(2, 0, 5, &[0x80, 0, 0, 5, 16]));
        input.extend(frame(2, 0, 7, &[0, 0, 0, 5, 16]));
        let got = run(&mut c, &input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, 9 + 4);
        assert!(matches!(got[0].1, Check::PriorityOnZero(..)));
        let Check::SelfDependency(hd, pri) = got[1].1 else {
            panic!("{got:?}")
        };
        assert_eq!(hd.stream_id, sid(5));
        assert_eq!(
            (pri.stream_id, pri.weight, pri.exclusive),
            (sid(5), 17, true)
        );
        // A PRIORITY of the wrong length is left to nghttp2 (FRAME_SIZE_ERROR).
        assert!(run(&mut c, &frame(2, 0, 0, &[0, 0, 0, 1])).is_empty());
    }

    #[test]
    fn no_memory_until_a_stream_ends() {
        // What every session carries inline (inside its existing user data).
        let inline = std::mem::size_of::<Conformance>();
        assert!(inline <= 128, "{inline} bytes");
        let mut c = Conformance::new(true);
        assert_eq!(c.heap_size(), 0);
        c.frame_received(FrameType::HEADERS, Flags(4), sid(1));
        c.frame_received(FrameType::WINDOW_UPDATE, Flags(0), sid(1));
        assert_eq!(c.heap_size(), 0);
        c.frame_received(FrameType::HEADERS, Flags(5), sid(1));
        assert!(c.heap_size() > 0);
    }

    #[test]
    fn window_is_bounded() {
        let mut c = Conformance::new(false);
        c.frame_received(FrameType::HEADERS, Flags(1), sid(1));
        let size = c.heap_size();
        assert!(size <= 2 * 1024 + 64, "{size}");
        // A hundred thousand streams later the size is the same, the
        // oldest are forgotten and the last WINDOW are remembered.
        let mut id = 1;
        for _ in 0..100_000 {
            id += 2;
            c.frame_received(FrameType::HEADERS, Flags(1), sid(id));
        }
        assert_eq!(c.heap_size(), size);
        assert_eq!(c.mark_of(sid(1)), Mark::None);
        assert_eq!(c.mark_of(sid(id)), Mark::PeerEnded);
        assert_eq!(
            c.mark_of(sid(id - 2 * (WINDOW as i32 - 1))),
            Mark::PeerEnded
        );
        assert_eq!(c.mark_of(sid(id - 2 * WINDOW as i32)), Mark::None);
        // A jump clears what the window passed over.
        c.frame_sent(FrameType::RST_STREAM, sid(id + 2 * 10));
        assert_eq!(c.mark_of(sid(id + 2 * 5)), Mark::None);
        assert_eq!(c.mark_of(sid(id + 2 * 10)), Mark::WeReset);
        // Our reset wins over the peer's end, whatever the order.
        c.frame_received(FrameType::HEADERS, Flags(1), sid(id + 20));
        assert_eq!(c.mark_of(sid(id + 20)), Mark::WeReset);
        // Marks below the window are dropped, not stored.
        c.frame_received(FrameType::RST_STREAM, Flags(0), sid(1));
        assert_eq!(c.mark_of(sid(1)), Mark::None);
        // The even ids have a window of their own.
        c.frame_received(FrameType::DATA, Flags(1), sid(2));
        assert_eq!(c.mark_of(sid(2)), Mark::PeerEnded);
        assert_eq!(c.heap_size(), size);
    }
}
