//! Which redirects a [`Client`](super::Client) follows.
//!
//! Off unless asked ([`Policy::none`]), as with nghttp and curl. With
//! [`Policy::limited`] the client follows `301`, `302`, `303`, `307` and
//! `308` responses that carry a `Location`, resolved against the request's
//! URL (RFC 9110 section 15.4):
//!
//! - `303`, and `301`/`302` answering anything but `GET` or `HEAD`, are
//!   followed with a `GET` without a body (what browsers, curl and reqwest
//!   do);
//! - `307` and `308` repeat the method and the body; a body that cannot be
//!   replayed (read past the client's
//!   [`replay_limit`](super::ClientBuilder::replay_limit)) stops there and
//!   the redirect response is returned as it is;
//! - `authorization`, `cookie` and `proxy-authorization` are not sent to a
//!   different origin;
//! - a redirect to a scheme other than `http` or `https` is not followed.
//!
//! More redirects than the limit end with an error.

use http::{header, HeaderMap, Method, StatusCode, Uri};

/// How many redirects to follow (see the [module](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    max: usize,
}

impl Default for Policy {
    /// [`Policy::none`].
    fn default() -> Policy {
        Policy::none()
    }
}

impl Policy {
    /// Follow no redirect: a `3xx` response is the answer (the default).
    pub fn none() -> Policy {
        Policy { max: 0 }
    }

    /// Follow up to `max` redirects per request; one more is an error.
    pub fn limited(max: usize) -> Policy {
        Policy { max }
    }

    /// The most redirects followed per request.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// Where and how to go next.
#[derive(Debug)]
pub(crate) struct Next {
    pub(crate) uri: Uri,
    pub(crate) method: Method,
    /// The body is sent again (307, 308); otherwise it is dropped.
    pub(crate) keep_body: bool,
}

/// The next request after a response with `status` and `headers` to
/// `method uri`, or `None` when it is not a redirect to follow.
pub(crate) fn next(
    method: &Method,
    uri: &Uri,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<Next> {
    let (method, keep_body) = match status.as_u16() {
        301 | 302 if method == Method::GET || method == Method::HEAD => (method.clone(), false),
        301..=303 if method == Method::HEAD => (Method::HEAD, false),
        301..=303 => (Method::GET, false),
        307 | 308 => (method.clone(), true),
        _ => return None,
    };
    let location = headers.get(header::LOCATION)?.to_str().ok()?;
    let base = url::Url::parse(&uri.to_string()).ok()?;
    let mut target = base.join(location).ok()?;
    if target.scheme() != "http" && target.scheme() != "https" {
        return None;
    }
    if target.fragment().is_some() {
        // Fragments are not sent (RFC 9110 section 7.1).
        target.set_fragment(None);
    }
    let uri = target.as_str().parse().ok()?;
    Some(Next {
        uri,
        method,
        keep_body,
    })
}

/// True when `a` and `b` have the same scheme, host and port.
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |u: &Uri| {
        u.port_u16().unwrap_or(if u.scheme_str() == Some("https") {
            443
        } else {
            80
        })
    };
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

/// Drops the fields that must not follow a redirect to another origin.
pub(crate) fn strip_credentials(headers: &mut HeaderMap) {
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::COOKIE);
    headers.remove(header::PROXY_AUTHORIZATION);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn relative_locations_resolve_against_the_request() {
        let uri: Uri = "http://a.test:8080/dir/page?q=1".parse().unwrap();
        let next = next(
            &Method::GET,
            &uri,
            StatusCode::FOUND,
            &location("other#frag"),
        )
        .unwrap();
        assert_eq!(next.uri, "http://a.test:8080/dir/other");
        assert_eq!(next.method, Method::GET);
        let next = next_of(&uri, 301, "/top");
        assert_eq!(next.uri, "http://a.test:8080/top");
        let next = next_of(&uri, 308, "//b.test/x");
        assert_eq!(next.uri, "http://b.test/x");
    }

    fn next_of(uri: &Uri, status: u16, loc: &str) -> Next {
        next(
            &Method::GET,
            uri,
            StatusCode::from_u16(status).unwrap(),
            &location(loc),
        )
        .unwrap()
    }

    #[test]
    fn methods_change_as_browsers_do() {
        let uri: Uri = "https://a.test/".parse().unwrap();
        let post = |status| {
            next(
                &Method::POST,
                &uri,
                StatusCode::from_u16(status).unwrap(),
                &location("/n"),
            )
        };
        assert_eq!(post(301).unwrap().method, Method::GET);
        assert_eq!(post(303).unwrap().method, Method::GET);
        assert!(!post(303).unwrap().keep_body);
        assert_eq!(post(307).unwrap().method, Method::POST);
        assert!(post(308).unwrap().keep_body);
        assert!(post(304).is_none());
        assert!(post(200).is_none());
        assert!(next(&Method::GET, &uri, StatusCode::FOUND, &location("ftp://x/")).is_none());
        assert!(next(&Method::GET, &uri, StatusCode::FOUND, &HeaderMap::new()).is_none());
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a: Uri = "https://A.test/x".parse().unwrap();
        assert!(same_origin(&a, &"https://a.test/y".parse().unwrap()));
        assert!(!same_origin(&a, &"http://a.test/x".parse().unwrap()));
        assert!(!same_origin(&a, &"https://a.test:8443/x".parse().unwrap()));
        assert!(same_origin(&a, &"https://a.test:443/x".parse().unwrap()));
    }
}
