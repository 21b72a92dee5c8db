//! `--hexdump`, as `nghttp --hexdump` and `nghttpd --hexdump` print it:
//! every read from the peer, decrypted, in the canonical hex+ASCII display
//! (`hexdump -C`), each read from offset 0. The client (`h2fetch
//! --hexdump`) and the server (`h2serve --hexdump`) share it.

use std::fmt;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Where the dump goes: shared by the connections that dump into it (a
/// server's), each read written whole under the lock so that the dumps of
/// two connections do not interleave.
#[derive(Clone)]
pub(crate) struct Sink(Arc<Mutex<Box<dyn Write + Send>>>);

impl Sink {
    pub(crate) fn new(out: impl Write + Send + 'static) -> Sink {
        Sink(Arc::new(Mutex::new(Box::new(out))))
    }

    /// Dumps `data`; a failed write does not fail the connection.
    fn dump(&self, data: &[u8]) {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = hexdump(&mut *out, data);
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sink")
    }
}

/// Writes `data` as `hexdump -C` does: 16 bytes a line, a repeated line
/// as `*`, the length on the last line.
pub(crate) fn hexdump(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let mut text = String::with_capacity(data.len() * 4 + 16);
    let mut previous: Option<&[u8]> = None;
    let mut starred = false;
    for (n, line) in data.chunks(16).enumerate() {
        if line.len() == 16 && previous == Some(line) {
            if !starred {
                text.push_str("*\n");
                starred = true;
            }
            continue;
        }
        starred = false;
        previous = Some(line);
        text.push_str(&format!("{:08x}  ", n * 16));
        for i in 0..16 {
            if i == 8 {
                text.push(' ');
            }
            match line.get(i) {
                Some(b) => text.push_str(&format!("{b:02x} ")),
                None => text.push_str("   "),
            }
        }
        text.push_str(" |");
        text.extend(line.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        text.push_str("|\n");
    }
    text.push_str(&format!("{:08x}\n", data.len()));
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A transport whose reads are dumped, when it has a sink (without one it
/// only passes reads and writes through).
pub(crate) struct Hexdump<I> {
    io: I,
    sink: Option<Sink>,
}

impl<I> Hexdump<I> {
    pub(crate) fn new(io: I, sink: Option<Sink>) -> Hexdump<I> {
        Hexdump { io, sink }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Hexdump<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let ready = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(sink)) = (&ready, &this.sink) {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                sink.dump(new);
            }
        }
        ready
    }
}

crate::proto::forward_async_write!(Hexdump);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_display() {
        let mut out = Vec::new();
        let data = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00d";
        hexdump(&mut out, data).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "00000000  00 00 06 04 00 00 00 00  00 00 03 00 00 00 64     |..............d|\n\
             0000000f\n"
        );
        let mut out = Vec::new();
        let mut data = vec![b'a'; 48];
        data.extend_from_slice(b"hello");
        hexdump(&mut out, &data).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "00000000  61 61 61 61 61 61 61 61  61 61 61 61 61 61 61 61  |aaaaaaaaaaaaaaaa|\n\
             *\n\
             00000030  68 65 6c 6c 6f                                    |hello|\n\
             00000035\n"
        );
    }
}
