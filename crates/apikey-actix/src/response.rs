//! Turning core's framework-neutral [`Problem`] into an actix response, and header access for the
//! credential extractor.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue};
use apikey_core::http::{Problem, RequestHeaders};
use apikey_core::limit::LimitStatus;

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// A request's headers and query string, as core's extractor reads them.
pub(crate) struct Headers<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: &'a str,
    /// The configured credential header, parsed when the middleware was built.
    pub(crate) custom: Option<&'a HeaderName>,
}

impl RequestHeaders for Headers<'_> {
    fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // Known names skip parsing and validating the name on every request.
        let lines = match (name, self.custom) {
            ("authorization", _) => self.headers.get_all(AUTHORIZATION),
            ("cookie", _) => self.headers.get_all(COOKIE),
            (n, Some(custom)) if custom.as_str() == n => self.headers.get_all(custom),
            (n, _) => self.headers.get_all(n),
        };
        lines.map(HeaderValue::as_bytes)
    }

    fn query_string(&self) -> Option<&str> {
        (!self.query.is_empty()).then_some(self.query)
    }
}

/// The response for a problem.
pub(crate) fn problem_response(p: Problem) -> HttpResponse {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    for (name, value) in &p.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            res.append_header((HeaderName::from_static(name), v));
        }
    }
    res.body(p.body)
}

/// Adds `RateLimit` / `RateLimit-Policy` for an admitted request.
pub(crate) fn add_rate_limit(headers: &mut HeaderMap, limit: &LimitStatus) {
    let [(_, limit), (_, policy)] = apikey_core::http::rate_limit_values(limit);
    for (name, value) in [(RATELIMIT, limit), (RATELIMIT_POLICY, policy)] {
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            headers.append(name, v);
        }
    }
}
