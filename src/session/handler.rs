//! [`Handler`]: how a [`Session`](crate::session::Session) reports events.

use crate::error::{Error, LibError, Reason};
use crate::session::frame::{Flags, Frame, FrameHeader, HeaderRef, Priority};
use crate::session::{SessionRef, StreamId};

/// What a handler method answers when it cannot go on.
#[derive(Debug)]
pub enum CallbackError {
    /// Reset only the stream concerned (nghttp2's
    /// `NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE`; the RST_STREAM carries
    /// INTERNAL_ERROR, or PROTOCOL_ERROR for a header). Honoured by
    /// `on_begin_headers`, `on_header`, `on_invalid_header` and
    /// `on_data_chunk_recv`; elsewhere it ends the session like `Fatal`.
    ResetStream,
    /// End the session: the C call fails with `NGHTTP2_ERR_CALLBACK_FAILURE`
    /// and [`Session::recv`](crate::session::Session::recv) or `send` returns
    /// this error.
    Fatal(Error),
}

/// The result of a handler method.
pub type CallbackResult = Result<(), CallbackError>;

/// Receives a session's events. Every method has a no-op default; implement
/// the ones you need.
///
/// Methods run inside nghttp2's callbacks: they are the one place where
/// code of the crate's user runs inside a C frame, so they should only
/// record what happened and queue frames. They get a [`SessionRef`],
/// through which they may submit frames, attach bodies and give back
/// flow-control window; submitted frames go out on the next
/// [`Session::send`](crate::session::Session::send). A body's
/// [`DataSource`](crate::session::DataSource) is not read here but before
/// frames are written, and dropped after the session call returns. A panic
/// in a method is caught at the C boundary, fails the C call, and resumes
/// from the `Session` method that made it.
pub trait Handler {
    /// A frame header arrived (before its payload). Corresponds to
    /// `on_begin_frame_callback`.
    fn on_begin_frame(&mut self, session: &mut SessionRef, header: &FrameHeader) -> CallbackResult {
        let _ = (session, header);
        Ok(())
    }

    /// A HEADERS or PUSH_PROMISE block begins; its fields follow through
    /// [`on_header`](Handler::on_header). Corresponds to
    /// `on_begin_headers_callback`.
    fn on_begin_headers(&mut self, session: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let _ = (session, frame);
        Ok(())
    }

    /// One header field of the block that `frame` carries. Corresponds to
    /// `on_header_callback2`; the bytes are borrowed for this call only.
    fn on_header(
        &mut self,
        session: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        let _ = (session, frame, header);
        Ok(())
    }

    /// A header field nghttp2 found invalid (RFC 9113 section 8.2.1) but may
    /// ignore; returning `Ok` ignores it, as nghttp2 does by default.
    /// Corresponds to `on_invalid_header_callback2`.
    fn on_invalid_header(
        &mut self,
        session: &mut SessionRef,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        let _ = (session, frame, header);
        Ok(())
    }

    /// A whole frame arrived (HEADERS with all its CONTINUATIONs; DATA after
    /// its chunks). Corresponds to `on_frame_recv_callback`.
    fn on_frame_recv(&mut self, session: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let _ = (session, frame);
        Ok(())
    }

    /// nghttp2 rejected a received frame and answered it with RST_STREAM or
    /// GOAWAY. Corresponds to `on_invalid_frame_recv_callback`.
    fn on_invalid_frame_recv(
        &mut self,
        session: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        let _ = (session, frame, error);
        Ok(())
    }

    /// A received frame broke one of the RFC 9113 rules the wrapper
    /// enforces on top of nghttp2 (see
    /// [`session::conformance`](crate::session::conformance)), and the
    /// answer (GOAWAY, or RST_STREAM for a self-dependent PRIORITY on an
    /// open stream) is queued. nghttp2 shows no callback of its own for
    /// such a frame. `priority` is the payload of a PRIORITY frame; `error`
    /// is nghttp2's code for the rule (`STREAM_CLOSED` or `PROTO`), as
    /// [`on_invalid_frame_recv`](Handler::on_invalid_frame_recv) would get
    /// it. Called from [`Session::recv`](crate::session::Session::recv)
    /// between nghttp2's calls; a `CallbackError::Fatal` is what `recv`
    /// then reports.
    fn on_rule_broken(
        &mut self,
        session: &mut SessionRef,
        header: &FrameHeader,
        priority: Option<Priority>,
        error: LibError,
    ) -> CallbackResult {
        let _ = (session, header, priority, error);
        Ok(())
    }

    /// A chunk of a DATA frame's payload, borrowed for this call only. With
    /// [`Options::no_auto_window_update`](crate::session::Options::no_auto_window_update)
    /// the chunk counts against the windows until
    /// [`SessionRef::consume`] gives it back. Corresponds to
    /// `on_data_chunk_recv_callback`.
    fn on_data_chunk_recv(
        &mut self,
        session: &mut SessionRef,
        stream_id: StreamId,
        data: &[u8],
        flags: Flags,
    ) -> CallbackResult {
        let _ = (session, stream_id, data, flags);
        Ok(())
    }

    /// A frame was written to the output. Corresponds to
    /// `on_frame_send_callback`.
    fn on_frame_send(&mut self, session: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        let _ = (session, frame);
        Ok(())
    }

    /// A submitted frame could not be sent (for example its stream was
    /// closed). Corresponds to `on_frame_not_send_callback`.
    fn on_frame_not_send(
        &mut self,
        session: &mut SessionRef,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        let _ = (session, frame, error);
        Ok(())
    }

    /// A stream closed; `reason` is NO_ERROR for a clean close. Any body
    /// attached to the stream is detached from it now and dropped once the
    /// session call under way returns (never inside the callback).
    /// Corresponds to `on_stream_close_callback`.
    fn on_stream_close(
        &mut self,
        session: &mut SessionRef,
        stream_id: StreamId,
        reason: Reason,
    ) -> CallbackResult {
        let _ = (session, stream_id, reason);
        Ok(())
    }

    /// nghttp2 explains an error it is about to act on (a connection error,
    /// usually). Corresponds to `error_callback2`.
    fn on_error(
        &mut self,
        session: &mut SessionRef,
        error: LibError,
        message: &str,
    ) -> CallbackResult {
        let _ = (session, error, message);
        Ok(())
    }
}

/// A handler that ignores every event.
impl Handler for () {}
