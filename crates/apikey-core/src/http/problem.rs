//! RFC 9457 problem details for refused requests.
//!
//! Every problem uses the type `about:blank`, so its `title` is the HTTP reason phrase, and carries
//! a stable `code` extension member ([`RejectionKind::public_code`]). Bodies never contain the
//! credential, and every 401 gets the same bytes.

use serde::Serialize;

use crate::http::ratelimit::{ceil_secs, rate_limit_fields};
use crate::scope::Scope;
use crate::verify::{Rejection, RejectionKind};

/// The media type of every problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The one body of every 401, whatever the reason.
pub const UNAUTHORIZED_BODY: &str = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"A valid API key is required.","code":"invalid_api_key"}"#;

/// A ready response: status, headers (lower-case names) and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// Header fields, `content-type` first.
    pub headers: Vec<(&'static str, String)>,
    /// The `application/problem+json` body.
    pub body: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing_scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

fn title(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

fn detail(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::Suspended => "The API key is suspended.",
        RejectionKind::PendingApproval => "The API key is awaiting approval.",
        RejectionKind::NotYetValid => "The API key is not valid yet.",
        RejectionKind::InsufficientScope => "The API key lacks a scope this route requires.",
        RejectionKind::IpDenied => "The API key may not be used from this address.",
        RejectionKind::ClientIpUnknown => {
            "The API key is restricted to some addresses and the client address is unknown."
        }
        RejectionKind::RateLimited => "A rate limit or quota of the API key is exhausted.",
        RejectionKind::TooManyFailures => "Too many failed attempts; retry later.",
        RejectionKind::Unavailable => "Authentication is temporarily unavailable.",
        _ => "A valid API key is required.",
    }
}

fn json(body: &Body<'_>) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| String::from("{}"))
}

/// The response for `rejection`. `challenge` is the `WWW-Authenticate` value for 401s (see
/// [`CredentialConfig::challenge`](crate::http::CredentialConfig::challenge)).
pub fn problem_for(rejection: &Rejection, challenge: &str) -> Problem {
    let kind = rejection.kind();
    let status = kind.status();
    let mut headers = vec![("content-type", PROBLEM_CONTENT_TYPE.to_owned())];
    if status == 401 {
        headers.push(("www-authenticate", challenge.to_owned()));
        headers.push(("cache-control", "no-store".to_owned()));
        return Problem {
            status,
            headers,
            body: UNAUTHORIZED_BODY.to_owned(),
        };
    }
    let retry = rejection
        .retry_after_duration()
        .map(|d| ceil_secs(d).max(1));
    if let Some(secs) = retry {
        headers.push(("retry-after", secs.to_string()));
    }
    if let Some(limit) = rejection.limit() {
        headers.extend(rate_limit_fields(limit));
    }
    let body = Body {
        kind: "about:blank",
        title: title(status),
        status,
        detail: detail(kind),
        code: kind.public_code(),
        missing_scope: rejection.missing_scope().map(Scope::as_str),
        retry_after: retry,
    };
    Problem {
        status,
        headers,
        body: json(&body),
    }
}

/// The 403 for a key that verified but lacks `missing` (for scope checks made after an outer
/// layer authenticated).
pub fn insufficient_scope(missing: &Scope) -> Problem {
    problem_for(
        &Rejection::new(RejectionKind::InsufficientScope).missing(missing.clone()),
        "",
    )
}

/// The 500 answered when a handler asks for the verified key but no authentication layer ran on
/// its route (a wiring mistake). `layer` names the missing layer, e.g. `"ApiKeyLayer"`.
pub fn missing_layer(layer: &str) -> Problem {
    let detail =
        format!("No API key was verified for this route: the {layer} is not installed on it.");
    let body = Body {
        kind: "about:blank",
        title: title(500),
        status: 500,
        detail: &detail,
        code: "authentication_not_configured",
        missing_scope: None,
        retry_after: None,
    };
    Problem {
        status: 500,
        headers: vec![("content-type", PROBLEM_CONTENT_TYPE.to_owned())],
        body: json(&body),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_401_is_identical() {
        let kinds = [
            RejectionKind::Missing,
            RejectionKind::Ambiguous,
            RejectionKind::Malformed,
            RejectionKind::Unknown,
            RejectionKind::WrongSecret,
            RejectionKind::Revoked,
            RejectionKind::Expired,
        ];
        let first = problem_for(&Rejection::new(kinds[0]), "ApiKey realm=\"api\"");
        for k in kinds {
            assert_eq!(
                problem_for(&Rejection::new(k), "ApiKey realm=\"api\""),
                first
            );
        }
        let v: serde_json::Value = serde_json::from_str(&first.body).unwrap();
        assert_eq!(v["status"], 401);
        assert!(first.headers.iter().any(|(n, _)| *n == "www-authenticate"));
    }

    #[test]
    fn scope_and_limits() {
        let p = insufficient_scope(&Scope::new("projects:write").unwrap());
        assert_eq!(p.status, 403);
        assert!(p.body.contains(r#""missing_scope":"projects:write""#));
        let r =
            Rejection::new(RejectionKind::TooManyFailures).retry_after(Duration::from_millis(1500));
        let p = problem_for(&r, "");
        assert_eq!(p.status, 429);
        assert!(p.headers.contains(&("retry-after", "2".to_owned())));
        let p = missing_layer("ApiKeyLayer");
        assert_eq!(p.status, 500);
        assert!(p.body.contains("ApiKeyLayer is not installed"));
    }
}
