//! `apikey_webhook_subscriptions`: one row per subscription, changed by compare-and-set on
//! `version`. The event filter is a JSON array of type names kept as text; the flags are 0/1.

use apikey_core::webhook::{EventFilter, Subscription, SubscriptionId};
use apikey_core::{Error, Result, TenantScope};

use super::{push_scope, tenant_of};
use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value};
use crate::tenant::row_key;

const COLUMNS: &str = "id, tenant_key, url, events, enabled, allow_http, allow_private_network, \
     description, secret, previous_secret, previous_until, created_at, updated_at, version";

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn events(filter: &EventFilter) -> Result<String> {
    serde_json::to_string(filter).map_err(|e| Error::invalid("webhook events", e))
}

fn ms(t: chrono::DateTime<chrono::Utc>) -> Value {
    Value::Time(Some(apikey_core::clock::truncate_ms(t)))
}

fn checked(s: &Subscription) -> Result<()> {
    guard::text("webhook url", &s.url)?;
    guard::text("webhook secret", &s.secret)?;
    if let Some(p) = &s.previous_secret {
        guard::text("webhook secret", p)?;
    }
    if let Some(d) = &s.description {
        guard::text("description", d)?;
    }
    Ok(())
}

/// The values after `id, tenant_key` in [`COLUMNS`] order, up to `updated_at`.
fn push_fields(sql: &mut Sql, s: &Subscription) -> Result<()> {
    sql.bind(s.url.as_str())
        .push(", ")
        .bind(events(&s.events)?)
        .push(", ")
        .bind(flag(s.enabled))
        .push(", ")
        .bind(flag(s.allow_http))
        .push(", ")
        .bind(flag(s.allow_private_network))
        .push(", ")
        .bind(s.description.clone())
        .push(", ")
        .bind(s.secret.as_str())
        .push(", ")
        .bind(s.previous_secret.clone())
        .push(", ")
        .bind(s.previous_until.map(apikey_core::clock::truncate_ms))
        .push(", ")
        .bind(ms(s.created_at))
        .push(", ")
        .bind(ms(s.updated_at));
    Ok(())
}

/// Inserts the subscription at version 1; an existing id fails on the primary key (`Conflict`).
pub fn insert(p: Placeholder, s: &Subscription) -> Result<Sql> {
    checked(s)?;
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_webhook_subscriptions ({COLUMNS}) VALUES ("),
    );
    sql.bind(s.id.0)
        .push(", ")
        .bind(row_key(s.tenant_id.as_ref()))
        .push(", ");
    push_fields(&mut sql, s)?;
    sql.push(", ").bind(1_i64).push(")");
    Ok(sql)
}

/// The subscription `id` if `scope` admits it.
pub fn get(p: Placeholder, scope: &TenantScope, id: SubscriptionId) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_webhook_subscriptions WHERE id = "),
    );
    sql.bind(id.0);
    push_scope(&mut sql, scope);
    sql
}

/// The subscriptions `scope` admits, oldest first.
pub fn list(p: Placeholder, scope: &TenantScope) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_webhook_subscriptions WHERE 1 = 1"),
    );
    push_scope(&mut sql, scope);
    sql.push(" ORDER BY created_at, id");
    sql
}

/// Every enabled subscription of every tenant, oldest first.
pub fn enabled(p: Placeholder) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_webhook_subscriptions WHERE enabled = "),
    );
    sql.bind(1_i64).push(" ORDER BY created_at, id");
    sql
}

/// Replaces every field of the subscription if it is stored at `expected_version` under the
/// same tenant (a subscription never moves between tenants); the new version is
/// `expected_version + 1`. No row affected otherwise.
pub fn update(p: Placeholder, s: &Subscription, expected_version: u64) -> Result<Sql> {
    checked(s)?;
    let expected = guard::to_i64("expected version", expected_version)?;
    let next = expected
        .checked_add(1)
        .ok_or_else(|| Error::invalid("expected version", "out of range"))?;
    let mut sql = Sql::new(p, "UPDATE apikey_webhook_subscriptions SET url = ");
    sql.bind(s.url.as_str())
        .push(", events = ")
        .bind(events(&s.events)?)
        .push(", enabled = ")
        .bind(flag(s.enabled))
        .push(", allow_http = ")
        .bind(flag(s.allow_http))
        .push(", allow_private_network = ")
        .bind(flag(s.allow_private_network))
        .push(", description = ")
        .bind(s.description.clone())
        .push(", secret = ")
        .bind(s.secret.as_str())
        .push(", previous_secret = ")
        .bind(s.previous_secret.clone())
        .push(", previous_until = ")
        .bind(s.previous_until.map(apikey_core::clock::truncate_ms))
        .push(", created_at = ")
        .bind(ms(s.created_at))
        .push(", updated_at = ")
        .bind(ms(s.updated_at))
        .push(", version = ")
        .bind(next)
        .push(" WHERE id = ")
        .bind(s.id.0)
        .push(" AND tenant_key = ")
        .bind(row_key(s.tenant_id.as_ref()))
        .push(" AND version = ")
        .bind(expected);
    Ok(sql)
}

/// Deletes the subscription `id` if `scope` admits it.
pub fn delete(p: Placeholder, scope: &TenantScope, id: SubscriptionId) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_webhook_subscriptions WHERE id = ");
    sql.bind(id.0);
    push_scope(&mut sql, scope);
    sql
}

fn flag_of<R: Row + ?Sized>(r: &Reader<'_, R>, col: &str) -> std::result::Result<bool, R::Error> {
    match r.unsigned(col)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(r.corrupt(col, "a flag is 0 or 1")),
    }
}

impl Decode for Subscription {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(Subscription {
            id: SubscriptionId(r.uuid("id")?),
            tenant_id: tenant_of(&r)?,
            url: r.text("url")?,
            events: r.parsed("events", |t| {
                serde_json::from_str(t).map_err(|e| Error::invalid("webhook events", e))
            })?,
            enabled: flag_of(&r, "enabled")?,
            allow_http: flag_of(&r, "allow_http")?,
            allow_private_network: flag_of(&r, "allow_private_network")?,
            description: r.opt_text("description")?,
            secret: r.text("secret")?,
            previous_secret: r.opt_text("previous_secret")?,
            previous_until: r.opt_time("previous_until")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
            version: r.unsigned("version")?,
        })
    }
}
