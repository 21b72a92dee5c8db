//! HPACK (RFC 7541) header compression, on its own: a safe [`Deflater`] and
//! [`Inflater`] over nghttp2's `nghttp2_hd_deflate_*` / `nghttp2_hd_inflate_*`
//! API.
//!
//! A `Session` compresses its headers itself; this module is for tools,
//! tests and protocols that need HPACK alone (decoding a captured HEADERS
//! block, for instance).
//!
//! Both sides are stateful: a deflater and the inflater that decodes its
//! output must see the same blocks in the same order, and any table size
//! change must be applied to both (the deflater signals it in the next block
//! it writes).
//!
//! ```
//! use nghttp2::hpack::{Deflater, HeaderField, Inflater};
//!
//! let mut deflater = Deflater::new(4096)?;
//! let mut inflater = Inflater::new()?;
//! let headers = [
//!     HeaderField::new(":method", "GET"),
//!     HeaderField::new(":path", "/"),
//!     HeaderField::sensitive("authorization", "Bearer x"),
//! ];
//! let block = deflater.deflate(&headers)?;
//! assert_eq!(inflater.inflate(&block)?, headers);
//! # Ok::<(), nghttp2::Error>(())
//! ```
//!
//! Things nghttp2 does on its own that show through this API:
//!
//! - The deflater never indexes `authorization`, nor a `cookie` shorter than
//!   20 bytes: they are sent as "never indexed" literals and so come back
//!   from the inflater with [`HeaderField::sensitive`] set, whatever the
//!   caller asked for.
//! - After a failure, a deflater or an inflater is broken for good: every
//!   later call fails with `NGHTTP2_ERR_HEADER_COMP` (for an inflater that is
//!   what RFC 9113 asks for: a decoding error is a connection error).
//! - The inflater refuses a name or a value whose *encoded* length exceeds
//!   64 KiB (`NGHTTP2_HD_MAX_NV`), while the deflater writes one if asked.
//! - After [`Inflater::change_table_size`] lowers the table size, the next
//!   block must begin with a dynamic table size update, as RFC 7541 section
//!   4.2 requires of an encoder that saw the smaller SETTINGS value.

use std::fmt;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::slice;

use crate::error::{cvt, cvt_ssize};
use crate::ffi::sys;
use crate::{Error, LibError};

/// The per-field overhead that RFC 7541 section 4.1 (table entries) and
/// RFC 9113 section 6.5.2 (`SETTINGS_MAX_HEADER_LIST_SIZE`) add to a
/// field's name and value lengths.
pub const FIELD_OVERHEAD: usize = 32;

/// One header field: a name, a value, and whether it must never be indexed.
///
/// Corresponds to `nghttp2_nv`; `sensitive` is its `NGHTTP2_NV_FLAG_NO_INDEX`
/// flag (RFC 7541 section 6.2.3, "Literal Header Field Never Indexed").
///
/// `Debug` does not print the value of a sensitive field.
#[doc(alias = "nghttp2_nv")]
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HeaderField {
    /// The field name, as bytes (HPACK does not change case).
    pub name: Vec<u8>,
    /// The field value, as bytes.
    pub value: Vec<u8>,
    /// Never index this field (`NGHTTP2_NV_FLAG_NO_INDEX`): the deflater
    /// sends it as a "never indexed" literal, and intermediaries must do the
    /// same when they forward it.
    pub sensitive: bool,
}

impl HeaderField {
    /// A field that may be indexed (flags `NGHTTP2_NV_FLAG_NONE` in the
    /// `nghttp2_nv` it becomes).
    #[doc(alias = "NGHTTP2_NV_FLAG_NONE")]
    pub fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> HeaderField {
        HeaderField {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    /// A field that must never be indexed (`NGHTTP2_NV_FLAG_NO_INDEX`), for
    /// secrets such as credentials.
    #[doc(alias = "NGHTTP2_NV_FLAG_NO_INDEX")]
    pub fn sensitive(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> HeaderField {
        HeaderField {
            name: name.into(),
            value: value.into(),
            sensitive: true,
        }
    }

    /// The field's size as RFC 9113 section 6.5.2 counts it for
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`: name length + value length + 32.
    /// No C counterpart (nghttp2 computes the same for table entries).
    #[doc(alias = "SETTINGS_MAX_HEADER_LIST_SIZE")]
    pub fn list_size(&self) -> usize {
        field_size(self.name.len(), self.value.len())
    }

    /// The `nghttp2_nv` that lends this field's bytes to C.
    fn as_nv(&self) -> sys::nghttp2_nv {
        let flags = if self.sensitive {
            sys::NGHTTP2_NV_FLAG_NO_INDEX
        } else {
            sys::NGHTTP2_NV_FLAG_NONE
        };
        sys::nghttp2_nv {
            // nghttp2 only reads through these pointers (its deflate and
            // bound functions take `const nghttp2_nv *`); the `*mut` is the
            // C struct's spelling.
            name: self.name.as_ptr().cast_mut(),
            value: self.value.as_ptr().cast_mut(),
            namelen: self.name.len(),
            valuelen: self.value.len(),
            flags: flags as u8,
        }
    }
}

impl fmt::Debug for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("HeaderField");
        s.field("name", &Bytes(&self.name));
        if self.sensitive {
            s.field("value", &format_args!("<sensitive>"));
        } else {
            s.field("value", &Bytes(&self.value));
        }
        s.field("sensitive", &self.sensitive).finish()
    }
}

/// Debug-prints bytes as a quoted string, escaping what is not printable
/// ASCII.
struct Bytes<'a>(&'a [u8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

fn field_size(name_len: usize, value_len: usize) -> usize {
    name_len
        .saturating_add(value_len)
        .saturating_add(FIELD_OVERHEAD)
}

/// Copies an `nghttp2_nv` that C lent us into an owned field.
///
/// # Safety
///
/// `nv.name` must be valid for reads of `nv.namelen` bytes and `nv.value`
/// for `nv.valuelen` bytes (either may be anything when its length is 0).
unsafe fn field_from_nv(nv: &sys::nghttp2_nv) -> HeaderField {
    // SAFETY: forwarded from this function's contract.
    let (name, value) = unsafe { (lent(nv.name, nv.namelen), lent(nv.value, nv.valuelen)) };
    HeaderField {
        name: name.to_vec(),
        value: value.to_vec(),
        sensitive: u32::from(nv.flags) & sys::NGHTTP2_NV_FLAG_NO_INDEX != 0,
    }
}

/// A byte slice that C lent, or `&[]` when `len` is 0 (C may then pass a
/// null pointer, which `slice::from_raw_parts` does not accept).
///
/// # Safety
///
/// When `len > 0`, `ptr` must be valid for reads of `len` bytes for `'a`.
unsafe fn lent<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: non-null and valid for `len` bytes, by the contract.
        unsafe { slice::from_raw_parts(ptr, len) }
    }
}

/// An HPACK encoder.
///
/// Owns an `nghttp2_hd_deflater` (made by `nghttp2_hd_deflate_new`, freed by
/// `nghttp2_hd_deflate_del` on drop).
#[doc(alias = "nghttp2_hd_deflater")]
pub struct Deflater {
    raw: NonNull<sys::nghttp2_hd_deflater>,
}

// SAFETY: an nghttp2_hd_deflater is plain heap data with no thread affinity
// (no thread-locals, no shared global state beyond the thread-safe default
// allocator), and `Deflater` owns it exclusively.
unsafe impl Send for Deflater {}

impl Deflater {
    /// A deflater whose dynamic table never grows beyond
    /// `max_deflate_dynamic_table_size` bytes, whatever the decoder allows.
    ///
    /// Below 4096 (the HTTP/2 default) the first block starts with a
    /// dynamic table size update. Corresponds to `nghttp2_hd_deflate_new`.
    #[doc(alias = "nghttp2_hd_deflate_new")]
    pub fn new(max_deflate_dynamic_table_size: usize) -> Result<Deflater, Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; on success nghttp2 stores a
        // new deflater in it, which we then own.
        cvt(unsafe { sys::nghttp2_hd_deflate_new(&mut raw, max_deflate_dynamic_table_size) })?;
        let raw = NonNull::new(raw).ok_or(LibError::NOMEM)?;
        Ok(Deflater { raw })
    }

    /// Encodes `headers` as one header block and returns it.
    ///
    /// Corresponds to `nghttp2_hd_deflate_hd2`.
    #[doc(alias = "nghttp2_hd_deflate_hd2")]
    pub fn deflate(&mut self, headers: &[HeaderField]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.deflate_into(headers, &mut out)?;
        Ok(out)
    }

    /// Encodes `headers` as one header block, appended to `out`.
    ///
    /// On error `out` is left as it was, and the deflater is unusable from
    /// then on. Corresponds to `nghttp2_hd_deflate_hd2`, with room reserved
    /// by `nghttp2_hd_deflate_bound`.
    #[doc(alias = "nghttp2_hd_deflate_hd2")]
    pub fn deflate_into(
        &mut self,
        headers: &[HeaderField],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let nva: Vec<sys::nghttp2_nv> = headers.iter().map(HeaderField::as_nv).collect();
        let bound = self.bound_nv(&nva);
        out.reserve(bound);
        let spare = out.spare_capacity_mut();
        // SAFETY: `self.raw` is a live deflater; `spare` is writable for
        // `spare.len() >= bound` bytes (C only writes, never reads it);
        // `nva` holds `nva.len()` entries whose pointers borrow `headers`,
        // alive for the call, and nghttp2 copies what it keeps.
        let rv = unsafe {
            sys::nghttp2_hd_deflate_hd2(
                self.raw.as_ptr(),
                spare.as_mut_ptr().cast::<u8>(),
                spare.len(),
                nva.as_ptr(),
                nva.len(),
            )
        };
        let written = cvt_ssize(rv)?;
        debug_assert!(written <= spare.len());
        // SAFETY: nghttp2 initialised the first `written` bytes of the spare
        // capacity, and returns at most the buffer length it was given.
        unsafe { out.set_len(out.len() + written) };
        Ok(())
    }

    /// An upper bound on the size of the block [`Deflater::deflate`] makes
    /// from `headers`.
    ///
    /// Corresponds to `nghttp2_hd_deflate_bound`.
    #[doc(alias = "nghttp2_hd_deflate_bound")]
    pub fn deflate_bound(&self, headers: &[HeaderField]) -> usize {
        let nva: Vec<sys::nghttp2_nv> = headers.iter().map(HeaderField::as_nv).collect();
        self.bound_nv(&nva)
    }

    fn bound_nv(&self, nva: &[sys::nghttp2_nv]) -> usize {
        // SAFETY: `self.raw` is a live deflater (nghttp2 does not even read
        // it here); `nva` is valid for `nva.len()` entries and only their
        // lengths are read.
        unsafe { sys::nghttp2_hd_deflate_bound(self.raw.as_ptr(), nva.as_ptr(), nva.len()) }
    }

    /// Applies the peer's `SETTINGS_HEADER_TABLE_SIZE`: the table becomes the
    /// smaller of it and the maximum given to [`Deflater::new`], entries are
    /// evicted to fit, and the next block starts with a dynamic table size
    /// update.
    ///
    /// Corresponds to `nghttp2_hd_deflate_change_table_size`.
    #[doc(alias = "nghttp2_hd_deflate_change_table_size")]
    pub fn change_table_size(
        &mut self,
        settings_max_dynamic_table_size: usize,
    ) -> Result<(), Error> {
        // SAFETY: `self.raw` is a live deflater, borrowed mutably.
        cvt(unsafe {
            sys::nghttp2_hd_deflate_change_table_size(
                self.raw.as_ptr(),
                settings_max_dynamic_table_size,
            )
        })?;
        Ok(())
    }

    /// The bytes the dynamic table holds now (RFC 7541 section 4.1: name +
    /// value + 32 per entry).
    ///
    /// Corresponds to `nghttp2_hd_deflate_get_dynamic_table_size`.
    #[doc(alias = "nghttp2_hd_deflate_get_dynamic_table_size")]
    pub fn dynamic_table_size(&self) -> usize {
        // SAFETY: `self.raw` is a live deflater; the call only reads it.
        unsafe { sys::nghttp2_hd_deflate_get_dynamic_table_size(self.raw.as_ptr()) }
    }

    /// The current maximum size of the dynamic table.
    ///
    /// Corresponds to `nghttp2_hd_deflate_get_max_dynamic_table_size`.
    #[doc(alias = "nghttp2_hd_deflate_get_max_dynamic_table_size")]
    pub fn max_dynamic_table_size(&self) -> usize {
        // SAFETY: `self.raw` is a live deflater; the call only reads it.
        unsafe { sys::nghttp2_hd_deflate_get_max_dynamic_table_size(self.raw.as_ptr()) }
    }

    /// The number of entries in the combined index space: the 61 static
    /// entries plus the dynamic ones.
    ///
    /// Corresponds to `nghttp2_hd_deflate_get_num_table_entries`.
    #[doc(alias = "nghttp2_hd_deflate_get_num_table_entries")]
    pub fn num_table_entries(&self) -> usize {
        // SAFETY: `self.raw` is a live deflater; the call only reads it.
        unsafe { sys::nghttp2_hd_deflate_get_num_table_entries(self.raw.as_ptr()) }
    }

    /// The entry at HPACK index `index` (1..=61 static, 62.. dynamic, newest
    /// first), or `None` when there is none.
    ///
    /// Corresponds to `nghttp2_hd_deflate_get_table_entry`.
    #[doc(alias = "nghttp2_hd_deflate_get_table_entry")]
    pub fn table_entry(&self, index: usize) -> Option<HeaderField> {
        // SAFETY: `self.raw` is a live deflater; the call only reads it.
        let nv = unsafe { sys::nghttp2_hd_deflate_get_table_entry(self.raw.as_ptr(), index) };
        // SAFETY: a non-null result points to an nghttp2_nv whose bytes stay
        // valid until the table changes, which cannot happen while `self` is
        // borrowed; we copy them at once.
        unsafe { nv.as_ref().map(|nv| field_from_nv(nv)) }
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: `self.raw` came from nghttp2_hd_deflate_new, is owned by
        // `self` alone, and is freed only here.
        unsafe { sys::nghttp2_hd_deflate_del(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("dynamic_table_size", &self.dynamic_table_size())
            .field("max_dynamic_table_size", &self.max_dynamic_table_size())
            .finish()
    }
}

/// An HPACK decoder.
///
/// Owns an `nghttp2_hd_inflater` (made by `nghttp2_hd_inflate_new`, freed by
/// `nghttp2_hd_inflate_del` on drop), plus an optional limit on the decoded
/// size of a header list, checked in Rust.
#[doc(alias = "nghttp2_hd_inflater")]
pub struct Inflater {
    raw: NonNull<sys::nghttp2_hd_inflater>,
    max_header_list_size: Option<usize>,
}

// SAFETY: an nghttp2_hd_inflater is plain heap data with no thread affinity
// (no thread-locals, no shared global state beyond the thread-safe default
// allocator), and `Inflater` owns it exclusively.
unsafe impl Send for Inflater {}

impl Inflater {
    /// An inflater with the HTTP/2 default table size (4096) and no limit on
    /// the size of the header lists it decodes.
    ///
    /// Without a limit, a small block can decode to a very large list (each
    /// one-byte reference to a 4 KiB table entry yields 4 KiB); for input
    /// from the network use [`Inflater::with_max_header_list_size`].
    /// Corresponds to `nghttp2_hd_inflate_new`.
    #[doc(alias = "nghttp2_hd_inflate_new")]
    pub fn new() -> Result<Inflater, Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; on success nghttp2 stores a
        // new inflater in it, which we then own.
        cvt(unsafe { sys::nghttp2_hd_inflate_new(&mut raw) })?;
        let raw = NonNull::new(raw).ok_or(LibError::NOMEM)?;
        Ok(Inflater {
            raw,
            max_header_list_size: None,
        })
    }

    /// An inflater that rejects any header block whose decoded list exceeds
    /// `max` bytes, counted as RFC 9113 section 6.5.2 does
    /// (`SETTINGS_MAX_HEADER_LIST_SIZE`: name + value + 32 per field).
    ///
    /// No C counterpart: nghttp2's inflater has no such limit, so it is
    /// enforced here, on each field as nghttp2 emits it. Built with
    /// `nghttp2_hd_inflate_new`.
    #[doc(alias = "SETTINGS_MAX_HEADER_LIST_SIZE")]
    pub fn with_max_header_list_size(max: usize) -> Result<Inflater, Error> {
        let mut inflater = Inflater::new()?;
        inflater.set_max_header_list_size(Some(max));
        Ok(inflater)
    }

    /// Sets (or, with `None`, removes) the limit described at
    /// [`Inflater::with_max_header_list_size`]. No C counterpart.
    #[doc(alias = "SETTINGS_MAX_HEADER_LIST_SIZE")]
    pub fn set_max_header_list_size(&mut self, max: Option<usize>) {
        self.max_header_list_size = max;
    }

    /// The limit on a decoded header list, if any. No C counterpart.
    #[doc(alias = "SETTINGS_MAX_HEADER_LIST_SIZE")]
    pub fn max_header_list_size(&self) -> Option<usize> {
        self.max_header_list_size
    }

    /// Decodes one complete header block (the HEADERS or PUSH_PROMISE
    /// fragment plus its CONTINUATIONs, joined) into its fields, in order.
    ///
    /// Errors:
    ///
    /// - a [`LibError`] (usually `HEADER_COMP`) when the block is not valid
    ///   HPACK or does not fit this inflater's table: the inflater is then
    ///   unusable (HTTP/2 makes this a `COMPRESSION_ERROR` of the
    ///   connection);
    /// - a [`Kind::User`](crate::Kind::User) error when the list exceeds the
    ///   [limit](Inflater::with_max_header_list_size). The rest of the block
    ///   is still decoded, without keeping the fields, so the table stays in
    ///   step with the encoder and the inflater remains usable (HTTP/2 can
    ///   treat this as a stream error).
    ///
    /// Corresponds to a loop over `nghttp2_hd_inflate_hd3` (with
    /// `in_final` set) until `NGHTTP2_HD_INFLATE_FINAL`, then
    /// `nghttp2_hd_inflate_end_headers`.
    #[doc(alias = "nghttp2_hd_inflate_hd3")]
    #[doc(alias = "nghttp2_hd_inflate_end_headers")]
    pub fn inflate(&mut self, block: &[u8]) -> Result<Vec<HeaderField>, Error> {
        let limit = self.max_header_list_size.unwrap_or(usize::MAX);
        let mut fields = Vec::new();
        let mut list_size: usize = 0;
        let mut exceeded = false;
        let mut emitted: usize = 0;
        let mut input = block;
        loop {
            let mut nv = sys::nghttp2_nv {
                name: ptr::null_mut(),
                value: ptr::null_mut(),
                namelen: 0,
                valuelen: 0,
                flags: 0,
            };
            let mut flags: c_int = 0;
            // SAFETY: `self.raw` is a live inflater, borrowed mutably; `nv`
            // and `flags` are valid out-pointers; `input` is valid for reads
            // of `input.len()` bytes for the call.
            let rv = unsafe {
                sys::nghttp2_hd_inflate_hd3(
                    self.raw.as_ptr(),
                    &mut nv,
                    &mut flags,
                    input.as_ptr(),
                    input.len(),
                    1,
                )
            };
            let consumed = cvt_ssize(rv)?;
            // nghttp2 never reports more than it was given; `get` keeps a
            // broken promise from becoming a panic.
            input = input.get(consumed..).ok_or(LibError::HEADER_COMP)?;
            let flags = flags as u32;

            if flags & sys::NGHTTP2_HD_INFLATE_EMIT != 0 {
                // Every field takes at least one byte of input; more
                // emissions than bytes would mean nghttp2 is looping.
                emitted += 1;
                if emitted > block.len() {
                    return Err(LibError::HEADER_COMP.into());
                }
                list_size = list_size.saturating_add(field_size(nv.namelen, nv.valuelen));
                if list_size > limit {
                    // Keep decoding, so that the dynamic table ends up as
                    // the encoder's, but keep nothing.
                    if !exceeded {
                        exceeded = true;
                        fields = Vec::new();
                    }
                } else {
                    // SAFETY: on EMIT, nghttp2 points `nv` at bytes that
                    // stay valid until the next call on this inflater; we
                    // copy them before that.
                    fields.push(unsafe { field_from_nv(&nv) });
                }
            }
            if flags & sys::NGHTTP2_HD_INFLATE_FINAL != 0 {
                // SAFETY: `self.raw` is a live inflater that has just
                // finished a block.
                cvt(unsafe { sys::nghttp2_hd_inflate_end_headers(self.raw.as_ptr()) })?;
                break;
            }
            if flags & sys::NGHTTP2_HD_INFLATE_EMIT == 0 && input.is_empty() {
                // With `in_final` set nghttp2 reports FINAL or an error once
                // the input is used up; never loop forever if it does not.
                return Err(LibError::HEADER_COMP.into());
            }
        }
        if exceeded {
            return Err(Error::user(format!(
                "HPACK: decoded header list is {list_size} bytes, over the limit of {limit} \
                 (name + value + 32 per field)"
            )));
        }
        Ok(fields)
    }

    /// Applies this side's `SETTINGS_HEADER_TABLE_SIZE` once the peer has
    /// acknowledged it. When it lowers the table size, entries are evicted
    /// and the next block *must* begin with a dynamic table size update no
    /// larger than it.
    ///
    /// Fails with `INVALID_STATE` in the middle of a block, which only
    /// happens here after a failed [`Inflater::inflate`].
    /// Corresponds to `nghttp2_hd_inflate_change_table_size`.
    #[doc(alias = "nghttp2_hd_inflate_change_table_size")]
    pub fn change_table_size(
        &mut self,
        settings_max_dynamic_table_size: usize,
    ) -> Result<(), Error> {
        // SAFETY: `self.raw` is a live inflater, borrowed mutably.
        cvt(unsafe {
            sys::nghttp2_hd_inflate_change_table_size(
                self.raw.as_ptr(),
                settings_max_dynamic_table_size,
            )
        })?;
        Ok(())
    }

    /// The bytes the dynamic table holds now (RFC 7541 section 4.1: name +
    /// value + 32 per entry).
    ///
    /// Corresponds to `nghttp2_hd_inflate_get_dynamic_table_size`.
    #[doc(alias = "nghttp2_hd_inflate_get_dynamic_table_size")]
    pub fn dynamic_table_size(&self) -> usize {
        // SAFETY: `self.raw` is a live inflater; the call only reads it.
        unsafe { sys::nghttp2_hd_inflate_get_dynamic_table_size(self.raw.as_ptr()) }
    }

    /// The current maximum size of the dynamic table, as last set by the
    /// encoder's dynamic table size update.
    ///
    /// Corresponds to `nghttp2_hd_inflate_get_max_dynamic_table_size`.
    #[doc(alias = "nghttp2_hd_inflate_get_max_dynamic_table_size")]
    pub fn max_dynamic_table_size(&self) -> usize {
        // SAFETY: `self.raw` is a live inflater; the call only reads it.
        unsafe { sys::nghttp2_hd_inflate_get_max_dynamic_table_size(self.raw.as_ptr()) }
    }

    /// The number of entries in the combined index space: the 61 static
    /// entries plus the dynamic ones.
    ///
    /// Corresponds to `nghttp2_hd_inflate_get_num_table_entries`.
    #[doc(alias = "nghttp2_hd_inflate_get_num_table_entries")]
    pub fn num_table_entries(&self) -> usize {
        // SAFETY: `self.raw` is a live inflater; the call only reads it.
        unsafe { sys::nghttp2_hd_inflate_get_num_table_entries(self.raw.as_ptr()) }
    }

    /// The entry at HPACK index `index` (1..=61 static, 62.. dynamic, newest
    /// first), or `None` when there is none.
    ///
    /// Corresponds to `nghttp2_hd_inflate_get_table_entry`.
    #[doc(alias = "nghttp2_hd_inflate_get_table_entry")]
    pub fn table_entry(&self, index: usize) -> Option<HeaderField> {
        // SAFETY: `self.raw` is a live inflater; the call only reads it.
        let nv = unsafe { sys::nghttp2_hd_inflate_get_table_entry(self.raw.as_ptr(), index) };
        // SAFETY: a non-null result points to an nghttp2_nv whose bytes stay
        // valid until the table changes, which cannot happen while `self` is
        // borrowed; we copy them at once.
        unsafe { nv.as_ref().map(|nv| field_from_nv(nv)) }
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: `self.raw` came from nghttp2_hd_inflate_new, is owned by
        // `self` alone, and is freed only here.
        unsafe { sys::nghttp2_hd_inflate_del(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("dynamic_table_size", &self.dynamic_table_size())
            .field("max_dynamic_table_size", &self.max_dynamic_table_size())
            .field("max_header_list_size", &self.max_header_list_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_field_constructors_take_str_and_bytes() {
        let a = HeaderField::new(":path", "/");
        let b = HeaderField::new(b":path".as_slice(), vec![b'/']);
        let c = HeaderField::new(b":path", *b"/");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(!a.sensitive);
        assert!(HeaderField::sensitive("a", "b").sensitive);
        assert_eq!(a.list_size(), 5 + 1 + 32);
    }

    #[test]
    fn debug_hides_sensitive_values_and_escapes_bytes() {
        let f = HeaderField::sensitive("authorization", "hunter2");
        let s = format!("{f:?}");
        assert!(s.contains("authorization"), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
        let g = HeaderField::new("x", vec![0xff, b'a']);
        assert!(format!("{g:?}").contains(r#""\xffa""#), "{g:?}");
    }

    #[test]
    fn static_table_is_visible_through_table_entry() {
        let inflater = Inflater::new().unwrap();
        assert_eq!(inflater.num_table_entries(), 61);
        assert_eq!(
            inflater.table_entry(2),
            Some(HeaderField::new(":method", "GET"))
        );
        assert_eq!(
            inflater.table_entry(61),
            Some(HeaderField::new("www-authenticate", ""))
        );
        assert_eq!(inflater.table_entry(0), None);
        assert_eq!(inflater.table_entry(62), None);
        let deflater = Deflater::new(4096).unwrap();
        assert_eq!(
            deflater.table_entry(8),
            Some(HeaderField::new(":status", "200"))
        );
    }

    #[test]
    fn deflate_into_appends_and_reports_bounds() {
        let mut d = Deflater::new(4096).unwrap();
        let headers = [HeaderField::new(":method", "GET")];
        assert!(d.deflate_bound(&headers) >= 1);
        let mut out = b"prefix".to_vec();
        d.deflate_into(&headers, &mut out).unwrap();
        assert_eq!(out, b"prefix\x82");
        // An empty list is an empty block.
        assert_eq!(d.deflate(&[]).unwrap(), b"");
        assert_eq!(Inflater::new().unwrap().inflate(b"").unwrap(), vec![]);
    }

    #[test]
    fn inflater_and_deflater_are_send() {
        fn send<T: Send>() {}
        send::<Deflater>();
        send::<Inflater>();
    }
}
