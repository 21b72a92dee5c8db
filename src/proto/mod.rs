//! What the server and the client share above the session: the stream
//! core (receive queues, wakers, the connection's scheduler) and the header
//! rules HTTP/2 adds to HTTP.

pub(crate) mod headers;
pub(crate) mod scheduler;
pub(crate) mod stats;
pub(crate) mod stream;
