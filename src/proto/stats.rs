//! The live counters of a server: gauges (held through [`Held`] guards,
//! so that they balance by construction) and totals.
//!
//! The counters are split into shards, one per thread as far as they go:
//! a thread counts in its own shard, and a reading sums them. With the
//! server's event loops on several threads, one shared set of counters
//! had every request write to cache lines that all the loops share
//! (`h2serve -n 2` served 5-10% fewer requests per second than with the
//! counting left out).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// How many shards a server's counters have; threads beyond this many
/// share them (still counting right, only more slowly).
const SHARDS: usize = 16;

/// The shared counters; updated with relaxed atomics (they are gauges, not
/// synchronisation).
#[derive(Debug)]
pub(crate) struct StatsInner {
    shards: Box<[Arc<Shard>]>,
    refused_connections: AtomicU64,
}

/// One thread's share of the counters, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    gauges: [AtomicUsize; Gauge::COUNT],
    requests: AtomicU64,
}

/// One of the server's gauges: an amount that goes up and back down.
/// `OutboundQueued` stays the last ([`Gauge::COUNT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gauge {
    Connections,
    OpenStreams,
    LiveHandlers,
    RecvBuffered,
    SendBuffered,
    WriteBuffered,
    OutboundQueued,
}

impl Gauge {
    /// How many gauges there are: one past the last (the variants index a
    /// shard's array in declaration order).
    const COUNT: usize = Gauge::OutboundQueued as usize + 1;
}

/// An amount counted in one gauge for as long as it is held: changing it
/// moves the gauge by the difference, and dropping it gives it all back, so
/// no path (an early return, a panic, a connection torn down) can leave a
/// gauge off balance. It counts in the shard of the thread that made it,
/// wherever it is changed or dropped, so no shard goes below zero.
pub(crate) struct Held {
    shard: Arc<Shard>,
    gauge: Gauge,
    n: usize,
}

impl Held {
    /// Counts `n` in `gauge` until dropped.
    pub(crate) fn new(stats: &Arc<StatsInner>, gauge: Gauge, n: usize) -> Held {
        let shard = stats.local_shard().clone();
        // Most are made empty (a body's buffered bytes): nothing to write.
        if n > 0 {
            shard.gauge(gauge).fetch_add(n, Ordering::Relaxed);
        }
        Held { shard, gauge, n }
    }

    /// Holds `n` from now on.
    pub(crate) fn set(&mut self, n: usize) {
        let gauge = self.shard.gauge(self.gauge);
        if n > self.n {
            gauge.fetch_add(n - self.n, Ordering::Relaxed);
        } else if n < self.n {
            gauge.fetch_sub(self.n - n, Ordering::Relaxed);
        }
        self.n = n;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.set(0);
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Held({:?}, {})", self.gauge, self.n)
    }
}

impl Shard {
    fn gauge(&self, gauge: Gauge) -> &AtomicUsize {
        &self.gauges[gauge as usize]
    }
}

impl Default for StatsInner {
    fn default() -> StatsInner {
        StatsInner {
            shards: (0..SHARDS).map(|_| Arc::default()).collect(),
            refused_connections: AtomicU64::new(0),
        }
    }
}

impl StatsInner {
    /// The calling thread's shard.
    fn local_shard(&self) -> &Arc<Shard> {
        static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        }
        let slot = SLOT.try_with(|slot| *slot).unwrap_or(0);
        &self.shards[slot % self.shards.len()]
    }

    pub(crate) fn count_request(&self) {
        self.count_requests(1);
    }

    /// Counts `n` requests at once: a connection counts the requests of a
    /// turn of its loop together (one atomic write per turn, not one per
    /// request).
    pub(crate) fn count_requests(&self, n: usize) {
        if n > 0 {
            self.local_shard()
                .requests
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn count_refused(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// The value of a gauge now (the sum of the shards; each is read on
    /// its own, so a reading while the server runs is approximate).
    pub(crate) fn gauge(&self, gauge: Gauge) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.gauge(gauge).load(Ordering::Relaxed))
            .fold(0, usize::wrapping_add)
    }

    /// Requests handed to services so far.
    pub(crate) fn requests(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.requests.load(Ordering::Relaxed))
            .sum()
    }

    /// Connections refused so far.
    pub(crate) fn refused_connections(&self) -> u64 {
        self.refused_connections.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards made on several threads, and dropped on others, add up in
    /// the readings and give everything back.
    #[test]
    fn counts_from_many_threads_add_up_and_balance() {
        let stats = Arc::new(StatsInner::default());
        let helds: Vec<Held> = std::thread::scope(|scope| {
            let made: Vec<_> = (0..SHARDS + 3)
                .map(|i| {
                    let stats = &stats;
                    scope.spawn(move || {
                        stats.count_request();
                        let mut held = Held::new(stats, Gauge::SendBuffered, i);
                        held.set(i + 10);
                        held
                    })
                })
                .collect();
            made.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let expected: usize = (0..SHARDS + 3).map(|i| i + 10).sum();
        assert_eq!(stats.gauge(Gauge::SendBuffered), expected);
        assert_eq!(stats.requests(), (SHARDS + 3) as u64);
        assert_eq!(stats.gauge(Gauge::OpenStreams), 0);
        let mut helds = helds;
        helds[0].set(5); // 0 + 10 before
        assert_eq!(stats.gauge(Gauge::SendBuffered), expected - 5);
        std::thread::spawn(move || drop(helds)).join().unwrap();
        assert_eq!(stats.gauge(Gauge::SendBuffered), 0);
    }
}
