//! Turning core's framework-neutral [`Problem`] into an axum response, and the `RateLimit` fields.

use apikey_core::http::Problem;
use apikey_core::limit::LimitStatus;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// `X-Forwarded-For`, parsed once.
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

fn append(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.append(HeaderName::from_static(name), v);
    }
}

/// The response for a problem.
pub(crate) fn problem_response(p: Problem) -> Response {
    let mut res = Response::new(Body::from(p.body));
    *res.status_mut() = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &p.headers {
        append(res.headers_mut(), name, value);
    }
    res
}

/// Adds `RateLimit` / `RateLimit-Policy` for an admitted request.
pub(crate) fn add_rate_limit(res: &mut Response, limit: &LimitStatus) {
    let headers = res.headers_mut();
    headers.reserve(2);
    let [(_, limit), (_, policy)] = apikey_core::http::rate_limit_values(limit);
    for (name, value) in [(RATELIMIT, limit), (RATELIMIT_POLICY, policy)] {
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            headers.append(name, v);
        }
    }
}
