//! The [`Verified`] extractor: the key the [`ApiKeyLayer`](crate::ApiKeyLayer) verified.

use std::convert::Infallible;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::response::problem_response;

/// The verified key of this request. Dereferences to [`apikey_core::Verified`].
///
/// Extracting it on a route that no [`ApiKeyLayer`](crate::ApiKeyLayer) wraps is a wiring mistake:
/// the rejection is a 500 problem saying so ([`MissingLayer`]). Use `Option<Verified>` on routes
/// where authentication is optional.
#[derive(Debug, Clone)]
pub struct Verified(pub apikey_core::Verified);

impl Deref for Verified {
    type Target = apikey_core::Verified;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Verified {
    /// The core value.
    pub fn into_inner(self) -> apikey_core::Verified {
        self.0
    }
}

/// The rejection of [`Verified`] when no `ApiKeyLayer` ran: 500, problem+json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingLayer;

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        problem_response(apikey_core::http::missing_layer("ApiKeyLayer"))
    }
}

impl std::fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no API key was verified: the ApiKeyLayer is not installed on this route")
    }
}

impl std::error::Error for MissingLayer {}

impl<S: Send + Sync> FromRequestParts<S> for Verified {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<apikey_core::Verified>()
            .cloned()
            .map(Verified)
            .ok_or(MissingLayer)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Verified {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<apikey_core::Verified>()
            .cloned()
            .map(Verified))
    }
}
