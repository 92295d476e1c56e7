//! [`ResponseFuture`]: the future of [`ApiKeyService`](crate::ApiKeyService), named so that a
//! request decided without waiting (every cache hit with an in-process limiter) costs no box.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use apikey_core::http::OpenLog;
use apikey_core::limit::LimitStatus;
use axum::response::Response;
use pin_project_lite::pin_project;

use crate::response::add_rate_limit;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pin_project! {
    /// The response future of [`ApiKeyService`](crate::ApiKeyService).
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        /// Verified on the spot: the inner service's future, then the `RateLimit` fields (and the
        /// request log's record, when this request is logged).
        Inner { #[pin] future: F, limit: Option<LimitStatus>, log: Option<Box<OpenLog>> },
        /// Refused on the spot.
        Ready { response: Option<Response> },
        /// The verification needed I/O (store fetch, slow hash, remote limiter).
        Boxed { future: BoxFuture<Result<Response, E>> },
    }
}

impl<F, E> ResponseFuture<F, E> {
    pub(crate) fn inner(future: F, limit: Option<LimitStatus>) -> Self {
        Self {
            state: State::Inner {
                future,
                limit,
                log: None,
            },
        }
    }

    /// [`inner`](Self::inner), finishing `log` with the response's status.
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

    pub(crate) fn ready(response: Response) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn boxed(future: BoxFuture<Result<Response, E>>) -> Self {
        Self {
            state: State::Boxed { future },
        }
    }
}

impl<F, E> std::fmt::Debug for ResponseFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future, limit, log } => {
                let mut res = ready!(future.poll(cx))?;
                if let Some(limit) = limit {
                    add_rate_limit(&mut res, limit);
                }
                if let Some(log) = log.take() {
                    log.finish(res.status().as_u16());
                }
                Poll::Ready(Ok(res))
            }
            StateProj::Ready { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => panic!("ResponseFuture polled after completion"),
            },
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
