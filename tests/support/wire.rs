//! A hand-rolled HTTP/2 client for hostile tests: frames written byte by
//! byte (builders on top of [`raw_frame`]), request header blocks from
//! nghttp2's HPACK encoder or encoded raw, and a socket wrapper whose every
//! read and write is bounded in time.

use std::net::SocketAddr;
use std::time::Duration;

use nghttp2::hpack::{Deflater, HeaderField, Inflater};
use nghttp2::Reason;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::{raw_frame, PREFACE};

/// Frame types (RFC 9113 section 6).
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

/// Frame flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// Setting identifiers.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

/// How long one read or write of the test client may take before the test
/// calls the server stuck.
pub const IO_LIMIT: Duration = Duration::from_secs(10);

pub fn headers(stream_id: u32, block: &[u8], flags: u8) -> Vec<u8> {
    raw_frame(HEADERS, flags, stream_id, block)
}

pub fn continuation(stream_id: u32, block: &[u8], flags: u8) -> Vec<u8> {
    raw_frame(CONTINUATION, flags, stream_id, block)
}

pub fn data(stream_id: u32, payload: &[u8], end_stream: bool) -> Vec<u8> {
    raw_frame(
        DATA,
        if end_stream { END_STREAM } else { 0 },
        stream_id,
        payload,
    )
}

pub fn rst_stream(stream_id: u32, code: Reason) -> Vec<u8> {
    raw_frame(RST_STREAM, 0, stream_id, &code.0.to_be_bytes())
}

pub fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(entries.len() * 6);
    for (id, value) in entries {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    raw_frame(SETTINGS, 0, 0, &payload)
}

pub fn settings_ack() -> Vec<u8> {
    raw_frame(SETTINGS, ACK, 0, &[])
}

pub fn ping(opaque: [u8; 8]) -> Vec<u8> {
    raw_frame(PING, 0, 0, &opaque)
}

pub fn window_update(stream_id: u32, increment: u32) -> Vec<u8> {
    raw_frame(WINDOW_UPDATE, 0, stream_id, &increment.to_be_bytes())
}

pub fn goaway(last_stream_id: u32, code: Reason) -> Vec<u8> {
    let mut payload = last_stream_id.to_be_bytes().to_vec();
    payload.extend_from_slice(&code.0.to_be_bytes());
    raw_frame(GOAWAY, 0, 0, &payload)
}

/// A request header block from nghttp2's encoder with a dynamic table of
/// size 0: it references the static table only, so the same bytes can be
/// sent on any stream of any connection.
pub fn request_block(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut fields = vec![
        HeaderField::new(":method", method),
        HeaderField::new(":scheme", "http"),
        HeaderField::new(":authority", "127.0.0.1"),
        HeaderField::new(":path", path),
    ];
    fields.extend(extra.iter().map(|(n, v)| HeaderField::new(*n, *v)));
    let mut deflater = Deflater::new(0).expect("deflater");
    deflater.deflate(&fields).expect("deflate")
}

/// A trailer block (any fields, pseudo-headers included) made the same way.
pub fn fields_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let fields: Vec<_> = fields
        .iter()
        .map(|(n, v)| HeaderField::new(*n, *v))
        .collect();
    Deflater::new(0)
        .expect("deflater")
        .deflate(&fields)
        .unwrap()
}

/// Raw HPACK (RFC 7541 section 5.1): an integer with an `n`-bit prefix;
/// `first` holds the bits above the prefix.
pub fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// Raw HPACK: a string literal, not Huffman-coded.
pub fn hpack_string(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// Raw HPACK: an indexed field (static 1-61, dynamic from 62).
pub fn hpack_indexed(out: &mut Vec<u8>, index: usize) {
    hpack_int(out, 0x80, 7, index);
}

/// Raw HPACK: a literal with incremental indexing and a new name: the
/// field enters the dynamic table as entry 62.
pub fn hpack_literal_indexed(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x40);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// Raw HPACK: a literal without indexing and a new name.
pub fn hpack_literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x00);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// `GET /` with `http` scheme as raw static-table references, plus an
/// `:authority` literal: the start of a hand-made request block.
pub fn hpack_get_root(out: &mut Vec<u8>) {
    hpack_indexed(out, 2); // :method: GET
    hpack_indexed(out, 6); // :scheme: http
    hpack_indexed(out, 4); // :path: /
    out.push(0x01); // :authority, literal without indexing, name index 1
    hpack_string(out, b"127.0.0.1");
}

/// One frame read from the server.
#[derive(Clone, Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a GOAWAY or RST_STREAM.
    pub fn error_code(&self) -> Option<Reason> {
        let at = match self.kind {
            GOAWAY => 4,
            RST_STREAM => 0,
            _ => return None,
        };
        let b = self.payload.get(at..at + 4)?;
        Some(Reason(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }
}

/// What the server said on a connection until it closed it (or until the
/// test stopped listening).
#[derive(Debug, Default)]
pub struct Answer {
    pub frames: Vec<Frame>,
    /// The server closed the connection (EOF or reset).
    pub closed: bool,
}

impl Answer {
    /// The code of the first GOAWAY.
    pub fn goaway(&self) -> Option<Reason> {
        self.frames
            .iter()
            .find(|f| f.kind == GOAWAY)
            .and_then(Frame::error_code)
    }

    /// The codes of the RST_STREAMs the server sent.
    pub fn resets(&self) -> Vec<(u32, Reason)> {
        self.frames
            .iter()
            .filter(|f| f.kind == RST_STREAM)
            .filter_map(|f| Some((f.stream_id, f.error_code()?)))
            .collect()
    }

    pub fn count(&self, kind: u8) -> usize {
        self.frames.iter().filter(|f| f.kind == kind).count()
    }
}

/// A raw client connection.
pub struct RawConn {
    pub tcp: TcpStream,
    buf: Vec<u8>,
    pub inflater: Inflater,
    pub closed: bool,
}

impl RawConn {
    /// Goes on with `tcp`, where HTTP/2 starts now (after an h2c upgrade).
    pub fn from_tcp(tcp: TcpStream) -> RawConn {
        RawConn {
            tcp,
            buf: Vec::new(),
            inflater: Inflater::new().expect("inflater"),
            closed: false,
        }
    }

    /// A TCP connection, nothing sent.
    pub async fn connect(addr: SocketAddr) -> RawConn {
        let tcp = timeout(IO_LIMIT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        let _ = tcp.set_nodelay(true);
        RawConn {
            tcp,
            buf: Vec::new(),
            inflater: Inflater::new().expect("inflater"),
            closed: false,
        }
    }

    /// Preface and SETTINGS with `entries`, then the server's SETTINGS
    /// read and acknowledged.
    pub async fn handshake(addr: SocketAddr, entries: &[(u16, u32)]) -> RawConn {
        let mut conn = RawConn::connect(addr).await;
        let mut hello = PREFACE.to_vec();
        hello.extend(settings(entries));
        conn.send(&hello).await.expect("send preface");
        let first = conn.read_frame(IO_LIMIT).await.expect("server SETTINGS");
        assert_eq!(first.kind, SETTINGS, "the server starts with SETTINGS");
        conn.send(&settings_ack()).await.expect("send SETTINGS ACK");
        conn.buf.shrink_to_fit();
        conn
    }

    /// Writes `bytes`, failing if the server does not take them in time.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match timeout(IO_LIMIT, self.tcp.write_all(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    /// Like [`send`](RawConn::send) with its own time limit: for floods,
    /// where a server that stops reading is a pass.
    pub async fn send_within(&mut self, bytes: &[u8], limit: Duration) -> std::io::Result<()> {
        match timeout(limit, self.tcp.write_all(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    fn take_frame(&mut self) -> Option<Frame> {
        if self.buf.len() < 9 {
            return None;
        }
        let len = (self.buf[0] as usize) << 16 | (self.buf[1] as usize) << 8 | self.buf[2] as usize;
        if self.buf.len() < 9 + len {
            return None;
        }
        let b = &self.buf;
        let frame = Frame {
            kind: b[3],
            flags: b[4],
            stream_id: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
            payload: b[9..9 + len].to_vec(),
        };
        self.buf.drain(..9 + len);
        Some(frame)
    }

    /// The next frame, or `None` when the server closed the connection or
    /// sent nothing for `limit`.
    pub async fn read_frame(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(frame) = self.take_frame() {
                return Some(frame);
            }
            if self.closed {
                return None;
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.tcp.read(&mut chunk)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until the server closes the connection, keeping at most
    /// `keep` frames (the first ones, and every GOAWAY); gives up after
    /// `limit`. A GOAWAY shuts the client's sending side.
    pub async fn answer(&mut self, limit: Duration, keep: usize) -> Answer {
        let deadline = Instant::now() + limit;
        let mut answer = Answer::default();
        while let Some(frame) = self.read_frame(deadline - Instant::now()).await {
            if frame.kind == GOAWAY {
                // Done sending too, as a client that read the GOAWAY
                // would be: the server's lingering close ends at once.
                let _ = timeout(IO_LIMIT, self.tcp.shutdown()).await;
            }
            if answer.frames.len() < keep || frame.kind == GOAWAY {
                answer.frames.push(frame);
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        answer.closed = self.closed;
        answer
    }

    /// Reads frames until one satisfies `pred` (returned) or the
    /// connection closes or `limit` passes (`None`). Frames before it are
    /// passed to `seen`.
    pub async fn read_until(
        &mut self,
        limit: Duration,
        mut seen: impl FnMut(&Frame),
        pred: impl Fn(&Frame) -> bool,
    ) -> Option<Frame> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.read_frame(left).await?;
            if pred(&frame) {
                return Some(frame);
            }
            seen(&frame);
        }
    }

    /// Decodes a response HEADERS block (END_HEADERS set) into its fields.
    pub fn decode(&mut self, frame: &Frame) -> Vec<(String, String)> {
        assert_eq!(frame.flags & END_HEADERS, END_HEADERS, "one-frame blocks");
        self.inflater
            .inflate(&frame.payload)
            .expect("inflate")
            .into_iter()
            .map(|f| {
                (
                    String::from_utf8_lossy(&f.name).into_owned(),
                    String::from_utf8_lossy(&f.value).into_owned(),
                )
            })
            .collect()
    }

    /// Reads the response of `stream_id`: its status, body and the code of
    /// an RST_STREAM that ended it. Every HEADERS block on the connection
    /// is decoded on the way, to keep the HPACK table in step.
    pub async fn response(&mut self, stream_id: u32) -> Response {
        let mut response = Response::default();
        let deadline = Instant::now() + IO_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(frame) = self.read_frame(left).await else {
                response.closed = true;
                return response;
            };
            if frame.kind == HEADERS {
                let fields = self.decode(&frame);
                if frame.stream_id == stream_id && response.status.is_none() {
                    response.status = fields
                        .iter()
                        .find(|(n, _)| n == ":status")
                        .and_then(|(_, v)| v.parse().ok());
                }
            }
            if frame.stream_id != stream_id {
                if frame.kind == GOAWAY {
                    response.goaway = frame.error_code();
                }
                continue;
            }
            match frame.kind {
                DATA if !frame.payload.is_empty() => {
                    response.body.extend_from_slice(&frame.payload);
                    let n = frame.payload.len() as u32;
                    let mut more = window_update(0, n);
                    more.extend(window_update(stream_id, n));
                    let _ = self.send(&more).await;
                }
                RST_STREAM => {
                    response.reset = frame.error_code();
                    return response;
                }
                _ => {}
            }
            if frame.flags & END_STREAM != 0 && matches!(frame.kind, DATA | HEADERS) {
                return response;
            }
        }
    }
}

/// A response as [`RawConn::response`] saw it.
#[derive(Debug, Default)]
pub struct Response {
    pub status: Option<u16>,
    pub body: Vec<u8>,
    pub reset: Option<Reason>,
    pub goaway: Option<Reason>,
    pub closed: bool,
}

/// The check that follows every attack: a normal `GET path` on a new
/// connection is answered with 200 and the whole body.
pub async fn served(addr: SocketAddr, path: &str) -> Response {
    let mut conn = RawConn::handshake(addr, &[]).await;
    let block = request_block("GET", path, &[]);
    conn.send(&headers(1, &block, END_HEADERS | END_STREAM))
        .await
        .expect("send request");
    let response = conn.response(1).await;
    let _ = conn.send(&goaway(0, Reason::NO_ERROR)).await;
    response
}
