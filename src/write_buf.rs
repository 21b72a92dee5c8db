//! [`WriteBuf`]: a connection's outgoing bytes, filled from its session up
//! to a high-water mark and written to the socket in as few calls as the
//! socket allows. The server and the client pump through the same one.
//! On a socket that takes vectored writes well (cleartext TCP), large DATA
//! payloads are not copied in: the frame headers and the bodies' own
//! `Bytes` go out together in one `writev` (see [`Output`]).
//!
//! Buffers exist only while bytes move: a `WriteBuf` holds memory only
//! while output waits for the socket, and gives it back to a small
//! per-thread pool once everything is written; reads go through one buffer
//! per thread ([`with_read_buf`]), since nghttp2 copies what it keeps. An
//! idle connection holds neither.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey;

use tokio::io::AsyncWrite;

use crate::error::Error;
use crate::session::output::{Output, MAX_SLICES};
use crate::session::{Handler, Session};

/// Outgoing bytes not yet written, and whether the socket needs a flush.
#[derive(Debug)]
pub(crate) struct WriteBuf {
    out: Output,
    need_flush: bool,
    high_water: usize,
}

/// What one [`WriteBuf::poll_write`] did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Written {
    /// Successful write calls.
    pub(crate) writes: usize,
    /// The socket would not take everything.
    pub(crate) stalled: bool,
}

/// A bounded pool of byte buffers, one per thread (in a `thread_local!`),
/// so that buffers a connection lets go of serve the next one without an
/// allocation. Taking from or giving to a pool that is torn down or in use
/// does nothing.
pub(crate) struct SparePool {
    bufs: RefCell<Vec<Vec<u8>>>,
    max: usize,
}

impl SparePool {
    /// A pool that keeps at most `max` buffers.
    pub(crate) const fn new(max: usize) -> SparePool {
        SparePool {
            bufs: RefCell::new(Vec::new()),
            max,
        }
    }

    /// A buffer from this thread's `pool`, if it has one.
    pub(crate) fn take(pool: &'static LocalKey<SparePool>) -> Option<Vec<u8>> {
        pool.try_with(|pool| pool.bufs.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
    }

    /// Gives `buf` to this thread's `pool` (or frees it when the pool is
    /// full).
    pub(crate) fn put(pool: &'static LocalKey<SparePool>, buf: Vec<u8>) {
        let _ = pool.try_with(|pool| {
            if let Ok(mut bufs) = pool.bufs.try_borrow_mut() {
                if bufs.len() < pool.max {
                    bufs.push(buf);
                }
            }
        });
    }
}

thread_local! {
    /// Output buffers no connection holds right now (four at most).
    static SPARES: SparePool = const { SparePool::new(4) };
    /// The read buffer of every connection this thread serves.
    static READ_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An empty buffer of at least `capacity` bytes, from the pool if it has one.
fn take_spare(capacity: usize) -> Vec<u8> {
    let mut buf = SparePool::take(&SPARES).unwrap_or_default();
    buf.reserve(capacity);
    buf
}

/// Gives an emptied buffer back to the pool (or frees it when the pool is
/// full).
fn put_spare(mut buf: Vec<u8>) {
    if buf.capacity() == 0 {
        return;
    }
    buf.clear();
    SparePool::put(&SPARES, buf);
}

/// Runs `f` with a read buffer of `size` bytes: the calling thread's own,
/// shared by every connection it serves, so an idle connection holds no
/// read buffer. A nested call (or one after the thread's storage is torn
/// down) gets a fresh buffer instead.
pub(crate) fn with_read_buf<R>(size: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = READ_BUF.try_with(Cell::take).unwrap_or_default();
    if buf.len() < size {
        buf.resize(size, 0);
    }
    let r = f(&mut buf[..size]);
    let _ = READ_BUF.try_with(|cell| {
        let current = cell.take();
        cell.set(if current.len() >= buf.len() {
            current
        } else {
            buf
        });
    });
    r
}

impl WriteBuf {
    /// A buffer the session fills up to `high_water` bytes (plus at most
    /// one frame, see [`Session::send_up_to`]). It holds no memory until
    /// there is output. With `vectored` (the socket takes vectored writes
    /// well, as a TCP socket does and a TLS stream does not), large DATA
    /// payloads are written from the body's own bytes rather than copied
    /// in first.
    pub(crate) fn new(high_water: usize, vectored: bool) -> WriteBuf {
        WriteBuf {
            out: Output::new(vectored),
            need_flush: false,
            high_water,
        }
    }

    /// Bytes of memory the buffer holds for copies (zero while no output
    /// waits).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.out.capacity()
    }

    /// Bytes waiting to be written.
    pub(crate) fn unsent(&self) -> usize {
        self.out.len()
    }

    /// Below the high-water mark: the connection may read (and so produce
    /// output) again.
    pub(crate) fn has_room(&self) -> bool {
        self.unsent() < self.high_water
    }

    /// Nothing to write and nothing to flush.
    pub(crate) fn is_idle(&self) -> bool {
        self.out.is_empty() && !self.need_flush
    }

    /// Moves the session's output in, up to the high-water mark. A panic
    /// inside the session comes back as `Err` instead of unwinding.
    pub(crate) fn fill<H: Handler>(
        &mut self,
        session: &mut Session<H>,
    ) -> std::thread::Result<Result<usize, Error>> {
        if !self.has_room() {
            return Ok(Ok(0));
        }
        self.out.compact();
        if self.out.capacity() == 0 {
            self.out
                .set_buffer(take_spare(self.high_water + 16 * 1024 + 9));
        }
        let WriteBuf {
            out, high_water, ..
        } = self;
        let result = catch_unwind(AssertUnwindSafe(|| session.send_output(out, *high_water)));
        if self.out.is_empty() {
            put_spare(self.out.take_buffer());
        }
        result
    }

    /// Writes what it holds, then flushes once everything is written.
    pub(crate) fn poll_write<I: AsyncWrite + Unpin>(
        &mut self,
        io: &mut I,
        cx: &mut Context<'_>,
    ) -> io::Result<Written> {
        let mut written = Written::default();
        while !self.out.is_empty() {
            let polled = match self.out.contiguous() {
                Some(bytes) => Pin::new(&mut *io).poll_write(cx, bytes),
                None => {
                    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                    let n = self.out.io_slices(&mut slices);
                    Pin::new(&mut *io).poll_write_vectored(cx, &slices[..n])
                }
            };
            match polled {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.out.advance(n);
                    written.writes += 1;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {
                    written.stalled = true;
                    break;
                }
            }
        }
        if written.writes > 0 && self.out.is_empty() {
            put_spare(self.out.take_buffer());
            self.need_flush = true;
        }
        if self.need_flush && self.out.is_empty() {
            match Pin::new(&mut *io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.need_flush = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{
        CallbackError, CallbackResult, DataSource, Flags, Frame, FrameType, HeaderRef, Options,
        SessionRef, Setting, SettingId, StreamId,
    };
    use bytes::Bytes;

    /// A connection whose output went out holds no output buffer.
    #[test]
    fn holds_memory_only_while_output_waits() {
        let mut session = Session::server((), &Options::new()).unwrap();
        session.submit_settings(&[]).unwrap();
        let mut wbuf = WriteBuf::new(64 * 1024, false);
        assert_eq!(wbuf.held(), 0);
        wbuf.fill(&mut session).unwrap().unwrap();
        assert!(wbuf.unsent() > 0);
        assert!(wbuf.held() >= 64 * 1024);
        let mut sink = Vec::new();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let written = wbuf.poll_write(&mut sink, &mut cx).unwrap();
        assert_eq!(written.writes, 1);
        assert!(!sink.is_empty());
        assert_eq!(wbuf.held(), 0);
        assert!(wbuf.is_idle());
        // Nothing to send: filling takes no memory either.
        wbuf.fill(&mut session).unwrap().unwrap();
        assert_eq!(wbuf.held(), 0);
    }

    /// A socket stand-in that takes vectored writes, at most `chunk` bytes
    /// per call, so slices are cut anywhere: in frame headers, between
    /// payloads kept by reference, inside them. After `calls` writes it is
    /// full (`Pending`) until given more.
    struct Trickle {
        wire: Vec<u8>,
        chunk: usize,
        calls: usize,
        vectored_calls: usize,
    }

    impl Trickle {
        fn full(&mut self) -> bool {
            if self.calls == 0 {
                return true;
            }
            self.calls -= 1;
            false
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.full() {
                return Poll::Pending;
            }
            let n = buf.len().min(self.chunk);
            self.wire.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            if self.full() {
                return Poll::Pending;
            }
            self.vectored_calls += 1;
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(self.chunk - n);
                self.wire.extend_from_slice(&buf[..take]);
                n += take;
                if n == self.chunk {
                    break;
                }
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Answers every request with `body`.
    struct Answer(Bytes);

    impl Handler for Answer {
        fn on_frame_recv(&mut self, session: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
            if frame.frame_type() == FrameType::HEADERS && frame.is_end_stream() {
                let body: Box<dyn DataSource> = Box::new(self.0.clone());
                session
                    .submit_response(
                        frame.stream_id(),
                        [HeaderRef::new(b":status", b"200")],
                        Some(body),
                    )
                    .map_err(CallbackError::Fatal)?;
            }
            Ok(())
        }
    }

    /// Keeps the DATA payload it receives.
    #[derive(Default)]
    struct Collect(Vec<u8>);

    impl Handler for Collect {
        fn on_data_chunk_recv(
            &mut self,
            _session: &mut SessionRef,
            _stream_id: StreamId,
            data: &[u8],
            _flags: Flags,
        ) -> CallbackResult {
            self.0.extend_from_slice(data);
            Ok(())
        }
    }

    /// A 1 MiB body goes out by reference, through writes cut at odd
    /// places and fills between them, and arrives byte for byte.
    #[test]
    fn payloads_written_by_reference_arrive_intact() {
        let body: Bytes = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        let options = Options::new();
        let mut server = Session::server(Answer(body.clone()), &options).unwrap();
        server.submit_settings(&[]).unwrap();
        let mut client = Session::client(Collect::default(), &options).unwrap();
        client
            .submit_settings(&[Setting::new(SettingId::INITIAL_WINDOW_SIZE, (1 << 30) - 1)])
            .unwrap();
        client
            .set_local_window_size(StreamId::CONNECTION, (1 << 30) - 1)
            .unwrap();
        let request = [
            HeaderRef::new(b":method", b"GET"),
            HeaderRef::new(b":scheme", b"http"),
            HeaderRef::new(b":authority", b"example.com"),
            HeaderRef::new(b":path", b"/"),
        ];
        client.submit_request(request, None).unwrap();
        let mut wire = Vec::new();
        client.send(&mut wire).unwrap();
        server.recv(&wire).unwrap();

        let mut wbuf = WriteBuf::new(64 * 1024, true);
        let mut socket = Trickle {
            wire: Vec::new(),
            chunk: 7001,
            calls: 0,
            vectored_calls: 0,
        };
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..10_000 {
            let filled = wbuf.fill(&mut server).unwrap().unwrap();
            assert!(
                wbuf.unsent() <= 64 * 1024 + 1024,
                "{} unsent",
                wbuf.unsent()
            );
            // Three writes of 7001 bytes, about a third of what is
            // buffered: the next fill lands on a partly written buffer.
            socket.calls = 3;
            let written = wbuf.poll_write(&mut socket, &mut cx).unwrap();
            assert!(written.writes <= 3);
            client.recv(&std::mem::take(&mut socket.wire)).unwrap();
            if filled == 0 && wbuf.is_idle() {
                break;
            }
        }
        while !wbuf.is_idle() {
            socket.calls = 1;
            wbuf.poll_write(&mut socket, &mut cx).unwrap();
        }
        client.recv(&socket.wire).unwrap();
        assert!(socket.vectored_calls > 0);
        assert_eq!(client.handler().0.len(), body.len());
        assert!(client.handler().0 == body, "the body arrived changed");
    }

    #[test]
    fn read_buffer_is_shared_by_callers_on_a_thread() {
        let first = with_read_buf(1024, |b| {
            b[0] = 7;
            b.as_ptr() as usize
        });
        let second = with_read_buf(512, |b| b.as_ptr() as usize);
        assert_eq!(first, second);
        // A nested caller gets a buffer of its own.
        let nested = with_read_buf(64, |outer| {
            let outer = outer.as_ptr() as usize;
            with_read_buf(64, |inner| inner.as_ptr() as usize != outer)
        });
        assert!(nested);
    }
}
