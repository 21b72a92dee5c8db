//! [`StreamMap`]: a map keyed by stream id with a cheap hash.
//!
//! The default SipHash costs more than the map operation itself on the
//! per-header and per-frame lookups a connection makes (about 3% of a
//! small-response server's CPU time, measured with perf). Stream ids need
//! no HashDoS protection: nghttp2 only admits new ones in increasing order,
//! and no more at once than SETTINGS_MAX_CONCURRENT_STREAMS.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::session::StreamId;

/// A `HashMap` from stream id to `V`.
pub(crate) type StreamMap<V> = HashMap<StreamId, V, BuildHasherDefault<StreamIdHasher>>;

/// Hashes one `i32` stream id by multiplying it with a large odd constant
/// and folding the halves (so low and high bits both vary).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_i32(&mut self, id: i32) {
        self.write_u64(id as u32 as u64);
    }

    fn write_u64(&mut self, n: u64) {
        let x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_odd_ids_spread() {
        let buckets: std::collections::HashSet<u64> = (0..64)
            .map(|i| {
                let mut h = StreamIdHasher::default();
                h.write_i32(2 * i + 1);
                h.finish() & 63
            })
            .collect();
        assert!(
            buckets.len() > 32,
            "only {} of 64 buckets used",
            buckets.len()
        );
    }
}
