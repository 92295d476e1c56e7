//! [`erase_owner`]: the right to erasure, applied to an owner's keys and everything about them.
//!
//! Order matters. The keys are changed first (revoked, personal fields blanked), so that the
//! change events, whose `before` views still show the personal data, are among the events erased
//! next. Each audit event is erased through its chain's salted commitments
//! ([`chain::erase`](crate::audit::chain::erase)): values and salt go, commitments stay, the
//! event's hash is unchanged and the chain and its checkpoints still verify. Events written before
//! the chain existed have no salt: erasing them would break verification, so they are left and
//! counted ([`ErasureReport::unchained_kept`]).

use serde::Serialize;

use super::{owner_events, owner_keys};
use crate::analytics::AnalyticsStore;
use crate::audit::{AuditEvent, AuditStore, EventType, chain};
use crate::event::KeyEventKind;
use crate::metadata::Metadata;
use crate::request_log::RequestLogStore;
use crate::state::KeyState;
use crate::{Change, Error, KeyId, KeyManager, Result, TenantScope};

/// Events rewritten per call to the store.
const REWRITE_BATCH: usize = 500;

/// The name an erased key keeps (a key's name cannot be empty).
pub const ERASED_NAME: &str = "erased";

/// Where the owner's data lives besides the keys.
#[derive(Debug, Clone, Copy)]
pub struct ErasureStores<'a> {
    /// The audit log (it must support [`AuditStore::rewrite_erased`]).
    pub audit: &'a dyn AuditStore,
    /// Usage analytics, if kept.
    pub analytics: Option<&'a dyn AnalyticsStore>,
    /// The request log, if kept.
    pub requests: Option<&'a dyn RequestLogStore>,
}

/// What [`erase_owner`] did, or with `dry_run` would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// The owner's keys, in every state.
    pub keys: Vec<KeyId>,
    /// Of those, the keys that were not revoked yet.
    pub revoked: u64,
    /// Audit events whose personal fields were (or would be) erased.
    pub audit_events: u64,
    /// Audit events from before the chain existed, left as they are (see the module docs).
    pub unchained_kept: u64,
    /// Usage rows deleted (0 on a dry run, or without analytics).
    pub usage_rows: u64,
    /// Request-log records deleted (0 on a dry run, or without a request log).
    pub request_records: u64,
}

/// Erases what `tenant` holds about `owner` (see the [module docs](self)). `change` names who
/// asked and why; it is recorded on the keys' change events (then erased with them) and on the
/// final `subject.erased` event, which names the keys but not the owner.
///
/// # Errors
///
/// An empty owner is refused. A store error stops the erasure where it is; running it again
/// finishes it (every step skips what is done: revoked keys, erased events, deleted rows).
pub async fn erase_owner(
    keys: &KeyManager,
    stores: ErasureStores<'_>,
    tenant: &TenantScope,
    owner: &str,
    change: Change,
    dry_run: bool,
) -> Result<ErasureReport> {
    if owner.trim().is_empty() {
        return Err(Error::invalid("owner", "is empty"));
    }
    let records = owner_keys(keys, tenant, owner).await?;
    let mut report = ErasureReport {
        dry_run,
        keys: records.iter().map(|r| r.id).collect(),
        revoked: records
            .iter()
            .filter(|r| r.state != KeyState::Revoked)
            .count() as u64,
        ..ErasureReport::default()
    };
    if !dry_run {
        for r in &records {
            scrub(keys, tenant, r.id, &change).await?;
        }
    }
    let events = owner_events(stores.audit, tenant, &records, owner).await?;
    let mut erased = Vec::new();
    for mut e in events {
        match e.chain.as_ref().map(|l| l.salt.is_some()) {
            Some(true) => {
                if !dry_run {
                    chain::erase(&mut e)?;
                }
                erased.push(e);
            }
            Some(false) => {}
            None => report.unchained_kept += 1,
        }
    }
    report.audit_events = erased.len() as u64;
    if dry_run {
        // The erasure's own change of each key is an event to erase too.
        report.audit_events += records.len() as u64;
        return Ok(report);
    }
    for batch in erased.chunks(REWRITE_BATCH) {
        stores.audit.rewrite_erased(batch).await?;
    }
    if let Some(analytics) = stores.analytics {
        report.usage_rows = analytics.erase_usage_of(&report.keys).await?;
    }
    if let Some(requests) = stores.requests {
        report.request_records = requests.erase_requests_of(&report.keys).await?;
    }
    let ids: Vec<String> = report.keys.iter().map(ToString::to_string).collect();
    let mut parts: Vec<&str> = ids.iter().map(String::as_str).collect();
    parts.sort_unstable();
    let event = AuditEvent::system(
        EventType::Erased,
        None,
        match tenant {
            TenantScope::Tenant(t) => Some(t.clone()),
            TenantScope::All => None,
        },
        keys.now(),
        Some(serde_json::json!({
            "keys": ids,
            "audit_events": report.audit_events,
            "unchained_kept": report.unchained_kept,
            "usage_rows": report.usage_rows,
            "request_records": report.request_records,
        })),
        &parts,
    )
    .by(
        change.actor().map(str::to_owned),
        change.reason().map(str::to_owned),
    );
    stores.audit.append(&event).await?;
    Ok(report)
}

/// Revokes key `id` (if it is not revoked) and blanks its personal fields, as one change.
async fn scrub(keys: &KeyManager, tenant: &TenantScope, id: KeyId, change: &Change) -> Result<()> {
    keys.modify(
        tenant,
        id,
        EventType::Erased,
        change,
        KeyEventKind::Updated,
        |r| {
            if r.state != KeyState::Revoked {
                r.state = KeyState::Revoked;
            }
            r.owner = None;
            r.name = ERASED_NAME.to_owned();
            r.description = None;
            r.metadata = Metadata::new();
            r.created_by = None;
            r.approved_by = None;
            r.state_reason = None;
            Ok(())
        },
    )
    .await
    .map(|_| ())
}
