//! Header fields to submit, and their conversion to `nghttp2_nv`.

use std::fmt;

use bytes::Bytes;

use crate::ffi::sys;
use crate::session::frame::{HeaderRef, NV_FLAG_NO_INDEX};

/// An owned header field (trailers kept by a body until it ends, for
/// example).
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// The name; HTTP/2 wants it lower case.
    pub name: Bytes,
    /// The value.
    pub value: Bytes,
    /// Never index this field in HPACK (cookies, credentials).
    pub sensitive: bool,
}

impl Header {
    /// A field.
    pub fn new(name: impl Into<Bytes>, value: impl Into<Bytes>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    /// The field, borrowed.
    pub fn as_ref(&self) -> HeaderRef<'_> {
        HeaderRef {
            name: &self.name,
            value: &self.value,
            sensitive: self.sensitive,
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_ref(), f)
    }
}

impl<'a> HeaderRef<'a> {
    /// A field to submit.
    pub fn new(name: &'a [u8], value: &'a [u8]) -> HeaderRef<'a> {
        HeaderRef {
            name,
            value,
            sensitive: false,
        }
    }

    /// The same field, marked never-indexed.
    pub fn sensitive(self) -> HeaderRef<'a> {
        HeaderRef {
            sensitive: true,
            ..self
        }
    }
}

/// A header block nghttp2 reads in place instead of copying (its fields go
/// out with `NGHTTP2_NV_FLAG_NO_COPY_NAME` and `_VALUE`): the session owns
/// the block from the submit call until its HEADERS frame is sent, or given
/// up, and drops it after that (outside nghttp2's callbacks).
///
/// The fields must be borrowed from the block itself or be `'static`, so
/// they stay put while the session holds the block. Names are sent as they
/// are: HTTP/2 wants them lower case (`http::HeaderName`s are).
pub trait HeaderBlock: Send + 'static {
    /// Calls `field` with each field of the block, in order.
    fn for_each_field<'a>(&'a self, field: &mut dyn FnMut(HeaderRef<'a>));
}

/// `NGHTTP2_NV_FLAG_NO_COPY_NAME`.
pub(crate) const NV_FLAG_NO_COPY_NAME: u8 = 0x2;
/// `NGHTTP2_NV_FLAG_NO_COPY_VALUE`.
pub(crate) const NV_FLAG_NO_COPY_VALUE: u8 = 0x4;

/// Fills `out` with `nghttp2_nv`s pointing into `headers`; nghttp2 copies
/// them during the submit call, so they only need to outlive it.
pub(crate) fn fill_nva<'h>(
    out: &mut Vec<sys::nghttp2_nv>,
    headers: impl IntoIterator<Item = HeaderRef<'h>>,
) {
    out.clear();
    out.extend(headers.into_iter().map(|h| sys::nghttp2_nv {
        name: h.name.as_ptr() as *mut u8,
        value: h.value.as_ptr() as *mut u8,
        namelen: h.name.len(),
        valuelen: h.value.len(),
        flags: if h.sensitive { NV_FLAG_NO_INDEX } else { 0 },
    }));
}
