//! Header rules both ends apply when they turn `http` types into HTTP/2
//! header blocks.

use http::header::{self, HeaderName, HeaderValue};

/// True for header fields HTTP/2 forbids (RFC 9113 section 8.2.2): they
/// are dropped from responses and requests before they are sent.
pub(crate) fn is_connection_specific(name: &HeaderName, value: &HeaderValue) -> bool {
    // Their names are 2, 7, 10, 16 or 17 bytes long: most fields are let
    // through on their length alone.
    matches!(name.as_str().len(), 2 | 7 | 10 | 16 | 17) && is_connection_specific_name(name, value)
}

fn is_connection_specific_name(name: &HeaderName, value: &HeaderValue) -> bool {
    *name == header::CONNECTION
        || *name == header::TRANSFER_ENCODING
        || *name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
        || (*name == header::TE && value.as_bytes() != b"trailers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn te_trailers_is_allowed() {
        let te = HeaderName::from_static("te");
        assert!(!is_connection_specific(
            &te,
            &HeaderValue::from_static("trailers")
        ));
        assert!(is_connection_specific(
            &te,
            &HeaderValue::from_static("gzip")
        ));
        assert!(is_connection_specific(
            &header::CONNECTION,
            &HeaderValue::from_static("close")
        ));
        assert!(!is_connection_specific(
            &header::CONTENT_TYPE,
            &HeaderValue::from_static("text/plain")
        ));
    }
}
