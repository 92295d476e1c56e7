//! [`TenantSettings`]: the per-tenant policy that management calls read, and its validation.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::KeyState;

/// The longest retention a setting may ask for (about a hundred years): far beyond any legal
/// requirement, and small enough that `now - days` never leaves the calendar `chrono` handles.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The settings of one tenant (or the default row for keys without a tenant).
///
/// Every field carries `#[serde(default)]`, and so does the struct: a stored document written
/// before a field existed reads as that field's default, so later issues add fields without a
/// migration. [`Default`] is the behaviour of a deployment that never stored settings.
///
/// Fields a newer version stores and this version does not know are dropped on read: a process
/// of an older version that writes settings back loses them. Roll settings writers forward
/// together.
///
/// Threat detection is configured per verifier ([`VerifierConfig::threats`](crate::VerifierConfig::threats));
/// [`threats`](Self::threats) tunes its per-key detectors for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    /// New keys start [`Pending`](KeyState::Pending) and need an approval before they work,
    /// whatever the caller's [`NewKey::require_approval`](crate::NewKey::require_approval) says
    /// (a caller can ask for approval, never skip it).
    #[serde(default)]
    pub approval_required: bool,
    /// At most this many keys in the tenant, counting keys in [`counted_states`](Self::counted_states).
    /// `Some(0)` refuses every creation (a frozen tenant). `None`: no limit.
    #[serde(default)]
    pub max_keys_per_tenant: Option<u32>,
    /// At most this many keys per owner within the tenant, counted the same way. Keys without an
    /// owner are not limited by it. `None`: no limit.
    #[serde(default)]
    pub max_keys_per_owner: Option<u32>,
    /// Which stored states count toward the limits. Default: active, pending and suspended —
    /// every key that works or can be made to work without an operator. Revoked keys are dead
    /// (only an operator's restore revives them) and expired keys are `active` in storage but
    /// dead by the clock; counting them would make a tenant delete history to create keys.
    /// Expired keys are still counted when their stored state is listed here (the count reads
    /// stored states only, so it agrees on every backend without reading the clock).
    #[serde(default = "default_counted_states")]
    pub counted_states: Vec<KeyState>,
    /// How long data about the tenant is kept.
    #[serde(default)]
    pub retention: Retention,
    /// Whether the tenant's requests are logged (off by default), and for how long.
    #[serde(default)]
    pub request_log: crate::request_log::RequestLogSettings,
    /// The per-key threat detectors for the tenant's keys (see [`crate::threat`]): each off,
    /// reporting or suspending, with its own threshold. Empty: the verifier's policy.
    #[serde(default)]
    pub threats: crate::threat::TenantThreats,
}

/// How long a tenant's data is kept; read by the `audit.retention` job
/// ([`AuditRetention::with_tenant_settings`](crate::jobs::builtin::AuditRetention::with_tenant_settings))
/// and the `usage.retention` job
/// ([`UsageRetentionJob::with_tenant_settings`](crate::analytics::UsageRetentionJob::with_tenant_settings)),
/// both through [`retention_plan`](crate::tenant::retention_plan): one owner of retention.
/// `None`: the job's own retention.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Retention {
    /// Audit events of the tenant older than this many days are purged by the retention job (1..=
    /// [`MAX_RETENTION_DAYS`]). The purge still waits for every registered audit reader and keeps
    /// checkpoints and live keys' newest records
    /// ([`AuditStore::purge_scoped`](crate::AuditStore::purge_scoped)).
    #[serde(default)]
    pub audit_days: Option<u32>,
    /// The tenant's usage analytics are kept this many days (1..=[`MAX_RETENTION_DAYS`]): its
    /// day buckets exactly that long, its minute and hour buckets that long at most (their own
    /// retention when shorter), so a long range is still answered by coarser buckets.
    #[serde(default)]
    pub usage_days: Option<u32>,
}

fn default_counted_states() -> Vec<KeyState> {
    vec![KeyState::Active, KeyState::Pending, KeyState::Suspended]
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            approval_required: false,
            max_keys_per_tenant: None,
            max_keys_per_owner: None,
            counted_states: default_counted_states(),
            retention: Retention::default(),
            request_log: crate::request_log::RequestLogSettings::default(),
            threats: crate::threat::TenantThreats::default(),
        }
    }
}

impl TenantSettings {
    /// Checks every field; the error names the first bad one. Nothing is written when this fails.
    pub fn validate(&self) -> Result<()> {
        if self.counted_states.is_empty() {
            // An empty list means "every state" in a key filter and "nothing" to a reader of
            // these settings: refuse the ambiguity instead of picking one.
            return Err(Error::invalid(
                "counted_states",
                "must name at least one state",
            ));
        }
        for (i, s) in self.counted_states.iter().enumerate() {
            if self.counted_states[..i].contains(s) {
                return Err(Error::invalid(
                    "counted_states",
                    format_args!("{s} given twice"),
                ));
            }
        }
        self.retention.validate()?;
        self.threats.validate()?;
        self.request_log.validate()
    }
}

impl Retention {
    /// Checks the periods: zero days would purge everything at once, which no one means.
    pub fn validate(&self) -> Result<()> {
        for (field, days) in [
            ("retention.audit_days", self.audit_days),
            ("retention.usage_days", self.usage_days),
        ] {
            if let Some(d) = days
                && !(1..=MAX_RETENTION_DAYS).contains(&d)
            {
                return Err(Error::invalid(
                    field,
                    format_args!("must be 1..={MAX_RETENTION_DAYS} days"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_is_the_default_and_missing_fields_default() {
        let s: TenantSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, TenantSettings::default());
        let s: TenantSettings =
            serde_json::from_str(r#"{"approval_required":true,"retention":{}}"#).unwrap();
        assert!(s.approval_required);
        assert_eq!(s.counted_states.len(), 3);
        assert!(!s.counted_states.contains(&KeyState::Revoked));
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = TenantSettings::default();
        assert!(s.validate().is_ok());
        s.retention.audit_days = Some(0);
        assert!(s.validate().unwrap_err().message().contains("audit_days"));
        s.retention.audit_days = Some(MAX_RETENTION_DAYS + 1);
        assert!(s.validate().is_err());
        s.retention.audit_days = Some(30);
        s.retention.usage_days = Some(0);
        assert!(s.validate().unwrap_err().message().contains("usage_days"));
        s.retention.usage_days = Some(400);
        assert!(s.validate().is_ok());
        s.counted_states.clear();
        assert!(
            s.validate()
                .unwrap_err()
                .message()
                .contains("counted_states")
        );
        s.counted_states = vec![KeyState::Active, KeyState::Active];
        assert!(s.validate().is_err());
    }
}
