//! Test support: a recording handler, a pump that wires two sessions back to
//! back in memory, and a hand-rolled frame builder for bad input.
#![allow(dead_code)]

pub mod peers;
pub mod trace;
pub mod wire;

use std::collections::BTreeMap;

use nghttp2::session::{
    CallbackResult, Flags, Frame, FrameType, HeaderRef, HeadersCategory, Session, SessionRef,
    StreamId,
};
use nghttp2::{Error, Reason};

pub use nghttp2::session::Handler;

/// Stream `n`, for tests that name streams by number.
pub fn sid(n: u32) -> StreamId {
    StreamId::new(n).expect("a 31-bit stream id")
}

/// A stream id, or a number standing for one.
pub trait IntoStreamId {
    fn into_stream_id(self) -> StreamId;
}

impl IntoStreamId for StreamId {
    fn into_stream_id(self) -> StreamId {
        self
    }
}

impl IntoStreamId for i32 {
    fn into_stream_id(self) -> StreamId {
        sid(u32::try_from(self).expect("a stream id is not negative"))
    }
}

/// What one side saw of one stream.
#[derive(Debug, Default, Clone)]
pub struct StreamRecord {
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub trailers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
    /// The peer's END_STREAM arrived.
    pub ended: bool,
    /// The stream closed, with this code.
    pub closed: Option<Reason>,
}

impl StreamRecord {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

type OnRequest = Box<dyn FnMut(&mut SessionRef, StreamId, &StreamRecord) + Send>;

/// A handler that records everything and, on a server, answers each
/// complete request through `on_request`.
#[derive(Default)]
pub struct Recorder {
    pub streams: BTreeMap<StreamId, StreamRecord>,
    pub frames: Vec<(FrameType, Flags, StreamId)>,
    pub goaway: Option<(StreamId, Reason)>,
    pub pings: Vec<([u8; 8], bool)>,
    pub settings: Vec<(i32, u32)>,
    /// Give received DATA back to the windows at once (only matters with
    /// `no_auto_window_update`).
    pub auto_consume: bool,
    pub on_request: Option<OnRequest>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("streams", &self.streams.len())
            .finish()
    }
}

impl Recorder {
    pub fn answering(
        on_request: impl FnMut(&mut SessionRef, StreamId, &StreamRecord) + Send + 'static,
    ) -> Self {
        Recorder {
            on_request: Some(Box::new(on_request)),
            ..Recorder::default()
        }
    }

    pub fn stream(&self, id: impl IntoStreamId) -> &StreamRecord {
        let id = id.into_stream_id();
        self.streams
            .get(&id)
            .unwrap_or_else(|| panic!("no record of stream {id}"))
    }

    pub fn count(&self, frame_type: FrameType) -> usize {
        self.frames
            .iter()
            .filter(|(t, _, _)| *t == frame_type)
            .count()
    }
}

impl Handler for Recorder {
    fn on_header(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        h: HeaderRef<'_>,
    ) -> CallbackResult {
        let record = self.streams.entry(frame.stream_id()).or_default();
        let field = (h.name.to_vec(), h.value.to_vec());
        if frame.headers_category() == Some(HeadersCategory::Headers) && !record.headers.is_empty()
        {
            record.trailers.push(field);
        } else {
            record.headers.push(field);
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
        self.streams
            .entry(stream_id)
            .or_default()
            .body
            .extend_from_slice(data);
        if self.auto_consume {
            cx.consume(stream_id, data.len()).expect("consume");
        }
        Ok(())
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.frames
            .push((frame.frame_type(), frame.flags(), frame.stream_id()));
        match frame.frame_type() {
            FrameType::GOAWAY => {
                self.goaway = Some((frame.last_stream_id().unwrap(), frame.error_code().unwrap()));
            }
            FrameType::PING => self
                .pings
                .push((frame.ping_data().unwrap(), frame.is_ack())),
            FrameType::SETTINGS if !frame.is_ack() => {
                self.settings
                    .extend(frame.settings().map(|s| (s.id.0, s.value)));
            }
            _ => {}
        }
        if frame.is_end_stream() {
            let id = frame.stream_id();
            let record = self.streams.entry(id).or_default();
            record.ended = true;
            let record = record.clone();
            if let Some(on_request) = self.on_request.as_mut() {
                on_request(cx, id, &record);
            }
        }
        Ok(())
    }

    fn on_stream_close(
        &mut self,
        _cx: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        self.streams.entry(stream_id).or_default().closed = Some(reason);
        Ok(())
    }
}

/// Moves bytes between the two sessions until neither has anything to say.
/// Returns the number of round trips; fails on the first session error.
pub fn pump<A: Handler, B: Handler>(
    a: &mut Session<A>,
    b: &mut Session<B>,
) -> Result<usize, Error> {
    const MAX_ROUNDS: usize = 100_000;
    let mut buf = Vec::new();
    for round in 0..MAX_ROUNDS {
        let mut moved = false;
        buf.clear();
        a.send(&mut buf)?;
        if !buf.is_empty() {
            moved = true;
            b.recv(&buf)?;
        }
        buf.clear();
        b.send(&mut buf)?;
        if !buf.is_empty() {
            moved = true;
            a.recv(&buf)?;
        }
        if !moved {
            return Ok(round);
        }
    }
    panic!("sessions still talking after {MAX_ROUNDS} rounds");
}

/// The request pseudo-headers of a request for `path`.
pub fn request_headers<'a>(method: &'a str, path: &'a str) -> [HeaderRef<'a>; 4] {
    [
        HeaderRef::new(b":method", method.as_bytes()),
        HeaderRef::new(b":scheme", b"https"),
        HeaderRef::new(b":authority", b"example.test"),
        HeaderRef::new(b":path", path.as_bytes()),
    ]
}

/// The 24-byte client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One raw frame.
pub fn raw_frame(frame_type: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        frame_type,
        flags,
    ];
    out.extend_from_slice(&stream_id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The frames in a byte stream: (type, flags, stream id, payload).
pub fn parse_frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    if bytes.starts_with(PREFACE) {
        bytes = &bytes[PREFACE.len()..];
    }
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let len = (bytes[0] as usize) << 16 | (bytes[1] as usize) << 8 | bytes[2] as usize;
        let stream_id = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        let end = (9 + len).min(bytes.len());
        frames.push((bytes[3], bytes[4], stream_id, bytes[9..end].to_vec()));
        bytes = &bytes[end..];
    }
    frames
}

/// The error code of the first GOAWAY in a byte stream.
pub fn goaway_code(bytes: &[u8]) -> Option<Reason> {
    parse_frames(bytes)
        .into_iter()
        .find(|f| f.0 == 0x7)
        .map(|(_, _, _, p)| Reason(u32::from_be_bytes([p[4], p[5], p[6], p[7]])))
}
