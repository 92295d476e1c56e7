//! The stored key record: every field a key needs over its whole life, so later features add
//! behaviour, not columns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hash::StoredHash;
use crate::ids::{KeyId, LookupId, TenantId};
use crate::ip::IpRules;
use crate::limit::{EndpointLimit, LimitPolicy, Quota, Rate};
use crate::metadata::Metadata;
use crate::scope::ScopeSet;
use crate::signing::Protection;
use crate::state::{EffectiveState, KeyState};
use crate::token::LEGACY_LOOKUP_LEN;

/// The first 8 characters of a nest-api-key-auth token: secret material (32 bits of the secret), so
/// `Debug` is redacted and there is no `Display`. Stored so imported keys can be found.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LegacyPrefix(String);

impl LegacyPrefix {
    /// Validates 8 hex characters.
    pub fn new(s: &str) -> Result<Self, crate::Error> {
        if s.len() == LEGACY_LOOKUP_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(crate::Error::invalid(
                "legacy lookup",
                "expected 8 hex characters",
            ))
        }
    }

    /// The prefix, for storage queries only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LegacyPrefix {
    type Error = crate::Error;
    fn try_from(s: String) -> Result<Self, crate::Error> {
        Self::new(&s)
    }
}

impl From<LegacyPrefix> for String {
    fn from(p: LegacyPrefix) -> String {
        p.0
    }
}

impl std::fmt::Debug for LegacyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LegacyPrefix(<redacted>)")
    }
}

/// One API key, as every backend stores it. The secret is not here: only its [`StoredHash`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Stable private id.
    pub id: KeyId,
    /// The tenant that owns the key, if the deployment is multi-tenant.
    pub tenant_id: Option<TenantId>,
    /// Public lookup id (unique).
    pub lookup_id: LookupId,
    /// For keys imported from nest-api-key-auth: the first 8 characters of the legacy token. Part of
    /// the secret: never shown, never logged, not unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_lookup: Option<LegacyPrefix>,
    /// The hash of the secret, naming its hasher.
    pub hash: StoredHash,
    /// Human-readable name (1–200 characters).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Owner (user, team, service) identifier.
    pub owner: Option<String>,
    /// Group or team the key belongs to (for group default scopes).
    pub group: Option<String>,
    /// Deployment environment (`production`, `staging`, `development`, or the user's own).
    pub environment: Option<String>,
    /// Tags, sorted, compared case-sensitively.
    pub tags: Vec<String>,
    /// Alternative names that resolve to this key in management calls (unique per tenant).
    pub aliases: Vec<String>,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Stored lifecycle state.
    pub state: KeyState,
    /// Why the key was revoked, suspended or rejected.
    pub state_reason: Option<String>,
    /// When the state last changed.
    pub state_changed_at: Option<DateTime<Utc>>,
    /// Who approved or rejected a pending key.
    pub approved_by: Option<String>,
    /// Not usable before this instant.
    pub not_before: Option<DateTime<Utc>>,
    /// Not usable after this instant (plus the verifier's expiry grace).
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed and denied client networks.
    pub ip_rules: IpRules,
    /// The key's own rate.
    pub rate_limit: Option<Rate>,
    /// Rates per endpoint for this key.
    pub endpoint_limits: Vec<EndpointLimit>,
    /// Calendar quota, counted over the rotation lineage.
    pub quota: Option<Quota>,
    /// Free-form JSON (capped).
    pub metadata: Metadata,
    /// The key this one was rotated or cloned from.
    pub rotated_from: Option<KeyId>,
    /// The key that replaced this one.
    pub rotated_to: Option<KeyId>,
    /// After a rotation, the old key works until this instant (stored, not a timer).
    pub grace_until: Option<DateTime<Utc>>,
    /// The first key of the rotation lineage (itself for a new key): quota counters follow it.
    pub lineage_id: KeyId,
    /// The template the key was created from.
    pub template: Option<String>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last management change.
    pub updated_at: DateTime<Utc>,
    /// Last successful verification (recorded write-behind, coarse).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Successful verifications recorded so far.
    pub usage_count: u64,
    /// Optimistic-concurrency version: every management change increments it; usage never does.
    pub version: u64,
    /// Request signing and canary status (default: neither).
    #[serde(default, skip_serializing_if = "Protection::is_none")]
    pub protection: Protection,
}

impl KeyRecord {
    /// The state a caller sees at `now`, with `grace` added to `expires_at`.
    pub fn effective_state(&self, now: DateTime<Utc>, grace: chrono::Duration) -> EffectiveState {
        match self.state {
            KeyState::Revoked => EffectiveState::Revoked,
            KeyState::Suspended => EffectiveState::Suspended,
            KeyState::Pending => EffectiveState::Pending,
            KeyState::Active if self.is_expired(now, grace) => EffectiveState::Expired,
            KeyState::Active => EffectiveState::Active,
        }
    }

    /// Whether the key is past its expiry (plus `grace`) or past its rotation grace deadline. A
    /// grace that would run past the end of time never ends (no overflow panic), as in the
    /// verifier's own window.
    pub fn is_expired(&self, now: DateTime<Utc>, grace: chrono::Duration) -> bool {
        self.expires_at
            .is_some_and(|t| t.checked_add_signed(grace).is_some_and(|end| now >= end))
            || self.grace_until.is_some_and(|t| now >= t)
    }

    /// Whether `now` is past `expires_at` but still within `grace`.
    pub fn in_expiry_grace(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// The limits one request with this key on `endpoint` spends.
    pub fn limit_policy(&self, endpoint: Option<&str>) -> LimitPolicy {
        LimitPolicy {
            rate: self.rate_limit,
            endpoint: endpoint
                .and_then(|e| self.endpoint_limits.iter().find(|l| l.endpoint.matches(e)))
                .map(|l| l.rate),
            quota: self.quota,
        }
    }
}
