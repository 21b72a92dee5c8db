//! The [`Client`](super::Client)'s response body: the connection's
//! [`ResponseBody`], decoded when the client decompresses (`gzip` and
//! `deflate` with flate2, `br` with brotli-decompressor), bounded by the
//! request timeout.

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use super::pool::InFlight;
use super::ResponseBody;
use crate::error::{Error, Kind};

/// A content coding the client can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Deflate,
    Brotli,
}

impl Encoding {
    /// The `content-encoding` token.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
        }
    }

    /// The coding of a response, when it is exactly one of `accepted`.
    pub(crate) fn of(headers: &HeaderMap, accepted: &[Encoding]) -> Option<Encoding> {
        let value = headers.get(header::CONTENT_ENCODING)?.to_str().ok()?.trim();
        accepted
            .iter()
            .copied()
            .find(|e| value.eq_ignore_ascii_case(e.token()))
    }
}

/// A push decoder: compressed chunks in, decoded bytes out.
enum Decoder {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    /// `deflate` before its first byte says zlib (RFC 9110 section 8.4.1.2)
    /// or, as some servers send, raw DEFLATE.
    Deflate,
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    RawDeflate(flate2::write::DeflateDecoder<Vec<u8>>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
}

impl Decoder {
    fn new(encoding: Encoding) -> Decoder {
        match encoding {
            Encoding::Gzip => Decoder::Gzip(flate2::write::GzDecoder::new(Vec::new())),
            Encoding::Deflate => Decoder::Deflate,
            Encoding::Brotli => Decoder::Brotli(Box::new(
                brotli_decompressor::DecompressorWriter::new(Vec::new(), 16 * 1024),
            )),
        }
    }

    fn write(&mut self, data: &[u8]) -> io::Result<Bytes> {
        if let Decoder::Deflate = self {
            // A zlib header: CM 8 and a check value divisible by 31.
            let zlib = data[0] & 0x0f == 8
                && data
                    .get(1)
                    .is_none_or(|&b| (u16::from(data[0]) << 8 | u16::from(b)) % 31 == 0);
            *self = if zlib {
                Decoder::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
            } else {
                Decoder::RawDeflate(flate2::write::DeflateDecoder::new(Vec::new()))
            };
        }
        match self {
            Decoder::Gzip(d) => {
                d.write_all(data)?;
                d.flush()?;
                Ok(Bytes::from(std::mem::take(d.get_mut())))
            }
            Decoder::Zlib(d) => {
                d.write_all(data)?;
                d.flush()?;
                Ok(Bytes::from(std::mem::take(d.get_mut())))
            }
            Decoder::RawDeflate(d) => {
                d.write_all(data)?;
                d.flush()?;
                Ok(Bytes::from(std::mem::take(d.get_mut())))
            }
            Decoder::Brotli(d) => {
                d.write_all(data)?;
                d.flush()?;
                Ok(Bytes::from(std::mem::take(d.get_mut())))
            }
            Decoder::Deflate => unreachable!("chosen above"),
        }
    }

    /// The end of the input: the rest of the output, or an error when the
    /// compressed stream was cut short.
    fn finish(&mut self) -> io::Result<Bytes> {
        let out = match self {
            Decoder::Deflate => Vec::new(),
            Decoder::Gzip(d) => {
                d.try_finish()?;
                std::mem::take(d.get_mut())
            }
            Decoder::Zlib(d) => {
                d.try_finish()?;
                std::mem::take(d.get_mut())
            }
            Decoder::RawDeflate(d) => {
                d.try_finish()?;
                std::mem::take(d.get_mut())
            }
            Decoder::Brotli(d) => {
                d.close()?;
                std::mem::take(d.get_mut())
            }
        };
        Ok(Bytes::from(out))
    }
}

/// A response body from a [`Client`](super::Client): the bytes as the
/// server sent them, or decoded when the client decompresses and the
/// response's `content-encoding` is one it asked for (the response then
/// has no `content-encoding` or `content-length` fields). Reading it past
/// the client's request timeout fails with a timeout error.
pub struct Incoming {
    body: ResponseBody,
    decoder: Option<(Encoding, Decoder)>,
    /// The decoder saw input (an empty body is not a truncated stream).
    input: bool,
    deadline: Option<Pin<Box<Sleep>>>,
    timeout_text: String,
    in_flight: Option<InFlight>,
    /// Bytes received, before decoding.
    received: u64,
    /// Trailers held back while the decoder's tail goes out.
    trailers: Option<HeaderMap>,
    finished: bool,
}

impl Incoming {
    pub(crate) fn new(
        body: ResponseBody,
        encoding: Option<Encoding>,
        deadline: Option<(Pin<Box<Sleep>>, String)>,
        in_flight: Option<InFlight>,
    ) -> Incoming {
        let (deadline, timeout_text) = match deadline {
            Some((sleep, text)) => (Some(sleep), text),
            None => (None, String::new()),
        };
        Incoming {
            body,
            decoder: encoding.map(|e| (e, Decoder::new(e))),
            input: false,
            deadline,
            timeout_text,
            in_flight,
            received: 0,
            trailers: None,
            finished: false,
        }
    }

    /// A connection's response body, decoded when `content_encoding` (the
    /// response's `content-encoding` value) is `gzip`, `deflate` or `br`,
    /// and as it is otherwise. For a [`SendRequest`](super::SendRequest)
    /// user who asked for compressed responses.
    pub fn decoding(body: ResponseBody, content_encoding: Option<&str>) -> Incoming {
        let encoding = content_encoding.and_then(|value| {
            [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli]
                .into_iter()
                .find(|e| value.trim().eq_ignore_ascii_case(e.token()))
        });
        Incoming::new(body, encoding, None, None)
    }

    /// How many bytes of body arrived so far, as the server sent them
    /// (before decoding).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The HTTP/2 stream id the response arrives on.
    pub fn stream_id(&self) -> crate::session::StreamId {
        self.body.stream_id()
    }

    /// The whole body (decoded, when it is).
    pub async fn bytes(self) -> Result<Bytes, Error> {
        use http_body_util::BodyExt;
        Ok(self.collect().await?.to_bytes())
    }

    fn end(&mut self) {
        self.finished = true;
        self.in_flight = None;
        self.deadline = None;
    }

    fn decode_error(encoding: Encoding, e: io::Error) -> Error {
        Error::new(Kind::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "could not decode the {} response body: {e}",
                encoding.token()
            ),
        )))
    }

    /// Finishes the decoder: its last bytes, if any.
    fn finish_decoder(&mut self) -> Result<Option<Bytes>, Error> {
        let Some((encoding, mut decoder)) = self.decoder.take() else {
            return Ok(None);
        };
        if !self.input {
            return Ok(None);
        }
        let tail = decoder
            .finish()
            .map_err(|e| Self::decode_error(encoding, e))?;
        Ok((!tail.is_empty()).then_some(tail))
    }
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("stream_id", &self.body.stream_id())
            .field("decoding", &self.decoder.as_ref().map(|(e, _)| e.token()))
            .finish()
    }
}

impl Body for Incoming {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(sleep) = this.deadline.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                this.end();
                let what = std::mem::take(&mut this.timeout_text);
                return Poll::Ready(Some(Err(Error::new(Kind::Timeout(what)))));
            }
        }
        loop {
            if let Some(trailers) = this.trailers.take() {
                return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
            }
            let frame = match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                None => match this.finish_decoder() {
                    // The next poll finds the body over again, and ends.
                    Ok(Some(tail)) => return Poll::Ready(Some(Ok(Frame::data(tail)))),
                    Ok(None) => {
                        this.end();
                        return Poll::Ready(None);
                    }
                    Err(e) => {
                        this.end();
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                Some(Err(e)) => {
                    this.end();
                    return Poll::Ready(Some(Err(e)));
                }
                Some(Ok(frame)) => frame,
            };
            let frame = match frame.into_data() {
                Ok(data) => {
                    this.received += data.len() as u64;
                    let Some((encoding, decoder)) = this.decoder.as_mut() else {
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    };
                    if data.is_empty() {
                        continue;
                    }
                    this.input = true;
                    match decoder.write(&data) {
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                        Err(e) => {
                            let e = Self::decode_error(*encoding, e);
                            this.end();
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                Err(frame) => frame,
            };
            if let Ok(trailers) = frame.into_trailers() {
                // The body is over: the decoder's tail, then the trailers.
                match this.finish_decoder() {
                    Ok(Some(tail)) => {
                        this.trailers = Some(trailers);
                        return Poll::Ready(Some(Ok(Frame::data(tail))));
                    }
                    Ok(None) => return Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
                    Err(e) => {
                        this.end();
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished
            || (self.trailers.is_none()
                && self.decoder.as_ref().is_none_or(|_| !self.input)
                && self.body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.decoder.is_some() {
            SizeHint::default()
        } else {
            self.body.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(encoding: Encoding, compressed: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
        let mut decoder = Decoder::new(encoding);
        let mut out = Vec::new();
        for piece in compressed.chunks(chunk) {
            out.extend_from_slice(&decoder.write(piece)?);
        }
        out.extend_from_slice(&decoder.finish()?);
        Ok(out)
    }

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8)
            .collect()
    }

    #[test]
    fn gzip_zlib_raw_deflate_and_brotli_decode_byte_exact_in_small_pieces() {
        let original = sample();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&original).unwrap();
        let gz = gz.finish().unwrap();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&original).unwrap();
        let zlib = zlib.finish().unwrap();
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&original).unwrap();
        let raw = raw.finish().unwrap();
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&original).unwrap();
        }
        for chunk in [1, 7, 1000, 1 << 20] {
            assert!(decode_all(Encoding::Gzip, &gz, chunk).unwrap() == original);
            assert!(decode_all(Encoding::Deflate, &zlib, chunk).unwrap() == original);
            assert!(decode_all(Encoding::Deflate, &raw, chunk).unwrap() == original);
            assert!(decode_all(Encoding::Brotli, &br, chunk).unwrap() == original);
        }
    }

    #[test]
    fn a_cut_short_stream_is_an_error() {
        let original = sample();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&original).unwrap();
        let gz = gz.finish().unwrap();
        assert!(decode_all(Encoding::Gzip, &gz[..gz.len() / 2], 100).is_err());
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&original).unwrap();
        }
        assert!(decode_all(Encoding::Brotli, &br[..br.len() / 2], 100).is_err());
    }

    #[test]
    fn only_accepted_codings_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert_eq!(
            Encoding::of(&headers, &[Encoding::Gzip]),
            Some(Encoding::Gzip)
        );
        assert_eq!(Encoding::of(&headers, &[Encoding::Brotli]), None);
        headers.insert(header::CONTENT_ENCODING, "gzip, br".parse().unwrap());
        assert_eq!(
            Encoding::of(&headers, &[Encoding::Gzip, Encoding::Brotli]),
            None
        );
    }
}
