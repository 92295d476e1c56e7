//! The server side: [`ApiKeyLayer`], an async tower layer that verifies the API key of every gRPC
//! request against the [`MethodScopes`] map, as an interceptor would but able to await the store.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::http::{CredentialConfig, extract_credential};
use apikey_core::{ClientIpResolver, Rejection, RequestContext, Result, Scope, Verified, Verifier};
use http::{Request, Response};
use tonic::server::NamedService;
use tower_layer::Layer;
use tower_service::Service;

use crate::metadata::{Metadata, check_config, client_ip};
use crate::methods::{Access, MethodScopes};
use crate::status::{method_denied, status_for};

#[derive(Debug, Clone)]
struct Shared {
    verifier: Verifier,
    methods: MethodScopes,
    credentials: CredentialConfig,
    resolver: ClientIpResolver,
}

impl Shared {
    async fn verify(
        &self,
        parts: &http::request::Parts,
        scopes: &[Scope],
    ) -> Result<Verified, Rejection> {
        let metadata = Metadata(&parts.headers);
        let credential = extract_credential(&self.credentials, &metadata)?;
        let ctx = RequestContext::new()
            .client_ip(client_ip(&self.resolver, &parts.extensions, &parts.headers))
            .endpoint(parts.uri.path())
            .scopes(scopes);
        self.verifier.verify(credential, &ctx).await
    }
}

/// Verifies API keys on a tonic server. Add it to the whole server with
/// `Server::builder().layer(layer)`, or wrap one service with `layer.layer(service)` (the wrapped
/// service keeps its [`NamedService`] name, so `add_service` accepts it).
///
/// Per request: the method path is looked up in the [`MethodScopes`]; an unlisted method is
/// refused with `PERMISSION_DENIED` without reading the credential, a public one passes untouched.
/// Otherwise the credential is read from `x-api-key` or `authorization: Bearer` metadata (two
/// credentials: refused), the client address is tonic's `remote_addr()`, and the key is verified
/// with the method's scopes, the method path as endpoint (for endpoint limits) and cost 1. On
/// success the [`Verified`] key is put in the request extensions (read it in handlers with
/// [`RequestVerifiedExt`](crate::RequestVerifiedExt)); on failure the request ends with the status
/// from [`status_for`](crate::status_for).
#[derive(Debug, Clone)]
pub struct ApiKeyLayer {
    shared: Arc<Shared>,
}

impl ApiKeyLayer {
    /// A layer over `verifier` with the scope map `methods`, reading `x-api-key` and
    /// `authorization: Bearer`, trusting no proxy.
    pub fn new(verifier: Verifier, methods: MethodScopes) -> Self {
        Self {
            shared: Arc::new(Shared {
                verifier,
                methods,
                credentials: CredentialConfig::default(),
                resolver: ClientIpResolver::new(),
            }),
        }
    }

    /// Where credentials are read. The header must be ASCII metadata (a `-bin` key is refused) and
    /// query parameters do not exist in gRPC, so a config with one is refused.
    pub fn credentials(mut self, credentials: CredentialConfig) -> Result<Self> {
        check_config(&credentials)?;
        Arc::make_mut(&mut self.shared).credentials = credentials;
        Ok(self)
    }

    /// Trusts these proxies: when the peer is one of them, the client address is taken from the
    /// `x-forwarded-for` metadata they add (see [`ClientIpResolver`]).
    #[must_use]
    pub fn trusted_proxies(mut self, resolver: ClientIpResolver) -> Self {
        Arc::make_mut(&mut self.shared).resolver = resolver;
        self
    }
}

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`ApiKeyLayer`] makes.
#[derive(Debug, Clone)]
pub struct ApiKeyService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: NamedService> NamedService for ApiKeyService<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, ResBody> Service<Request<B>> for ApiKeyService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The ready instance serves this request; the clone waits for the next poll_ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match shared.methods.lookup(parts.uri.path()) {
                None => {
                    tracing::debug!(
                        method = parts.uri.path(),
                        "gRPC method not in the scope map; denied"
                    );
                    return Ok(method_denied().into_http());
                }
                Some(Access::Public) => {}
                Some(Access::Scopes(scopes)) => match shared.verify(&parts, scopes).await {
                    Ok(verified) => {
                        parts.extensions.insert(verified);
                    }
                    Err(rejection) => return Ok(status_for(&rejection).into_http()),
                },
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
