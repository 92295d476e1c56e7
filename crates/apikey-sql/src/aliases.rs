//! Aliases unique per tenant: the statements that find an alias another key of the tenant holds,
//! report the duplicates a database held before migration 0008, and make the index on
//! `apikey_key_aliases (tenant_key, alias)` unique once there are none.
//!
//! Migration 0008 adds only a plain index, so that a database with duplicates still migrates;
//! `migrate()` adds [`UNIQUE_INDEX`] afterwards when it can ([`flow::aliases`](crate::flow::aliases)).

use apikey_core::{KeyId, KeyRecord, TenantId};

use crate::codec::{Reader, Row};
use crate::driver::{Database, Decode};
use crate::sql::{Placeholder, Sql};
use crate::tenant::row_key;

/// The unique index `migrate()` adds when the stored aliases allow it.
pub const UNIQUE_INDEX: &str = "apikey_key_aliases_tenant_alias_key";

/// An alias more than one key of a tenant held when the unique index was to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateAlias {
    /// The tenant (`None`: the keys without a tenant).
    pub tenant: Option<TenantId>,
    /// The alias.
    pub alias: String,
    /// Every key holding it, by id.
    pub keys: Vec<KeyId>,
}

/// The first (by byte order) alias of `r` that another key of `r`'s tenant holds; `None` when `r`
/// has no alias.
pub fn held(p: Placeholder, r: &KeyRecord) -> Option<Sql> {
    if r.aliases.is_empty() {
        return None;
    }
    let mut sql = Sql::new(
        p,
        "SELECT alias FROM apikey_key_aliases WHERE tenant_key = ",
    );
    sql.bind(row_key(r.tenant_id.as_ref()))
        .push(" AND key_id <> ")
        .bind(r.id)
        .push(" AND alias IN ")
        .bind_list(r.aliases.iter().map(String::as_str))
        .push(" ORDER BY alias LIMIT 1");
    Some(sql)
}

/// Aliases per [`held_by_any`] statement, well under every database's parameter limit.
pub const ALIASES_PER_CHECK: usize = 1_000;

/// The first (by byte order) of `aliases` that any key of `tenant` holds: the check of new keys,
/// which hold none yet.
pub fn held_by_any(p: Placeholder, tenant: Option<&TenantId>, aliases: &[&str]) -> Sql {
    let mut sql = Sql::new(
        p,
        "SELECT alias FROM apikey_key_aliases WHERE tenant_key = ",
    );
    sql.bind(row_key(tenant))
        .push(" AND alias IN ")
        .bind_list(aliases.iter().copied())
        .push(" ORDER BY alias LIMIT 1");
    sql
}

/// Every alias row whose (tenant, alias) another key shares, ordered so that the rows of one
/// duplicate are adjacent.
pub fn duplicates(p: Placeholder) -> Sql {
    Sql::new(
        p,
        "SELECT a.tenant_key, a.alias, a.key_id FROM apikey_key_aliases a WHERE EXISTS \
         (SELECT 1 FROM apikey_key_aliases b WHERE b.tenant_key = a.tenant_key \
         AND b.alias = a.alias AND b.key_id <> a.key_id) \
         ORDER BY a.tenant_key, a.alias, a.key_id",
    )
}

/// `SELECT COUNT(*) AS n`: 1 when [`UNIQUE_INDEX`] exists. MySQL has no `CREATE INDEX IF NOT
/// EXISTS`, and on every database the check spares the scan for duplicates.
pub fn unique_index_exists(db: Database, p: Placeholder) -> Sql {
    let mut sql = Sql::new(
        p,
        match db {
            Database::Postgres => {
                "SELECT COUNT(*) AS n FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexname = "
            }
            Database::MySql => {
                "SELECT COUNT(*) AS n FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = 'apikey_key_aliases' \
                 AND index_name = "
            }
            Database::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = "
            }
        },
    );
    sql.bind(UNIQUE_INDEX);
    sql
}

/// Creates [`UNIQUE_INDEX`]; fails if a duplicate exists (or, on MySQL, if the index does).
pub fn create_unique_index(db: Database, p: Placeholder) -> Sql {
    let if_not_exists = if db == Database::MySql {
        ""
    } else {
        "IF NOT EXISTS "
    };
    Sql::new(
        p,
        &format!(
            "CREATE UNIQUE INDEX {if_not_exists}{UNIQUE_INDEX} \
             ON apikey_key_aliases (tenant_key, alias)"
        ),
    )
}

/// A row of [`held`].
#[derive(Debug)]
pub struct Held(pub String);

impl Decode for Held {
    fn decode<R: Row + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Reader::new(row).text("alias").map(Self)
    }
}

/// A row of [`duplicates`].
#[derive(Debug)]
pub struct DuplicateRow {
    /// `''` for no tenant.
    pub tenant_key: String,
    /// The alias.
    pub alias: String,
    /// One key holding it.
    pub key: KeyId,
}

impl Decode for DuplicateRow {
    fn decode<R: Row + ?Sized>(row: &R) -> Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(Self {
            tenant_key: r.text("tenant_key")?,
            alias: r.text("alias")?,
            key: r.key_id("key_id")?,
        })
    }
}

/// Groups adjacent rows of [`duplicates`] into one report per (tenant, alias).
pub fn report(rows: Vec<DuplicateRow>) -> Vec<DuplicateAlias> {
    let mut out: Vec<DuplicateAlias> = Vec::new();
    for row in rows {
        // Stored tenant keys were valid ids when written; '' is no tenant.
        let tenant = TenantId::new(row.tenant_key).ok();
        match out.last_mut() {
            Some(last) if last.tenant == tenant && last.alias == row.alias => {
                last.keys.push(row.key);
            }
            _ => out.push(DuplicateAlias {
                tenant,
                alias: row.alias,
                keys: vec![row.key],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_excludes_the_key_itself() {
        let mut r = apikey_testkit::fixtures::record(None, apikey_testkit::fixtures::base_time());
        assert!(held(Placeholder::Question, &r).is_none());
        r.aliases = vec!["a".into(), "b".into()];
        let sql = held(Placeholder::Numbered, &r).unwrap();
        assert_eq!(
            sql.text(),
            "SELECT alias FROM apikey_key_aliases WHERE tenant_key = $1 AND key_id <> $2 \
             AND alias IN ($3, $4) ORDER BY alias LIMIT 1"
        );
    }

    #[test]
    fn report_groups_adjacent_rows() {
        let (a, b, c) = (KeyId::new(), KeyId::new(), KeyId::new());
        let row = |t: &str, alias: &str, key| DuplicateRow {
            tenant_key: t.into(),
            alias: alias.into(),
            key,
        };
        let got = report(vec![row("", "x", a), row("", "x", b), row("t", "x", c)]);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].tenant.clone(), got[0].keys.clone()),
            (None, vec![a, b])
        );
        assert_eq!(got[1].tenant.as_ref().map(TenantId::as_str), Some("t"));
    }
}
