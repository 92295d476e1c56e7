//! Tenant settings: the read, and the compare-and-set write that commits with its audit event
//! in one transaction (as a key change does in [`write`](super::write)).

use apikey_core::tenant::{StoredSettings, TenantSettings};
use apikey_core::{AuditEvent, Error, Result, TenantId};

use crate::driver::Driver;
use crate::tenant as stmt;
use crate::{audit, guard};

/// The row of `tenant` (`None`: the default row), if written.
pub async fn get<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
) -> Result<Option<StoredSettings>> {
    let mut conn = store.reader().await?;
    let rows: Vec<StoredSettings> = S::fetch(
        &mut conn,
        stmt::get(S::PLACEHOLDER, tenant),
        "get tenant settings",
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Every row, the default row (`None`) included.
pub async fn list<S: Driver>(store: &S) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
    let mut conn = store.reader().await?;
    let rows: Vec<stmt::ListedSettings> = S::fetch(
        &mut conn,
        stmt::list(S::PLACEHOLDER),
        "list tenant settings",
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.0, r.1)).collect())
}

/// Writes the row of `tenant` if it is at `expected_version` (0: absent) and appends `event`, in
/// one transaction; the new version. No row changed is `Conflict`, and the transaction rolls
/// back, so a refused write leaves no event either.
pub async fn put<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    expected_version: u64,
    settings: &TenantSettings,
    event: &AuditEvent,
) -> Result<u64> {
    let p = S::PLACEHOLDER;
    // Every statement is built (and the event checked) before the transaction opens: bad input
    // never holds a lock.
    guard::event(event)?;
    let write = if expected_version == 0 {
        stmt::insert(p, tenant, settings, event.at)?
    } else {
        stmt::update(p, tenant, expected_version, settings, event.at)?
    };
    let append = audit::append(p, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    let mut tx = store.begin().await?;
    let outcome = async {
        if S::execute(&mut tx, write, "write tenant settings").await? == 0 {
            let whose =
                tenant.map_or_else(|| "the default row".to_owned(), |t| format!("tenant {t}"));
            return Err(Error::stale(format_args!(
                "settings of {whose} (expected version {expected_version})"
            )));
        }
        S::execute(&mut tx, append, "append audit event").await?;
        Ok(expected_version + 1)
    }
    .await;
    match outcome {
        Ok(v) => {
            store.commit(tx, "commit tenant settings").await?;
            Ok(v)
        }
        Err(e) => {
            store.rollback(tx).await;
            Err(e)
        }
    }
}
