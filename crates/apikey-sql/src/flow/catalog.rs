//! The catalog (templates and groups): the reads, and the compare-and-set writes that commit with
//! their audit event in one transaction, as tenant settings do ([`tenant`](super::tenant)).

use apikey_core::catalog::{CatalogKind, Preset, StoredPreset};
use apikey_core::{AuditEvent, Error, Result, TenantId};

use crate::catalog as stmt;
use crate::driver::Driver;
use crate::sql::Sql;
use crate::{audit, guard};

use super::write::finish;

/// The preset `name` of `kind` in `tenant`, if there is one.
pub async fn get<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    kind: CatalogKind,
    name: &str,
) -> Result<Option<StoredPreset>> {
    // A name with NUL is never stored (the write refuses it), and PostgreSQL would fail on it.
    if !guard::storable(name) {
        return Ok(None);
    }
    let mut conn = store.reader().await?;
    let rows: Vec<StoredPreset> = S::fetch(
        &mut conn,
        stmt::get(S::PLACEHOLDER, tenant, kind, name),
        "get preset",
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Every preset of `kind` in `tenant`, by name.
pub async fn list<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    kind: CatalogKind,
) -> Result<Vec<StoredPreset>> {
    let mut conn = store.reader().await?;
    S::fetch(
        &mut conn,
        stmt::list(S::PLACEHOLDER, tenant, kind),
        "list presets",
    )
    .await
}

/// Writes `preset` if its row is at `expected_version` (0: absent) and appends `event`, in one
/// transaction; the new version. No row changed is `Conflict`, and the transaction rolls back, so
/// a refused write leaves no event either.
pub async fn put<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    preset: &Preset,
    expected_version: u64,
    event: &AuditEvent,
) -> Result<u64> {
    let p = S::PLACEHOLDER;
    // Every statement is built (and the input checked) before the transaction opens: bad input
    // never holds a lock.
    guard::event(event)?;
    let write = if expected_version == 0 {
        stmt::insert(p, tenant, preset, event.at)?
    } else {
        stmt::update(p, tenant, expected_version, preset, event.at)?
    };
    let append = audit::append(p, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    let mut tx = store.begin().await?;
    let outcome = async {
        if S::execute(&mut tx, write, "write preset").await? == 0 {
            return Err(Error::stale(format_args!(
                "{} {:?}{} (expected version {expected_version})",
                preset.kind,
                preset.name,
                whose(tenant)
            )));
        }
        S::execute(&mut tx, append, "append audit event").await?;
        Ok(expected_version + 1)
    }
    .await;
    finish(store, tx, outcome, "commit preset").await
}

/// Removes the preset and appends `event` in one transaction; `false`, with no event, when there
/// was none.
pub async fn remove<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    kind: CatalogKind,
    name: &str,
    event: &AuditEvent,
) -> Result<bool> {
    if !guard::storable(name) {
        return Ok(false);
    }
    guard::event(event)?;
    let delete: Sql = stmt::delete(S::PLACEHOLDER, tenant, kind, name);
    let append = audit::append(S::PLACEHOLDER, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    let mut tx = store.begin().await?;
    let outcome = async {
        if S::execute(&mut tx, delete, "remove preset").await? == 0 {
            return Ok(false);
        }
        S::execute(&mut tx, append, "append audit event").await?;
        Ok(true)
    }
    .await;
    finish(store, tx, outcome, "commit preset removal").await
}

fn whose(tenant: Option<&TenantId>) -> String {
    tenant.map_or_else(String::new, |t| format!(" of tenant {t}"))
}
