//! A key's history, read back from the audit log: every version with who, when, why and the key's
//! public view before and after ([`KeyManager::history`]), the fields two versions differ in
//! ([`KeyManager::diff`]), and putting an earlier version's settings back
//! ([`KeyManager::rollback`]).
//!
//! Nothing here is stored separately: the audit log already holds a view of the key after every
//! change, on every backend, so history works wherever the log does.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Change, KeyManager, KeyUpdate};
use crate::audit::{AuditFilter, AuditStore, EventType};
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{KeyId, TenantScope};
use crate::record::KeyRecord;
use crate::state::KeyState;
use crate::view::KeyView;

/// Fields [`KeyManager::diff`] leaves out: they change with every write or every use, so they
/// would bury the changes people made.
const BOOKKEEPING: [&str; 4] = ["version", "updated_at", "last_used_at", "usage_count"];

/// How many events one audit query fetches while paging through a key's history.
const PAGE: u32 = 1000;

/// One version of a key: the change that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyVersion {
    /// The key's version after the change.
    pub version: u64,
    /// What the change was.
    pub event_type: EventType,
    /// Who made it, if recorded.
    pub actor: Option<String>,
    /// Why, if recorded.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The key before (absent for its creation).
    pub before: Option<KeyView>,
    /// The key after (absent for its deletion, and for events written without a snapshot).
    pub after: Option<KeyView>,
}

/// One field that differs between two versions of a key, as JSON values of the public view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The view's field name (`scopes`, `rate_limit`, …).
    pub field: String,
    /// Its value in the first version.
    pub from: serde_json::Value,
    /// Its value in the second version.
    pub to: serde_json::Value,
}

impl KeyManager {
    fn audit_store(&self) -> Result<&Arc<dyn AuditStore>> {
        self.audit.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "no audit store to read history from: wire one with ApiKeysBuilder::audit",
            )
        })
    }

    /// Every version of key `id` in `tenant`, by version, from the audit log (all pages). A key
    /// outside `tenant`, or unknown, is [`NotFound`](ErrorKind::NotFound); a key whose events were
    /// all purged by retention has an empty history. Without an audit store wired
    /// ([`ApiKeysBuilder::audit`](crate::ApiKeysBuilder::audit)) it is a
    /// [`Config`](ErrorKind::Config) error.
    pub async fn history(&self, tenant: &TenantScope, id: KeyId) -> Result<Vec<KeyVersion>> {
        let audit = self.audit_store()?;
        let mut filter = AuditFilter::key(id);
        filter.limit = PAGE;
        let mut versions = Vec::new();
        loop {
            // Tenant-scoped query: another tenant's events are never read, so another tenant's
            // key has no history here.
            let page = audit.query(tenant, &filter).await?;
            let full = page.len() >= PAGE as usize;
            if let Some(last) = page.last() {
                filter.after = Some((last.at, last.id));
            }
            versions.extend(
                page.into_iter()
                    .filter(|e| e.event_type.is_key_change())
                    .map(|e| KeyVersion {
                        version: e.version,
                        event_type: e.event_type,
                        actor: e.actor,
                        reason: e.reason,
                        at: e.at,
                        before: e.before.map(|b| *b),
                        after: e.after.map(|a| *a),
                    }),
            );
            if !full {
                break;
            }
        }
        // A key's versions strictly increase with its changes, while `at` comes from the clocks of
        // whichever instances wrote them: order by version (stable, so ties keep log order).
        versions.sort_by_key(|v| v.version);
        if versions.is_empty() {
            // Distinguishes "no such key here" from a key whose events were purged.
            self.get(tenant, id).await?;
        }
        Ok(versions)
    }

    /// The fields of the public view that differ between versions `v1` and `v2` of key `id`
    /// (their `after` views), sorted by field name, without the bookkeeping fields
    /// (`version`, `updated_at`, `last_used_at`, `usage_count`). A version the key never had is
    /// [`NotFound`](ErrorKind::NotFound) naming it.
    pub async fn diff(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        v1: u64,
        v2: u64,
    ) -> Result<Vec<FieldChange>> {
        let history = self.history(tenant, id).await?;
        let a = to_json(snapshot(&history, id, v1)?)?;
        let b = to_json(snapshot(&history, id, v2)?)?;
        let mut changes: Vec<FieldChange> = a
            .iter()
            .filter(|(field, _)| !BOOKKEEPING.contains(&field.as_str()))
            .filter_map(|(field, from)| {
                let to = b.get(field).cloned().unwrap_or(serde_json::Value::Null);
                (*from != to).then(|| FieldChange {
                    field: field.clone(),
                    from: from.clone(),
                    to,
                })
            })
            .collect();
        // serde_json's map order depends on a crate feature anywhere in the build; sort so the
        // order is the same everywhere.
        changes.sort_by(|x, y| x.field.cmp(&y.field));
        Ok(changes)
    }

    /// Puts back the settings key `id` had at `to_version` — name, description, scopes, rate
    /// limit, endpoint limits, quota, IP rules, metadata, tags and expiry — as one versioned
    /// update ([`EventType::Updated`], reason "rollback to version N", then the caller's reason).
    ///
    /// Never the secret, the state, the lineage, the owner or the tenant: a revoked key is refused
    /// ([`InvalidInput`](ErrorKind::InvalidInput) naming the state; bringing it back is
    /// [`restore`](Self::restore), with its own rules). A version the key never had is
    /// [`NotFound`](ErrorKind::NotFound); so is another tenant's key, whose versions this tenant
    /// cannot see. An expiry that has passed since is refused like any update's (`expires_at`),
    /// and a version whose settings the key already has is refused (`version`): a rollback always
    /// changes something. Every refusal writes nothing.
    pub async fn rollback(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        to_version: u64,
        change: Change,
    ) -> Result<KeyRecord> {
        change.validate()?;
        let history = self.history(tenant, id).await?;
        let target = snapshot(&history, id, to_version)?.clone();
        let reason = match change.reason() {
            Some(r) => format!("rollback to version {to_version}: {r}"),
            None => format!("rollback to version {to_version}"),
        };
        let who = change.with_reason(Some(reason));
        let now = self.inner.clock.now();
        self.modify(
            tenant,
            id,
            EventType::Updated,
            &who,
            KeyEventKind::Updated,
            // Re-run on the fresh record after a lost race, so the checks see the latest state.
            |r| {
                if r.state == KeyState::Revoked {
                    return Err(Error::wrong_state(format_args!(
                        "key {id} is revoked; a rollback does not bring a key back (use restore)"
                    )));
                }
                let update = settings_of(&target, r);
                if update.is_empty() {
                    return Err(Error::invalid(
                        "version",
                        format_args!("key {id} already has the settings of version {to_version}"),
                    ));
                }
                update.apply(r, now)
            },
        )
        .await
    }
}

/// The view of key `id` after `version`.
fn snapshot(history: &[KeyVersion], id: KeyId, version: u64) -> Result<&KeyView> {
    let found = history
        .iter()
        .rev()
        .find(|v| v.version == version)
        .ok_or_else(|| Error::not_found(format_args!("version {version} of key {id}")))?;
    found.after.as_ref().ok_or_else(|| {
        Error::invalid(
            "version",
            format_args!("version {version} of key {id} has no snapshot of the key after it"),
        )
    })
}

fn to_json(view: &KeyView) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::to_value(view) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::new(
            ErrorKind::Backend,
            "a key view is not an object",
        )),
        Err(e) => Err(Error::backend("cannot serialize a key view", e)),
    }
}

/// The update that gives `current` the restorable settings of `target`: only the fields that
/// differ, so an unchanged expiry that has passed since does not trip the "must be in the
/// future" check, and a rollback to the current settings is recognisably empty.
fn settings_of(target: &KeyView, current: &KeyRecord) -> KeyUpdate {
    fn differ<T: PartialEq + Clone>(want: &T, have: &T) -> Option<T> {
        (want != have).then(|| want.clone())
    }
    KeyUpdate {
        name: differ(&target.name, &current.name),
        description: differ(&target.description, &current.description),
        tags: differ(&target.tags, &current.tags),
        scopes: differ(&target.scopes, &current.scopes),
        expires_at: differ(&target.expires_at, &current.expires_at),
        ip_rules: differ(&target.ip_rules, &current.ip_rules),
        rate_limit: differ(&target.rate_limit, &current.rate_limit),
        endpoint_limits: differ(&target.endpoint_limits, &current.endpoint_limits),
        quota: differ(&target.quota, &current.quota),
        metadata: differ(&target.metadata, &current.metadata),
        ..KeyUpdate::default()
    }
}
