//! Maps a [`Rejection`] to a gRPC [`Status`].
//!
//! | code | kinds | what it carries |
//! | --- | --- | --- |
//! | `UNAUTHENTICATED` | missing, ambiguous, malformed, unknown, wrong secret, revoked, expired | always the message [`UNAUTHENTICATED_MESSAGE`], nothing else |
//! | `PERMISSION_DENIED` | suspended, pending approval, not yet valid, insufficient scope, IP denied, client IP unknown; methods the scope map does not list | `"<code>: <explanation>"`; the missing scope is named (the secret had verified) |
//! | `RESOURCE_EXHAUSTED` | rate limited, too many failures | retry information (below) |
//! | `UNAVAILABLE` | a dependency is down and its policy fails closed | retry information when known |
//!
//! # Retry information
//!
//! A refusal that knows when to retry carries it three ways, so every kind of client finds it:
//!
//! * `grpc-status-details-bin`: a `google.rpc.Status` whose details hold a `google.rpc.RetryInfo`
//!   with `retry_delay` (read it with `tonic_types::StatusExt::get_details_retry_info`);
//! * `grpc-retry-pushback-ms` metadata: the delay in milliseconds, which gRPC clients with a retry
//!   policy honour;
//! * `retry-after` metadata: whole seconds, rounded up (at least 1), as in HTTP.
//!
//! Rate-limit refusals also carry the `ratelimit` and `ratelimit-policy` fields of the tightest limit
//! (see [`apikey_core::http::rate_limit_fields`]).

use std::time::Duration;

use apikey_core::http::{CheckRejection, rate_limit_fields};
use apikey_core::{Rejection, RejectionKind};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The message of every `UNAUTHENTICATED` status, whatever the reason.
pub const UNAUTHENTICATED_MESSAGE: &str = "a valid API key is required";

/// The message of a method the scope map does not list.
pub const METHOD_DENIED_MESSAGE: &str = "method_not_allowed: this method is not open to API keys";

fn explanation(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::Suspended => "the API key is suspended",
        RejectionKind::PendingApproval => "the API key is awaiting approval",
        RejectionKind::NotYetValid => "the API key is not valid yet",
        RejectionKind::InsufficientScope => "the API key lacks a scope this method requires",
        RejectionKind::IpDenied => "the API key may not be used from this address",
        RejectionKind::ClientIpUnknown => {
            "the API key is restricted to some addresses and the client address is unknown"
        }
        RejectionKind::RateLimited => "a rate limit or quota of the API key is exhausted",
        RejectionKind::CreditsExhausted => "the credits of the API key are spent",
        RejectionKind::TooManyFailures => "too many failed attempts; retry later",
        RejectionKind::Unavailable => "authentication is temporarily unavailable",
        _ => UNAUTHENTICATED_MESSAGE,
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn put(metadata: &mut MetadataMap, name: &'static str, value: &str) {
    if let Ok(v) = MetadataValue::try_from(value) {
        metadata.insert(name, v);
    }
}

/// The status for `rejection` (see the module table).
pub fn status_for(rejection: &Rejection) -> Status {
    let kind = rejection.kind();
    let code = match kind.status() {
        401 => return Status::unauthenticated(UNAUTHENTICATED_MESSAGE),
        403 => Code::PermissionDenied,
        429 => Code::ResourceExhausted,
        _ => Code::Unavailable,
    };
    let mut message = format!("{}: {}", kind.public_code(), explanation(kind));
    if let Some(scope) = rejection.missing_scope() {
        message.push_str(" (");
        message.push_str(scope.as_str());
        message.push(')');
    }
    if let Some(pool) = rejection.limiting_pool() {
        message.push_str(" (pool ");
        message.push_str(pool);
        message.push(')');
    }
    let mut metadata = MetadataMap::new();
    if let Some(limit) = rejection.limit() {
        for (name, value) in rate_limit_fields(limit) {
            put(&mut metadata, name, &value);
        }
    }
    with_retry(code, message, metadata, rejection.retry_after_duration())
}

/// The status with the retry information of the module docs, when `retry` is known.
fn with_retry(
    code: Code,
    message: String,
    mut metadata: MetadataMap,
    retry: Option<Duration>,
) -> Status {
    let Some(retry) = retry else {
        return Status::with_metadata(code, message, metadata);
    };
    put(
        &mut metadata,
        "retry-after",
        &ceil_secs(retry).max(1).to_string(),
    );
    let ms = retry.as_millis() + u128::from(retry.subsec_nanos() % 1_000_000 > 0);
    put(&mut metadata, "grpc-retry-pushback-ms", &ms.to_string());
    Status::with_error_details_and_metadata(
        code,
        message,
        ErrorDetails::with_retry_info(Some(retry)),
        metadata,
    )
}

/// The status for a [`RequestCheck`](apikey_core::http::RequestCheck)'s refusal: the code for
/// its HTTP status (the table in the crate's README, after Google's API design guide:
/// 401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, 402/413/429 `RESOURCE_EXHAUSTED`, 503
/// `UNAVAILABLE`, …), the message `"<code>: <detail>"`, and retry information when the check set
/// a retry delay. The problem's type, title and extra headers have no gRPC equivalent.
pub fn status_for_check(rejection: &CheckRejection) -> Status {
    let code = match rejection.status() {
        400 | 422 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        402 | 413 | 429 => Code::ResourceExhausted,
        404 => Code::NotFound,
        409 => Code::Aborted,
        412 => Code::FailedPrecondition,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        s if s < 500 => Code::FailedPrecondition,
        _ => Code::Internal,
    };
    let message = format!("{}: {}", rejection.code(), rejection.detail());
    with_retry(code, message, MetadataMap::new(), rejection.retry_after())
}

/// The status for a method the scope map does not list.
pub fn method_denied() -> Status {
    Status::permission_denied(METHOD_DENIED_MESSAGE)
}

/// Adds the `ratelimit` and `ratelimit-policy` metadata of `limit` to an admitted call's response
/// headers (gRPC initial metadata), formatted on the stack.
pub(crate) fn add_rate_limit(
    headers: &mut http::HeaderMap,
    limit: &apikey_core::limit::LimitStatus,
) {
    let [(name, value), (policy_name, policy)] = apikey_core::http::rate_limit_values(limit);
    for (name, value) in [(name, value), (policy_name, policy)] {
        if let Ok(v) = http::HeaderValue::from_bytes(value.as_bytes()) {
            headers.append(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unauthenticated_kind_is_identical() {
        for k in [
            RejectionKind::Missing,
            RejectionKind::Ambiguous,
            RejectionKind::Malformed,
            RejectionKind::Unknown,
            RejectionKind::WrongSecret,
            RejectionKind::Revoked,
            RejectionKind::Expired,
        ] {
            let s = status_for(&Rejection::new(k));
            assert_eq!(s.code(), Code::Unauthenticated);
            assert_eq!(s.message(), UNAUTHENTICATED_MESSAGE);
            assert!(s.metadata().is_empty());
            assert!(s.details().is_empty());
        }
    }

    #[test]
    fn forbidden_and_unavailable() {
        let s = status_for(&Rejection::new(RejectionKind::Suspended));
        assert_eq!(s.code(), Code::PermissionDenied);
        assert!(s.message().starts_with("suspended: "));
        let s = status_for(&Rejection::new(RejectionKind::Unavailable));
        assert_eq!(s.code(), Code::Unavailable);
        assert!(s.metadata().get("retry-after").is_none());
        assert_eq!(method_denied().code(), Code::PermissionDenied);
    }

    #[test]
    fn check_refusals() {
        let s = status_for_check(&CheckRejection::forbidden("Canary key.").with_code("canary_key"));
        assert_eq!(
            (s.code(), s.message()),
            (Code::PermissionDenied, "canary_key: Canary key.")
        );
        let credits = CheckRejection::payment_required("No credits left.")
            .with_retry_after(Duration::from_millis(1500));
        let s = status_for_check(&credits);
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(s.metadata().get("retry-after").unwrap(), "2");
        assert_eq!(s.metadata().get("grpc-retry-pushback-ms").unwrap(), "1500");
        let s = status_for_check(&CheckRejection::unauthorized("bad signature"));
        assert_eq!(s.code(), Code::Unauthenticated);
    }
}
