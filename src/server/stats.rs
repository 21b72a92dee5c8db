//! Live counters of a [`Server`](crate::server::Server), for tests and
//! metrics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

macro_rules! gauge {
    ($field:ident, $add:ident, $sub:ident) => {
        pub(crate) fn $add(&self, n: usize) {
            if n > 0 {
                self.$field.fetch_add(n, Ordering::Relaxed);
            }
        }
        pub(crate) fn $sub(&self, n: usize) {
            if n > 0 {
                self.$field.fetch_sub(n, Ordering::Relaxed);
            }
        }
    };
}

impl StatsInner {
    gauge!(connections, add_connections, sub_connections);
    gauge!(open_streams, add_open_streams, sub_open_streams);
    gauge!(live_handlers, add_live_handlers, sub_live_handlers);
    gauge!(recv_buffered, add_recv_buffered, sub_recv_buffered);
    gauge!(send_buffered, add_send_buffered, sub_send_buffered);
    gauge!(write_buffered, add_write_buffered, sub_write_buffered);
    gauge!(outbound_queued, add_outbound_queued, sub_outbound_queued);

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_refused(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            open_streams: self.open_streams.load(Ordering::Relaxed),
            live_handlers: self.live_handlers.load(Ordering::Relaxed),
            recv_buffered: self.recv_buffered.load(Ordering::Relaxed),
            send_buffered: self.send_buffered.load(Ordering::Relaxed),
            write_buffered: self.write_buffered.load(Ordering::Relaxed),
            outbound_queued: self.outbound_queued.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            refused_connections: self.refused_connections.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of a server's counters, from [`Server::stats`](crate::server::Server::stats).
///
/// The gauges are read one by one without a lock, so a snapshot taken while
/// the server runs is approximate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP/2 connections being served.
    pub connections: usize,
    /// Request streams the server knows as open.
    pub open_streams: usize,
    /// Service futures not yet resolved to a response.
    pub live_handlers: usize,
    /// Request body bytes received and not yet read by handlers.
    pub recv_buffered: usize,
    /// Response body bytes taken from bodies and not yet framed.
    pub send_buffered: usize,
    /// Bytes in connection write buffers, not yet written to sockets.
    pub write_buffered: usize,
    /// Frames queued in nghttp2's outbound queues (control frames such as
    /// SETTINGS and PING ACKs, RST_STREAM, response HEADERS and DATA
    /// items) and not yet serialised into write buffers; sampled each time
    /// a connection moves output.
    pub outbound_queued: usize,
    /// Requests handed to services since the server started.
    pub requests: u64,
    /// Connections refused: not HTTP/2, no `h2` ALPN, failed handshakes.
    pub refused_connections: u64,
}

impl Stats {
    /// All bytes the server holds for its peers: received, to send, and
    /// waiting to be written.
    pub fn buffered_bytes(&self) -> usize {
        self.recv_buffered + self.send_buffered + self.write_buffered
    }
}
