//! [`ResponseFuture`]: the future of [`ApiKeyMiddleware`](crate::ApiKeyMiddleware), named so that
//! a request decided without waiting (every cache hit with an in-process limiter) costs no box.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::Error;
use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use apikey_core::http::OpenLog;
use apikey_core::limit::LimitStatus;
use pin_project_lite::pin_project;

use crate::response::add_rate_limit;

type Output<B> = Result<ServiceResponse<EitherBody<B>>, Error>;
type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

pin_project! {
    /// The response future of [`ApiKeyMiddleware`](crate::ApiKeyMiddleware).
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        /// Verified on the spot: the inner service's future, then the `RateLimit` fields.
        Inner { #[pin] future: F, limit: Option<LimitStatus>, log: Option<Box<OpenLog>> },
        /// Refused on the spot.
        Ready { response: Option<ServiceResponse<EitherBody<B>>> },
        /// The verification needed I/O (store fetch, slow hash, remote limiter).
        Boxed { future: LocalBoxFuture<Output<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, limit: Option<LimitStatus>) -> Self {
        Self::inner_logged(future, limit, None)
    }

    /// [`inner`](Self::inner), finishing `log` (the request log's record) with the status.
    pub(crate) fn inner_logged(
        future: F,
        limit: Option<LimitStatus>,
        log: Option<OpenLog>,
    ) -> Self {
        Self {
            state: State::Inner {
                future,
                limit,
                log: log.map(Box::new),
            },
        }
    }

    pub(crate) fn ready(response: ServiceResponse<EitherBody<B>>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn boxed(future: LocalBoxFuture<Output<B>>) -> Self {
        Self {
            state: State::Boxed { future },
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Output<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future, limit, log } => {
                let mut res = ready!(future.poll(cx))?;
                if let Some(limit) = limit {
                    add_rate_limit(res.headers_mut(), limit);
                }
                if let Some(log) = log.take() {
                    log.finish(res.status().as_u16());
                }
                Poll::Ready(Ok(res.map_into_left_body()))
            }
            StateProj::Ready { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => panic!("ResponseFuture polled after completion"),
            },
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
