//! What the server and the client share above the session: the stream
//! core (receive queues, wakers, the connection's scheduler) and the header
//! rules HTTP/2 adds to HTTP.
//!
//! Built when either end is; with only one of them, the parts only the
//! other uses are unused.
#![cfg_attr(not(all(feature = "server", feature = "client")), allow(dead_code))]

pub(crate) mod fields;
pub(crate) mod headers;
pub(crate) mod hexdump;
pub(crate) mod rewind;
pub(crate) mod scheduler;
pub(crate) mod stats;
pub(crate) mod stream;

/// Implements `tokio::io::AsyncWrite` for a transport wrapper `$ty<I>` by
/// forwarding every call to its `io` field: the wrappers that only look at
/// what is read (`Rewind`, `Hexdump`, the client's `Sniff`) write
/// straight through.
macro_rules! forward_async_write {
    ($ty:ident) => {
        impl<I: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for $ty<I> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                data: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.io).poll_write(cx, data)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.io.is_write_vectored()
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
            }
        }
    };
}
pub(crate) use forward_async_write;
