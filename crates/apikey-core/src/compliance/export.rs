//! What is held about an owner, for a data-subject access request: every key of theirs in the
//! public view (never a hash), the audit events about those keys and about the owner, and the
//! request log's records of those keys — one JSON document.
//!
//! The personal fields are listed once, in [`PERSONAL_FIELDS`], so an export, an erasure and the
//! docs agree on them. Erasure (`apikey compliance erase`) is not here yet: it must leave the
//! audit log's tamper-evident chain verifiable, which needs that chain's salted commitments first.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::{AuditFilter, AuditStore, EventSubject};
use crate::request_log::{
    MAX_REQUEST_PAGE, RequestCursor, RequestFilter, RequestLogStore, RequestRecord,
};
use crate::store::MAX_PAGE_SIZE;
use crate::{AuditEvent, Error, KeyFilter, KeyManager, KeyView, Result, TenantScope};

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

/// Everything held about one owner.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerExport {
    /// The owner asked about.
    pub owner: String,
    /// When the export was made.
    pub generated_at: DateTime<Utc>,
    /// The fields that can identify a person.
    pub personal_fields: &'static [&'static str],
    /// Every key of the owner, in every state, in the public view.
    pub keys: Vec<KeyView>,
    /// The audit events about those keys and about the owner, oldest first.
    pub audit: Vec<AuditEvent>,
    /// The request log's records of those keys, newest first (empty without a request log).
    pub requests: Vec<RequestRecord>,
}

/// Collects what `tenant` holds about `owner`: keys through `keys` (all states, every page), their
/// audit events and the owner's from `audit`, their request records from `requests` when there
/// is a request log.
///
/// # Errors
///
/// An empty owner is refused (it would select the keys of nobody, which an export must not pass
/// off as an answer); a store error is returned as is.
pub async fn export_owner(
    keys: &KeyManager,
    audit: &dyn AuditStore,
    requests: Option<&dyn RequestLogStore>,
    tenant: &TenantScope,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<OwnerExport> {
    if owner.trim().is_empty() {
        return Err(Error::invalid("owner", "is empty"));
    }
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
            None => break,
        }
    }

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
    events.sort_by_key(|e| (e.at, e.id));

    let mut logged = Vec::new();
    if let Some(store) = requests {
        for r in &records {
            let mut f = RequestFilter {
                key: Some(r.id),
                limit: MAX_REQUEST_PAGE,
                ..RequestFilter::default()
            };
            loop {
                let page = store.requests(tenant, &f).await?;
                let full = page.len() == MAX_REQUEST_PAGE as usize;
                f.before = page.last().map(RequestCursor::after);
                logged.extend(page);
                if !full {
                    break;
                }
            }
        }
    }

    Ok(OwnerExport {
        owner: owner.to_owned(),
        generated_at: now,
        personal_fields: PERSONAL_FIELDS,
        keys: records.iter().map(KeyView::from).collect(),
        audit: events,
        requests: logged,
    })
}
