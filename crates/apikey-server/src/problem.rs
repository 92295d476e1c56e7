//! RFC 9457 problem details for the service's own errors (the guard answers refused keys with
//! core's problems): a status, a stable `code` and a `detail` that says what to fix.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

impl Problem {
    /// A problem with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// 400: input that cannot be used, saying why.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    /// 404, the same for a key that does not exist and one of another tenant.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// The same detail as 422 `invalid_input`: a rule a body field (not a query parameter)
    /// breaks.
    pub(crate) fn unprocessable(self) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            self.detail,
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code (`not_found`, `invalid_input`, …).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What to fix.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<apikey_core::Error> for Problem {
    fn from(e: apikey_core::Error) -> Self {
        use apikey_core::ErrorKind as K;
        let (status, code) = match e.kind() {
            // A change the key's state does not allow (suspending a revoked key): the request is
            // well formed, the resource is not in a state for it.
            K::InvalidInput if apikey_core::WrongState::is(&e) => {
                (StatusCode::CONFLICT, "invalid_state")
            }
            K::InvalidInput => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            K::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            K::Conflict => (StatusCode::CONFLICT, "conflict"),
            K::LimitReached => (StatusCode::CONFLICT, "limit_reached"),
            K::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            // A capability the service was built without (a catalog, tenant settings): the
            // resource does not exist here, and the message says what to wire.
            K::Config => (StatusCode::NOT_FOUND, "not_configured"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR || status == StatusCode::SERVICE_UNAVAILABLE
        {
            // The message may name a backend; the log has it, the client gets the kind.
            tracing::error!(error = %e, "key service request failed");
            let detail = if status == StatusCode::SERVICE_UNAVAILABLE {
                "A dependency of the key service is unavailable; retry later."
            } else {
                "The key service failed to answer; see its log."
            };
            return Self::new(status, code, detail);
        }
        Self::new(status, code, e.message().to_owned())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
        };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned());
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                apikey_core::http::PROBLEM_CONTENT_TYPE,
            )],
            json,
        )
            .into_response()
    }
}
