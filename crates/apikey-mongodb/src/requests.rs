//! The [`RequestLogStore`] implementation of [`MongoStore`]: `<prefix>requests`, one document
//! per request, `_id` the record id (so a batch written again collides on `_id` instead of being
//! stored twice).
//!
//! The client address is kept twice: as text, and as 16 bytes (`ip`, BSON binary) in the form
//! [`ip_bytes`] gives, so a network is one range of equal-length binaries, which MongoDB orders
//! byte by byte. Pages are newest first by `(at, _id)`. No multi-document transaction: an
//! append is one unordered `insert_many` (a failed one may have stored part of its batch; the
//! writer retries it, and the stored ids are skipped), purge and erasure are `delete_many`.

use apikey_core::clock::truncate_ms;
use apikey_core::request_log::{
    OutcomeFilter, RequestFacts, RequestFilter, RequestLogStore, RequestRecord, ip_bytes,
    network_bounds,
};
use apikey_core::{Error, ErrorKind, KeyId, Result, TenantId, TenantScope};
use async_trait::async_trait;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::TryStreamExt;

use crate::doc::{chrono, date, key_id, uuid};
use crate::error;
use crate::insert_new::insert_new;
use crate::store::MongoStore;

/// The smallest whole millisecond at or after `t` (stored instants are whole milliseconds).
fn ceil_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    let down = truncate_ms(t);
    if down == t {
        t
    } else {
        down + TimeDelta::milliseconds(1)
    }
}

fn bytes(b: [u8; 16]) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: b.to_vec(),
    })
}

fn opt_str(v: Option<&str>) -> Bson {
    v.map_or(Bson::Null, |s| Bson::String(s.to_owned()))
}

fn to_document(r: &RequestRecord) -> Document {
    doc! {
        "_id": uuid(r.id),
        "at": date(r.at),
        "key_id": r.key_id.map_or(Bson::Null, |k| Bson::from(uuid(*k.as_uuid()))),
        "tenant_id": opt_str(r.tenant_id.as_ref().map(TenantId::as_str)),
        "client_ip": r.client_ip.map_or(Bson::Null, |ip| Bson::String(ip.to_string())),
        "ip": r.client_ip.map_or(Bson::Null, |ip| bytes(ip_bytes(ip))),
        "method": &r.method,
        "route": opt_str(r.route.as_deref()),
        "path": &r.path,
        "status": i32::from(r.status),
        "outcome": &r.outcome,
        "request_id": &r.request_id,
        "latency_us": i64::try_from(r.latency_us).unwrap_or(i64::MAX),
        "user_agent": opt_str(r.user_agent.as_deref()),
        "expires_at": date(r.expires_at),
    }
}

fn corrupt(field: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("a stored request-log document has no valid `{field}`"),
    )
}

fn from_document(d: &Document) -> Result<RequestRecord> {
    let text = |f: &str| d.get_str(f).map_err(|_| corrupt(f));
    let opt_text = |f: &str| match d.get(f) {
        Some(Bson::String(s)) => Ok(Some(s.as_str())),
        None | Some(Bson::Null) => Ok(None),
        Some(_) => Err(corrupt(f)),
    };
    let when = |f: &str| {
        d.get_datetime(f)
            .map(|t| chrono(*t))
            .map_err(|_| corrupt(f))
    };
    let id = match d.get("_id") {
        Some(Bson::Binary(b)) => uuid::Uuid::from_slice(&b.bytes).map_err(|_| corrupt("_id"))?,
        _ => return Err(corrupt("_id")),
    };
    let key = match d.get("key_id") {
        Some(Bson::Binary(b)) => Some(key_id(bson::Uuid::from_bytes(
            b.bytes
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("key_id"))?,
        ))),
        None | Some(Bson::Null) => None,
        Some(_) => return Err(corrupt("key_id")),
    };
    let tenant = opt_text("tenant_id")?
        .map(TenantId::new)
        .transpose()
        .map_err(|_| corrupt("tenant_id"))?;
    let client_ip = opt_text("client_ip")?
        .map(str::parse)
        .transpose()
        .map_err(|_| corrupt("client_ip"))?;
    let facts = RequestFacts {
        method: text("method")?,
        route: opt_text("route")?,
        path: text("path")?,
        client_ip,
        request_id: text("request_id")?,
        user_agent: opt_text("user_agent")?,
    };
    let status = u16::try_from(d.get_i32("status").map_err(|_| corrupt("status"))?)
        .map_err(|_| corrupt("status"))?;
    let latency = d.get_i64("latency_us").map_err(|_| corrupt("latency_us"))?;
    let mut r = RequestRecord::new(
        when("at")?,
        key,
        tenant,
        &facts,
        status,
        text("outcome")?,
        u64::try_from(latency).unwrap_or(0),
        when("expires_at")?,
    );
    r.id = id;
    Ok(r)
}

/// The query of `filter` within `scope`.
fn query(scope: &TenantScope, f: &RequestFilter) -> Document {
    let mut q = Document::new();
    if let TenantScope::Tenant(t) = scope {
        q.insert("tenant_id", doc! { "$eq": t.as_str() });
    }
    if let Some(k) = f.key {
        q.insert("key_id", doc! { "$eq": uuid(*k.as_uuid()) });
    }
    if let Some(net) = &f.network {
        let (lo, hi) = network_bounds(net);
        q.insert("ip", doc! { "$gte": bytes(lo), "$lte": bytes(hi) });
    }
    if let Some(route) = &f.route {
        q.insert("route", doc! { "$eq": route });
    }
    match &f.outcome {
        Some(OutcomeFilter::Admitted) => {
            q.insert(
                "outcome",
                doc! { "$eq": apikey_core::request_log::ADMITTED },
            );
        }
        Some(OutcomeFilter::Rejected) => {
            q.insert(
                "outcome",
                doc! { "$ne": apikey_core::request_log::ADMITTED },
            );
        }
        Some(OutcomeFilter::Exactly(o)) => {
            q.insert("outcome", doc! { "$eq": o });
        }
        // `OutcomeFilter` may grow; an outcome this store cannot express is not ignored.
        Some(_) => {
            q.insert("_id", doc! { "$exists": false });
        }
        None => {}
    }
    let mut at = Document::new();
    // `x >= t` ⟺ `x >= ceil_ms(t)` and `x < t` ⟺ `x < ceil_ms(t)` for whole-millisecond `x`.
    if let Some(s) = f.since {
        at.insert("$gte", date(ceil_ms(s)));
    }
    if let Some(u) = f.until {
        at.insert("$lt", date(ceil_ms(u)));
    }
    if !at.is_empty() {
        q.insert("at", at);
    }
    if let Some(c) = &f.before {
        q.insert(
            "$or",
            vec![
                doc! { "at": { "$lt": date(c.at) } },
                doc! { "at": { "$eq": date(c.at) }, "_id": { "$lt": uuid(c.id) } },
            ],
        );
    }
    q
}

#[async_trait]
impl RequestLogStore for MongoStore {
    async fn append_requests(&self, records: &[RequestRecord]) -> Result<u64> {
        let docs = records.iter().map(to_document).collect();
        insert_new(&self.requests, docs, "append request-log records").await
    }

    async fn requests(
        &self,
        tenant: &TenantScope,
        filter: &RequestFilter,
    ) -> Result<Vec<RequestRecord>> {
        filter.validate()?;
        let doing = "query the request log";
        let docs: Vec<Document> = self
            .requests
            .find(query(tenant, filter))
            .sort(doc! { "at": -1, "_id": -1 })
            .limit(i64::from(filter.limit))
            .await
            .map_err(|e| error::driver(doing, e))?
            .try_collect()
            .await
            .map_err(|e| error::driver(doing, e))?;
        docs.iter().map(from_document).collect()
    }

    async fn purge_requests(&self, now: DateTime<Utc>) -> Result<u64> {
        let r = self
            .requests
            .delete_many(doc! { "expires_at": { "$lte": date(truncate_ms(now)) } })
            .await
            .map_err(|e| error::driver("purge the request log", e))?;
        Ok(r.deleted_count)
    }

    async fn erase_requests_of(&self, keys: &[KeyId]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Bson> = keys
            .iter()
            .map(|k| Bson::from(uuid(*k.as_uuid())))
            .collect();
        let r = self
            .requests
            .delete_many(doc! { "key_id": { "$in": ids } })
            .await
            .map_err(|e| error::driver("erase request-log records", e))?;
        Ok(r.deleted_count)
    }
}
