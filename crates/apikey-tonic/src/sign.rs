//! The client side of request signatures on gRPC: a tower layer for a tonic channel that signs
//! every call (RFC 9421, `hmac-sha256`) as the server's `SignatureCheck` expects.
//!
//! A tonic [`Interceptor`](tonic::service::Interceptor) sees only the metadata, not the method
//! path, so signing is a layer on the channel instead. A gRPC signature covers `@method`,
//! `@authority`, `@path` and `@query` (empty) — not the messages, which a server-side check
//! cannot see either.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::http::{HttpHeaders, RequestHead};
use apikey_core::signing::Signer;
use apikey_core::{Clock, SystemClock};
use http::HeaderValue;
use tower_layer::Layer;
use tower_service::Service;

/// Signs every call of a tonic client:
/// `ProjectsClient::new(ServiceBuilder::new().layer(SigningLayer::new(signer, "api.example:443")).service(channel))`,
/// with an [`ApiKeyInterceptor`](crate::ApiKeyInterceptor) for the token too unless the key signs
/// instead of sending it.
///
/// `authority` is what the server sees as `:authority` (host, and the port unless it is the
/// scheme's default) — the channel's endpoint. Each call gets a fresh nonce and `created`, so a
/// retry signs again.
#[derive(Clone)]
pub struct SigningLayer {
    signer: Arc<Signer>,
    authority: Arc<str>,
    clock: Arc<dyn Clock>,
}

impl SigningLayer {
    /// Signs with `signer` for calls to `authority`.
    pub fn new(signer: Signer, authority: impl Into<String>) -> Self {
        Self {
            signer: Arc::new(signer),
            authority: authority.into().into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The clock `created` is read from.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn sign<B>(&self, req: &mut http::Request<B>) {
        let fields = HttpHeaders::new(req.headers());
        let head = RequestHead::new(req.method().as_str(), req.uri().path(), &fields)
            .with_query(req.uri().query())
            .with_authority(Some(&self.authority));
        let signed = Signer::nonce().and_then(|nonce| {
            self.signer
                .sign(&head, &[], self.clock.now().timestamp(), &nonce)
        });
        let fields = signed.ok().and_then(|s| {
            Some((
                HeaderValue::from_str(&s.signature_input).ok()?,
                HeaderValue::from_str(&s.signature).ok()?,
            ))
        });
        match fields {
            Some((input, signature)) => {
                req.headers_mut().insert("signature-input", input);
                req.headers_mut().insert("signature", signature);
            }
            // Unsigned, the call is refused by the server like any unsigned one; nothing here
            // can fail for a well-formed call (the only inputs are the path and our own values).
            None => tracing::error!(path = req.uri().path(), "could not sign a gRPC call"),
        }
    }
}

impl fmt::Debug for SigningLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningLayer")
            .field("signer", &self.signer)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for SigningLayer {
    type Service = Signing<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Signing {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`SigningLayer`] makes.
#[derive(Clone, Debug)]
pub struct Signing<S> {
    inner: S,
    layer: SigningLayer,
}

impl<S, B> Service<http::Request<B>> for Signing<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        self.layer.sign(&mut req);
        self.inner.call(req)
    }
}
