//! The catalog: reads, and compare-and-set writes that commit with their audit event in one
//! transaction (as tenant settings do in [`tenant`](super::tenant)).

use apikey_core::catalog::{CatalogKind, Preset, StoredPreset};
use apikey_core::{AuditEvent, Error, Result, TenantId};

use super::write::finish;
use crate::catalog as stmt;
use crate::driver::Driver;
use crate::{audit, guard};

/// The preset, if stored.
pub async fn get<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    kind: CatalogKind,
    name: &str,
) -> Result<Option<StoredPreset>> {
    if guard::label("name", name).is_err() {
        // Nothing with such a name can be stored.
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

/// Writes the preset if it is at `expected_version` (0: absent) and appends `event`, in one
/// transaction; the new version. No row changed is `Conflict`, and nothing is written.
pub async fn put<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    preset: &Preset,
    expected_version: u64,
    event: &AuditEvent,
) -> Result<u64> {
    let p = S::PLACEHOLDER;
    guard::event(event)?;
    let write = if expected_version == 0 {
        stmt::insert(p, tenant, preset, event.at)?
    } else {
        stmt::update(p, tenant, preset, expected_version, event.at)?
    };
    let append = audit::append(p, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    let mut tx = store.begin().await?;
    let outcome = async {
        if S::execute(&mut tx, write, "write preset").await? == 0 {
            return Err(Error::stale(format_args!(
                "{} {:?} (expected version {expected_version})",
                preset.kind, preset.name
            )));
        }
        S::execute(&mut tx, append, "append audit event").await?;
        Ok(expected_version + 1)
    }
    .await;
    finish(store, tx, outcome, "commit preset").await
}

/// Deletes the preset and appends `event` in one transaction; `false` (and no event) if absent.
pub async fn remove<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    kind: CatalogKind,
    name: &str,
    event: &AuditEvent,
) -> Result<bool> {
    let p = S::PLACEHOLDER;
    guard::event(event)?;
    let append = audit::append(p, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    let mut tx = store.begin().await?;
    let outcome = async {
        if S::execute(
            &mut tx,
            stmt::delete(p, tenant, kind, name),
            "delete preset",
        )
        .await?
            == 0
        {
            return Ok(false);
        }
        S::execute(&mut tx, append, "append audit event").await?;
        Ok(true)
    }
    .await;
    finish(store, tx, outcome, "commit preset removal").await
}
