//! Typed, borrowed views of the frames nghttp2 reports to a [`Handler`].
//!
//! A [`Frame`] borrows what the C trampoline flattened from nghttp2's
//! `nghttp2_frame` union; it lives only for the callback that received it.
//!
//! [`Handler`]: crate::session::Handler

use std::fmt;

use crate::error::Reason;
use crate::ffi::shim;
use crate::session::settings::{Setting, SettingId};
use crate::session::stream_id::StreamId;

/// A frame type (RFC 9113 section 6, plus the extensions nghttp2 knows).
/// Open: unknown types are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameType(pub u8);

macro_rules! frame_types {
    ($($(#[$doc:meta])* $name:ident = $code:expr;)*) => {
        impl FrameType {
            $($(#[$doc])* pub const $name: FrameType = FrameType($code);)*

            /// The frame type's name as nghttp2's tools print it (`DATA`,
            /// `WINDOW_UPDATE`), or `None` for an unknown type.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

frame_types! {
    /// DATA (0x0).
    DATA = 0x0;
    /// HEADERS (0x1).
    HEADERS = 0x1;
    /// PRIORITY (0x2).
    PRIORITY = 0x2;
    /// RST_STREAM (0x3).
    RST_STREAM = 0x3;
    /// SETTINGS (0x4).
    SETTINGS = 0x4;
    /// PUSH_PROMISE (0x5).
    PUSH_PROMISE = 0x5;
    /// PING (0x6).
    PING = 0x6;
    /// GOAWAY (0x7).
    GOAWAY = 0x7;
    /// WINDOW_UPDATE (0x8).
    WINDOW_UPDATE = 0x8;
    /// CONTINUATION (0x9).
    CONTINUATION = 0x9;
    /// ALTSVC (0xa, RFC 7838).
    ALTSVC = 0xa;
    /// ORIGIN (0xc, RFC 8336).
    ORIGIN = 0xc;
    /// PRIORITY_UPDATE (0x10, RFC 9218).
    PRIORITY_UPDATE = 0x10;
}

impl fmt::Debug for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "FrameType(0x{:02x})", self.0),
        }
    }
}

/// The flags byte of a frame header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags(0);
    /// END_STREAM (DATA, HEADERS).
    pub const END_STREAM: Flags = Flags(0x1);
    /// ACK (SETTINGS, PING); the same bit as END_STREAM.
    pub const ACK: Flags = Flags(0x1);
    /// END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION).
    pub const END_HEADERS: Flags = Flags(0x4);
    /// PADDED (DATA, HEADERS, PUSH_PROMISE).
    pub const PADDED: Flags = Flags(0x8);
    /// PRIORITY (HEADERS).
    pub const PRIORITY: Flags = Flags(0x20);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw byte.
    pub fn bits(self) -> u8 {
        self.0
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags(0x{:02x})", self.0)
    }
}

/// The 9-byte frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The payload length.
    pub length: usize,
    /// The frame type.
    pub frame_type: FrameType,
    /// The flags.
    pub flags: Flags,
    /// The stream id ([`StreamId::CONNECTION`] for the connection).
    pub stream_id: StreamId,
}

impl FrameHeader {
    pub(crate) fn from_raw(hd: &shim::h2shim_frame_hd) -> FrameHeader {
        FrameHeader {
            length: hd.length,
            frame_type: FrameType(hd.type_),
            flags: Flags(hd.flags),
            stream_id: StreamId::from_raw(hd.stream_id),
        }
    }
}

/// What a HEADERS frame is, as nghttp2 classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadersCategory {
    /// The first HEADERS of a request (opens a stream).
    Request,
    /// The first HEADERS of a response.
    Response,
    /// The first HEADERS of a pushed response.
    PushResponse,
    /// Anything else: trailers, or a non-final (1xx) response.
    Headers,
}

impl HeadersCategory {
    fn from_raw(cat: i32) -> HeadersCategory {
        match cat {
            0 => HeadersCategory::Request,
            1 => HeadersCategory::Response,
            2 => HeadersCategory::PushResponse,
            _ => HeadersCategory::Headers,
        }
    }
}

/// RFC 7540 priority information (HEADERS with PRIORITY, and PRIORITY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream this one depends on.
    pub stream_id: StreamId,
    /// The weight, 1 to 256.
    pub weight: i32,
    /// The exclusive bit.
    pub exclusive: bool,
}

/// One header field, borrowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The name (lower case in HTTP/2).
    pub name: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// True when the field must never be indexed by HPACK.
    pub sensitive: bool,
}

impl fmt::Debug for HeaderRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            String::from_utf8_lossy(self.name),
            String::from_utf8_lossy(self.value)
        )
    }
}

/// `NGHTTP2_NV_FLAG_NO_INDEX`.
pub(crate) const NV_FLAG_NO_INDEX: u8 = 0x1;

/// Builds a slice from a pointer and length that C handed over.
///
/// # Safety
///
/// When `len > 0`, `ptr` must point at `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn c_slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller promises `len` readable bytes at `ptr`.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// A frame received, sent, or not sent, as nghttp2 reported it.
///
/// Accessors answer for the frame types they belong to and return `None`
/// (or an empty list) for the others.
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    raw: &'a shim::h2shim_frame,
}

impl<'a> Frame<'a> {
    /// Wraps a flattened frame.
    ///
    /// # Safety
    ///
    /// Every pointer in `raw` must be null or valid for its length for `'a`
    /// (true for the duration of the callback that received it).
    pub(crate) unsafe fn from_raw(raw: &'a shim::h2shim_frame) -> Frame<'a> {
        Frame { raw }
    }

    /// The frame header.
    pub fn header(&self) -> FrameHeader {
        FrameHeader::from_raw(&self.raw.hd)
    }

    /// The frame type.
    pub fn frame_type(&self) -> FrameType {
        FrameType(self.raw.hd.type_)
    }

    /// The flags.
    pub fn flags(&self) -> Flags {
        Flags(self.raw.hd.flags)
    }

    /// The stream id.
    pub fn stream_id(&self) -> StreamId {
        StreamId::from_raw(self.raw.hd.stream_id)
    }

    /// The payload length.
    pub fn length(&self) -> usize {
        self.raw.hd.length
    }

    /// True when END_STREAM is set on a DATA or HEADERS frame.
    pub fn is_end_stream(&self) -> bool {
        matches!(self.frame_type(), FrameType::DATA | FrameType::HEADERS)
            && self.flags().contains(Flags::END_STREAM)
    }

    /// True when ACK is set on a SETTINGS or PING frame.
    pub fn is_ack(&self) -> bool {
        matches!(self.frame_type(), FrameType::SETTINGS | FrameType::PING)
            && self.flags().contains(Flags::ACK)
    }

    /// DATA, HEADERS, PUSH_PROMISE: the padding length, counting the pad
    /// length byte.
    pub fn padlen(&self) -> usize {
        self.raw.padlen
    }

    /// HEADERS: what the block is.
    pub fn headers_category(&self) -> Option<HeadersCategory> {
        (self.frame_type() == FrameType::HEADERS)
            .then(|| HeadersCategory::from_raw(self.raw.headers_category))
    }

    /// HEADERS with the PRIORITY flag, and PRIORITY: the RFC 7540 priority.
    pub fn priority(&self) -> Option<Priority> {
        let has = match self.frame_type() {
            FrameType::PRIORITY => true,
            FrameType::HEADERS => self.flags().contains(Flags::PRIORITY),
            _ => false,
        };
        has.then_some(Priority {
            stream_id: StreamId::from_raw(self.raw.pri_stream_id),
            weight: self.raw.pri_weight,
            exclusive: self.raw.pri_exclusive != 0,
        })
    }

    /// RST_STREAM and GOAWAY: the error code.
    pub fn error_code(&self) -> Option<Reason> {
        matches!(self.frame_type(), FrameType::RST_STREAM | FrameType::GOAWAY)
            .then_some(Reason(self.raw.error_code))
    }

    /// GOAWAY: the last stream id.
    pub fn last_stream_id(&self) -> Option<StreamId> {
        (self.frame_type() == FrameType::GOAWAY)
            .then_some(StreamId::from_raw(self.raw.last_stream_id))
    }

    /// GOAWAY: the opaque (debug) data.
    pub fn goaway_debug_data(&self) -> Option<&'a [u8]> {
        (self.frame_type() == FrameType::GOAWAY).then(|| self.data())
    }

    /// WINDOW_UPDATE: the increment.
    pub fn window_size_increment(&self) -> Option<i32> {
        (self.frame_type() == FrameType::WINDOW_UPDATE).then_some(self.raw.window_size_increment)
    }

    /// PUSH_PROMISE: the promised stream id.
    pub fn promised_stream_id(&self) -> Option<StreamId> {
        (self.frame_type() == FrameType::PUSH_PROMISE)
            .then_some(StreamId::from_raw(self.raw.promised_stream_id))
    }

    /// PING: the 8 opaque bytes.
    pub fn ping_data(&self) -> Option<[u8; 8]> {
        (self.frame_type() == FrameType::PING).then_some(self.raw.opaque_data)
    }

    /// SETTINGS: the entries.
    pub fn settings(&self) -> impl ExactSizeIterator<Item = Setting> + 'a {
        let entries: &'a [shim::h2shim_setting] =
            if self.frame_type() == FrameType::SETTINGS && !self.raw.settings.is_null() {
                // SAFETY: nghttp2's iv array holds `niv` entries for the
                // callback's duration (Frame::from_raw's contract).
                unsafe { std::slice::from_raw_parts(self.raw.settings, self.raw.niv) }
            } else {
                &[]
            };
        entries
            .iter()
            .map(|e| Setting::new(SettingId(e.id), e.value))
    }

    /// ALTSVC: the origin and the Alt-Svc field value.
    pub fn altsvc(&self) -> Option<(&'a [u8], &'a [u8])> {
        if self.frame_type() != FrameType::ALTSVC {
            return None;
        }
        // SAFETY: Frame::from_raw's contract.
        let origin = unsafe { c_slice(self.raw.origin, self.raw.origin_len) };
        Some((origin, self.data()))
    }

    /// ORIGIN: the origins.
    pub fn origins(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let entries: &'a [shim::h2shim_origin] =
            if self.frame_type() == FrameType::ORIGIN && !self.raw.origins.is_null() {
                // SAFETY: nghttp2's ov array holds `nov` entries
                // (Frame::from_raw's contract).
                unsafe { std::slice::from_raw_parts(self.raw.origins, self.raw.norigins) }
            } else {
                &[]
            };
        // SAFETY: each origin points at origin_len bytes (same contract).
        entries
            .iter()
            .map(|o| unsafe { c_slice(o.origin, o.origin_len) })
    }

    /// PRIORITY_UPDATE: the prioritized stream and the Priority field value.
    pub fn priority_update(&self) -> Option<(StreamId, &'a [u8])> {
        (self.frame_type() == FrameType::PRIORITY_UPDATE)
            .then(|| (StreamId::from_raw(self.raw.promised_stream_id), self.data()))
    }

    /// HEADERS and PUSH_PROMISE that this side sends: the header fields.
    /// Empty for received frames, whose fields arrive through
    /// [`Handler::on_header`](crate::session::Handler::on_header).
    pub fn sent_headers(&self) -> impl ExactSizeIterator<Item = HeaderRef<'a>> + 'a {
        let nva: &'a [shim::h2shim_nv] = if self.raw.nva.is_null() {
            &[]
        } else {
            // SAFETY: nghttp2's nva array holds `nvlen` entries
            // (Frame::from_raw's contract).
            unsafe { std::slice::from_raw_parts(self.raw.nva, self.raw.nvlen) }
        };
        nva.iter().map(|nv| HeaderRef {
            // SAFETY: each nv points at namelen/valuelen bytes (same contract).
            name: unsafe { c_slice(nv.name, nv.namelen) },
            // SAFETY: as above.
            value: unsafe { c_slice(nv.value, nv.valuelen) },
            sensitive: nv.flags & NV_FLAG_NO_INDEX != 0,
        })
    }

    fn data(&self) -> &'a [u8] {
        // SAFETY: Frame::from_raw's contract.
        unsafe { c_slice(self.raw.data, self.raw.datalen) }
    }
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("type", &self.frame_type())
            .field("flags", &self.flags())
            .field("stream_id", &self.stream_id())
            .field("length", &self.length())
            .finish()
    }
}
