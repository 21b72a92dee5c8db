//! [`Stats`]: a snapshot of a [`Server`](crate::server::Server)'s live
//! counters, for tests and metrics.

use crate::proto::stats::{Gauge, StatsInner};

/// A snapshot of a server's counters, from [`Server::stats`](crate::server::Server::stats).
///
/// The gauges are read one by one without a lock, so a snapshot taken while
/// the server runs is approximate. A connection sets its share of the
/// stream and buffer gauges once per turn of its loop, not at every change
/// within the turn.
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
    /// The counters now.
    pub(crate) fn of(inner: &StatsInner) -> Stats {
        Stats {
            connections: inner.gauge(Gauge::Connections),
            open_streams: inner.gauge(Gauge::OpenStreams),
            live_handlers: inner.gauge(Gauge::LiveHandlers),
            recv_buffered: inner.gauge(Gauge::RecvBuffered),
            send_buffered: inner.gauge(Gauge::SendBuffered),
            write_buffered: inner.gauge(Gauge::WriteBuffered),
            outbound_queued: inner.gauge(Gauge::OutboundQueued),
            requests: inner.requests(),
            refused_connections: inner.refused_connections(),
        }
    }

    /// All bytes the server holds for its peers: received, to send, and
    /// waiting to be written.
    pub fn buffered_bytes(&self) -> usize {
        self.recv_buffered + self.send_buffered + self.write_buffered
    }
}
