//! [`Serve`]: the future `serve*` return, with
//! [`with_graceful_shutdown`](Serve::with_graceful_shutdown) as
//! `axum::serve` has; and the make-service glue
//! ([`Server::serve_make`](crate::server::Server::serve_make)).

use std::fmt;
use std::future::{poll_fn, Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};

use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

use crate::server::connect_info::ConnectionInfo;
use crate::server::service::{BoxError, HttpService};
use crate::server::Server;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Serves one accepted connection; cloned for each event loop
/// ([`Serve::workers`]).
pub(crate) type Each = Box<dyn EachFn>;

/// What [`Each`] boxes: the per-connection closure, which each event loop
/// gets its own clone of.
pub(crate) trait EachFn:
    FnMut(Server, TcpStream, ConnectionInfo) -> BoxFuture<()> + Send + 'static
{
    /// A boxed clone.
    fn clone_box(&self) -> Each;
}

impl<F> EachFn for F
where
    F: FnMut(Server, TcpStream, ConnectionInfo) -> BoxFuture<()> + Send + Clone + 'static,
{
    fn clone_box(&self) -> Each {
        Box::new(self.clone())
    }
}

/// Serving a listener: a future (`.await` it) that ends after the server
/// shut down, once every connection closed. Made by `serve`,
/// `serve_tls`, `serve_make` and `serve_tls_make` of [`Server`] and
/// [`Builder`](crate::server::Builder).
#[must_use = "a Serve does nothing until awaited"]
pub struct Serve {
    server: Server,
    listener: TcpListener,
    each: Each,
    workers: usize,
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Serve {
    pub(crate) fn new(server: Server, listener: TcpListener, each: Each) -> Serve {
        Serve {
            server,
            listener,
            each,
            workers: 0,
        }
    }

    /// Serves the connections on `n` event loops of their own, as
    /// nghttpd's `-n N` workers: `n` threads, each running a
    /// current-thread tokio runtime, to which this future hands the
    /// connections it accepts in turn. A connection stays on its loop, so
    /// its wake-ups, buffers and caches never cross threads, which a
    /// multi-threaded runtime's work stealing cannot promise. The service
    /// is cloned per connection as always, on the loop that serves it.
    ///
    /// With `n` of 0 (the default) or 1, connections are served as tasks
    /// of the runtime that polls this future. The loops end once the
    /// server has shut down and their last connection closed; this future
    /// ends after them. Dropping this future before then stops the
    /// accepting, and the loops finish the connections they have.
    pub fn workers(mut self, n: usize) -> Serve {
        self.workers = n;
        self
    }

    /// The server, whose [`shutdown`](Server::shutdown) also ends this.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Shuts the server down gracefully when `signal` completes (Ctrl-C,
    /// say): the listener stops accepting, HTTP/2 connections send GOAWAY
    /// and HTTP/1.1 ones close after the response in flight, and in-flight
    /// streams may finish within [`shutdown_grace`](crate::server::Builder::shutdown_grace).
    /// As `axum::serve(..).with_graceful_shutdown(signal)`.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> WithGracefulShutdown
    where
        F: Future<Output = ()> + Send + 'static,
    {
        WithGracefulShutdown {
            serve: self,
            signal: Box::pin(signal),
        }
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = BoxFuture<io::Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Serve {
                server,
                listener,
                each,
                workers,
            } = self;
            server.accept_loop(listener, each, workers).await
        })
    }
}

/// [`Serve`] with a shutdown signal; `.await` it.
#[must_use = "a WithGracefulShutdown does nothing until awaited"]
pub struct WithGracefulShutdown {
    serve: Serve,
    signal: BoxFuture<()>,
}

impl fmt::Debug for WithGracefulShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithGracefulShutdown")
            .field("serve", &self.serve)
            .finish_non_exhaustive()
    }
}

impl IntoFuture for WithGracefulShutdown {
    type Output = io::Result<()>;
    type IntoFuture = BoxFuture<io::Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let server = self.serve.server.clone();
            let mut serving = pin!(self.serve.into_future());
            tokio::select! {
                result = &mut serving => return result,
                () = self.signal => {
                    tracing::debug!("shutdown signal: shutting down gracefully");
                    server.shutdown();
                }
            }
            serving.await
        })
    }
}

/// Asks `make` for the service of the connection from `peer`.
pub(crate) async fn make_service<M, S>(mut make: M, peer: Option<SocketAddr>) -> Option<S>
where
    M: Service<SocketAddr, Response = S>,
    M::Error: Into<BoxError>,
    S: HttpService,
{
    let Some(peer) = peer else {
        tracing::warn!("no peer address to make a service for; closing");
        return None;
    };
    let made = async {
        poll_fn(|cx| make.poll_ready(cx)).await?;
        make.call(peer).await
    };
    match made.await {
        Ok(service) => Some(service),
        Err(e) => {
            let e: BoxError = e.into();
            tracing::warn!(%peer, error = %e, "the make-service failed; closing the connection");
            None
        }
    }
}
