//! What the server and the client share above the session: the stream
//! core (receive queues, wakers, the connection's scheduler) and the header
//! rules HTTP/2 adds to HTTP.
//!
//! Built when either end is; with only one of them, the parts only the
//! other uses are unused.
#![cfg_attr(not(all(feature = "server", feature = "client")), allow(dead_code))]

pub(crate) mod headers;
pub(crate) mod rewind;
pub(crate) mod scheduler;
pub(crate) mod stats;
pub(crate) mod stream;
