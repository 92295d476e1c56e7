//! From "an owner's keys" or "a group's keys" to the key ids a usage query sums.

use super::query::{MAX_SUBJECT_KEYS, UsageSubject};
use crate::error::{Error, Result};
use crate::ids::TenantScope;
use crate::manage::KeyManager;
use crate::store::{KeyFilter, MAX_PAGE_SIZE};

/// The keys `filter` selects in `tenant` (every page, every state: a revoked key's past usage
/// still counts), as a [`UsageSubject::Keys`]. `filter`'s pagination is ignored.
///
/// # Errors
///
/// When more than [`MAX_SUBJECT_KEYS`] keys match (ask for the tenant's usage instead), or the
/// store fails.
pub async fn keys_matching(
    manager: &KeyManager,
    tenant: &TenantScope,
    mut filter: KeyFilter,
) -> Result<UsageSubject> {
    filter.limit = MAX_PAGE_SIZE;
    filter.after = None;
    let mut ids = Vec::new();
    loop {
        let page = manager.query(tenant, &filter).await?;
        ids.extend(page.items.iter().map(|r| r.id));
        if ids.len() > MAX_SUBJECT_KEYS {
            return Err(Error::invalid(
                "keys",
                format_args!(
                    "more than {MAX_SUBJECT_KEYS} keys match; ask for the tenant's usage instead"
                ),
            ));
        }
        match page.next {
            Some(next) => filter.after = Some(next),
            None => return Ok(UsageSubject::Keys(ids)),
        }
    }
}
