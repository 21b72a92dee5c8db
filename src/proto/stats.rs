//! The live counters of a server: gauges (held through [`Held`] guards,
//! so that they balance by construction) and totals.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The shared counters; updated with relaxed atomics (they are gauges, not
/// synchronisation).
#[derive(Debug, Default)]
pub(crate) struct StatsInner {
    connections: AtomicUsize,
    open_streams: AtomicUsize,
    live_handlers: AtomicUsize,
    recv_buffered: AtomicUsize,
    send_buffered: AtomicUsize,
    write_buffered: AtomicUsize,
    outbound_queued: AtomicUsize,
    requests: AtomicU64,
    refused_connections: AtomicU64,
}

/// One of the server's gauges: an amount that goes up and back down.
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

/// An amount counted in one gauge for as long as it is held: changing it
/// moves the gauge by the difference, and dropping it gives it all back, so
/// no path (an early return, a panic, a connection torn down) can leave a
/// gauge off balance.
pub(crate) struct Held {
    stats: Arc<StatsInner>,
    gauge: Gauge,
    n: usize,
}

impl Held {
    /// Counts `n` in `gauge` until dropped.
    pub(crate) fn new(stats: &Arc<StatsInner>, gauge: Gauge, n: usize) -> Held {
        // Most are made empty (a body's buffered bytes): no shared write.
        if n > 0 {
            stats.atomic(gauge).fetch_add(n, Ordering::Relaxed);
        }
        Held {
            stats: stats.clone(),
            gauge,
            n,
        }
    }

    /// Holds `n` from now on.
    pub(crate) fn set(&mut self, n: usize) {
        let gauge = self.stats.atomic(self.gauge);
        if n > self.n {
            gauge.fetch_add(n - self.n, Ordering::Relaxed);
        } else if n < self.n {
            gauge.fetch_sub(self.n - n, Ordering::Relaxed);
        }
        self.n = n;
    }

    /// Holds `n` more.
    pub(crate) fn add(&mut self, n: usize) {
        self.set(self.n + n);
    }

    /// Holds `n` fewer.
    pub(crate) fn sub(&mut self, n: usize) {
        self.set(self.n - n);
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

impl StatsInner {
    fn atomic(&self, gauge: Gauge) -> &AtomicUsize {
        match gauge {
            Gauge::Connections => &self.connections,
            Gauge::OpenStreams => &self.open_streams,
            Gauge::LiveHandlers => &self.live_handlers,
            Gauge::RecvBuffered => &self.recv_buffered,
            Gauge::SendBuffered => &self.send_buffered,
            Gauge::WriteBuffered => &self.write_buffered,
            Gauge::OutboundQueued => &self.outbound_queued,
        }
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_refused(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// The value of a gauge now.
    pub(crate) fn gauge(&self, gauge: Gauge) -> usize {
        self.atomic(gauge).load(Ordering::Relaxed)
    }

    /// Requests handed to services so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Connections refused so far.
    pub(crate) fn refused_connections(&self) -> u64 {
        self.refused_connections.load(Ordering::Relaxed)
    }
}
