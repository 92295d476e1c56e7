//! The one list of event types the audit log holds: key changes and the system events that are not
//! changes of a key. Later work adds its types here, so readers (webhooks, analytics, exports)
//! see one vocabulary. Stored and serialized by their dotted names, which are stable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What an audit event records. Names are dotted (`key.created`); see [`as_str`](Self::as_str).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// A key was created.
    #[serde(rename = "key.created")]
    Created,
    /// Its metadata, scopes, limits or rules changed.
    #[serde(rename = "key.updated")]
    Updated,
    /// Revoked.
    #[serde(rename = "key.revoked")]
    Revoked,
    /// Replaced by a new key (on the old key), or created by a rotation (on the new key).
    #[serde(rename = "key.rotated")]
    Rotated,
    /// Suspended.
    #[serde(rename = "key.suspended")]
    Suspended,
    /// Unsuspended.
    #[serde(rename = "key.unsuspended")]
    Unsuspended,
    /// A revoked key restored.
    #[serde(rename = "key.restored")]
    Restored,
    /// A pending key approved.
    #[serde(rename = "key.approved")]
    Approved,
    /// A pending key rejected.
    #[serde(rename = "key.rejected")]
    Rejected,
    /// The stored hash was upgraded to the current hasher.
    #[serde(rename = "key.rehashed")]
    Rehashed,
    /// Deleted (erasure of one key).
    #[serde(rename = "key.deleted")]
    Deleted,
    /// Brought in by an import.
    #[serde(rename = "key.imported")]
    Imported,
    /// A key's expiry is near (system; `data.threshold_days`).
    #[serde(rename = "key.expiring")]
    Expiring,
    /// A key reached its expiry (system).
    #[serde(rename = "key.expired")]
    Expired,
    /// A key was reported leaked (for example by a secret-scanning partner).
    #[serde(rename = "key.leaked")]
    Leaked,
    /// A quota crossed a threshold in its period (system; `data.percent`).
    #[serde(rename = "quota.threshold")]
    QuotaThreshold,
    /// Failed verifications from one client network, aggregated over an interval (system).
    #[serde(rename = "auth.failures")]
    AuthFailures,
    /// A threat detector fired (system; `data.detector`).
    #[serde(rename = "threat.detected")]
    ThreatDetected,
    /// A canary key was used.
    #[serde(rename = "canary.tripped")]
    CanaryTripped,
    /// The data of a subject (an owner, a tenant) was erased on request.
    #[serde(rename = "subject.erased")]
    Erased,
    /// A tenant's settings changed.
    #[serde(rename = "tenant.settings_updated")]
    TenantSettingsUpdated,
    /// A key moved to another owner (`data`: `from_owner`, `to_owner`).
    #[serde(rename = "key.transferred")]
    Transferred,
    /// A template was created or changed.
    #[serde(rename = "template.saved")]
    TemplateSaved,
    /// A template was removed.
    #[serde(rename = "template.removed")]
    TemplateRemoved,
    /// A group was created or changed.
    #[serde(rename = "group.saved")]
    GroupSaved,
    /// A group was removed (its keys keep their `group` label).
    #[serde(rename = "group.removed")]
    GroupRemoved,
    /// A rotation policy was created or changed.
    #[serde(rename = "policy.saved")]
    PolicySaved,
    /// A rotation policy was removed.
    #[serde(rename = "policy.removed")]
    PolicyRemoved,
    /// A key's rotation policy (notify mode) says it is due.
    #[serde(rename = "key.rotation_due")]
    RotationDue,
    /// A shared limit pool (or a key's credits plan, or an override) was created or changed.
    #[serde(rename = "pool.saved")]
    PoolSaved,
    /// A pool was removed.
    #[serde(rename = "pool.removed")]
    PoolRemoved,
    /// A credit balance was topped up or set.
    #[serde(rename = "credits.adjusted")]
    CreditsAdjusted,
    /// A checkpoint of the tamper-evident chain: every event since the previous checkpoint, by
    /// position and hash, under a MAC whose key the secret box holds (see
    /// [`chain`](crate::audit::chain)).
    #[serde(rename = "audit.checkpoint")]
    AuditCheckpoint,
    /// The retention job purged events older than `data.before` (milliseconds since the epoch).
    #[serde(rename = "audit.purged")]
    AuditPurged,
}

/// The deprecated name of [`EventType`], from when the log held key changes only.
#[deprecated(
    since = "0.1.0",
    note = "renamed to `EventType`: the log holds system events too"
)]
pub type AuditAction = EventType;

impl EventType {
    /// Every type, in documentation order.
    pub const ALL: &'static [Self] = &[
        Self::Created,
        Self::Updated,
        Self::Revoked,
        Self::Rotated,
        Self::Suspended,
        Self::Unsuspended,
        Self::Restored,
        Self::Approved,
        Self::Rejected,
        Self::Rehashed,
        Self::Deleted,
        Self::Imported,
        Self::Expiring,
        Self::Expired,
        Self::Leaked,
        Self::QuotaThreshold,
        Self::AuthFailures,
        Self::ThreatDetected,
        Self::CanaryTripped,
        Self::Erased,
        Self::TenantSettingsUpdated,
        Self::Transferred,
        Self::TemplateSaved,
        Self::TemplateRemoved,
        Self::GroupSaved,
        Self::GroupRemoved,
        Self::PolicySaved,
        Self::PolicyRemoved,
        Self::RotationDue,
        Self::PoolSaved,
        Self::PoolRemoved,
        Self::CreditsAdjusted,
        Self::AuditCheckpoint,
        Self::AuditPurged,
    ];

    /// The stable dotted name stored in databases and sent to readers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "key.created",
            Self::Updated => "key.updated",
            Self::Revoked => "key.revoked",
            Self::Rotated => "key.rotated",
            Self::Suspended => "key.suspended",
            Self::Unsuspended => "key.unsuspended",
            Self::Restored => "key.restored",
            Self::Approved => "key.approved",
            Self::Rejected => "key.rejected",
            Self::Rehashed => "key.rehashed",
            Self::Deleted => "key.deleted",
            Self::Imported => "key.imported",
            Self::Expiring => "key.expiring",
            Self::Expired => "key.expired",
            Self::Leaked => "key.leaked",
            Self::QuotaThreshold => "quota.threshold",
            Self::AuthFailures => "auth.failures",
            Self::ThreatDetected => "threat.detected",
            Self::CanaryTripped => "canary.tripped",
            Self::Erased => "subject.erased",
            Self::TenantSettingsUpdated => "tenant.settings_updated",
            Self::Transferred => "key.transferred",
            Self::TemplateSaved => "template.saved",
            Self::TemplateRemoved => "template.removed",
            Self::GroupSaved => "group.saved",
            Self::GroupRemoved => "group.removed",
            Self::PolicySaved => "policy.saved",
            Self::PolicyRemoved => "policy.removed",
            Self::RotationDue => "key.rotation_due",
            Self::PoolSaved => "pool.saved",
            Self::PoolRemoved => "pool.removed",
            Self::CreditsAdjusted => "credits.adjusted",
            Self::AuditCheckpoint => "audit.checkpoint",
            Self::AuditPurged => "audit.purged",
        }
    }

    /// Whether the event is a change of a key committed with it (and carries the key's view
    /// before and after), as opposed to a system event about something else.
    pub const fn is_key_change(self) -> bool {
        matches!(
            self,
            Self::Created
                | Self::Updated
                | Self::Revoked
                | Self::Rotated
                | Self::Suspended
                | Self::Unsuspended
                | Self::Restored
                | Self::Approved
                | Self::Rejected
                | Self::Rehashed
                | Self::Deleted
                | Self::Imported
                | Self::Transferred
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::invalid("event type", "not one of the documented types"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_parse_back_and_match_serde() {
        let mut seen = std::collections::HashSet::new();
        for &t in EventType::ALL {
            assert!(seen.insert(t.as_str()), "{t} twice");
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.as_str().into())
            );
        }
        assert!("created".parse::<EventType>().is_err());
    }
}
