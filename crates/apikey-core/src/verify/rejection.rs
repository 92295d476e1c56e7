//! Why a request was refused: one stable kind per failure, mapped by integrations to a status.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ids::{KeyId, TenantId};
use crate::limit::LimitStatus;
use crate::record::KeyRecord;
use crate::scope::Scope;

/// The reason a verification failed. Integrations map kinds to responses with
/// [`RejectionKind::status`]; every 401 kind must get the same body, so callers cannot tell them
/// apart.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// No credential in the request.
    Missing,
    /// More than one credential in the request (two headers, header and query, …).
    Ambiguous,
    /// Not a token of this deployment (prefix, length, alphabet or checksum).
    Malformed,
    /// Well-formed, but no key has this lookup id.
    Unknown,
    /// The secret does not match.
    WrongSecret,
    /// The key is revoked (or was rejected at approval).
    Revoked,
    /// The key is past its expiry or its rotation grace deadline.
    Expired,
    /// Too many failed verifications for this lookup id from this address.
    TooManyFailures,
    /// The key is suspended.
    Suspended,
    /// The key awaits approval.
    PendingApproval,
    /// The key is not valid yet (`not_before`).
    NotYetValid,
    /// A required scope is missing.
    InsufficientScope,
    /// The client address is denied or not allowed.
    IpDenied,
    /// The key has IP rules but the request has no client address.
    ClientIpUnknown,
    /// A rate limit, endpoint limit or quota is exhausted (the key's own or a pool's).
    RateLimited,
    /// The credits the request would spend are not there (the key's own or a pool's).
    CreditsExhausted,
    /// A dependency (store, limiter, slow-hash capacity) is unavailable and the policy fails closed.
    Unavailable,
}

impl RejectionKind {
    /// Every kind, in declaration order (so `kind as usize` indexes it).
    pub const ALL: [Self; 17] = [
        Self::Missing,
        Self::Ambiguous,
        Self::Malformed,
        Self::Unknown,
        Self::WrongSecret,
        Self::Revoked,
        Self::Expired,
        Self::TooManyFailures,
        Self::Suspended,
        Self::PendingApproval,
        Self::NotYetValid,
        Self::InsufficientScope,
        Self::IpDenied,
        Self::ClientIpUnknown,
        Self::RateLimited,
        Self::CreditsExhausted,
        Self::Unavailable,
    ];

    /// The HTTP status: 401 for every "not authenticated" kind, 403 for what the owner can fix once
    /// authenticated, 429 for limits, 503 for dependencies.
    pub const fn status(self) -> u16 {
        match self {
            Self::Missing
            | Self::Ambiguous
            | Self::Malformed
            | Self::Unknown
            | Self::WrongSecret
            | Self::Revoked
            | Self::Expired => 401,
            Self::Suspended
            | Self::PendingApproval
            | Self::NotYetValid
            | Self::InsufficientScope
            | Self::IpDenied
            | Self::ClientIpUnknown => 403,
            Self::RateLimited | Self::CreditsExhausted | Self::TooManyFailures => 429,
            Self::Unavailable => 503,
        }
    }

    /// A stable snake_case code for logs, problem types and GraphQL error codes.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Ambiguous => "ambiguous",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::WrongSecret => "wrong_secret",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::TooManyFailures => "too_many_failures",
            Self::Suspended => "suspended",
            Self::PendingApproval => "pending_approval",
            Self::NotYetValid => "not_yet_valid",
            Self::InsufficientScope => "insufficient_scope",
            Self::IpDenied => "ip_denied",
            Self::ClientIpUnknown => "client_ip_unknown",
            Self::RateLimited => "rate_limited",
            Self::CreditsExhausted => "credits_exhausted",
            Self::Unavailable => "unavailable",
        }
    }

    /// What a client may be told: the 401 kinds all read "invalid" so they reveal nothing.
    pub const fn public_code(self) -> &'static str {
        if self.status() == 401 {
            "invalid_api_key"
        } else {
            self.code()
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refused request. Carries nothing secret; `key_id` is set only once the secret verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    key_id: Option<KeyId>,
    /// The key's tenant, with `key_id` (the request log files the refusal under it).
    tenant_id: Option<TenantId>,
    retry_after: Option<Duration>,
    limit: Option<LimitStatus>,
    /// The pool whose limit refused, by name (`owner:acme`), when it was a pool's.
    pool: Option<Arc<str>>,
    missing_scope: Option<Scope>,
}

impl Rejection {
    /// A rejection of `kind`.
    pub const fn new(kind: RejectionKind) -> Self {
        Self {
            kind,
            key_id: None,
            tenant_id: None,
            retry_after: None,
            limit: None,
            pool: None,
            missing_scope: None,
        }
    }

    pub(crate) fn for_record(mut self, r: &KeyRecord) -> Self {
        self.key_id = Some(r.id);
        self.tenant_id.clone_from(&r.tenant_id);
        self
    }

    pub(crate) fn retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }

    pub(crate) fn limited(mut self, limit: LimitStatus, retry_after: Duration) -> Self {
        self.limit = Some(limit);
        self.retry_after = Some(retry_after);
        self
    }

    pub(crate) fn limit_only(mut self, limit: LimitStatus) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn pool(mut self, name: Arc<str>) -> Self {
        self.pool = Some(name);
        self
    }

    pub(crate) fn missing(mut self, scope: Scope) -> Self {
        self.missing_scope = Some(scope);
        self
    }

    /// The kind.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status for this rejection.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The key, when the secret had verified (403/429 kinds).
    pub fn key_id(&self) -> Option<KeyId> {
        self.key_id
    }

    /// The key's tenant, when the key is known (see [`key_id`](Self::key_id)).
    pub fn tenant_id(&self) -> Option<&TenantId> {
        self.tenant_id.as_ref()
    }

    /// When to retry (429, and 503 when known).
    pub fn retry_after_duration(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The limit that refused (429).
    pub fn limit(&self) -> Option<&LimitStatus> {
        self.limit.as_ref()
    }

    /// The pool that refused (`owner:acme`, `group:free`, `tenant`, `key:<lineage>` for the key's
    /// own credits), when the limit that refused was a pool's.
    pub fn limiting_pool(&self) -> Option<&str> {
        self.pool.as_deref()
    }

    /// The first required scope the key lacks (403 insufficient scope).
    pub fn missing_scope(&self) -> Option<&Scope> {
        self.missing_scope.as_ref()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API key rejected: {}", self.kind)
    }
}

impl std::error::Error for Rejection {}

impl From<RejectionKind> for Rejection {
    fn from(kind: RejectionKind) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod all_kinds {
    use super::RejectionKind;

    /// `ALL` lists every kind once, in declaration order, so `kind as usize` indexes it (the
    /// metrics handles rely on it).
    #[test]
    fn all_is_in_declaration_order() {
        for (i, k) in RejectionKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k:?}");
        }
    }
}
