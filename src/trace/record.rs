//! What a trace records about a frame: [`Direction`] and [`FrameRecord`],
//! an owned snapshot both formats render.

use crate::error::Reason;
use crate::session::{
    Flags, Frame, FrameHeader, FrameType, Header, HeaderRef, HeadersCategory, Priority, Setting,
    StreamId,
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

pub(crate) fn owned_header(h: HeaderRef<'_>) -> Header {
    Header {
        name: h.name.to_vec().into(),
        value: h.value.to_vec().into(),
        sensitive: h.sensitive,
    }
}
