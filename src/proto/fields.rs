//! [`FieldCache`]: the header fields a connection received lately, by
//! content, so that a field the peer sends again becomes a
//! `HeaderName`/`HeaderValue` pair by a comparison and two reference
//! counts instead of a name lookup, a validation, an allocation and a
//! copy.
//!
//! Peers repeat most of their fields from one message to the next: a
//! server its `server`, `content-type`, `cache-control`, `vary`, often
//! `content-length` and `date`; a client its `user-agent`, `accept*`,
//! `cookie`. HPACK sends them as indexes into its dynamic table. The `h2`
//! crate gets the same effect from its decoder, whose table entries are
//! reference-counted `Bytes`; nghttp2 hands us plain byte slices, hence
//! this cache. The client keeps one for response fields, the server one
//! for request fields.
//!
//! Bounded and private to one connection: [`SLOTS`] entries (two ways in
//! each of [`SETS`] sets, so that two fields whose hashes meet both stay)
//! of values up to [`MAX_VALUE`] bytes, the table allocated with the first
//! response. A field is kept from its second sighting on (a value seen
//! once, such as an `etag` among many resources, costs no extra
//! allocation), fields marked never-indexed are never kept, and an entry
//! that stops being hit gives its way to newer fields (a clock-style use
//! count).

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// How many sets of ways there are.
pub(crate) const SETS: usize = 64;
/// How many fields one set keeps.
const WAYS: usize = 2;
/// How many fields are kept.
pub(crate) const SLOTS: usize = SETS * WAYS;
/// The longest value kept.
pub(crate) const MAX_VALUE: usize = 128;
/// How many misses a hit entry survives.
const MAX_USES: u8 = 3;

enum Slot {
    Empty,
    /// A field with this hash was seen once.
    Seen(u64),
    Kept(Box<Kept>),
}

/// A field kept.
struct Kept {
    hash: u64,
    name: HeaderName,
    value: HeaderValue,
    /// How many more misses in its set it survives.
    uses: u8,
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct FieldCache {
    slots: Vec<Slot>,
}

/// A hash of the field's lengths and of the first and last 8 bytes of its
/// name and value: constant time, and enough to tell apart the fields a
/// server sends (a `date` changes in its last bytes). A collision only
/// costs a miss: a hit compares the whole field.
fn hash(name: &[u8], value: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    fn ends(part: &[u8]) -> (u64, u64) {
        let word = |w: &[u8]| u64::from_le_bytes(w.try_into().expect("8 bytes"));
        match part.len() {
            n if n >= 8 => (word(&part[..8]), word(&part[n - 8..])),
            _ => (part.iter().fold(0, |w, &b| w << 8 | u64::from(b)), 0),
        }
    }
    let (a, b) = ends(name);
    let (c, d) = ends(value);
    let mut h = ((name.len() as u64) << 32 | value.len() as u64).wrapping_mul(K);
    for w in [a, b, c, d] {
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    h
}

/// The field as `http` types, validated; `None` when it is not a valid
/// field (nghttp2 has already checked it, so this does not happen).
fn parse(name: &[u8], value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name).ok()?;
    let value = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value)).ok()?;
    Some((name, value))
}

impl FieldCache {
    /// Appends the field `name: value` to `map` as `http` types; false
    /// when it is not a valid field. `sensitive` (never indexed) fields are
    /// not kept.
    pub(crate) fn append(
        &mut self,
        map: &mut HeaderMap,
        name: &[u8],
        value: &[u8],
        sensitive: bool,
    ) -> bool {
        match self.lookup(name, value, sensitive) {
            Ok(kept) => {
                map.append(kept.name.clone(), kept.value.clone());
                true
            }
            Err(hash) => match self.miss(name, value, hash) {
                Some((name, value)) => {
                    map.append(name, value);
                    true
                }
                None => false,
            },
        }
    }

    /// The field `name: value` as `http` types; `None` when it is not a
    /// valid field. `sensitive` (never indexed) fields are not kept.
    #[cfg(test)]
    fn field(
        &mut self,
        name: &[u8],
        value: &[u8],
        sensitive: bool,
    ) -> Option<(HeaderName, HeaderValue)> {
        match self.lookup(name, value, sensitive) {
            Ok(kept) => Some((kept.name.clone(), kept.value.clone())),
            Err(hash) => self.miss(name, value, hash),
        }
    }

    /// The kept field, or (on a miss) the field's hash when it may be kept.
    fn lookup(&mut self, name: &[u8], value: &[u8], sensitive: bool) -> Result<&Kept, Option<u64>> {
        if sensitive || value.len() > MAX_VALUE {
            return Err(None);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || Slot::Empty);
        }
        let h = hash(name, value);
        let set = (h >> 32) as usize % SETS * WAYS;
        for slot in &mut self.slots[set..set + WAYS] {
            if let Slot::Kept(k) = slot {
                if k.hash == h && k.value.as_bytes() == value && k.name.as_str().as_bytes() == name
                {
                    k.uses = MAX_USES;
                    return Ok(k);
                }
            }
        }
        Err(Some(h))
    }

    /// A field not kept: parsed, and noted (kept on its second sighting)
    /// when it has a hash.
    fn miss(
        &mut self,
        name: &[u8],
        value: &[u8],
        hash: Option<u64>,
    ) -> Option<(HeaderName, HeaderValue)> {
        let (n, v) = parse(name, value)?;
        let Some(h) = hash else {
            return Some((n, v));
        };
        let set = (h >> 32) as usize % SETS * WAYS;
        let ways = &mut self.slots[set..set + WAYS];
        let seen = |s: &Slot| matches!(s, Slot::Seen(seen) if *seen == h);
        if let Some(slot) = ways.iter_mut().find(|s| seen(s)) {
            // The second sighting: keep it.
            *slot = Slot::Kept(Box::new(Kept {
                hash: h,
                name: n.clone(),
                value: v.clone(),
                uses: MAX_USES,
            }));
        } else if let Some(slot) = ways.iter_mut().find(|s| matches!(s, Slot::Empty)) {
            *slot = Slot::Seen(h);
        } else if let Some(slot) = ways.iter_mut().find(|s| matches!(s, Slot::Seen(_))) {
            *slot = Slot::Seen(h);
        } else if let Some(slot) = ways
            .iter_mut()
            .find(|s| matches!(s, Slot::Kept(k) if k.uses == 0))
        {
            *slot = Slot::Seen(h);
        } else {
            for slot in ways.iter_mut() {
                if let Slot::Kept(k) = slot {
                    k.uses -= 1;
                }
            }
        }
        Some((n, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(cache: &mut FieldCache, name: &str, value: &str) -> (HeaderName, HeaderValue) {
        cache
            .field(name.as_bytes(), value.as_bytes(), false)
            .expect("a valid field")
    }

    fn kept(cache: &FieldCache) -> usize {
        cache
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Kept(..)))
            .count()
    }

    #[test]
    fn a_field_is_kept_from_its_second_sighting_and_shared_after() {
        let mut cache = FieldCache::default();
        let (n1, v1) = get(&mut cache, "server", "nghttpd nghttp2/1.52.0");
        assert_eq!(kept(&cache), 0);
        let (n2, v2) = get(&mut cache, "server", "nghttpd nghttp2/1.52.0");
        assert_eq!(kept(&cache), 1);
        let (n3, v3) = get(&mut cache, "server", "nghttpd nghttp2/1.52.0");
        assert_eq!(
            (n1.as_str(), v1.as_bytes()),
            ("server", &b"nghttpd nghttp2/1.52.0"[..])
        );
        assert_eq!((&n1, &v1), (&n2, &v2));
        assert_eq!((&n2, &v2), (&n3, &v3));
        // The third is the kept value itself, not a copy.
        assert_eq!(v2.as_bytes().as_ptr(), v3.as_bytes().as_ptr());
    }

    #[test]
    fn the_fields_of_typical_responses_are_all_kept() {
        let fields = [
            ("server", "nghttpd nghttp2/1.52.0"),
            ("cache-control", "max-age=3600"),
            ("date", "Tue, 01 Dec 2026 16:38:47 GMT"),
            ("content-length", "12"),
            ("last-modified", "Tue, 01 Dec 2026 16:38:14 GMT"),
            ("content-type", "text/html"),
            ("vary", "accept-encoding"),
            ("etag", "\"5f3c-61e2a9b8\""),
            ("x-content-type-options", "nosniff"),
            ("strict-transport-security", "max-age=63072000"),
            ("content-type", "text/css"),
            ("content-length", "4096"),
        ];
        let mut cache = FieldCache::default();
        for _ in 0..2 {
            for (name, value) in fields {
                get(&mut cache, name, value);
            }
        }
        assert_eq!(kept(&cache), fields.len());
        for (name, value) in fields {
            let (_, a) = get(&mut cache, name, value);
            let (_, b) = get(&mut cache, name, value);
            assert_eq!(
                a.as_bytes().as_ptr(),
                b.as_bytes().as_ptr(),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn names_and_values_must_both_match() {
        let mut cache = FieldCache::default();
        for _ in 0..2 {
            get(&mut cache, "x-a", "1");
        }
        let (name, value) = get(&mut cache, "x-b", "1");
        assert_eq!((name.as_str(), value.as_bytes()), ("x-b", &b"1"[..]));
        let (name, value) = get(&mut cache, "x-a", "2");
        assert_eq!((name.as_str(), value.as_bytes()), ("x-a", &b"2"[..]));
        let (name, value) = get(&mut cache, "x-a", "1");
        assert_eq!((name.as_str(), value.as_bytes()), ("x-a", &b"1"[..]));
    }

    #[test]
    fn invalid_long_and_sensitive_fields_are_not_kept() {
        let mut cache = FieldCache::default();
        assert!(cache.field(b"bad name", b"v", false).is_none());
        assert!(cache.field(b"x", b"a\nb", false).is_none());
        let long = "v".repeat(MAX_VALUE + 1);
        for _ in 0..3 {
            get(&mut cache, "x-long", &long);
            assert!(cache.field(b"set-cookie", b"id=1", true).is_some());
        }
        assert_eq!(kept(&cache), 0);
    }

    #[test]
    fn stale_entries_give_way_and_the_cache_stays_bounded() {
        let mut cache = FieldCache::default();
        // A new `date` every "second", each seen twice: old ones are
        // evicted by newer ones instead of filling the cache for good.
        for second in 0..1000 {
            let date = format!(
                "Tue, 01 Dec 2026 16:{:02}:{:02} GMT",
                second / 60,
                second % 60
            );
            for _ in 0..4 {
                let (_, value) = get(&mut cache, "date", &date);
                assert_eq!(value.as_bytes(), date.as_bytes());
            }
        }
        assert_eq!(cache.slots.len(), SLOTS);
        // A field that repeats takes a slot within a few sightings, even
        // from a kept entry (each miss on it uses it up).
        for _ in 0..=usize::from(MAX_USES) + 2 {
            get(&mut cache, "server", "s");
        }
        let (_, a) = get(&mut cache, "server", "s");
        let (_, b) = get(&mut cache, "server", "s");
        assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr());
    }
}
