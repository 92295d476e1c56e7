//! The statements of the request log (migration 0010), in `apikey_requests`: one row per
//! [`RequestRecord`], its tenant as `tenant_key` (as the webhook tables), its client address also
//! as 16 bytes in `client_ip_bytes` so a network is one `BETWEEN` on an index.

use std::collections::HashSet;
use std::net::IpAddr;

use apikey_core::clock::truncate_ms;
use apikey_core::request_log::{
    ADMITTED, OutcomeFilter, RequestCursor, RequestFacts, RequestFilter, RequestRecord, ip_bytes,
    network_bounds,
};
use apikey_core::{Error, KeyId, Result, TenantScope};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::{Database, Decode};
use crate::guard;
use crate::sql::{Placeholder, Sql, Value, ceil_ms};
use crate::tenant::{push_scope, row_key, tenant_of};

/// Records per multi-row insert ([`insert_new`]): 15 values each, 6 000 a statement, well under
/// every database's parameter limit (as `keys::ROWS_PER_INSERT`).
pub const ROWS_PER_INSERT: usize = 400;

/// Key ids per `IN` list of [`erase_of`].
pub const KEYS_PER_ERASE: usize = 500;

const COLUMNS: &str = "id, at, key_id, tenant_key, client_ip, client_ip_bytes, method, route, \
     path, status, outcome, request_id, latency_us, user_agent, expires_at";

/// Compared columns must fit an index entry; the others only must be storable everywhere.
fn checked(r: &RequestRecord) -> Result<()> {
    guard::label("method", &r.method)?;
    if let Some(route) = &r.route {
        guard::label("route", route)?;
    }
    guard::text("path", &r.path)?;
    guard::label("outcome", &r.outcome)?;
    guard::label("request id", &r.request_id)?;
    if let Some(ua) = &r.user_agent {
        guard::text("user agent", ua)?;
    }
    Ok(())
}

/// Binds `bytes` as a binary value on every database. diesel's MySQL driver sends bytes as a
/// character string in the connection's charset, which a derived table would keep as text (and
/// mangle where the bytes are not UTF-8); the cast keeps them bytes.
fn bind_bytes(sql: &mut Sql, db: Database, bytes: Option<Vec<u8>>) {
    let ty = match db {
        Database::Postgres => "BYTEA",
        Database::MySql => "BINARY",
        Database::Sqlite => "BLOB",
    };
    sql.push("CAST(")
        .bind(Value::Bytes(bytes))
        .push(" AS ")
        .push(ty)
        .push(")");
}

/// Keeps the first record of each id: a batch that names an id twice would otherwise fail on
/// the primary key inside one statement.
pub fn distinct(records: &[RequestRecord]) -> Vec<&RequestRecord> {
    let mut seen = HashSet::new();
    records.iter().filter(|r| seen.insert(r.id)).collect()
}

/// One `INSERT` of the `records` whose id is not stored (keep to [`ROWS_PER_INSERT`], ids
/// distinct); executing it answers how many were new, exactly, so a retried batch counts only
/// what it adds.
///
/// PostgreSQL and SQLite take a plain multi-row `VALUES` with `ignore_duplicate` (their
/// `ON CONFLICT (id) DO NOTHING`, which counts only the inserted rows). MySQL's clause
/// (`ON DUPLICATE KEY UPDATE id = id`) counts a duplicate as a row found, so there the rows come
/// from a `UNION ALL` of bound values, each kept only if `NOT EXISTS` finds its id, and the
/// clause only turns the remaining race (two first appends of one id at once) into a no-op, as
/// `webhooks::deliveries::insert_new`. The union costs PostgreSQL a plan of hundreds of
/// branches per statement, which is why it is MySQL's alone.
pub fn insert_new(
    p: Placeholder,
    db: Database,
    records: &[&RequestRecord],
    ignore_duplicate: &str,
) -> Result<Sql> {
    let rows = records
        .iter()
        .map(|r| row_values(r))
        .collect::<Result<Vec<_>>>()?;
    if db == Database::MySql {
        return Ok(union_insert(p, db, rows, ignore_duplicate));
    }
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_requests ({COLUMNS}) VALUES "),
    );
    for (i, values) in rows.into_iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        push_values(&mut sql, db, values, None);
        sql.push(")");
    }
    sql.push(ignore_duplicate);
    Ok(sql)
}

/// The bound values of one record, in [`COLUMNS`] order, after its texts are checked.
fn row_values(r: &RequestRecord) -> Result<[Value; 15]> {
    checked(r)?;
    let latency = guard::to_i64("latency", r.latency_us)?;
    Ok([
        r.id.into(),
        truncate_ms(r.at).into(),
        r.key_id.into(),
        row_key(r.tenant_id.as_ref()).into(),
        r.client_ip.map(|ip| ip.to_string()).into(),
        Value::Bytes(r.client_ip.map(|ip| ip_bytes(ip).to_vec())),
        r.method.as_str().into(),
        r.route.clone().into(),
        r.path.as_str().into(),
        i64::from(r.status).into(),
        r.outcome.as_str().into(),
        r.request_id.as_str().into(),
        latency.into(),
        r.user_agent.clone().into(),
        truncate_ms(r.expires_at).into(),
    ])
}

/// Binds one row's values, comma-separated; with `names`, each followed by `AS r_<column>`.
fn push_values(sql: &mut Sql, db: Database, values: [Value; 15], names: Option<&str>) {
    for (j, (v, c)) in values.into_iter().zip(COLUMNS.split(", ")).enumerate() {
        if j > 0 {
            sql.push(", ");
        }
        if let Value::Bytes(b) = v {
            bind_bytes(sql, db, b);
        } else {
            sql.bind(v);
        }
        if let Some(prefix) = names {
            sql.push(prefix).push(c);
        }
    }
}

/// MySQL's form of [`insert_new`]: the derived columns are named `r_…` so that
/// `ON DUPLICATE KEY UPDATE id = id` names only the table's `id`.
fn union_insert(
    p: Placeholder,
    db: Database,
    rows: Vec<[Value; 15]>,
    ignore_duplicate: &str,
) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_requests ({COLUMNS}) SELECT "),
    );
    let derived: Vec<String> = COLUMNS.split(", ").map(|c| format!("v.r_{c}")).collect();
    sql.push(&derived.join(", ")).push(" FROM (");
    for (i, values) in rows.into_iter().enumerate() {
        sql.push(if i == 0 {
            "SELECT "
        } else {
            " UNION ALL SELECT "
        });
        // Only the first branch names the columns; the others take its names.
        push_values(&mut sql, db, values, (i == 0).then_some(" AS r_"));
    }
    sql.push(
        ") AS v WHERE NOT EXISTS \
         (SELECT 1 FROM apikey_requests stored WHERE stored.id = v.r_id)",
    )
    .push(ignore_duplicate);
    sql
}

/// The records `scope` admits matching `filter`, newest first by (at, id), at most its limit.
/// The caller validates the filter; an outcome filter this version does not know is refused
/// rather than ignored (which would widen the answer).
pub fn list(
    p: Placeholder,
    db: Database,
    scope: &TenantScope,
    filter: &RequestFilter,
) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_requests WHERE 1 = 1"),
    );
    push_scope(&mut sql, scope);
    if let Some(k) = filter.key {
        sql.push(" AND key_id = ").bind(k);
    }
    if let Some(net) = &filter.network {
        let (lo, hi) = network_bounds(net);
        sql.push(" AND client_ip_bytes BETWEEN ");
        bind_bytes(&mut sql, db, Some(lo.to_vec()));
        sql.push(" AND ");
        bind_bytes(&mut sql, db, Some(hi.to_vec()));
    }
    if let Some(route) = &filter.route {
        sql.push(" AND route = ").bind(route.as_str());
    }
    match &filter.outcome {
        Some(OutcomeFilter::Admitted) => {
            sql.push(" AND outcome = ").bind(ADMITTED);
        }
        Some(OutcomeFilter::Rejected) => {
            sql.push(" AND outcome <> ").bind(ADMITTED);
        }
        Some(OutcomeFilter::Exactly(o)) => {
            sql.push(" AND outcome = ").bind(o.as_str());
        }
        None => {}
        Some(_) => return Err(Error::invalid("outcome", "not supported by this store")),
    }
    // Stored instants are whole milliseconds: `at >= s` ⟺ `at >= ceil_ms(s)`, and the same for `<`.
    if let Some(s) = filter.since {
        sql.push(" AND at >= ").bind(ceil_ms(s));
    }
    if let Some(u) = filter.until {
        sql.push(" AND at < ").bind(ceil_ms(u));
    }
    if let Some(c) = &filter.before {
        push_before(&mut sql, c);
    }
    sql.push(" ORDER BY at DESC, id DESC LIMIT ")
        .bind(i64::from(filter.limit));
    Ok(sql)
}

/// `(at, id) < (c.at, c.id)`, spelled out: row-value comparison is not on every database.
fn push_before(sql: &mut Sql, c: &RequestCursor) {
    let at = c.at;
    let whole = ceil_ms(at);
    if whole != at {
        // No stored instant equals a cursor between milliseconds: only the time decides.
        sql.push(" AND at < ").bind(whole);
        return;
    }
    sql.push(" AND (at < ")
        .bind(at)
        .push(" OR (at = ")
        .bind(at)
        .push(" AND id < ")
        .bind(c.id)
        .push("))");
}

/// Deletes the records whose `expires_at` is at or before `now`.
pub fn purge(p: Placeholder, now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_requests WHERE expires_at <= ");
    // Stored instants are whole milliseconds: `x <= now` ⟺ `x <= floor_ms(now)`.
    sql.bind(truncate_ms(now));
    sql
}

/// Deletes the records of `keys` (keep to [`KEYS_PER_ERASE`], not empty).
pub fn erase_of(p: Placeholder, keys: &[KeyId]) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_requests WHERE key_id IN ");
    sql.bind_list(keys.iter().copied());
    sql
}

impl Decode for RequestRecord {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        let client_ip = r
            .opt_text("client_ip")?
            .map(|s| s.parse::<IpAddr>().map_err(|e| r.corrupt("client_ip", e)))
            .transpose()?;
        let status = r.unsigned("status")?;
        let facts = RequestFacts {
            method: "",
            route: None,
            path: "",
            client_ip,
            request_id: "",
            user_agent: None,
        };
        // `RequestRecord` is non-exhaustive: built by its constructor, then every field is set
        // to the stored value (the constructor would re-cut texts and mint a new id).
        let mut rec = RequestRecord::new(
            r.time("at")?,
            r.opt_key_id("key_id")?,
            tenant_of(&r)?,
            &facts,
            u16::try_from(status).map_err(|e| r.corrupt("status", e))?,
            "",
            r.unsigned("latency_us")?,
            r.time("expires_at")?,
        );
        rec.id = r.uuid("id")?;
        rec.method = r.text("method")?;
        rec.route = r.opt_text("route")?;
        rec.path = r.text("path")?;
        rec.outcome = r.text("outcome")?;
        rec.request_id = r.text("request_id")?;
        rec.user_agent = r.opt_text("user_agent")?;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_one_statement_with_fifteen_values_a_record() {
        let facts = RequestFacts {
            method: "GET",
            route: None,
            path: "/",
            client_ip: Some("203.0.113.7".parse().unwrap()),
            request_id: "r",
            user_agent: None,
        };
        let now = Utc::now();
        let a = RequestRecord::new(now, None, None, &facts, 200, ADMITTED, 1, now);
        let b = RequestRecord::new(now, None, None, &facts, 200, ADMITTED, 1, now);
        let batch = [a.clone(), b, a];
        let rows = distinct(&batch);
        assert_eq!(rows.len(), 2, "a repeated id is written once");
        let sql = insert_new(
            Placeholder::Numbered,
            Database::Postgres,
            &rows,
            " ON CONFLICT (id) DO NOTHING",
        )
        .unwrap();
        assert_eq!(sql.values().len(), 30);
        assert!(!sql.text().contains("UNION"), "{}", sql.text());
        assert!(
            sql.text().ends_with("$30) ON CONFLICT (id) DO NOTHING"),
            "{}",
            sql.text()
        );
        let mysql = insert_new(
            Placeholder::Question,
            Database::MySql,
            &rows,
            " ON DUPLICATE KEY UPDATE id = id",
        )
        .unwrap();
        assert_eq!(mysql.text().matches("UNION ALL").count(), 1);
        assert!(mysql.text().contains("NOT EXISTS"));
        assert!(sql.text().contains("CAST($6 AS BYTEA)"));
        assert_eq!(
            sql.values()[5],
            Value::Bytes(Some(ip_bytes("203.0.113.7".parse().unwrap()).to_vec()))
        );
    }

    #[test]
    fn a_nul_in_a_compared_text_is_refused() {
        let facts = RequestFacts {
            method: "GET",
            route: Some("/a\0b"),
            path: "/",
            client_ip: None,
            request_id: "r",
            user_agent: None,
        };
        let now = Utc::now();
        let r = RequestRecord::new(now, None, None, &facts, 200, ADMITTED, 1, now);
        assert!(insert_new(Placeholder::Question, Database::Sqlite, &[&r], "").is_err());
    }
}
