//! [`Output`]: the bytes a session produced that the socket has not taken
//! yet. Frames nghttp2 packs are copied in; large DATA payloads can be
//! kept by reference instead (the body's own [`Bytes`]), so a vectored
//! write sends them without a copy through the buffer.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// Payloads shorter than this are copied even when references are allowed:
/// a copy of a few hundred bytes costs less than an extra `iovec`.
const MIN_BY_REF: usize = 1024;

/// How many slices one vectored write is given at most.
pub(crate) const MAX_SLICES: usize = 64;

/// Outgoing bytes, in order: `copied[written..]` with payloads kept by
/// reference spliced in at their offsets.
#[derive(Debug, Default)]
pub(crate) struct Output {
    copied: Vec<u8>,
    /// Bytes of `copied` already written.
    written: usize,
    /// Payloads kept by reference, in order; each goes out right before
    /// `copied[at..]`.
    refs: VecDeque<Spliced>,
    /// Total length of `refs`.
    ref_len: usize,
    /// Payloads may be kept by reference: the writer does vectored writes.
    by_ref: bool,
}

#[derive(Debug)]
struct Spliced {
    at: usize,
    bytes: Bytes,
}

impl Output {
    /// An empty output; with `by_ref`, large payloads are kept by
    /// reference rather than copied.
    pub(crate) fn new(by_ref: bool) -> Output {
        Output {
            by_ref,
            ..Output::default()
        }
    }

    /// An output that copies everything, appending to `bytes`.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Output {
        Output {
            copied: bytes,
            ..Output::default()
        }
    }

    /// The bytes of an output made by [`from_vec`](Output::from_vec), which
    /// keeps nothing by reference.
    pub(crate) fn into_vec(self) -> Vec<u8> {
        debug_assert!(self.refs.is_empty() && self.written == 0);
        self.copied
    }

    /// Bytes not yet written.
    pub(crate) fn len(&self) -> usize {
        self.copied.len() - self.written + self.ref_len
    }

    /// Nothing left to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory held for copies.
    pub(crate) fn capacity(&self) -> usize {
        self.copied.capacity()
    }

    /// Appends a copy of `bytes`.
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.copied.extend_from_slice(bytes);
    }

    /// Appends `n` copies of `byte`.
    pub(crate) fn extend_with(&mut self, n: usize, byte: u8) {
        self.copied.resize(self.copied.len() + n, byte);
    }

    /// Appends the first `n` bytes of `from` and advances it past them:
    /// by reference when allowed and worth it, else as a copy.
    pub(crate) fn append_from(&mut self, from: &mut Bytes, n: usize) {
        if n == 0 {
            return;
        }
        if self.by_ref && n >= MIN_BY_REF {
            let bytes = if n == from.len() {
                std::mem::take(from)
            } else {
                from.split_to(n)
            };
            self.ref_len += n;
            self.refs.push_back(Spliced {
                at: self.copied.len(),
                bytes,
            });
        } else {
            self.copied.extend_from_slice(&from[..n]);
            from.advance(n);
        }
    }

    /// Drops the written prefix of the copied bytes, so the buffer does not
    /// grow while output trickles out.
    pub(crate) fn compact(&mut self) {
        if self.written == 0 {
            return;
        }
        self.copied.drain(..self.written);
        for spliced in &mut self.refs {
            spliced.at -= self.written;
        }
        self.written = 0;
    }

    /// Takes the (emptied) copy buffer, to keep it for another connection.
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        debug_assert!(self.is_empty());
        self.written = 0;
        std::mem::take(&mut self.copied)
    }

    /// Gives an empty output a copy buffer (kept from another connection).
    pub(crate) fn set_buffer(&mut self, buffer: Vec<u8>) {
        debug_assert!(self.copied.is_empty() && self.refs.is_empty());
        self.copied = buffer;
        self.written = 0;
    }

    /// The next bytes to write, when nothing is kept by reference (one
    /// contiguous slice; see [`io_slices`](Output::io_slices) otherwise).
    pub(crate) fn contiguous(&self) -> Option<&[u8]> {
        self.refs.is_empty().then(|| &self.copied[self.written..])
    }

    /// Fills `slices` with the next bytes to write, in order, and returns
    /// how many it filled.
    pub(crate) fn io_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let mut from = self.written;
        let mut push = |bytes: &'a [u8]| {
            if !bytes.is_empty() && n < slices.len() {
                slices[n] = IoSlice::new(bytes);
                n += 1;
            }
            n < slices.len()
        };
        for spliced in &self.refs {
            if !push(&self.copied[from..spliced.at]) || !push(&spliced.bytes) {
                return n;
            }
            from = spliced.at;
        }
        push(&self.copied[from..]);
        n
    }

    /// Marks the next `n` bytes written.
    pub(crate) fn advance(&mut self, mut n: usize) {
        debug_assert!(n <= self.len());
        while n > 0 {
            let copied_end = self.refs.front().map_or(self.copied.len(), |s| s.at);
            let take = n.min(copied_end - self.written);
            self.written += take;
            n -= take;
            if n == 0 {
                break;
            }
            let Some(front) = self.refs.front_mut() else {
                break;
            };
            let take = n.min(front.bytes.len());
            front.bytes.advance(take);
            self.ref_len -= take;
            n -= take;
            if front.bytes.is_empty() {
                self.refs.pop_front();
            }
        }
        if self.is_empty() {
            self.copied.clear();
            self.written = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sequence of vectored writes of at most `chunk` bytes each
    /// would put on the wire.
    fn drain(out: &mut Output, chunk: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        while !out.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = out.io_slices(&mut slices);
            let mut took = 0;
            for slice in &slices[..n] {
                let room = chunk - took;
                let part = &slice[..slice.len().min(room)];
                wire.extend_from_slice(part);
                took += part.len();
                if took == chunk {
                    break;
                }
            }
            out.advance(took);
        }
        wire
    }

    #[test]
    fn payloads_by_reference_keep_their_place() {
        let mut out = Output::new(true);
        let mut expected = Vec::new();
        for i in 0..5u8 {
            let header = [i; 9];
            out.extend_from_slice(&header);
            expected.extend_from_slice(&header);
            let payload = vec![i + 100; 3000];
            let mut body = Bytes::from(payload.clone());
            out.append_from(&mut body, 2000);
            expected.extend_from_slice(&payload[..2000]);
            assert_eq!(body.len(), 1000);
            out.append_from(&mut body, 1000);
            expected.extend_from_slice(&payload[2000..]);
            assert!(body.is_empty());
        }
        out.extend_from_slice(b"tail");
        expected.extend_from_slice(b"tail");
        assert_eq!(out.len(), expected.len());
        assert!(out.contiguous().is_none());
        for chunk in [1, 7, 1000, 4096, 1 << 20] {
            let mut copy = Output::new(true);
            let mut body = Bytes::from(expected.clone());
            copy.extend_from_slice(&[]);
            copy.append_from(&mut body, expected.len());
            assert_eq!(drain(&mut copy, chunk), expected);
        }
        assert_eq!(drain(&mut out, 777), expected);
        assert!(out.is_empty());
    }

    #[test]
    fn small_payloads_and_copying_outputs_are_copied() {
        let mut out = Output::new(true);
        let mut small = Bytes::from_static(b"hello");
        out.append_from(&mut small, 5);
        assert_eq!(out.contiguous(), Some(&b"hello"[..]));
        let mut plain = Output::from_vec(b"ab".to_vec());
        let mut big = Bytes::from(vec![1u8; 4096]);
        plain.append_from(&mut big, 4096);
        assert_eq!(plain.into_vec().len(), 4098);
    }

    #[test]
    fn compacting_keeps_the_order() {
        let mut out = Output::new(true);
        out.extend_from_slice(b"0123456789");
        let mut body = Bytes::from(vec![b'x'; 2048]);
        out.append_from(&mut body, 2048);
        out.extend_from_slice(b"end");
        out.advance(4);
        out.compact();
        let mut expected = b"456789".to_vec();
        expected.extend_from_slice(&[b'x'; 2048]);
        expected.extend_from_slice(b"end");
        assert_eq!(drain(&mut out, 100), expected);
    }
}
