//! The statements of a checked insert ([`CheckedInsert`](apikey_core::tenant::CheckedInsert)):
//! the tenant's lock row in `apikey_tenant_locks`, and the counts the key-count limits need.
//!
//! The lock is one upsert that creates the row or bumps `n`: either way it ends holding the row's
//! write lock until commit, so the checked inserts of one tenant run one at a time, and each
//! counts after the previous one committed. (An insert-ignore followed by an `UPDATE` would
//! deadlock two first callers on MySQL, where the ignored insert takes a shared lock that both
//! then try to upgrade.)

use apikey_core::tenant::CountLimits;
use apikey_core::{KeyFilter, TenantId};

use crate::codec::{Reader, Row};
use crate::driver::{Database, Decode};
use crate::sql::{Placeholder, Sql};
use crate::tenant::row_key;

/// Owners counted per statement, well under every database's parameter limit.
pub const OWNERS_PER_STATEMENT: usize = 500;

/// Creates `tenant`'s lock row or bumps it, taking its row lock.
pub fn lock(db: Database, p: Placeholder, tenant: Option<&TenantId>) -> Sql {
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_tenant_locks (tenant_key, n) VALUES (",
    );
    sql.bind(row_key(tenant)).push(", 1)");
    sql.push(match db {
        Database::MySql => " ON DUPLICATE KEY UPDATE n = n + 1",
        Database::Postgres => {
            " ON CONFLICT (tenant_key) DO UPDATE SET n = apikey_tenant_locks.n + 1"
        }
        Database::Sqlite => " ON CONFLICT (tenant_key) DO UPDATE SET n = n + 1",
    });
    sql
}

/// The tenant's keys in the counted states; `None` when no state counts (nothing to count).
pub fn tenant_count(
    p: Placeholder,
    tenant: Option<&TenantId>,
    limits: &CountLimits,
) -> Option<Sql> {
    if limits.counted_states.is_empty() {
        return None;
    }
    let filter = KeyFilter {
        states: limits.counted_states.clone(),
        ..KeyFilter::default()
    };
    crate::query::count(p, tenant, &filter)
}

/// `owner, n`: the counted keys of each of `owners` in the tenant (owners without any are
/// absent); `None` when there is nothing to count.
pub fn owner_counts(
    p: Placeholder,
    tenant: Option<&TenantId>,
    limits: &CountLimits,
    owners: &[String],
) -> Option<Sql> {
    if limits.counted_states.is_empty() || owners.is_empty() {
        return None;
    }
    let mut sql = Sql::new(p, "SELECT owner, COUNT(*) AS n FROM apikey_keys WHERE ");
    match tenant {
        Some(t) => sql.push("tenant_id = ").bind(t.as_str()),
        None => sql.push("tenant_id IS NULL"),
    };
    sql.push(" AND state IN ")
        .bind_list(limits.counted_states.iter().map(|s| s.as_str()))
        .push(" AND owner IN ")
        .bind_list(owners.iter().map(String::as_str))
        .push(" GROUP BY owner");
    Some(sql)
}

/// A row of [`tenant_count`].
#[derive(Debug)]
pub struct Count(pub u64);

impl Decode for Count {
    fn decode<R: Row + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Reader::new(row).unsigned("n").map(Self)
    }
}

/// A row of [`owner_counts`].
#[derive(Debug)]
pub struct OwnerCount(pub String, pub u64);

impl Decode for OwnerCount {
    fn decode<R: Row + ?Sized>(row: &R) -> Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(Self(r.text("owner")?, r.unsigned("n")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_one_upsert_per_database() {
        let t = TenantId::new("t").unwrap();
        let pg = lock(Database::Postgres, Placeholder::Numbered, Some(&t));
        assert_eq!(
            pg.text(),
            "INSERT INTO apikey_tenant_locks (tenant_key, n) VALUES ($1, 1) \
             ON CONFLICT (tenant_key) DO UPDATE SET n = apikey_tenant_locks.n + 1"
        );
        let my = lock(Database::MySql, Placeholder::Question, None);
        assert!(my.text().ends_with("ON DUPLICATE KEY UPDATE n = n + 1"));
    }

    #[test]
    fn nothing_to_count_without_counted_states() {
        let limits = CountLimits {
            max_per_tenant: Some(1),
            max_per_owner: Some(1),
            counted_states: Vec::new(),
        };
        assert!(tenant_count(Placeholder::Question, None, &limits).is_none());
        assert!(owner_counts(Placeholder::Question, None, &limits, &["o".into()]).is_none());
    }
}
