//! [`Traced`], the [`Handler`] wrapper that traces a session's events.

use super::Tracer;
use crate::error::{LibError, Reason};
use crate::session::{
    CallbackResult, Flags, Frame, FrameHeader, Handler, HeaderRef, Priority, SessionRef, StreamId,
};

/// A [`Handler`] that traces every event with a [`Tracer`], then forwards it
/// to the handler it wraps.
#[derive(Debug)]
pub struct Traced<H> {
    inner: H,
    tracer: Tracer,
}

impl<H> Traced<H> {
    /// Wraps `inner`.
    pub fn new(inner: H, tracer: Tracer) -> Traced<H> {
        Traced { inner, tracer }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The wrapped handler, mutably.
    pub fn inner_mut(&mut self) -> &mut H {
        &mut self.inner
    }

    /// The tracer (to flush it, or to trace the connection's end).
    pub fn tracer_mut(&mut self) -> &mut Tracer {
        &mut self.tracer
    }

    /// The handler and the tracer.
    pub fn into_parts(self) -> (H, Tracer) {
        (self.inner, self.tracer)
    }
}

impl<H: Handler> Handler for Traced<H> {
    fn on_begin_frame(&mut self, cx: &mut SessionRef, header: &FrameHeader) -> CallbackResult {
        self.inner.on_begin_frame(cx, header)
    }

    fn on_begin_headers(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.tracer.begin_headers();
        self.inner.on_begin_headers(cx, frame)
    }

    fn on_header(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        self.tracer.recv_header(frame, header);
        self.inner.on_header(cx, frame, header)
    }

    fn on_invalid_header(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        self.inner.on_invalid_header(cx, frame, header)
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.tracer.recv_frame(frame);
        self.inner.on_frame_recv(cx, frame)
    }

    fn on_invalid_frame_recv(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        self.tracer.invalid_frame(frame, error);
        self.inner.on_invalid_frame_recv(cx, frame, error)
    }

    fn on_rule_broken(
        &mut self,
        cx: &mut SessionRef,
        header: &FrameHeader,
        priority: Option<Priority>,
        error: LibError,
    ) -> CallbackResult {
        self.tracer.rule_broken(header, priority, error);
        self.inner.on_rule_broken(cx, header, priority, error)
    }

    fn on_data_chunk_recv(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        data: &[u8],
        flags: Flags,
    ) -> CallbackResult {
        self.inner.on_data_chunk_recv(cx, stream_id, data, flags)
    }

    fn on_frame_send(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.tracer.send_frame(frame);
        self.inner.on_frame_send(cx, frame)
    }

    fn on_frame_not_send(
        &mut self,
        cx: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        self.inner.on_frame_not_send(cx, frame, error)
    }

    fn on_stream_close(
        &mut self,
        cx: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        self.tracer.stream_closed(stream_id, reason);
        self.inner.on_stream_close(cx, stream_id, reason)
    }

    fn on_error(&mut self, cx: &mut SessionRef, error: LibError, message: &str) -> CallbackResult {
        self.tracer.error(message);
        self.inner.on_error(cx, error, message)
    }
}
