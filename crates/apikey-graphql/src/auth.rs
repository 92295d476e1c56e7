//! One verification per GraphQL HTTP request: [`GraphQlAuth::authenticate`] verifies the key once
//! with cost = number of operations and puts the outcome into every operation's data, where
//! [`ScopeGuard`](crate::ScopeGuard) reads it.

use std::net::IpAddr;
use std::sync::Arc;

#[cfg(any(feature = "axum", feature = "actix"))]
use apikey_core::Verified;
use apikey_core::http::{CredentialConfig, GuardSettings, RequestHeaders};
use apikey_core::{ClientIpResolver, Rejection, RejectionKind, RequestContext, Verifier};
use async_graphql::BatchRequest;

/// Why the request's key did not verify, in the request data for guards (the request still runs:
/// public fields resolve, guarded fields answer the matching error code).
#[derive(Debug, Clone)]
pub struct AuthFailure(pub Rejection);

/// How many operations a request carries: 1, or the length of a batch.
pub fn operation_count(batch: &BatchRequest) -> usize {
    match batch {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(v) => v.len(),
    }
}

/// Verifies the API key of GraphQL HTTP requests.
///
/// Mount the GraphQL route **outside** any HTTP-level API-key layer: this makes the request's one
/// limiter decision itself (cost = number of operations). Under such a layer, the handlers of the
/// `axum` and `actix` features reuse the key the layer verified, which the layer charged with
/// cost 1 whatever the batch size.
#[derive(Debug, Clone)]
pub struct GraphQlAuth {
    /// The guard path every integration shares (credential sources, proxies, the verifier).
    settings: Arc<GuardSettings>,
    endpoint: Option<Arc<str>>,
    max_operations: usize,
}

impl GraphQlAuth {
    /// Reads `x-api-key` or `authorization: Bearer`, trusts no proxy, allows batches of up to 16
    /// operations, uses no endpoint limit.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            settings: Arc::new(GuardSettings::new(verifier)),
            endpoint: None,
            max_operations: 16,
        }
    }

    /// Where credentials are read.
    #[must_use]
    pub fn credentials(mut self, credentials: CredentialConfig) -> Self {
        Arc::make_mut(&mut self.settings).set_credentials(credentials);
        self
    }

    /// Trusted proxies for `X-Forwarded-For`.
    #[must_use]
    pub fn trusted_proxies(mut self, resolver: ClientIpResolver) -> Self {
        Arc::make_mut(&mut self.settings).set_trusted_proxies(resolver);
        self
    }

    /// The endpoint name for endpoint limits (e.g. `"POST /graphql"`).
    #[must_use]
    pub fn endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Most operations in one batch (at least 1); larger batches are refused before anything runs.
    #[must_use]
    pub fn max_operations(mut self, n: usize) -> Self {
        self.max_operations = n.max(1);
        self
    }

    /// The batch size limit.
    pub fn operation_limit(&self) -> usize {
        self.max_operations
    }

    /// Verifies the request's key once, with cost = number of operations, and attaches the
    /// outcome to every operation: the [`Verified`](apikey_core::Verified) key, an [`AuthFailure`],
    /// or nothing when the request carries no key (anonymous: public fields only, no budget spent).
    ///
    /// `peer` is the socket peer; `headers` gives the credential and `X-Forwarded-For`.
    pub async fn authenticate<H: RequestHeaders>(
        &self,
        headers: &H,
        peer: Option<IpAddr>,
        batch: BatchRequest,
    ) -> BatchRequest {
        let forwarded: Vec<&[u8]> = headers.header_lines("x-forwarded-for").collect();
        let client_ip = self.settings.client_ip(peer, forwarded);
        let cost = u32::try_from(operation_count(&batch)).unwrap_or(u32::MAX);
        let mut ctx = RequestContext::new().client_ip(client_ip).cost(cost);
        if let Some(e) = &self.endpoint {
            ctx = ctx.endpoint(e);
        }
        match self.settings.verify_in(headers, &ctx).await {
            Ok(verified) => batch.data(verified),
            // No key at all: anonymous, public fields only, no budget spent.
            Err(rejection) if rejection.kind() == RejectionKind::Missing => batch,
            Err(rejection) => batch.data(AuthFailure(rejection)),
        }
    }

    /// [`authenticate`](Self::authenticate), unless an outer HTTP layer (`apikey-axum`'s
    /// `ApiKeyLayer`, `apikey-actix`'s `ApiKeyAuth`) already verified the request: its `earlier`
    /// key is then attached as is, without a second verification or charge.
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) async fn authenticate_or_reuse<H: RequestHeaders>(
        &self,
        earlier: Option<Verified>,
        headers: &H,
        peer: Option<IpAddr>,
        batch: BatchRequest,
    ) -> BatchRequest {
        match earlier {
            Some(verified) => batch.data(verified),
            None => self.authenticate(headers, peer, batch).await,
        }
    }
}
