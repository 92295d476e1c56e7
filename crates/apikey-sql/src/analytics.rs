//! The statements of usage analytics (migration 0012): buckets in `apikey_usage_buckets`, one
//! row per (resolution, kind, tenant, bucket start, key) — a key's, its tenant's total, or the
//! unattributed refusals — added to by upserts; the flushes applied in `apikey_usage_batches`.

use apikey_core::analytics::{
    KeyUsage, Outcome, Ranking, Resolution, RowKind, SeriesQuery, TopQuery, UsageCounts,
    UsageCutoffs, UsagePoint, UsageRow, UsageSubject,
};
use apikey_core::audit::PurgeScope;
use apikey_core::clock::truncate_ms;
use apikey_core::store::UsageBatchId;
use apikey_core::{KeyId, Result, TenantId, TenantScope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::codec::{Reader, Row};
use crate::driver::{Database, Decode};
use crate::guard;
use crate::sql::{Placeholder, Sql};
use crate::tenant::{push_scope, row_key};

/// Rows per multi-row upsert: 14 values each, 5 600 a statement.
pub const ROWS_PER_UPSERT: usize = 400;

/// Key ids per `IN` list of [`erase_of`].
pub const KEYS_PER_ERASE: usize = 500;

/// The counted columns, in [`Outcome::ALL`] order, then `cost`.
const COUNTED: [&str; 9] = [
    "success",
    "scope",
    "ip",
    "state",
    "rate_limited",
    "quota",
    "unavailable",
    "invalid",
    "cost",
];

/// The key id stored where a row has no key (tenant totals, the unattributed row).
const NO_KEY: Uuid = Uuid::nil();

/// One stored row to add to.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    /// What the row counts.
    pub kind: RowKind,
    /// The key, or the nil UUID.
    pub key: Uuid,
    /// The tenant's `tenant_key`.
    pub tenant: &'a str,
    /// What to add.
    pub counts: &'a UsageCounts,
}

/// The stored rows of a flush: each key's, then each tenant's total, then the unattributed
/// row — in primary-key order within each kind, so concurrent flushers lock in one order.
pub fn buckets<'a>(
    rows: &'a [UsageRow],
    totals: &'a [(Option<TenantId>, UsageCounts)],
) -> Vec<Bucket<'a>> {
    let mut out: Vec<Bucket<'a>> = rows
        .iter()
        .filter(|r| r.key_id.is_some())
        .map(|r| Bucket {
            kind: RowKind::Key,
            key: r.key_id.map_or(NO_KEY, |k| *k.as_uuid()),
            tenant: row_key(r.tenant_id.as_ref()),
            counts: &r.counts,
        })
        .collect();
    out.sort_by(|a, b| (a.tenant, a.key).cmp(&(b.tenant, b.key)));
    out.extend(totals.iter().map(|(t, c)| Bucket {
        kind: RowKind::TenantTotal,
        key: NO_KEY,
        tenant: row_key(t.as_ref()),
        counts: c,
    }));
    out.extend(rows.iter().filter(|r| r.key_id.is_none()).map(|r| Bucket {
        kind: RowKind::Unattributed,
        key: NO_KEY,
        tenant: row_key(None),
        counts: &r.counts,
    }));
    out
}

fn counted(c: &UsageCounts) -> [u64; 9] {
    let mut out = [0; 9];
    for (i, o) in Outcome::ALL.into_iter().enumerate() {
        out[i] = c.get(o);
    }
    out[8] = c.cost;
    out
}

/// Records that a flush was applied; a duplicate (flusher, seq) fails on the primary key.
pub fn insert_batch(p: Placeholder, batch: &UsageBatchId) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_usage_batches (flusher_id, seq, at) VALUES (",
    );
    sql.bind(batch.flusher)
        .push(", ")
        .bind(guard::to_i64("seq", batch.seq)?)
        .push(", ")
        .bind(truncate_ms(batch.at))
        .push(")");
    Ok(sql)
}

/// Whether a flush was applied.
pub fn batch_applied(p: Placeholder, batch: &UsageBatchId) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        "SELECT COUNT(*) AS n FROM apikey_usage_batches WHERE flusher_id = ",
    );
    sql.bind(batch.flusher)
        .push(" AND seq = ")
        .bind(guard::to_i64("seq", batch.seq)?);
    Ok(sql)
}

/// Adds `rows` (keep to [`ROWS_PER_UPSERT`], distinct) to their `resolution` bucket holding
/// `at`: a new bucket is inserted, an existing one has each count added.
pub fn upsert(
    p: Placeholder,
    db: Database,
    resolution: Resolution,
    at: DateTime<Utc>,
    rows: &[Bucket<'_>],
) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        &format!(
            "INSERT INTO apikey_usage_buckets (resolution, kind, key_id, bucket, tenant_key, {}) VALUES ",
            COUNTED.join(", ")
        ),
    );
    let bucket = resolution.bucket(at);
    for (i, row) in rows.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(i64::from(resolution.code()))
            .push(", ")
            .bind(i64::from(row.kind.code()))
            .push(", ")
            .bind(row.key)
            .push(", ")
            .bind(bucket)
            .push(", ")
            .bind(row.tenant);
        for n in counted(row.counts) {
            sql.push(", ").bind(guard::to_i64("usage count", n)?);
        }
        sql.push(")");
    }
    let adds: Vec<String> = COUNTED
        .iter()
        .map(|c| match db {
            Database::MySql => format!("{c} = {c} + VALUES({c})"),
            Database::Postgres => format!("{c} = apikey_usage_buckets.{c} + EXCLUDED.{c}"),
            Database::Sqlite => format!("{c} = {c} + excluded.{c}"),
        })
        .collect();
    match db {
        Database::MySql => sql.push(" ON DUPLICATE KEY UPDATE "),
        Database::Postgres | Database::Sqlite => {
            sql.push(" ON CONFLICT (resolution, kind, tenant_key, bucket, key_id) DO UPDATE SET ")
        }
    };
    sql.push(&adds.join(", "));
    Ok(sql)
}

/// `CAST(SUM(c) AS <64-bit integer>) AS c` for every counted column: PostgreSQL and MySQL sum
/// 64-bit integers into decimals.
fn sums(db: Database) -> String {
    let ty = match db {
        Database::Postgres => "BIGINT",
        Database::MySql => "SIGNED",
        Database::Sqlite => "INTEGER",
    };
    COUNTED
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS {ty}) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` AND resolution = … AND bucket >= … AND bucket < …` and the tenant's filter.
fn push_range(
    sql: &mut Sql,
    scope: &TenantScope,
    resolution: Resolution,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) {
    sql.push(" AND resolution = ")
        .bind(i64::from(resolution.code()))
        .push(" AND bucket >= ")
        .bind(truncate_ms(from))
        .push(" AND bucket < ")
        .bind(crate::sql::ceil_ms(until));
    push_scope(sql, scope);
}

/// The series of a validated query, or `None` when the scope cannot see the subject (the
/// unattributed row outside [`TenantScope::All`]).
pub fn series(
    p: Placeholder,
    db: Database,
    scope: &TenantScope,
    query: &SeriesQuery,
) -> Result<Option<Sql>> {
    let mut sql = Sql::new(
        p,
        &format!(
            "SELECT bucket, {} FROM apikey_usage_buckets WHERE 1 = 1",
            sums(db)
        ),
    );
    let (from, until) = query.range.buckets(query.resolution);
    push_range(&mut sql, scope, query.resolution, from, until);
    let kind = |sql: &mut Sql, k: RowKind| {
        sql.push(" AND kind = ").bind(i64::from(k.code()));
    };
    match &query.subject {
        UsageSubject::Key(k) => {
            kind(&mut sql, RowKind::Key);
            sql.push(" AND key_id = ").bind(*k);
        }
        UsageSubject::Keys(ks) if ks.is_empty() => return Ok(None),
        UsageSubject::Keys(ks) => {
            kind(&mut sql, RowKind::Key);
            sql.push(" AND key_id IN ").bind_list(ks.iter().copied());
        }
        // The tenants' totals: one row per tenant and bucket.
        UsageSubject::Scope => kind(&mut sql, RowKind::TenantTotal),
        UsageSubject::Unattributed if *scope == TenantScope::All => {
            kind(&mut sql, RowKind::Unattributed);
        }
        _ => return Ok(None),
    }
    sql.push(" GROUP BY bucket ORDER BY bucket");
    Ok(Some(sql))
}

/// The ranking of a validated query.
pub fn top(p: Placeholder, db: Database, scope: &TenantScope, query: &TopQuery) -> Sql {
    let ranked = match query.by {
        Ranking::Requests => &COUNTED[..8],
        Ranking::Rejections => &COUNTED[1..8],
    };
    let rank = format!("SUM({})", ranked.join(" + "));
    let mut sql = Sql::new(
        p,
        &format!(
            "SELECT key_id, {} FROM apikey_usage_buckets WHERE kind = ",
            sums(db)
        ),
    );
    sql.bind(i64::from(RowKind::Key.code()));
    let (from, until) = query.range.buckets(query.resolution);
    push_range(&mut sql, scope, query.resolution, from, until);
    sql.push(&format!(
        " GROUP BY key_id HAVING {rank} > 0 ORDER BY {rank} DESC, key_id LIMIT "
    ))
    .bind(i64::from(query.limit));
    sql
}

/// Deletes one resolution's buckets that start before `cutoff`, within `scope` (by
/// `tenant_key`: the unattributed row and keys without a tenant are under the default row's).
pub fn purge(
    p: Placeholder,
    scope: &PurgeScope,
    resolution: Resolution,
    cutoff: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_usage_buckets WHERE resolution = ");
    sql.bind(i64::from(resolution.code()))
        .push(" AND bucket < ")
        .bind(crate::sql::ceil_ms(cutoff));
    match scope {
        PurgeScope::Tenant(t) => {
            sql.push(" AND tenant_key = ").bind(t.as_str());
        }
        PurgeScope::AllBut(except) if !except.is_empty() => {
            sql.push(" AND tenant_key NOT IN ")
                .bind_list(except.iter().map(TenantId::as_str));
        }
        _ => {}
    }
    sql
}

/// Deletes the marks of flushes older than the cutoff.
pub fn purge_batches(p: Placeholder, cutoffs: &UsageCutoffs) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_usage_batches WHERE at < ");
    sql.bind(crate::sql::ceil_ms(cutoffs.marks));
    sql
}

/// Deletes the buckets of `keys` (keep to [`KEYS_PER_ERASE`], not empty).
pub fn erase_of(p: Placeholder, keys: &[KeyId]) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_usage_buckets WHERE kind = ");
    sql.bind(i64::from(RowKind::Key.code()))
        .push(" AND key_id IN ")
        .bind_list(keys.iter().copied());
    sql
}

fn counts<R: Row + ?Sized>(r: &Reader<'_, R>) -> std::result::Result<UsageCounts, R::Error> {
    let mut c = UsageCounts::default();
    for (i, o) in Outcome::ALL.into_iter().enumerate() {
        *c.get_mut(o) = r.unsigned(COUNTED[i])?;
    }
    c.cost = r.unsigned("cost")?;
    Ok(c)
}

impl Decode for UsagePoint {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(Self {
            bucket: r.time("bucket")?,
            counts: counts(&r)?,
        })
    }
}

impl Decode for KeyUsage {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(Self {
            key_id: r.key_id("key_id")?,
            counts: counts(&r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upsert_adds_every_count_on_each_database() {
        let rows = [UsageRow {
            key_id: Some(KeyId::new()),
            tenant_id: None,
            counts: UsageCounts {
                success: 1,
                ..UsageCounts::default()
            },
        }];
        let totals = apikey_core::analytics::tenant_totals(&rows);
        let all = buckets(&rows, &totals);
        assert_eq!(all.len(), 2, "the key's row and its tenant's total");
        for db in [Database::Postgres, Database::MySql, Database::Sqlite] {
            let sql = upsert(
                Placeholder::Question,
                db,
                Resolution::Hour,
                Utc::now(),
                &all,
            )
            .unwrap();
            assert_eq!(sql.values().len(), 28, "{db:?}");
            assert_eq!(sql.text().matches(" + ").count(), 9, "{db:?}");
        }
    }

    #[test]
    fn the_unattributed_row_is_not_a_tenants() {
        let q = SeriesQuery {
            subject: UsageSubject::Unattributed,
            resolution: Resolution::Day,
            range: apikey_core::analytics::UsageRange {
                since: Utc::now() - chrono::TimeDelta::days(1),
                until: Utc::now(),
            },
        };
        let tenant = TenantScope::Tenant(apikey_core::TenantId::new("acme").unwrap());
        assert!(
            series(Placeholder::Question, Database::Sqlite, &tenant, &q)
                .unwrap()
                .is_none()
        );
        assert!(
            series(
                Placeholder::Question,
                Database::Sqlite,
                &TenantScope::All,
                &q
            )
            .unwrap()
            .is_some()
        );
    }
}
