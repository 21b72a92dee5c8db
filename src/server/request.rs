//! A request head as its header fields arrive, and the `http::Request` it
//! becomes once the HEADERS block is complete.

use std::sync::Arc;

use http::header::{self, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};

use crate::proto::fields::FieldCache;
use crate::server::asks::H2Stream;
use crate::server::body::RequestBody;
use crate::server::upgrade::Protocol;
use crate::session::HeaderRef;

/// What a connection's requests repeat, kept parsed: a client names the
/// same `:authority` in every request of a connection, and sends most of
/// its other fields again too; each is parsed and copied once, then
/// shared.
#[derive(Default)]
pub(crate) struct Repeated {
    authority: Option<Authority>,
    /// The last `:path`: a client that asks for the same resource again
    /// (a poll, a health check, a benchmark) costs a comparison, not a
    /// parse and a copy.
    path: Option<PathAndQuery>,
    fields: FieldCache,
}

impl Repeated {
    /// `value` as an authority: the last one when it is the same bytes.
    fn authority(&mut self, value: &[u8]) -> Result<Authority, ()> {
        reuse(&mut self.authority, value, Authority::as_str, |v| {
            Authority::try_from(v).map_err(drop)
        })
    }

    /// `value` as a path: the last one when it is the same bytes.
    fn path(&mut self, value: &[u8]) -> Result<PathAndQuery, ()> {
        reuse(&mut self.path, value, PathAndQuery::as_str, |v| {
            PathAndQuery::try_from(v).map_err(drop)
        })
    }
}

/// `value` parsed, and kept in `last` for the next request: a clone of
/// `last` when its text is `value` already.
fn reuse<T: Clone>(
    last: &mut Option<T>,
    value: &[u8],
    text: fn(&T) -> &str,
    parse: fn(&[u8]) -> Result<T, ()>,
) -> Result<T, ()> {
    if let Some(last) = last {
        if text(last).as_bytes() == value {
            return Ok(last.clone());
        }
    }
    let parsed = parse(value)?;
    *last = Some(parsed.clone());
    Ok(parsed)
}

/// The request head as its fields arrive.
#[derive(Default)]
pub(crate) struct Head {
    method: Option<Method>,
    scheme: Option<Scheme>,
    authority: Option<Authority>,
    path: Option<PathAndQuery>,
    headers: HeaderMap,
    content_length: Option<u64>,
    /// The `:protocol` of an extended CONNECT (RFC 8441).
    protocol: Option<Protocol>,
    /// Bytes counted as SETTINGS_MAX_HEADER_LIST_SIZE counts them.
    size: usize,
    /// Why the request cannot be served, when a field was bad.
    reject: Option<StatusCode>,
}

impl Head {
    /// Counts one field of a header block (request head or trailers)
    /// against the header list size limit, as SETTINGS_MAX_HEADER_LIST_SIZE
    /// counts it. Answers false once the request is rejected, by this
    /// field or an earlier one: the field is then not kept.
    pub(crate) fn count(&mut self, field: &HeaderRef<'_>, max_header_list_size: usize) -> bool {
        if self.reject.is_some() {
            return false;
        }
        self.size += field.name.len() + field.value.len() + 32;
        if self.size > max_header_list_size {
            self.reject = Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            return false;
        }
        true
    }

    /// Adds one field of the request head. A field the `http` types cannot
    /// hold turns the request into a 400.
    pub(crate) fn add_field(&mut self, field: HeaderRef<'_>, repeated: &mut Repeated) {
        let bad = Some(StatusCode::BAD_REQUEST);
        match field.name {
            b":method" => self.method = Method::from_bytes(field.value).ok(),
            b":scheme" => self.scheme = Scheme::try_from(field.value).ok(),
            b":authority" => match repeated.authority(field.value) {
                Ok(a) => self.authority = Some(a),
                Err(_) => self.reject = bad,
            },
            b":path" => match repeated.path(field.value) {
                Ok(p) => self.path = Some(p),
                Err(_) => self.reject = bad,
            },
            b":protocol" => self.protocol = Some(Protocol::from_bytes(field.value)),
            name => {
                if !repeated
                    .fields
                    .append(&mut self.headers, name, field.value, field.sensitive)
                {
                    self.reject = bad;
                } else if name == b"content-length" {
                    self.content_length = std::str::from_utf8(field.value)
                        .ok()
                        .and_then(|v| v.parse().ok());
                }
            }
        }
    }

    /// The request, or the status to answer with when the head was bad.
    /// `end_stream`: the HEADERS frame ended the stream, so the body is
    /// empty and needs nothing of the stream (no reader to drop later).
    /// Takes the fields out of the head where it is (the head is some 270
    /// bytes; moving it costs more than taking its fields).
    ///
    /// The request is made in its box and stays there until the service
    /// takes it: a 256-byte `Request` returned and stored by value was
    /// copied four times on its way into the stream's entry.
    pub(crate) fn take_request(
        &mut self,
        stream: &Arc<H2Stream>,
        end_stream: bool,
    ) -> Result<Box<Request<RequestBody>>, StatusCode> {
        if let Some(status) = self.reject {
            return Err(status);
        }
        let method = self.method.take().ok_or(StatusCode::BAD_REQUEST)?;
        let mut parts = http::uri::Parts::default();
        let authority = match self.authority.take() {
            Some(a) => Some(a),
            None => self
                .headers
                .get(header::HOST)
                .and_then(|h| Authority::try_from(h.as_bytes()).ok()),
        };
        if authority.is_some() {
            parts.scheme = self.scheme.take();
        }
        parts.authority = authority;
        parts.path_and_query = self.path.take();
        let uri = Uri::from_parts(parts).map_err(|_| StatusCode::BAD_REQUEST)?;
        let body = if end_stream {
            RequestBody::empty()
        } else {
            RequestBody::new(stream.clone(), self.content_length)
        };
        let mut request = Box::new(Request::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = std::mem::take(&mut self.headers);
        if let Some(protocol) = self.protocol.take() {
            request.extensions_mut().insert(protocol);
        }
        Ok(request)
    }
}

/// Adds one trailer field; `Err` when it cannot be held (the stream is
/// then reset).
pub(crate) fn add_trailer(trailers: &mut HeaderMap, field: HeaderRef<'_>) -> Result<(), ()> {
    match (
        HeaderName::from_bytes(field.name),
        HeaderValue::from_bytes(field.value),
    ) {
        (Ok(name), Ok(value)) => {
            trailers.append(name, value);
            Ok(())
        }
        _ => Err(()),
    }
}
