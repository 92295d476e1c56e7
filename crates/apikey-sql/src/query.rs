//! [`KeyFilter`] → one `SELECT` with every value bound: exact, case-sensitive comparisons (no
//! `LIKE`, so `%` and `_` are plain characters), an indexed `EXISTS` per tag, scope and alias,
//! keyset pagination on (created_at, id), and one row past the page to detect a next page.

use apikey_core::{KeyFilter, TenantId, TenantScope};

use crate::guard::storable;
use crate::keys::{push_tenant, select};
use crate::labels::{self, push_exists};
use crate::sql::{Placeholder, Sql, ceil_ms};

/// The page query for `filter` in `tenant`, or `None` when no stored record can match (a value
/// with NUL, which is never stored).
pub fn build(p: Placeholder, tenant: &TenantScope, filter: &KeyFilter) -> Option<Sql> {
    let mut sql = select(p);
    sql.push("1 = 1");
    push_tenant(&mut sql, tenant);
    push_conditions(&mut sql, filter)?;
    if let Some(after) = filter.after {
        // (created_at, id) > (?, ?), spelled out: MySQL does not use an index for row values.
        sql.push(" AND (k.created_at > ")
            .bind(after.created_at)
            .push(" OR (k.created_at = ")
            .bind(after.created_at)
            .push(" AND k.id > ")
            .bind(after.id)
            .push("))");
    }
    let fetch = i64::try_from(filter.page_size() + 1).unwrap_or(i64::MAX);
    sql.push(" ORDER BY k.created_at, k.id LIMIT ").bind(fetch);
    Some(sql)
}

/// `SELECT COUNT(*)` of the keys whose tenant is exactly `tenant` (`None`: `tenant_id IS NULL`)
/// and that match `filter`, whose `after` and `limit` do not apply; `None` when nothing stored
/// can match. Served by the (tenant_id, owner) index for the key-count limits.
pub fn count(p: Placeholder, tenant: Option<&TenantId>, filter: &KeyFilter) -> Option<Sql> {
    let mut sql = Sql::new(p, "SELECT COUNT(*) AS n FROM apikey_keys k WHERE ");
    match tenant {
        Some(t) => {
            sql.push("k.tenant_id = ").bind(t.as_str());
        }
        None => {
            sql.push("k.tenant_id IS NULL");
        }
    }
    push_conditions(&mut sql, filter)?;
    Some(sql)
}

/// Every condition of `filter` but pagination, as ` AND …`; `None` when a value holds NUL
/// (never stored, so nothing matches).
fn push_conditions(sql: &mut Sql, filter: &KeyFilter) -> Option<()> {
    let texts = filter
        .owner
        .iter()
        .chain(&filter.group)
        .chain(&filter.environment)
        .chain(&filter.alias)
        .chain(&filter.tags);
    if !texts.into_iter().all(|s| storable(s)) {
        return None;
    }
    for (col, value) in [
        ("owner", &filter.owner),
        ("key_group", &filter.group),
        ("environment", &filter.environment),
    ] {
        if let Some(v) = value {
            sql.push(&format!(" AND k.{col} = ")).bind(v.as_str());
        }
    }
    for tag in &filter.tags {
        push_exists(sql, labels::TAGS, tag);
    }
    for scope in &filter.scopes {
        push_exists(sql, labels::SCOPES, scope.as_str());
    }
    if let Some(alias) = &filter.alias {
        push_exists(sql, labels::ALIASES, alias);
    }
    if !filter.states.is_empty() {
        sql.push(" AND k.state IN ")
            .bind_list(filter.states.iter().map(|s| s.as_str()));
    }
    for (col, from, to) in [
        ("created_at", filter.created_from, filter.created_to),
        ("last_used_at", filter.last_used_from, filter.last_used_to),
        ("expires_at", filter.expires_from, filter.expires_to),
    ] {
        // A NULL column compares as unknown: keys without the timestamp never match a range.
        if let Some(from) = from {
            sql.push(&format!(" AND k.{col} >= ")).bind(ceil_ms(from));
        }
        if let Some(to) = to {
            sql.push(&format!(" AND k.{col} < ")).bind(ceil_ms(to));
        }
    }
    Some(())
}
