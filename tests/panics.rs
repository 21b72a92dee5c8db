//! A handler that panics: the panic crosses no C frame, surfaces from the
//! `Session` call, and the session can still be dropped cleanly.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use nghttp2::session::{CallbackResult, Frame, FrameType, Handler, Options, Session, SessionRef};
use support::request_headers;

struct PanicOnRequest;

impl Handler for PanicOnRequest {
    fn on_frame_recv(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        if frame.frame_type() == FrameType::HEADERS {
            panic!("boom in on_frame_recv");
        }
        Ok(())
    }
}

fn request_bytes() -> Vec<u8> {
    let mut client = Session::client((), &Options::new()).unwrap();
    client.submit_settings(&[]).unwrap();
    client
        .submit_request(request_headers("GET", "/"), None)
        .unwrap();
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    wire
}

#[test]
#[should_panic(expected = "boom in on_frame_recv")]
fn a_panicking_handler_panics_out_of_recv() {
    let mut server = Session::server(PanicOnRequest, &Options::new()).unwrap();
    let _ = server.recv(&request_bytes());
}

#[test]
fn after_a_panic_the_session_drops_cleanly() {
    let mut server = Session::server(PanicOnRequest, &Options::new()).unwrap();
    let wire = request_bytes();
    let caught = catch_unwind(AssertUnwindSafe(|| server.recv(&wire)));
    let payload = caught.expect_err("the panic resumes from recv");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"boom in on_frame_recv")
    );
    // The session failed (nghttp2 saw CALLBACK_FAILURE): it refuses further
    // use instead of calling the handler again, and drops cleanly.
    assert!(server.has_failed());
    let err = server.recv(&wire).unwrap_err();
    assert_eq!(err.lib_error(), Some(nghttp2::LibError::CALLBACK_FAILURE));
    drop(server);
}

struct PanickingBody;

impl nghttp2::session::DataSource for PanickingBody {
    fn read(&mut self, _max_len: usize) -> nghttp2::session::Chunk {
        panic!("boom in read");
    }
}

#[test]
fn a_panicking_body_panics_out_of_send() {
    let mut client = Session::client((), &Options::new()).unwrap();
    client
        .submit_request(request_headers("POST", "/"), Some(Box::new(PanickingBody)))
        .unwrap();
    let mut out = Vec::new();
    let caught = catch_unwind(AssertUnwindSafe(|| client.send(&mut out)));
    let payload = caught.expect_err("the panic resumes from send");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in read"));
}
