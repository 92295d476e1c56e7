//! GraphQL errors for refused fields: a fixed message and an `extensions.code`, never a secret.
//!
//! | `extensions.code` | when |
//! | --- | --- |
//! | `UNAUTHENTICATED` | no key, or a key that did not authenticate (missing, two credentials, malformed, unknown, wrong secret, revoked, expired) — one message for all |
//! | `FORBIDDEN` | the key lacks a scope the field requires (`extensions.missingScope` names it), or its state / address forbids it |
//! | `RATE_LIMITED` | the request's one limiter decision refused it (`extensions.retryAfter`: seconds, rounded up) |
//! | `UNAVAILABLE` | a dependency is down and its policy fails closed |

use apikey_core::{Rejection, RejectionKind, Scope};
use async_graphql::{Error, ErrorExtensions};

/// `extensions.code` of a field that needs a key and has none that authenticated.
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
/// `extensions.code` of a field the key may not read.
pub const FORBIDDEN: &str = "FORBIDDEN";
/// `extensions.code` of a field refused by the rate limit, endpoint limit or quota.
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// `extensions.code` when authentication is unavailable.
pub const UNAVAILABLE: &str = "UNAVAILABLE";

/// The message of every `UNAUTHENTICATED` error.
pub const UNAUTHENTICATED_MESSAGE: &str = "a valid API key is required";

fn ceil_secs(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The error for a field that needs a key when the request has none.
pub fn unauthenticated() -> Error {
    Error::new(UNAUTHENTICATED_MESSAGE).extend_with(|_, e| {
        e.set("code", UNAUTHENTICATED);
    })
}

/// The error for a verified key that lacks `missing`.
pub fn missing_scope(missing: &Scope) -> Error {
    let scope = missing.as_str().to_owned();
    Error::new(format!("the API key lacks scope {scope}")).extend_with(move |_, e| {
        e.set("code", FORBIDDEN);
        e.set("missingScope", scope.as_str());
    })
}

/// The error for a request whose key was refused by the HTTP integration.
pub fn rejection_error(rejection: &Rejection) -> Error {
    let kind = rejection.kind();
    let (code, message) = match kind.status() {
        401 => return unauthenticated(),
        403 => (FORBIDDEN, "the API key may not be used for this field"),
        429 if kind == RejectionKind::CreditsExhausted => {
            (RATE_LIMITED, "the credits of the API key are spent")
        }
        429 => (
            RATE_LIMITED,
            "a rate limit or quota of the API key is exhausted",
        ),
        _ => (UNAVAILABLE, "authentication is temporarily unavailable"),
    };
    if kind == RejectionKind::InsufficientScope
        && let Some(scope) = rejection.missing_scope()
    {
        return missing_scope(scope);
    }
    let reason = kind.public_code();
    let pool = rejection.limiting_pool().map(str::to_owned);
    let retry = rejection
        .retry_after_duration()
        .map(|d| ceil_secs(d).max(1));
    Error::new(message).extend_with(move |_, e| {
        e.set("code", code);
        e.set("reason", reason);
        if let Some(secs) = retry {
            e.set("retryAfter", secs);
        }
        if let Some(pool) = &pool {
            e.set("pool", pool.as_str());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: &Error) -> String {
        let v = e.extensions.as_ref().unwrap().get("code").unwrap();
        v.to_string().trim_matches('"').to_owned()
    }

    #[test]
    fn codes() {
        for k in [
            RejectionKind::Missing,
            RejectionKind::Revoked,
            RejectionKind::WrongSecret,
        ] {
            let e = rejection_error(&Rejection::new(k));
            assert_eq!(
                (code(&e), e.message.as_str()),
                (UNAUTHENTICATED.into(), UNAUTHENTICATED_MESSAGE)
            );
        }
        assert_eq!(
            code(&rejection_error(&Rejection::new(RejectionKind::Suspended))),
            FORBIDDEN
        );
        assert_eq!(
            code(&rejection_error(&Rejection::new(
                RejectionKind::TooManyFailures
            ))),
            RATE_LIMITED
        );
        assert_eq!(
            code(&rejection_error(&Rejection::new(
                RejectionKind::Unavailable
            ))),
            UNAVAILABLE
        );
        let e = missing_scope(&Scope::new("a:b").unwrap());
        assert_eq!(code(&e), FORBIDDEN);
        assert!(e.message.contains("a:b"));
    }
}
