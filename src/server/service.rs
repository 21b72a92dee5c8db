//! Handlers: any `tower_service::Service` over `http::Request<RequestBody>`,
//! and [`service_fn`] for plain async functions.

use std::fmt;
use std::future::Future;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use crate::server::RequestBody;

/// The error type handlers and bodies may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A `Service` the server can run: takes `Request<RequestBody>`, answers
/// `Response<B>` with a `Body` of `Bytes`. Implemented for every such
/// service; not meant to be implemented by hand.
pub trait HttpService: Send + 'static {
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error = Self::BodyError> + Send + 'static;
    /// The body's error.
    type BodyError: Into<BoxError>;
    /// The service's error.
    type Error: Into<BoxError>;
    /// The service's future.
    type Future: Future<Output = Result<Response<Self::Body>, Self::Error>> + Send + 'static;

    /// `Service::poll_ready`.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>>;
    /// `Service::call`.
    fn call(&mut self, request: Request<RequestBody>) -> Self::Future;
}

impl<S, B> HttpService for S
where
    S: Service<Request<RequestBody>, Response = Response<B>> + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Body = B;
    type BodyError = B::Error;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Service::poll_ready(self, cx)
    }

    fn call(&mut self, request: Request<RequestBody>) -> S::Future {
        Service::call(self, request)
    }
}

/// A service made of an async function (or any closure returning a
/// future): `service_fn(|req| async { Ok::<_, Infallible>(Response::new(body)) })`.
pub fn service_fn<F, Fut, B, E>(f: F) -> ServiceFn<F>
where
    F: FnMut(Request<RequestBody>) -> Fut,
    Fut: Future<Output = Result<Response<B>, E>>,
{
    ServiceFn { f }
}

/// The service [`service_fn`] makes.
#[derive(Clone, Copy)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F> fmt::Debug for ServiceFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceFn").finish_non_exhaustive()
    }
}

impl<F, Fut, B, E> Service<Request<RequestBody>> for ServiceFn<F>
where
    F: FnMut(Request<RequestBody>) -> Fut,
    Fut: Future<Output = Result<Response<B>, E>>,
{
    type Response = Response<B>;
    type Error = E;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<RequestBody>) -> Fut {
        (self.f)(request)
    }
}
