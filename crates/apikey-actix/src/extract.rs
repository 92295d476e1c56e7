//! The [`Verified`] extractor: the key the [`ApiKeyAuth`](crate::ApiKeyAuth) middleware verified.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::response::problem_response;

/// The verified key of this request. Dereferences to [`apikey_core::Verified`].
///
/// Extracting it on a resource that no [`ApiKeyAuth`](crate::ApiKeyAuth) wraps is a wiring
/// mistake: the error is a 500 problem saying so ([`MissingLayer`]). Use `Option<Verified>` where
/// authentication is optional.
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

/// The error of [`Verified`] when no `ApiKeyAuth` ran: 500, problem+json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingLayer;

impl std::fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "no API key was verified: the ApiKeyAuth middleware is not installed on this route",
        )
    }
}

impl std::error::Error for MissingLayer {}

impl ResponseError for MissingLayer {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        problem_response(apikey_core::http::missing_layer("ApiKeyAuth middleware"))
    }
}

impl FromRequest for Verified {
    type Error = MissingLayer;
    type Future = Ready<Result<Self, MissingLayer>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<apikey_core::Verified>()
                .cloned()
                .map(Verified)
                .ok_or(MissingLayer),
        )
    }
}
