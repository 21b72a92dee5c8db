//! [`Handler`]: how a [`Session`](crate::session::Session) reports events.

use crate::error::{Error, LibError, Reason};
use crate::session::frame::{Flags, Frame, FrameHeader, HeaderRef};
use crate::session::Context;

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
/// Methods run inside nghttp2's callbacks. They get the session's
/// [`Context`], through which they may submit frames, attach bodies and give
/// back flow-control window; submitted frames go out on the next
/// [`Session::send`](crate::session::Session::send). A panic in a method is
/// caught at the C boundary, fails the C call, and resumes from the
/// `Session` method that made it.
pub trait Handler {
    /// A frame header arrived (before its payload). Corresponds to
    /// `on_begin_frame_callback`.
    fn on_begin_frame(&mut self, cx: &mut Context, header: &FrameHeader) -> CallbackResult {
        let _ = (cx, header);
        Ok(())
    }

    /// A HEADERS or PUSH_PROMISE block begins; its fields follow through
    /// [`on_header`](Handler::on_header). Corresponds to
    /// `on_begin_headers_callback`.
    fn on_begin_headers(&mut self, cx: &mut Context, frame: &Frame<'_>) -> CallbackResult {
        let _ = (cx, frame);
        Ok(())
    }

    /// One header field of the block that `frame` carries. Corresponds to
    /// `on_header_callback2`; the bytes are borrowed for this call only.
    fn on_header(
        &mut self,
        cx: &mut Context,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        let _ = (cx, frame, header);
        Ok(())
    }

    /// A header field nghttp2 found invalid (RFC 9113 section 8.2.1) but may
    /// ignore; returning `Ok` ignores it, as nghttp2 does by default.
    /// Corresponds to `on_invalid_header_callback2`.
    fn on_invalid_header(
        &mut self,
        cx: &mut Context,
        frame: &Frame<'_>,
        header: HeaderRef<'_>,
    ) -> CallbackResult {
        let _ = (cx, frame, header);
        Ok(())
    }

    /// A whole frame arrived (HEADERS with all its CONTINUATIONs; DATA after
    /// its chunks). Corresponds to `on_frame_recv_callback`.
    fn on_frame_recv(&mut self, cx: &mut Context, frame: &Frame<'_>) -> CallbackResult {
        let _ = (cx, frame);
        Ok(())
    }

    /// nghttp2 rejected a received frame and answered it with RST_STREAM or
    /// GOAWAY. Corresponds to `on_invalid_frame_recv_callback`.
    fn on_invalid_frame_recv(
        &mut self,
        cx: &mut Context,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        let _ = (cx, frame, error);
        Ok(())
    }

    /// A chunk of a DATA frame's payload, borrowed for this call only. With
    /// [`Options::no_auto_window_update`](crate::session::Options::no_auto_window_update)
    /// the chunk counts against the windows until
    /// [`Context::consume`] gives it back. Corresponds to
    /// `on_data_chunk_recv_callback`.
    fn on_data_chunk_recv(
        &mut self,
        cx: &mut Context,
        stream_id: i32,
        data: &[u8],
        flags: Flags,
    ) -> CallbackResult {
        let _ = (cx, stream_id, data, flags);
        Ok(())
    }

    /// A frame was written to the output. Corresponds to
    /// `on_frame_send_callback`.
    fn on_frame_send(&mut self, cx: &mut Context, frame: &Frame<'_>) -> CallbackResult {
        let _ = (cx, frame);
        Ok(())
    }

    /// A submitted frame could not be sent (for example its stream was
    /// closed). Corresponds to `on_frame_not_send_callback`.
    fn on_frame_not_send(
        &mut self,
        cx: &mut Context,
        frame: &Frame<'_>,
        error: LibError,
    ) -> CallbackResult {
        let _ = (cx, frame, error);
        Ok(())
    }

    /// A stream closed; `reason` is NO_ERROR for a clean close. Any body
    /// attached to the stream has been dropped when this runs. Corresponds to
    /// `on_stream_close_callback`.
    fn on_stream_close(
        &mut self,
        cx: &mut Context,
        stream_id: i32,
        reason: Reason,
    ) -> CallbackResult {
        let _ = (cx, stream_id, reason);
        Ok(())
    }

    /// nghttp2 explains an error it is about to act on (a connection error,
    /// usually). Corresponds to `error_callback2`.
    fn on_error(&mut self, cx: &mut Context, error: LibError, message: &str) -> CallbackResult {
        let _ = (cx, error, message);
        Ok(())
    }
}

/// A handler that ignores every event.
impl Handler for () {}
