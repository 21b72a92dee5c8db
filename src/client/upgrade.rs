//! HTTP/2 over cleartext by HTTP/1.1 `Upgrade: h2c` (RFC 7540 section
//! 3.2, as `nghttp -u`): the first request goes out in HTTP/1.1 with the
//! SETTINGS payload in `HTTP2-Settings`; a `101 Switching Protocols`
//! answer turns the connection into HTTP/2, whose stream 1 carries the
//! response to that request.

use std::io;

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Kind};
use crate::session::Setting;

/// The most an HTTP/1.1 response head to the upgrade may take.
const MAX_HEAD: usize = 64 * 1024;

/// The SETTINGS frame payload for `settings`: 6 bytes each.
pub(crate) fn settings_payload(settings: &[Setting]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(settings.len() * 6);
    for setting in settings {
        payload.extend_from_slice(&(setting.id.0 as u16).to_be_bytes());
        payload.extend_from_slice(&setting.value.to_be_bytes());
    }
    payload
}

/// The HTTP/1.1 request that asks for the upgrade, in nghttp's order:
/// `host`, `connection`, `upgrade`, `http2-settings`, then the request's
/// own fields.
pub(crate) fn request_head<B>(request: &Request<B>, authority: &str, payload: &[u8]) -> String {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: Upgrade, HTTP2-Settings\r\n\
         upgrade: h2c\r\nhttp2-settings: {}\r\n",
        request.method(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    );
    for (name, value) in request.headers() {
        if matches!(
            name.as_str(),
            "host" | "connection" | "upgrade" | "http2-settings"
        ) {
            continue;
        }
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(&String::from_utf8_lossy(value.as_bytes()));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// Sends `head` and reads the answer's head. `Ok` with the head's text and
/// the bytes after it (the start of HTTP/2) when the server switched to
/// h2c; otherwise an error that says what it answered.
pub(crate) async fn handshake<I>(
    io: &mut I,
    head: &str,
    authority: &str,
) -> Result<(String, Bytes), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(head.as_bytes()).await?;
    io.flush().await?;
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(not_upgraded(authority, &buf));
        }
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            if buf.is_empty() {
                return Err(Error::new(Kind::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection instead of answering the upgrade",
                ))));
            }
            return Err(not_upgraded(authority, &buf));
        }
        buf.extend_from_slice(&chunk[..n]);
        if !b"HTTP/1.".starts_with(&buf[..buf.len().min(7)]) {
            return Err(not_upgraded(authority, &buf));
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = text.split_whitespace().nth(1).unwrap_or_default();
    let upgrade_h2c = text.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("upgrade") && value.trim().eq_ignore_ascii_case("h2c")
        })
    });
    if status != "101" || !upgrade_h2c {
        return Err(not_upgraded(authority, &buf));
    }
    Ok((text, Bytes::copy_from_slice(&buf[end..])))
}

fn not_upgraded(authority: &str, answer: &[u8]) -> Error {
    if answer.len() >= 9 && answer[3] == 4 && answer[..3] != *b"HTT" {
        // A SETTINGS frame: HTTP/2, but only with prior knowledge.
        return Error::user(format!(
            "{authority} did not upgrade to h2c: it answered in HTTP/2 without upgrading \
             (it takes HTTP/2 with prior knowledge only: try without the upgrade)"
        ));
    }
    let line = answer
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let line = String::from_utf8_lossy(&line[..line.len().min(100)]);
    Error::new(Kind::NotHttp2 {
        authority: authority.to_string(),
        answer: format!("it did not upgrade to h2c ({line:?})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SettingId;

    #[test]
    fn the_upgrade_request_is_nghttps() {
        let settings = [
            Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100),
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, 65_535),
        ];
        let payload = settings_payload(&settings);
        let request = Request::get("http://127.0.0.1:8080/index.html")
            .header("accept", "*/*")
            .body(())
            .unwrap();
        // nghttp -u sends exactly this HTTP2-Settings value for its defaults.
        assert_eq!(
            request_head(&request, "127.0.0.1:8080", &payload),
            "GET /index.html HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\
             connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\n\
             http2-settings: AAMAAABkAAQAAP__\r\naccept: */*\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn a_server_that_does_not_switch_is_named() {
        let (mut server, mut client) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = server.read(&mut buf).await;
            let _ = server
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi")
                .await;
        });
        let err = handshake(&mut client, "GET / HTTP/1.1\r\n\r\n", "a.test")
            .await
            .unwrap_err();
        assert!(err.is_not_http2(), "{err}");
        assert!(err.to_string().contains("HTTP/1.1 200 OK"), "{err}");
    }

    #[tokio::test]
    async fn the_bytes_after_101_are_kept() {
        let (mut server, mut client) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = server.read(&mut buf).await;
            let _ = server
                .write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                      Upgrade: h2c\r\n\r\n\x00\x00\x00\x04",
                )
                .await;
        });
        let (head, rest) = handshake(&mut client, "GET / HTTP/1.1\r\n\r\n", "a.test")
            .await
            .unwrap();
        assert!(head.starts_with("HTTP/1.1 101"));
        assert_eq!(&rest[..], b"\x00\x00\x00\x04");
        let mut prefixed = crate::proto::rewind::Rewind::new(client, rest);
        let mut first = [0u8; 4];
        prefixed.read_exact(&mut first).await.unwrap();
        assert_eq!(first, [0, 0, 0, 4]);
    }
}
