//! RFC 9457 problem details for refused requests.
//!
//! Every problem uses the type `about:blank`, so its `title` is the HTTP reason phrase, and carries
//! a stable `code` extension member ([`RejectionKind::public_code`]). Bodies never contain the
//! credential, and every 401 gets the same bytes.

use serde::Serialize;

use crate::http::check_rejection::CheckRejection;
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
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing_scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// For a 429 from a pool or credits: which limit (`owner-quota`, `credits`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a str>,
    /// For a 429 from a pool: the pool's name (`owner:acme`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<&'a str>,
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        // Unlisted statuses have no phrase here; checks that use them should set a title.
        s if s < 500 => "Client Error",
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
        RejectionKind::CreditsExhausted => "The credits of the API key are spent.",
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
        // The key's own limits keep their established bodies; a pool's or credits name themselves.
        limit: rejection
            .limit()
            .filter(|l| l.kind.pool().is_some())
            .map(|l| l.kind.as_str()),
        pool: rejection.limiting_pool(),
    };
    Problem {
        status,
        headers,
        body: json(&body),
    }
}

/// The response for a [`RequestCheck`](crate::http::RequestCheck)'s rejection: its status,
/// type, title (default: the reason phrase), detail and code, `Retry-After` when it set one, its
/// extra headers, and for a 401 the guard's `challenge` (unless the check set `www-authenticate`)
/// and `Cache-Control: no-store`.
pub fn problem_for_check(rejection: &CheckRejection, challenge: &str) -> Problem {
    let status = rejection.status;
    let mut headers = vec![("content-type", PROBLEM_CONTENT_TYPE.to_owned())];
    let retry = rejection.retry_after.map(|d| ceil_secs(d).max(1));
    if let Some(secs) = retry {
        headers.push(("retry-after", secs.to_string()));
    }
    if status == 401 {
        if !rejection
            .headers
            .iter()
            .any(|(n, _)| *n == "www-authenticate")
        {
            headers.push(("www-authenticate", challenge.to_owned()));
        }
        headers.push(("cache-control", "no-store".to_owned()));
    }
    headers.extend(rejection.headers.iter().cloned());
    let body = Body {
        kind: &rejection.type_uri,
        title: rejection.title.as_deref().unwrap_or(title(status)),
        status,
        detail: &rejection.detail,
        code: &rejection.code,
        missing_scope: None,
        retry_after: retry,
        limit: None,
        pool: None,
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
        limit: None,
        pool: None,
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

    #[test]
    fn check_rejections() {
        let r = CheckRejection::payment_required("No credits left.")
            .with_type("https://example.com/problems/credits")
            .with_code("no_credits")
            .with_retry_after(Duration::from_millis(2500));
        let p = problem_for_check(&r, "ApiKey realm=\"api\"");
        assert_eq!(p.status, 402);
        assert!(p.headers.contains(&("retry-after", "3".to_owned())));
        let v: serde_json::Value = serde_json::from_str(&p.body).unwrap();
        assert_eq!(v["type"], "https://example.com/problems/credits");
        assert_eq!(v["title"], "Payment Required");
        assert_eq!(v["detail"], "No credits left.");
        assert_eq!(v["code"], "no_credits");
        assert_eq!(v["retry_after"], 3);

        let p = problem_for_check(&CheckRejection::unauthorized("bad signature"), "ApiKey");
        assert!(
            p.headers
                .contains(&("www-authenticate", "ApiKey".to_owned()))
        );
        let own = CheckRejection::unauthorized("x").with_header("www-authenticate", "Signature");
        let p = problem_for_check(&own, "ApiKey");
        let challenges: Vec<_> = p
            .headers
            .iter()
            .filter(|(n, _)| *n == "www-authenticate")
            .collect();
        assert_eq!(challenges, [&("www-authenticate", "Signature".to_owned())]);
    }
}
