//! What every response carries, on both protocols: a `date`, the
//! configured `server`, `content-length` when the body's size is known,
//! and no body for HEAD.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use nghttp2::server::{service_fn, BoxError, Builder, RequestBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

type BoxBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// Chunks of a size nobody said in advance.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// `/` answers "hello world" (size known), `/chunks` the same in two
/// chunks of unknown total size, `/own` with its own date and server.
async fn site(req: Request<RequestBody>) -> Result<Response<BoxBody>, Infallible> {
    let body = match req.uri().path() {
        "/chunks" => Chunks(VecDeque::from([
            Bytes::from_static(b"hello "),
            Bytes::from_static(b"world"),
        ]))
        .boxed(),
        _ => Full::new(Bytes::from_static(b"hello world"))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    };
    let mut response = Response::new(body);
    if req.uri().path() == "/own" {
        let headers = response.headers_mut();
        headers.insert(
            "date",
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        headers.insert("server", HeaderValue::from_static("mine"));
    }
    Ok(response)
}

async fn start(builder: Builder) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(builder.serve(listener, service_fn(site)).into_future());
    addr
}

async fn h2(addr: SocketAddr, method: Method, path: &str) -> (HeaderMap, Vec<u8>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let (parts, mut body) = response.await.unwrap().into_parts();
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        data.extend_from_slice(&chunk.unwrap());
    }
    (parts.headers, data)
}

/// The head (lower-cased) and body of one HTTP/1.1 exchange.
async fn h1(addr: SocketAddr, method: &str, path: &str) -> (String, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.to_ascii_lowercase(), body.to_string())
}

fn assert_recent_date(date: &str) {
    let date = httpdate::parse_http_date(date).unwrap();
    let age = std::time::SystemTime::now()
        .duration_since(date)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(3600), "date {date:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_responses_carry_date_server_and_length_and_head_has_no_body() {
    let addr = start(Builder::new().server_header(Some(HeaderValue::from_static("test/1")))).await;
    let run = async {
        let (headers, body) = h2(addr, Method::GET, "/").await;
        assert_eq!(body, b"hello world");
        assert_recent_date(headers["date"].to_str().unwrap());
        assert_eq!(headers["server"], "test/1");
        assert_eq!(headers["content-length"], "11");

        let (headers, body) = h2(addr, Method::HEAD, "/").await;
        assert!(body.is_empty());
        assert_eq!(headers["content-length"], "11");
        assert!(headers.contains_key("date"));

        let (headers, body) = h2(addr, Method::GET, "/chunks").await;
        assert_eq!(body, b"hello world");
        assert!(!headers.contains_key("content-length"));

        let (headers, _) = h2(addr, Method::GET, "/own").await;
        assert_eq!(headers["date"], "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(headers["server"], "mine");
        assert_eq!(headers.get_all("date").iter().count(), 1);
        assert_eq!(headers.get_all("server").iter().count(), 1);
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_responses_carry_date_server_and_length_and_head_has_no_body() {
    let addr = start(Builder::new().server_header(Some(HeaderValue::from_static("test/1")))).await;
    let run = async {
        let (head, body) = h1(addr, "GET", "/").await;
        assert_eq!(body, "hello world");
        assert!(head.contains("\r\nserver: test/1"), "{head}");
        assert!(head.contains("\r\ncontent-length: 11"), "{head}");
        let date = head
            .split("\r\ndate: ")
            .nth(1)
            .unwrap()
            .split("\r\n")
            .next()
            .unwrap();
        // Lower-cased above; HTTP dates parse case-sensitively.
        assert_eq!(date.len(), "thu, 01 jan 1970 00:00:00 gmt".len(), "{head}");

        let (head, body) = h1(addr, "HEAD", "/").await;
        assert_eq!(body, "");
        assert!(head.contains("\r\ncontent-length: 11"), "{head}");

        let (head, body) = h1(addr, "GET", "/chunks").await;
        assert!(head.contains("\r\ntransfer-encoding: chunked"), "{head}");
        assert_eq!(body, "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n");

        let (head, _) = h1(addr, "GET", "/own").await;
        assert!(head.contains("\r\nserver: mine"), "{head}");
        assert_eq!(head.matches("\r\nserver: ").count(), 1, "{head}");
    };
    timeout(LIMIT, run).await.expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_header_unless_configured() {
    let addr = start(Builder::new()).await;
    let run = async {
        let (headers, _) = h2(addr, Method::GET, "/").await;
        assert!(!headers.contains_key("server"));
        assert!(headers.contains_key("date"));
        let (head, _) = h1(addr, "GET", "/").await;
        assert!(!head.contains("\r\nserver:"), "{head}");
        assert!(head.contains("\r\ndate:"), "{head}");
    };
    timeout(LIMIT, run).await.expect("timed out");
}
