//! Verifier settings.

use std::time::Duration;

pub use crate::verify::failures::{FailedAuthPolicy, UnknownReadBudget};

/// Settings of a [`Verifier`](crate::Verifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// How long a verified key stays in the in-process cache after it was filled. It bounds how stale
    /// a state change seen through another process can be when no invalidation reaches this one.
    pub cache_ttl: Duration,
    /// How long an unknown lookup id is remembered as unknown.
    pub negative_ttl: Duration,
    /// Most entries in the in-process cache.
    pub cache_capacity: usize,
    /// How long past `expires_at` a key keeps working (reported through
    /// [`Verified::in_expiry_grace`](crate::Verified::in_expiry_grace)).
    pub expiry_grace: Duration,
    /// The failed-auth limiter.
    pub failed_auth: FailedAuthPolicy,
    /// How often usage is written to the store.
    pub usage_flush_interval: Duration,
    /// Most legacy candidates hashed per request (legacy prefixes are not unique).
    pub max_legacy_candidates: usize,
    /// What a canary key's trip does besides being reported.
    pub canary: CanaryPolicy,
    /// During a store outage, how long past its cache lifetime a verified entry may still answer
    /// for the same secret (zero, the default: never). Availability over freshness: a key
    /// revoked through a path whose invalidation did not reach this process keeps working that
    /// much longer while the store is down; a revocation this process heard of never does.
    pub serve_stale: Duration,
    /// How long a credit reservation ([`RequestContext::reserve`](crate::RequestContext::reserve))
    /// waits for its settlement before it is settled at its estimate (default 10 minutes).
    pub reservation_ttl: Duration,
    /// Whether this verifier accepts the key service's own admin keys (those of the reserved
    /// tenant [`ADMIN_TENANT`](crate::ADMIN_TENANT)) **instead of** every other key. Off (the
    /// default), an admin key is answered as an unknown one, so it never authenticates a
    /// customer's API; `apikey serve` turns it on for its own guard only.
    pub admin_keys: bool,
    /// The threat detectors ([`crate::threat`]); all off by default.
    pub threats: crate::threat::ThreatPolicy,
}

/// What happens when a canary key trips, besides the `canary.tripped` report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CanaryPolicy {
    /// Report only.
    #[default]
    Report,
    /// Also suspend every active key of the canary's owner (in its tenant), once per incident,
    /// as the `system` actor with the reason `canary key <id> tripped`: whoever found the canary
    /// may hold the owner's other keys too. A canary without an owner suspends nothing.
    SuspendOwnerKeys,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
            cache_capacity: 100_000,
            expiry_grace: Duration::ZERO,
            failed_auth: FailedAuthPolicy::default(),
            usage_flush_interval: Duration::from_secs(10),
            max_legacy_candidates: 4,
            canary: CanaryPolicy::Report,
            serve_stale: Duration::ZERO,
            reservation_ttl: Duration::from_secs(600),
            admin_keys: false,
            threats: crate::threat::ThreatPolicy::default(),
        }
    }
}
