//! [`export_owner`]: what is held about an owner, as one document.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::PERSONAL_FIELDS;
use crate::audit::AuditStore;
use crate::request_log::{
    MAX_REQUEST_PAGE, RequestCursor, RequestFilter, RequestLogStore, RequestRecord,
};
use crate::{AuditEvent, Error, KeyManager, KeyView, Result, TenantScope};

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
    let records = super::owner_keys(keys, tenant, owner).await?;
    let mut events = super::owner_events(audit, tenant, &records, owner).await?;
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
