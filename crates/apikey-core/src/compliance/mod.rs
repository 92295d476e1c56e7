//! Data-subject requests about an owner.
//!
//! - [`export_owner`]: every key of theirs in the public view (never a hash), the audit events
//!   about those keys and about the owner, and the request log's records of those keys — one JSON
//!   document.
//! - [`erase_owner`]: their keys revoked and stripped of personal fields, the personal fields of
//!   every audit event about them erased through the tamper-evident chain's salted commitments (so
//!   the chain still verifies), their usage buckets and request-log records deleted, and a
//!   `subject.erased` event that names the keys, not the owner.
//!
//! The personal fields are listed once, in [`PERSONAL_FIELDS`], so an export, an erasure and the
//! docs agree on them.

mod erase;
mod export;

pub use erase::{ERASED_NAME, ErasureReport, ErasureStores, erase_owner};
pub use export::{OwnerExport, export_owner};

use crate::audit::{AuditFilter, AuditStore, EventSubject};
use crate::store::MAX_PAGE_SIZE;
use crate::{AuditEvent, KeyFilter, KeyManager, KeyRecord, Result, TenantScope};

/// The fields that can identify a person, wherever they appear (keys and audit events).
pub const PERSONAL_FIELDS: &[&str] = &[
    "owner",
    "name",
    "description",
    "metadata",
    "created_by",
    "actor",
    "approved_by",
    "state_reason",
];

/// Every key of `owner` in `tenant`, in every state (all pages).
async fn owner_keys(
    keys: &KeyManager,
    tenant: &TenantScope,
    owner: &str,
) -> Result<Vec<KeyRecord>> {
    let mut filter = KeyFilter {
        owner: Some(owner.to_owned()),
        states: Vec::new(),
        limit: MAX_PAGE_SIZE,
        ..KeyFilter::default()
    };
    let mut records = Vec::new();
    loop {
        let page = keys.query(tenant, &filter).await?;
        records.extend(page.items);
        match page.next {
            Some(cursor) => filter.after = Some(cursor),
            None => return Ok(records),
        }
    }
}

/// The audit events about `records` and about `owner` (all pages).
async fn owner_events(
    audit: &dyn AuditStore,
    tenant: &TenantScope,
    records: &[KeyRecord],
    owner: &str,
) -> Result<Vec<AuditEvent>> {
    let mut events = Vec::new();
    let subjects = records
        .iter()
        .map(|r| EventSubject::Key(r.id))
        .chain(std::iter::once(EventSubject::Owner(owner.to_owned())));
    for subject in subjects {
        let mut f = AuditFilter {
            subject: Some(subject),
            limit: 1000,
            ..AuditFilter::default()
        };
        loop {
            let page = audit.query(tenant, &f).await?;
            let full = page.len() == 1000;
            f.after = page.last().map(|e| (e.at, e.id));
            events.extend(page);
            if !full {
                break;
            }
        }
    }
    Ok(events)
}
