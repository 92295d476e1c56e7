//! Aliases unique per tenant: the check every key write runs inside its transaction, the unique
//! index `migrate()` adds once the stored aliases allow it, and the report of those that do not.

use apikey_core::{Error, ErrorKind, KeyRecord, Result, TenantId};

use crate::aliases::{self as stmt, DuplicateAlias, Held};
use crate::checked::Count;
use crate::driver::Driver;

/// Refuses `r` when another key of its tenant holds one of its aliases, naming the alias. Runs in
/// the write's transaction before its label rows; the unique index (when `migrate()` could add
/// it) also refuses the one a concurrent writer commits in between.
pub(super) async fn check<S: Driver>(conn: &mut S::Conn, r: &KeyRecord) -> Result<()> {
    let Some(sql) = stmt::held(S::PLACEHOLDER, r) else {
        return Ok(());
    };
    let held: Vec<Held> = S::fetch(conn, sql, "check aliases").await?;
    match held.into_iter().next() {
        None => Ok(()),
        Some(Held(alias)) => Err(conflict(&alias, r.tenant_id.as_ref())),
    }
}

/// Refuses new keys of `tenant` when a stored key holds one of `aliases` (distinct, of keys not
/// stored yet), naming the first such alias.
pub(super) async fn check_new<S: Driver>(
    conn: &mut S::Conn,
    tenant: Option<&TenantId>,
    aliases: &[&str],
) -> Result<()> {
    for chunk in aliases.chunks(stmt::ALIASES_PER_CHECK) {
        let sql = stmt::held_by_any(S::PLACEHOLDER, tenant, chunk);
        let held: Vec<Held> = S::fetch(conn, sql, "check aliases").await?;
        if let Some(Held(alias)) = held.into_iter().next() {
            return Err(conflict(&alias, tenant));
        }
    }
    Ok(())
}

/// The `Conflict` of an alias another key of `tenant` holds, naming the alias.
pub(super) fn conflict(alias: &str, tenant: Option<&TenantId>) -> Error {
    let whose = tenant.map_or_else(
        || "without a tenant".to_owned(),
        |t| format!("of tenant {t}"),
    );
    Error::new(
        ErrorKind::Conflict,
        format!("alias {alias:?} is already used by another key {whose}"),
    )
}

/// Every alias that more than one key of a tenant holds (possible only in a database that held
/// them before migration 0008): what an operator resolves before the index can be unique.
pub async fn duplicates<S: Driver>(store: &S) -> Result<Vec<DuplicateAlias>> {
    let mut conn = store.reader().await?;
    let rows = S::fetch(
        &mut conn,
        stmt::duplicates(S::PLACEHOLDER),
        "find duplicate aliases",
    )
    .await?;
    Ok(stmt::report(rows))
}

/// Makes the `(tenant_key, alias)` index unique, once: a no-op when it is, a warning (counting
/// the duplicates, naming no alias) when stored duplicates prevent it. Re-run by every
/// `migrate()`, so the index appears once the duplicates are resolved.
pub async fn ensure_unique<S: Driver>(store: &S) -> Result<()> {
    if unique_index_exists(store).await? {
        return Ok(());
    }
    let found = duplicates(store).await?;
    if !found.is_empty() {
        warn_duplicates(found.len());
        return Ok(());
    }
    let mut conn = store.reader().await?;
    let created = S::execute(
        &mut conn,
        stmt::create_unique_index(S::DATABASE, S::PLACEHOLDER),
        "create unique alias index",
    )
    .await;
    drop(conn);
    if let Err(e) = created {
        // Another instance created it meanwhile, or a writer of an older version added a
        // duplicate: neither fails the migration.
        if unique_index_exists(store).await? {
            return Ok(());
        }
        let found = duplicates(store).await?;
        if found.is_empty() {
            return Err(e);
        }
        warn_duplicates(found.len());
    }
    Ok(())
}

async fn unique_index_exists<S: Driver>(store: &S) -> Result<bool> {
    let mut conn = store.reader().await?;
    let rows: Vec<Count> = S::fetch(
        &mut conn,
        stmt::unique_index_exists(S::DATABASE, S::PLACEHOLDER),
        "check unique alias index",
    )
    .await?;
    Ok(rows.first().is_some_and(|c| c.0 > 0))
}

fn warn_duplicates(n: usize) {
    tracing::warn!(
        duplicates = n,
        "apikey: {n} aliases are held by more than one key of a tenant; aliases stay \
         non-unique in the database until they are resolved (see duplicate_aliases())"
    );
}
