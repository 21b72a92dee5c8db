//! 103 Early Hints (and other 1xx) through the `Informational` handle in
//! an HTTP/2 request's extensions; seen by curl and on the wire.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use nghttp2::server::{service_fn, Builder, Informational, RequestBody};
use support::peers::{peer, run};
use support::wire::{self, RawConn};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

type Kept = Arc<Mutex<Option<Informational>>>;

/// `/hints` sends two 103s, checks that statuses other than 1xx (and 101)
/// are refused, keeps the handle in `kept`, and answers "page"; any other
/// path says whether it had a handle.
async fn site(req: Request<RequestBody>, kept: Kept) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(hints) = req.extensions().get::<Informational>().cloned() else {
        return Ok(Response::new(Full::new(Bytes::from_static(b"no handle"))));
    };
    if req.uri().path() != "/hints" {
        return Ok(Response::new(Full::new(Bytes::from_static(b"a handle"))));
    }
    for link in [
        "</style.css>; rel=preload; as=style",
        "</app.js>; rel=preload; as=script",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert("link", HeaderValue::from_static(link));
        hints.send(StatusCode::EARLY_HINTS, headers).unwrap();
    }
    assert!(hints
        .send(StatusCode::SWITCHING_PROTOCOLS, HeaderMap::new())
        .is_err());
    assert!(hints.send(StatusCode::OK, HeaderMap::new()).is_err());
    *kept.lock().unwrap() = Some(hints);
    Ok(Response::new(Full::new(Bytes::from_static(b"page"))))
}

async fn start() -> (SocketAddr, Kept) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let kept = Kept::default();
    let k = kept.clone();
    let service = service_fn(move |req| site(req, k.clone()));
    tokio::spawn(async move { Builder::new().serve(listener, service).await });
    (addr, kept)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_hints_come_before_the_response_on_the_wire() {
    let (addr, kept) = start().await;
    let run = async {
        let mut conn = RawConn::handshake(addr, &[]).await;
        let block = wire::request_block("GET", "/hints", &[]);
        conn.send(&wire::headers(
            1,
            &block,
            wire::END_HEADERS | wire::END_STREAM,
        ))
        .await
        .unwrap();
        let mut heads = Vec::new();
        loop {
            let frame = conn.read_frame(wire::IO_LIMIT).await.expect("a frame");
            if frame.kind == wire::HEADERS && frame.stream_id == 1 {
                let fields = conn.decode(&frame);
                let ended = frame.flags & wire::END_STREAM != 0;
                heads.push((fields, ended));
            }
            if frame.stream_id == 1 && frame.flags & wire::END_STREAM != 0 {
                break;
            }
        }
        let field = |i: usize, name: &str| {
            heads[i]
                .0
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(heads.len(), 3, "{heads:?}");
        assert_eq!(field(0, ":status").as_deref(), Some("103"));
        assert_eq!(
            field(0, "link").as_deref(),
            Some("</style.css>; rel=preload; as=style")
        );
        assert!(!heads[0].1, "a 103 does not end the stream");
        assert_eq!(field(1, ":status").as_deref(), Some("103"));
        assert_eq!(
            field(1, "link").as_deref(),
            Some("</app.js>; rel=preload; as=script")
        );
        assert_eq!(field(2, ":status").as_deref(), Some("200"));
        // After the final response, the handle refuses.
        let hints = kept.lock().unwrap().take().unwrap();
        assert!(hints
            .send(StatusCode::EARLY_HINTS, HeaderMap::new())
            .is_err());
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_shows_the_103_and_http1_requests_have_no_handle() {
    let Some(curl) = peer("curl") else { return };
    let (addr, _) = start().await;
    let url = format!("http://127.0.0.1:{}/hints", addr.port());
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(curl).args(["-sv", "--http2-prior-knowledge", &url]))
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout, "page");
    assert!(stderr.contains("< HTTP/2 103"), "{stderr}");
    assert!(
        stderr.contains("< link: </style.css>; rel=preload; as=style"),
        "{stderr}"
    );
    assert!(stderr.contains("< HTTP/2 200"), "{stderr}");

    let Some(curl) = peer("curl") else { return };
    let url = format!("http://127.0.0.1:{}/other", addr.port());
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(curl).args(["-s", "--http1.1", &url]))
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no handle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_hands_informational_responses_to_a_caller_who_asks() {
    let (addr, _kept) = start().await;
    let run = async {
        let uri: http::Uri = format!("http://{addr}/hints").parse().unwrap();
        let client = nghttp2::client::Builder::new().connect(&uri).await.unwrap();
        let mut request = Request::get(uri.clone())
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let mut hints = nghttp2::client::informational(&mut request);
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut links = Vec::new();
        while let Some((status, headers)) = hints.recv().await {
            assert_eq!(status, StatusCode::EARLY_HINTS);
            links.push(headers["link"].to_str().unwrap().to_string());
        }
        assert_eq!(
            links,
            [
                "</style.css>; rel=preload; as=style",
                "</app.js>; rel=preload; as=script"
            ]
        );
        // A request that does not ask gets its final response all the same.
        let plain = Request::get(uri)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        assert_eq!(client.send(plain).await.unwrap().status(), StatusCode::OK);
    };
    timeout(LIMIT, run).await.expect("timed out");
}

/// A body that sends nothing and ends only once `end` fires: the stream
/// stays open after the final response's HEADERS.
struct OpenUntil(tokio::sync::oneshot::Receiver<()>);

impl http_body::Body for OpenUntil {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        use std::future::Future;
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| None)
    }
}

/// A handle its handler never used is refused once the final response is
/// submitted, while the stream is still open (its body not done).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_handle_is_refused_after_the_final_response() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let kept = Kept::default();
    let end = Arc::new(Mutex::new(None));
    let (k, e) = (kept.clone(), end.clone());
    let service = service_fn(move |req: Request<RequestBody>| {
        let hints = req.extensions().get::<Informational>().cloned();
        *k.lock().unwrap() = hints;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        *e.lock().unwrap() = Some(tx);
        async move { Ok::<_, Infallible>(Response::new(OpenUntil(rx))) }
    });
    tokio::spawn(async move { Builder::new().serve(listener, service).await });
    let run = async {
        let mut conn = RawConn::handshake(addr, &[]).await;
        let block = wire::request_block("GET", "/", &[]);
        conn.send(&wire::headers(
            1,
            &block,
            wire::END_HEADERS | wire::END_STREAM,
        ))
        .await
        .unwrap();
        loop {
            let frame = conn.read_frame(wire::IO_LIMIT).await.expect("a frame");
            if frame.kind == wire::HEADERS && frame.stream_id == 1 {
                assert_eq!(frame.flags & wire::END_STREAM, 0, "the body is open");
                break;
            }
        }
        let hints = kept.lock().unwrap().take().expect("a handle");
        assert!(hints
            .send(StatusCode::EARLY_HINTS, HeaderMap::new())
            .is_err());
        let _ = end.lock().unwrap().take().unwrap().send(());
        loop {
            let frame = conn.read_frame(wire::IO_LIMIT).await.expect("a frame");
            if frame.stream_id == 1 && frame.flags & wire::END_STREAM != 0 {
                break;
            }
        }
    };
    timeout(LIMIT, run).await.expect("timed out");
}
