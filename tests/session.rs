//! A client Session and a server Session wired back to back in memory.

mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nghttp2::session::{
    Chunk, DataSource, FnSource, FrameType, Header, HeaderRef, Options, Session, SessionRef,
    Setting, SettingId, StreamId,
};
use nghttp2::{Initiator, Kind, LibError, Reason};
use support::{
    goaway_code, parse_frames, pump, raw_frame, request_headers, sid, Recorder, StreamRecord,
    PREFACE,
};

/// A body of `len` bytes whose content depends on the position.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A server that echoes each request body back with status 200.
fn echo_server(options: &Options) -> Session<Recorder> {
    let handler = Recorder::answering(|cx: &mut SessionRef, id, req: &StreamRecord| {
        let body: Box<dyn DataSource> = Box::new(req.body.clone());
        cx.submit_response(id, [HeaderRef::new(b":status", b"200")], Some(body))
            .expect("submit_response");
    });
    let mut server = Session::server(handler, options).unwrap();
    server.submit_settings(&[]).unwrap();
    server
}

fn client(options: &Options) -> Session<Recorder> {
    let mut client = Session::client(Recorder::default(), options).unwrap();
    client.submit_settings(&[]).unwrap();
    client
}

#[test]
fn version_is_at_least_1_68_1() {
    let v = nghttp2::version();
    assert!(
        v.triple() >= nghttp2::MIN_NGHTTP2_VERSION,
        "linked {}",
        v.text
    );
    assert_eq!(v.proto, "h2");
}

#[test]
fn bodies_of_edge_sizes_round_trip_byte_exact() {
    for len in [0usize, 1, 16383, 16384, 16385, 1 << 20] {
        let mut server = echo_server(&Options::new());
        let mut client = client(&Options::new());
        let sent = pattern(len);
        let body: Option<Box<dyn DataSource>> = if len == 0 {
            None
        } else {
            Some(Box::new(sent.clone()))
        };
        let id = client
            .submit_request(request_headers("POST", "/echo"), body)
            .unwrap();
        pump(&mut client, &mut server).unwrap();

        assert_eq!(
            server.handler().stream(id).body.len(),
            len,
            "request of {len} bytes"
        );
        assert!(
            server.handler().stream(id).body == sent,
            "request body of {len} bytes differs"
        );
        let response = client.handler().stream(id);
        assert_eq!(response.header(":status"), Some(&b"200"[..]));
        assert_eq!(response.body.len(), len, "response of {len} bytes");
        assert!(
            response.body == sent,
            "response body of {len} bytes differs"
        );
        assert_eq!(response.closed, Some(Reason::NO_ERROR));
        assert_eq!(client.sending_bodies(), 0);
        assert_eq!(server.sending_bodies(), 0);
    }
}

/// A body sent in fixed-size chunks, ending with trailers.
fn chunked_with_trailers(
    data: Vec<u8>,
    chunk: usize,
    trailers: Vec<Header>,
) -> Box<dyn DataSource> {
    let mut rest = Bytes::from(data);
    let mut trailers = Some(trailers);
    Box::new(FnSource(move |_max| {
        if rest.is_empty() {
            return Chunk::End {
                last: Bytes::new(),
                trailers: trailers.take(),
            };
        }
        let n = chunk.min(rest.len());
        Chunk::Data(rest.split_to(n))
    }))
}

#[test]
fn trailers_travel_both_ways() {
    let handler = Recorder::answering(|cx: &mut SessionRef, id, req: &StreamRecord| {
        let body = chunked_with_trailers(
            req.body.clone(),
            1000,
            vec![
                Header::new("grpc-status", "0"),
                Header::new("x-checksum", "abc"),
            ],
        );
        cx.submit_response(id, [HeaderRef::new(b":status", b"200")], Some(body))
            .unwrap();
    });
    let mut server = Session::server(handler, &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());

    let body = chunked_with_trailers(
        pattern(5000),
        777,
        vec![Header::new("x-request-trailer", "yes")],
    );
    let id = client
        .submit_request(request_headers("POST", "/t"), Some(body))
        .unwrap();
    pump(&mut client, &mut server).unwrap();

    let req = server.handler().stream(id);
    assert_eq!(req.body, pattern(5000));
    assert_eq!(
        req.trailers,
        vec![(b"x-request-trailer".to_vec(), b"yes".to_vec())]
    );
    let resp = client.handler().stream(id);
    assert_eq!(resp.body, pattern(5000));
    assert_eq!(
        resp.trailers,
        vec![
            (b"grpc-status".to_vec(), b"0".to_vec()),
            (b"x-checksum".to_vec(), b"abc".to_vec())
        ]
    );
    assert_eq!(resp.closed, Some(Reason::NO_ERROR));
}

#[test]
fn a_thousand_streams_against_a_limit_of_a_hundred_all_complete() {
    let handler = Recorder::answering(|cx: &mut SessionRef, id, _req: &StreamRecord| {
        let body: Box<dyn DataSource> = Box::new(Bytes::from(format!("stream {id}")));
        cx.submit_response(id, [HeaderRef::new(b":status", b"200")], Some(body))
            .unwrap();
    });
    let mut server = Session::server(handler, &Options::new()).unwrap();
    server
        .submit_settings(&[Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)])
        .unwrap();
    let mut client = client(&Options::new());
    // Learn the limit before opening streams, as a real client would.
    pump(&mut client, &mut server).unwrap();
    assert_eq!(
        client.remote_setting(SettingId::MAX_CONCURRENT_STREAMS),
        100
    );

    let ids: Vec<StreamId> = (0..1000)
        .map(|i| {
            client
                .submit_request(request_headers("GET", &format!("/{i}")), None)
                .unwrap()
        })
        .collect();
    // One send: nghttp2 opens at most 100 and queues the rest.
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    let opened = support::parse_frames(&wire)
        .iter()
        .filter(|f| f.0 == 0x1)
        .count();
    assert_eq!(opened, 100, "nghttp2 opens no more than the peer allows");
    server.recv(&wire).unwrap();
    pump(&mut client, &mut server).unwrap();

    for id in ids {
        let record = client.handler().stream(id);
        assert_eq!(record.body, format!("stream {id}").into_bytes());
        assert_eq!(record.closed, Some(Reason::NO_ERROR));
    }
    assert_eq!(server.handler().streams.len(), 1000);
}

#[test]
fn without_auto_window_update_a_body_stalls_until_consumed() {
    let options = Options::new().no_auto_window_update(true);
    let mut server = Session::server(Recorder::default(), &options).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    let sent = pattern(1 << 20);
    let id = client
        .submit_request(
            request_headers("POST", "/upload"),
            Some(Box::new(sent.clone())),
        )
        .unwrap();
    pump(&mut client, &mut server).unwrap();

    // Stalled at the initial window: 65535 bytes, and the client may send
    // nothing more.
    const INITIAL_WINDOW: usize = 65_535;
    assert_eq!(server.handler().stream(id).body.len(), INITIAL_WINDOW);
    assert_eq!(client.stream_remote_window_size(id).unwrap(), 0);
    assert_eq!(server.unconsumed(id).unwrap() as usize, INITIAL_WINDOW);
    // Pumping again changes nothing.
    pump(&mut client, &mut server).unwrap();
    assert_eq!(server.handler().stream(id).body.len(), INITIAL_WINDOW);

    // Consume what arrived, step by step, until the whole body is in.
    let mut consumed = 0;
    for _ in 0..100 {
        let received = server.handler().stream(id).body.len();
        if received == sent.len() {
            break;
        }
        server.consume(id, received - consumed).unwrap();
        consumed = received;
        pump(&mut client, &mut server).unwrap();
    }
    let record = server.handler().stream(id);
    assert!(record.ended);
    assert!(record.body == sent);
}

#[test]
fn a_deferred_body_resumes_when_data_arrives() {
    type Queue = Arc<Mutex<(VecDeque<Bytes>, bool)>>;
    let queue: Queue = Arc::default();
    let source_queue = queue.clone();
    let handler = Recorder::answering(move |cx: &mut SessionRef, id, _req: &StreamRecord| {
        let q = source_queue.clone();
        let body = FnSource(move |_max| {
            let mut q = q.lock().unwrap();
            match q.0.pop_front() {
                Some(chunk) => Chunk::Data(chunk),
                None if q.1 => Chunk::end(),
                None => Chunk::Pending,
            }
        });
        cx.submit_response(
            id,
            [HeaderRef::new(b":status", b"200")],
            Some(Box::new(body)),
        )
        .unwrap();
    });
    let mut server = Session::server(handler, &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    let id = client
        .submit_request(request_headers("GET", "/slow"), None)
        .unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(
        client.handler().stream(id).header(":status"),
        Some(&b"200"[..])
    );
    assert!(client.handler().stream(id).body.is_empty());
    assert!(
        !server.want_write(),
        "a deferred stream has nothing to send"
    );

    queue
        .lock()
        .unwrap()
        .0
        .push_back(Bytes::from_static(b"first "));
    server.resume_data(id).unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(client.handler().stream(id).body, b"first ");
    assert!(!client.handler().stream(id).ended);

    {
        let mut q = queue.lock().unwrap();
        q.0.push_back(Bytes::from_static(b"second"));
        q.1 = true;
    }
    server.resume_data(id).unwrap();
    pump(&mut client, &mut server).unwrap();
    let record = client.handler().stream(id);
    assert_eq!(record.body, b"first second");
    assert!(record.ended);
    assert_eq!(record.closed, Some(Reason::NO_ERROR));
}

#[test]
fn rst_stream_reaches_the_peer_with_its_code() {
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    let body = FnSource(|_max| Chunk::Pending);
    let id = client
        .submit_request(request_headers("POST", "/"), Some(Box::new(body)))
        .unwrap();
    pump(&mut client, &mut server).unwrap();
    client.submit_rst_stream(id, Reason::CANCEL).unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(server.handler().stream(id).closed, Some(Reason::CANCEL));
    assert_eq!(client.handler().stream(id).closed, Some(Reason::CANCEL));
    assert_eq!(
        client.sending_bodies(),
        0,
        "the reset stream's body was dropped"
    );
}

#[test]
fn goaway_honours_the_last_stream_id() {
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    let ids: Vec<StreamId> = (0..3)
        .map(|_| {
            client
                .submit_request(request_headers("GET", "/"), None)
                .unwrap()
        })
        .collect();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(ids, vec![sid(1), sid(3), sid(5)]);

    // Stream 1 is processed; 3 and 5 are not.
    server
        .submit_goaway(sid(1), Reason::NO_ERROR, b"bye")
        .unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(client.handler().goaway, Some((sid(1), Reason::NO_ERROR)));
    assert_eq!(client.remote_goaway(), Some((sid(1), Reason::NO_ERROR)));
    assert_eq!(
        client.handler().stream(3).closed,
        Some(Reason::REFUSED_STREAM)
    );
    assert_eq!(
        client.handler().stream(5).closed,
        Some(Reason::REFUSED_STREAM)
    );
    assert!(
        client
            .handler()
            .streams
            .get(&sid(1))
            .is_none_or(|s| s.closed.is_none()),
        "stream 1 still open"
    );

    // Stream 1 finishes normally.
    server
        .submit_response(sid(1), [HeaderRef::new(b":status", b"204")], None)
        .unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(client.handler().stream(1).closed, Some(Reason::NO_ERROR));
    // A new request after GOAWAY never reaches the server.
    let late = client.submit_request(request_headers("GET", "/"), None);
    pump(&mut client, &mut server).unwrap();
    if let Ok(id) = late {
        assert!(!server.handler().streams.contains_key(&id));
    }
}

#[test]
fn ping_round_trips() {
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    client.submit_ping(false, *b"12345678").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(server.handler().pings, vec![(*b"12345678", false)]);
    assert_eq!(client.handler().pings, vec![(*b"12345678", true)]);
}

#[test]
fn settings_changes_are_applied_on_both_sides() {
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    pump(&mut client, &mut server).unwrap();
    client
        .submit_settings(&[
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, 1 << 20),
            Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 7),
        ])
        .unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(
        server.remote_setting(SettingId::INITIAL_WINDOW_SIZE),
        1 << 20
    );
    assert_eq!(server.remote_setting(SettingId::MAX_CONCURRENT_STREAMS), 7);
    // Acknowledged, so in force locally too.
    assert_eq!(
        client.local_setting(SettingId::INITIAL_WINDOW_SIZE),
        1 << 20
    );
    assert!(server
        .handler()
        .settings
        .contains(&(SettingId::MAX_CONCURRENT_STREAMS.0, 7)));
}

#[test]
fn a_wrong_preface_is_a_fatal_error_answered_with_protocol_error() {
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let err = server
        .recv(b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
        .unwrap_err();
    assert_eq!(err.lib_error(), Some(LibError::BAD_CLIENT_MAGIC));
    assert!(err.is_fatal());
    let mut out = Vec::new();
    server.send(&mut out).unwrap();
    assert_eq!(goaway_code(&out), Some(Reason::PROTOCOL_ERROR));
}

/// A server that has seen a valid preface and SETTINGS, then `frames`.
fn server_after(frames: &[Vec<u8>]) -> (Session<Recorder>, Result<usize, nghttp2::Error>) {
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut input = PREFACE.to_vec();
    input.extend(raw_frame(0x4, 0, 0, &[]));
    for f in frames {
        input.extend_from_slice(f);
    }
    let result = server.recv(&input);
    (server, result)
}

/// The server answers with GOAWAY `code`, reports it as a fatal error, and
/// is done with the connection.
fn assert_connection_error(
    result: Result<usize, nghttp2::Error>,
    server: &mut Session<Recorder>,
    code: Reason,
) {
    result.expect("nghttp2 handles the bad frame itself");
    let mut out = Vec::new();
    server.send(&mut out).unwrap();
    assert_eq!(goaway_code(&out), Some(code));
    let err = server.close_reason().expect("a close reason");
    assert!(err.is_fatal(), "{err}");
    match err.kind() {
        Kind::GoAway {
            reason, initiator, ..
        } => {
            assert_eq!(*reason, code);
            assert_eq!(*initiator, Initiator::Local);
        }
        other => panic!("expected a GOAWAY, got {other:?}"),
    }
    assert!(
        server.is_done(),
        "the session reads and writes nothing more"
    );
    let again = server.recv(&raw_frame(0x6, 0, 0, b"12345678")).unwrap_err();
    assert_eq!(again.reason(), Some(code));
}

#[test]
fn data_on_stream_zero_is_a_protocol_error() {
    let (mut server, result) = server_after(&[raw_frame(0x0, 0, 0, b"hello")]);
    assert_connection_error(result, &mut server, Reason::PROTOCOL_ERROR);
}

#[test]
fn a_window_update_of_zero_on_the_connection_is_a_protocol_error() {
    let (mut server, result) = server_after(&[raw_frame(0x8, 0, 0, &0u32.to_be_bytes())]);
    assert_connection_error(result, &mut server, Reason::PROTOCOL_ERROR);
}

#[test]
fn an_oversized_frame_is_a_frame_size_error() {
    // 16385 bytes: one more than SETTINGS_MAX_FRAME_SIZE's default.
    let (mut server, result) = server_after(&[raw_frame(0x0, 0, 1, &vec![0; 16385])]);
    assert_connection_error(result, &mut server, Reason::FRAME_SIZE_ERROR);
}

#[test]
fn a_ping_of_the_wrong_length_is_a_frame_size_error() {
    let (mut server, result) = server_after(&[raw_frame(0x6, 0, 0, b"1234567")]);
    assert_connection_error(result, &mut server, Reason::FRAME_SIZE_ERROR);
}

/// Counts live and dropped bodies.
struct Tracked {
    live: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(live: &Arc<AtomicUsize>, dropped: &Arc<AtomicUsize>) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            live: live.clone(),
            dropped: dropped.clone(),
        }
    }
}

impl DataSource for Tracked {
    fn read(&mut self, _max_len: usize) -> Chunk {
        Chunk::Pending
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn bodies_of_streams_still_open_are_freed_exactly_once_on_drop() {
    let live = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    {
        let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
        server.submit_settings(&[]).unwrap();
        let mut client = client(&Options::new());
        for _ in 0..10 {
            client
                .submit_request(
                    request_headers("POST", "/"),
                    Some(Box::new(Tracked::new(&live, &dropped))),
                )
                .unwrap();
        }
        pump(&mut client, &mut server).unwrap();
        // One stream closes normally: its body goes with it.
        client.submit_rst_stream(sid(1), Reason::CANCEL).unwrap();
        pump(&mut client, &mut server).unwrap();
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert_eq!(live.load(Ordering::SeqCst), 9);
        // Queued but never sent: not even a HEADERS frame left.
        for _ in 0..5 {
            client
                .submit_request(
                    request_headers("POST", "/"),
                    Some(Box::new(Tracked::new(&live, &dropped))),
                )
                .unwrap();
        }
        assert_eq!(live.load(Ordering::SeqCst), 14);
    }
    assert_eq!(live.load(Ordering::SeqCst), 0);
    assert_eq!(dropped.load(Ordering::SeqCst), 15);
}

#[test]
fn a_handler_error_resets_only_its_stream() {
    struct RefuseSecret(Recorder);
    impl nghttp2::session::Handler for RefuseSecret {
        fn on_header(
            &mut self,
            cx: &mut SessionRef,
            frame: &nghttp2::session::Frame<'_>,
            h: HeaderRef<'_>,
        ) -> nghttp2::session::CallbackResult {
            if h.value == b"/secret" {
                return Err(nghttp2::session::CallbackError::ResetStream);
            }
            self.0.on_header(cx, frame, h)
        }
    }
    let mut server = Session::server(RefuseSecret(Recorder::default()), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    let secret = client
        .submit_request(request_headers("GET", "/secret"), None)
        .unwrap();
    let open = client
        .submit_request(request_headers("GET", "/open"), None)
        .unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(
        client.handler().stream(secret).closed,
        Some(Reason::INTERNAL_ERROR)
    );
    assert!(server.is_stream_open(open));
    assert_eq!(client.handler().count(FrameType::GOAWAY), 0);
}

#[test]
fn a_fatal_handler_error_surfaces_from_recv() {
    struct Fail;
    impl nghttp2::session::Handler for Fail {
        fn on_frame_recv(
            &mut self,
            _cx: &mut SessionRef,
            frame: &nghttp2::session::Frame<'_>,
        ) -> nghttp2::session::CallbackResult {
            if frame.frame_type() == FrameType::HEADERS {
                return Err(nghttp2::session::CallbackError::Fatal(
                    nghttp2::Error::user("no requests today"),
                ));
            }
            Ok(())
        }
    }
    let mut server = Session::server(Fail, &Options::new()).unwrap();
    let mut client = client(&Options::new());
    client
        .submit_request(request_headers("GET", "/"), None)
        .unwrap();
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    let err = server.recv(&wire).unwrap_err();
    assert_eq!(err.to_string(), "no requests today");
}

#[test]
fn chunk_boundaries_of_a_body_do_not_cut_data_frames_short() {
    // A source that hands out 1000 bytes at a time: frames are still filled
    // to 16384 bytes, as far as the 65535-byte initial window allows.
    let mut rest = Bytes::from(pattern(100_000));
    let source = FnSource(move |_max| {
        if rest.is_empty() {
            return Chunk::end();
        }
        Chunk::Data(rest.split_to(1000.min(rest.len())))
    });
    let mut client = client(&Options::new());
    client
        .submit_request(request_headers("POST", "/"), Some(Box::new(source)))
        .unwrap();
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    let data_lengths: Vec<usize> = support::parse_frames(&wire)
        .iter()
        .filter(|f| f.0 == 0x0)
        .map(|f| f.3.len())
        .collect();
    assert_eq!(data_lengths, vec![16384, 16384, 16384, 16383]);
}

/// A server answering `GET /` with `len` bytes of [`pattern`], and a
/// client (its connection window opened to 1 GiB, and `settings` sent
/// when given) whose request the server has read: the response is ready
/// to be sent.
fn answering_pattern(
    len: usize,
    settings: &[Setting],
) -> (Session<Recorder>, Session<Recorder>, StreamId) {
    let handler = Recorder::answering(move |cx: &mut SessionRef, id, _req: &StreamRecord| {
        let body: Box<dyn DataSource> = Box::new(Bytes::from(pattern(len)));
        cx.submit_response(id, [HeaderRef::new(b":status", b"200")], Some(body))
            .unwrap();
    });
    let mut server = Session::server(handler, &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    if !settings.is_empty() {
        client.submit_settings(settings).unwrap();
    }
    client
        .set_local_window_size(StreamId::CONNECTION, (1 << 30) - 1)
        .unwrap();
    let id = client
        .submit_request(request_headers("GET", "/"), None)
        .unwrap();
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    server.recv(&wire).unwrap();
    (server, client, id)
}

#[test]
fn send_up_to_stays_bounded_whatever_the_window() {
    // The server opens its windows wide (1 GiB, as h2load does); a 4 MiB
    // response must still come out in bounded slices.
    let (mut server, mut client, id) = answering_pattern(
        4 << 20,
        &[Setting::new(SettingId::INITIAL_WINDOW_SIZE, (1 << 30) - 1)],
    );

    const LIMIT: usize = 64 * 1024;
    let mut received = 0;
    let mut slices = 0;
    for _ in 0..10_000 {
        let mut out = Vec::new();
        let n = server.send_up_to(&mut out, LIMIT).unwrap();
        if n == 0 {
            break;
        }
        // DATA frames go in only while they fit: no write ends a few
        // bytes past the limit.
        assert!(n <= LIMIT, "one send_up_to gave {n} bytes");
        slices += 1;
        client.recv(&out).unwrap();
        received = client.handler().stream(id).body.len();
    }
    assert_eq!(received, 4 << 20);
    assert!(slices >= (4 << 20) / LIMIT, "{slices} slices");
}

#[test]
fn a_data_frame_that_waits_for_room_takes_the_window_it_finds() {
    // 64 KiB of output takes three full frames, and the fourth does not
    // fit. It must not be sized by the window of now and written later:
    // by then a WINDOW_UPDATE may allow more, and the frame would go out
    // shorter than the windows let it (what tests/compare.rs checks of
    // h2serve against nghttpd).
    const BODY: usize = 200_000;
    let (mut server, mut client, id) = answering_pattern(BODY, &[]);

    const LIMIT: usize = 64 * 1024;
    let mut sent = 0;
    let mut short = Vec::new();
    for _ in 0..100 {
        // What the windows allow as this write starts; every DATA frame in
        // it is as long as they (and the body) allow, up to 16384.
        let mut window = server
            .stream_remote_window_size(id)
            .unwrap_or(0)
            .min(server.remote_window_size()) as usize;
        let mut out = Vec::new();
        server.send_up_to(&mut out, LIMIT).unwrap();
        for frame in support::parse_frames(&out).iter().filter(|f| f.0 == 0x0) {
            let n = frame.3.len();
            let full = 16384.min(window).min(BODY - sent);
            if n < full {
                short.push((sent, n, full));
            }
            sent += n;
            window -= n;
        }
        client.recv(&out).unwrap();
        if client.handler().stream(id).body.len() == BODY {
            break;
        }
        // The client's WINDOW_UPDATEs (nghttp2 sends them once half a
        // window is consumed) reach the server before its next write.
        let mut update = Vec::new();
        client.send(&mut update).unwrap();
        server.recv(&update).unwrap();
    }
    assert_eq!(sent, BODY);
    assert_eq!(short, [], "DATA frames (offset, length, allowed) cut short");
}

/// A response header block read in place; counts its drops.
struct CountedBlock {
    status: Vec<u8>,
    server: String,
    drops: Arc<AtomicUsize>,
}

impl nghttp2::session::HeaderBlock for CountedBlock {
    fn for_each_field<'a>(&'a self, field: &mut dyn FnMut(HeaderRef<'a>)) {
        field(HeaderRef::new(b":status", &self.status));
        field(HeaderRef::new(b"server", self.server.as_bytes()));
        field(HeaderRef::new(b"x-static", b"yes"));
    }
}

impl Drop for CountedBlock {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_header_block_sent_without_copy_arrives_intact_and_is_dropped_once_sent() {
    let drops = Arc::new(AtomicUsize::new(0));
    let in_handler = drops.clone();
    let handler = Recorder::answering(move |cx: &mut SessionRef, id, _req: &StreamRecord| {
        let block = CountedBlock {
            status: b"203".to_vec(),
            server: "in-place/1".to_string(),
            drops: in_handler.clone(),
        };
        cx.submit_response_block(id, Box::new(block), None)
            .expect("submit_response_block");
    });
    let mut server = Session::server(handler, &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = client(&Options::new());
    let ids: Vec<StreamId> = (0..3)
        .map(|_| {
            client
                .submit_request(request_headers("GET", "/"), None)
                .unwrap()
        })
        .collect();
    // The requests arrive and are answered, but nothing is sent yet: the
    // blocks are still the session's.
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    server.recv(&wire).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    pump(&mut client, &mut server).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    for id in ids {
        let response = client.handler().stream(id);
        assert_eq!(response.header(":status"), Some(&b"203"[..]));
        assert_eq!(response.header("server"), Some(&b"in-place/1"[..]));
        assert_eq!(response.header("x-static"), Some(&b"yes"[..]));
        assert_eq!(response.closed, Some(Reason::NO_ERROR));
    }
    drop(server);
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    // A block whose frame never leaves goes with the session, once.
    let mut server = Session::server(Recorder::default(), &Options::new()).unwrap();
    server.submit_settings(&[]).unwrap();
    let mut client = crate::client(&Options::new());
    let id = client
        .submit_request(request_headers("GET", "/"), None)
        .unwrap();
    let mut wire = Vec::new();
    client.send(&mut wire).unwrap();
    server.recv(&wire).unwrap();
    let block = CountedBlock {
        status: b"200".to_vec(),
        server: String::new(),
        drops: drops.clone(),
    };
    server
        .submit_response_block(id, Box::new(block), None)
        .unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    drop(server);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

/// A body handed over whole (a `Bytes` source of 4 MiB) is made ready for
/// frames only as far as the peer's windows let it out, so a more urgent
/// response submitted while the connection window was shut still goes
/// first once it opens (RFC 9218: nghttp2 picks among the streams that
/// have data ready).
#[test]
fn a_large_bytes_body_gives_way_to_a_more_urgent_stream() {
    use support::wire::{
        headers, request_block, settings, settings_ack, window_update, DATA, END_HEADERS,
        END_STREAM, SETTINGS_INITIAL_WINDOW_SIZE,
    };
    const LARGE: usize = 4 << 20;
    const SMALL: usize = 16_000;
    const CONN_WINDOW: usize = 65_535;
    let handler = Recorder::answering(|cx: &mut SessionRef, id, req: &StreamRecord| {
        let (len, urgency) = if req.header(":path") == Some(&b"/large"[..]) {
            (LARGE, 7)
        } else {
            (SMALL, 0)
        };
        cx.change_extpri_stream_priority(id, urgency, false, true)
            .expect("priority");
        let body: Box<dyn DataSource> = Box::new(Bytes::from(vec![b'x'; len]));
        cx.submit_response(id, [HeaderRef::new(b":status", b"200")], Some(body))
            .expect("submit_response");
    });
    let mut server = Session::server(handler, &Options::new()).unwrap();
    server
        .submit_settings(&[Setting {
            id: SettingId::NO_RFC7540_PRIORITIES,
            value: 1,
        }])
        .unwrap();
    // DATA frames the server sends from now on: (stream, length, END_STREAM).
    let sent = |server: &mut Session<Recorder>, input: &[u8]| {
        server.recv(input).unwrap();
        let mut out = Vec::new();
        server.send(&mut out).unwrap();
        parse_frames(&out)
            .into_iter()
            .filter(|f| f.0 == DATA)
            .map(|(_, flags, id, payload)| (id, payload.len(), flags & END_STREAM != 0))
            .collect::<Vec<_>>()
    };
    // Stream windows of 16 MiB; the connection's stays at 65,535 bytes.
    let mut hello = PREFACE.to_vec();
    hello.extend(settings(&[(SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24)]));
    hello.extend(settings_ack());
    hello.extend(headers(
        1,
        &request_block("GET", "/large", &[]),
        END_HEADERS | END_STREAM,
    ));
    let first = sent(&mut server, &hello);
    let filled: usize = first.iter().map(|f| f.1).sum();
    assert_eq!(
        filled, CONN_WINDOW,
        "the download fills the window: {first:?}"
    );
    let request = headers(
        3,
        &request_block("GET", "/small", &[]),
        END_HEADERS | END_STREAM,
    );
    assert_eq!(sent(&mut server, &request), [], "no DATA beyond the window");
    let race = sent(&mut server, &window_update(0, 1 << 30));
    let small_end = race.iter().position(|&(id, _, end)| id == 3 && end);
    let large_next = race.iter().position(|&(id, _, _)| id == 1);
    assert!(
        matches!((small_end, large_next), (Some(a), Some(b)) if a < b),
        "the urgent response first: {:?}",
        &race[..race.len().min(8)]
    );
}
