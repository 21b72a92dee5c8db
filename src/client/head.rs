//! [`RequestHead`]: a request's method, URI and fields on their way to the
//! connection task, which submits them to nghttp2 as borrowed header
//! fields: nothing is copied or allocated per field on the way (nghttp2
//! copies the block once, in `nghttp2_submit_request2`).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};

use crate::session::HeaderRef;

/// What a request's HEADERS frame is made of.
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
}

/// True for header fields a request does not carry over HTTP/2: the ones
/// RFC 9113 section 8.2.2 forbids, and `host`, which becomes `:authority`.
fn is_connection_specific(name: &HeaderName, value: &HeaderValue) -> bool {
    *name == header::HOST || crate::proto::headers::is_connection_specific(name, value)
}

impl RequestHead {
    /// The header block, pseudo-header fields first in nghttp's order
    /// (`:method`, `:path`, `:scheme`, `:authority`); `scheme` and
    /// `authority` are the connection's, for a URI without them (the
    /// authority comes from a `host` field before that).
    pub(crate) fn fields<'a>(
        &'a self,
        scheme: &'a str,
        authority: &'a str,
    ) -> impl Iterator<Item = HeaderRef<'a>> + 'a {
        let uri = &self.uri;
        let scheme = uri.scheme_str().unwrap_or(scheme);
        let authority = uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| self.headers.get(header::HOST).and_then(|h| h.to_str().ok()))
            .unwrap_or(authority);
        let path = (self.method != Method::CONNECT).then(|| {
            uri.path_and_query()
                .map(|p| p.as_str())
                .filter(|p| !p.is_empty())
                .unwrap_or("/")
        });
        let pseudo = [
            Some(HeaderRef::new(b":method", self.method.as_str().as_bytes())),
            path.map(|p| HeaderRef::new(b":path", p.as_bytes())),
            path.map(|_| HeaderRef::new(b":scheme", scheme.as_bytes())),
            Some(HeaderRef::new(b":authority", authority.as_bytes())),
        ];
        let regular = self
            .headers
            .iter()
            .filter(|(name, value)| !is_connection_specific(name, value))
            .map(|(name, value)| HeaderRef {
                name: name.as_str().as_bytes(),
                value: value.as_bytes(),
                sensitive: value.is_sensitive(),
            });
        pseudo.into_iter().flatten().chain(regular)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(head: &RequestHead) -> Vec<(String, String, bool)> {
        head.fields("https", "fallback.example")
            .map(|f| {
                (
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                    f.sensitive,
                )
            })
            .collect()
    }

    fn head(method: Method, uri: &str, fields: &[(&str, &str)]) -> RequestHead {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        RequestHead {
            method,
            uri: uri.parse().unwrap(),
            headers,
        }
    }

    fn owned(fields: &[(&str, &str)]) -> Vec<(String, String, bool)> {
        fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string(), false))
            .collect()
    }

    #[test]
    fn pseudo_fields_first_in_nghttp_order_and_connection_fields_dropped() {
        let head = head(
            Method::GET,
            "http://example.com:8080/a?b=c",
            &[
                ("accept", "*/*"),
                ("connection", "keep-alive"),
                ("host", "ignored.example"),
                ("te", "trailers"),
                ("te", "gzip"),
                ("transfer-encoding", "chunked"),
                ("keep-alive", "timeout=5"),
                ("proxy-connection", "keep-alive"),
                ("upgrade", "h2c"),
                ("user-agent", "ua"),
            ],
        );
        assert_eq!(
            block(&head),
            owned(&[
                (":method", "GET"),
                (":path", "/a?b=c"),
                (":scheme", "http"),
                (":authority", "example.com:8080"),
                ("accept", "*/*"),
                ("te", "trailers"),
                ("user-agent", "ua"),
            ])
        );
    }

    #[test]
    fn a_path_alone_takes_the_host_field_then_the_connection_defaults() {
        let with_host = head(Method::POST, "/up", &[("host", "h.example")]);
        assert_eq!(
            block(&with_host),
            owned(&[
                (":method", "POST"),
                (":path", "/up"),
                (":scheme", "https"),
                (":authority", "h.example"),
            ])
        );
        let bare = head(Method::GET, "/", &[]);
        assert_eq!(
            block(&bare)[3],
            owned(&[(":authority", "fallback.example")])[0]
        );
    }

    #[test]
    fn connect_has_no_path_or_scheme_and_sensitive_values_stay_sensitive() {
        let mut connect = head(Method::CONNECT, "proxy.example:443", &[]);
        let mut secret = HeaderValue::from_static("s3cret");
        secret.set_sensitive(true);
        connect.headers.insert(header::AUTHORIZATION, secret);
        assert_eq!(
            block(&connect),
            vec![
                (":method".into(), "CONNECT".into(), false),
                (":authority".into(), "proxy.example:443".into(), false),
                ("authorization".into(), "s3cret".into(), true),
            ]
        );
    }
}
