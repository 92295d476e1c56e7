//! The per-tenant unique alias index, created by `migrate()` once no two keys of a tenant share an
//! alias (the data migration `unique_aliases`, queued by SQL migration 0008). While duplicates
//! exist it stays queued: `migrate()` succeeds, warns with their number, and [`duplicates`]
//! lists them so an operator can resolve them; every write is checked in its transaction either
//! way, and the index then also closes the race between two writers.

use apikey_core::{KeyId, Result, TenantId};
use chrono::Utc;

use crate::codec::{Reader, Row};
use crate::driver::{Database, Decode, Driver};
use crate::rewrite as stmt;
use crate::sql::Sql;

/// The data migration's name.
pub const UNIQUE_ALIASES: &str = "unique_aliases";

/// The unique index on `apikey_key_aliases (tenant_key, alias)` the data migration creates.
pub const UNIQUE_INDEX: &str = "apikey_key_aliases_tenant_unique";

/// An alias held by several keys of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateAlias {
    /// The tenant (`None`: the keys without one).
    pub tenant: Option<TenantId>,
    /// The alias.
    pub alias: String,
    /// Every key holding it.
    pub keys: Vec<KeyId>,
}

/// Creates the unique index if it is still to be made and no duplicates stand in its way;
/// returns the duplicates that do (empty when the index exists).
pub async fn ensure_unique<S: Driver>(store: &S) -> Result<Vec<DuplicateAlias>> {
    let p = S::PLACEHOLDER;
    let mut conn = store.reader().await?;
    let pending: Vec<Pending> = S::fetch(
        &mut conn,
        stmt::pending(p, UNIQUE_ALIASES),
        "read apikey_data_migrations",
    )
    .await?;
    if pending.first().is_none_or(|n| n.0 == 0) {
        return Ok(Vec::new());
    }
    drop(conn);
    let found = duplicates(store).await?;
    if !found.is_empty() {
        warn_duplicates(found.len());
        return Ok(found);
    }
    let mut conn = store.reader().await?;
    let create = Sql::new(
        p,
        &format!("CREATE UNIQUE INDEX {UNIQUE_INDEX} ON apikey_key_aliases (tenant_key, alias)"),
    );
    if let Err(e) = S::execute(&mut conn, create, "create the unique alias index").await {
        // This step runs outside the migration lock, so another instance migrating at the same
        // time may have created the index first; and a writer of an older version may have
        // added a duplicate since the check. Neither fails the migration.
        if !unique_index_exists(store).await? {
            let found = duplicates(store).await?;
            if found.is_empty() {
                return Err(e);
            }
            warn_duplicates(found.len());
            return Ok(found);
        }
    }
    S::execute(
        &mut conn,
        stmt::done(p, UNIQUE_ALIASES, Utc::now()),
        "record data migration",
    )
    .await?;
    Ok(Vec::new())
}

fn warn_duplicates(n: usize) {
    tracing::warn!(
        duplicates = n,
        "aliases shared by several keys of one tenant: the unique alias index waits until they are resolved (duplicate_aliases() lists them)"
    );
}

/// Whether [`UNIQUE_INDEX`] exists, asked the way each database can.
async fn unique_index_exists<S: Driver>(store: &S) -> Result<bool> {
    let mut sql = Sql::new(
        S::PLACEHOLDER,
        match S::DATABASE {
            Database::Postgres => {
                "SELECT COUNT(*) AS pending FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexname = "
            }
            Database::MySql => {
                "SELECT COUNT(*) AS pending FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = 'apikey_key_aliases' \
                 AND index_name = "
            }
            Database::Sqlite => {
                "SELECT COUNT(*) AS pending FROM sqlite_master WHERE type = 'index' AND name = "
            }
        },
    );
    sql.bind(UNIQUE_INDEX);
    let mut conn = store.reader().await?;
    let rows: Vec<Pending> = S::fetch(&mut conn, sql, "check the unique alias index").await?;
    Ok(rows.first().is_some_and(|n| n.0 > 0))
}

/// Every alias that several keys of one tenant hold.
pub async fn duplicates<S: Driver>(store: &S) -> Result<Vec<DuplicateAlias>> {
    let sql = Sql::new(
        S::PLACEHOLDER,
        "SELECT a.tenant_key AS tenant_key, a.alias AS alias, a.key_id AS key_id \
         FROM apikey_key_aliases a JOIN (SELECT tenant_key, alias FROM apikey_key_aliases \
         GROUP BY tenant_key, alias HAVING COUNT(*) > 1) d \
         ON d.tenant_key = a.tenant_key AND d.alias = a.alias \
         ORDER BY a.tenant_key, a.alias, a.key_id",
    );
    let mut conn = store.reader().await?;
    let rows: Vec<Holder> = S::fetch(&mut conn, sql, "find duplicate aliases").await?;
    let mut out: Vec<DuplicateAlias> = Vec::new();
    for Holder { tenant, alias, key } in rows {
        match out.last_mut() {
            Some(d) if d.tenant == tenant && d.alias == alias => d.keys.push(key),
            _ => out.push(DuplicateAlias {
                tenant,
                alias,
                keys: vec![key],
            }),
        }
    }
    Ok(out)
}

struct Pending(u64);

impl Decode for Pending {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).unsigned("pending").map(Self)
    }
}

struct Holder {
    tenant: Option<TenantId>,
    alias: String,
    key: KeyId,
}

impl Decode for Holder {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        let key = r.text("tenant_key")?;
        let tenant = if key.is_empty() {
            None
        } else {
            Some(TenantId::new(key).map_err(|e| r.corrupt("tenant_key", e))?)
        };
        Ok(Self {
            tenant,
            alias: r.text("alias")?,
            key: r.key_id("key_id")?,
        })
    }
}
