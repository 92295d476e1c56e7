//! The [`AnalyticsStore`] implementation of [`MongoStore`]: `<prefix>usage`, one document per
//! (resolution, kind, bucket start, key, tenant) — a key's row (`kind` 0), its tenant's total
//! (1: a tenant's series reads one document per bucket) or the unattributed refusals (2) —
//! `_id` `"<resolution>.<kind>.<bucket ms>.<key>.<tenant>"` (the nil UUID where there is no
//! key), counts added with `$inc` by upsert.
//!
//! No multi-document transaction, so a batch is made idempotent per document: each document
//! keeps, per flusher, the newest batch `seq` added to it (`m_<flusher>`), and an update
//! applies only where that mark is older. A flusher sends its batches in order and a failed
//! one again before anything newer, so a retry adds exactly the documents the failed attempt
//! missed. Where the mark already holds the batch the filter matches nothing and the upsert's
//! insert collides on `_id`: that document is skipped.

use apikey_core::analytics::{
    AnalyticsStore, KeyUsage, Outcome, Ranking, Resolution, RowKind, SeriesQuery, TopQuery,
    UsageCounts, UsageCutoffs, UsagePoint, UsageRow, UsageSubject, tenant_totals,
};
use apikey_core::audit::PurgeScope;
use apikey_core::clock::truncate_ms;
use apikey_core::store::UsageBatchId;
use apikey_core::{Error, ErrorKind, KeyId, Result, TenantId, TenantScope};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::options::UpdateOptions;

use crate::doc::{chrono, date, i64_of, key_id, u64_of, uuid};
use crate::error;
use crate::store::MongoStore;

/// The counted fields, in [`Outcome::ALL`] order, then `cost`.
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

fn counted(c: &UsageCounts) -> [u64; 9] {
    let mut out = [0; 9];
    for (i, o) in Outcome::ALL.into_iter().enumerate() {
        out[i] = c.get(o);
    }
    out[8] = c.cost;
    out
}

fn key_of(row_key: Option<KeyId>) -> uuid::Uuid {
    row_key.map_or(uuid::Uuid::nil(), |k| *k.as_uuid())
}

fn kind(k: RowKind) -> i32 {
    i32::from(k.code())
}

fn corrupt(field: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("a stored usage document has no valid `{field}`"),
    )
}

fn counts_of(d: &Document) -> Result<UsageCounts> {
    let n = |f: &str| match d.get(f) {
        Some(Bson::Int64(n)) => Ok(u64_of(*n)),
        Some(Bson::Int32(n)) => Ok(u64_of(i64::from(*n))),
        _ => Err(corrupt(f)),
    };
    let mut c = UsageCounts::default();
    for (i, o) in Outcome::ALL.into_iter().enumerate() {
        *c.get_mut(o) = n(COUNTED[i])?;
    }
    c.cost = n("cost")?;
    Ok(c)
}

/// `$sum` of every counted field, for a `$group` stage.
fn sums(group: &mut Document) {
    for c in COUNTED {
        group.insert(c, doc! { "$sum": format!("${c}") });
    }
}

/// The `$match` of a resolution's range within `scope`.
fn range(
    scope: &TenantScope,
    r: Resolution,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Document {
    let mut m = doc! {
        "r": i32::from(r.code()),
        "b": { "$gte": date(truncate_ms(from)), "$lt": date(until) },
    };
    if let TenantScope::Tenant(t) = scope {
        m.insert("tenant_id", t.as_str());
    }
    m
}

impl MongoStore {
    async fn add_one(
        &self,
        batch: &UsageBatchId,
        r: Resolution,
        row_kind: RowKind,
        key: uuid::Uuid,
        tenant: Option<&TenantId>,
        counts: &UsageCounts,
    ) -> Result<bool> {
        let bucket = r.bucket(batch.at);
        let id = format!(
            "{}.{}.{}.{}.{}",
            r.code(),
            row_kind.code(),
            bucket.timestamp_millis(),
            key.simple(),
            tenant.map_or("", TenantId::as_str),
        );
        // A top-level field per flusher: `m_<flusher>`.
        let mark = format!("m_{}", batch.flusher.simple());
        let seq = i64_of(batch.seq);
        let mut inc = Document::new();
        for (c, n) in COUNTED.iter().zip(counted(counts)) {
            inc.insert(*c, i64_of(n));
        }
        let filter = doc! {
            "_id": { "$eq": &id },
            "$or": [ { &mark: { "$eq": Bson::Null } }, { &mark: { "$lt": seq } } ],
        };
        let update = doc! {
            "$inc": inc,
            // The key fields are set on every add (the same values): `$setOnInsert` is not on
            // every server that speaks MongoDB's protocol.
            "$set": {
                &mark: seq,
                "r": i32::from(r.code()),
                "kind": kind(row_kind),
                "k": uuid(key),
                "b": date(bucket),
                "tenant_id": tenant.map_or(Bson::Null, |t| Bson::String(t.as_str().to_owned())),
            },
        };
        match self
            .usage
            .update_one(filter, update)
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await
        {
            Ok(_) => Ok(true),
            // The document exists with this batch's mark: added before.
            Err(e) if error::is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(error::driver("add usage", e)),
        }
    }

    async fn aggregate(
        &self,
        pipeline: Vec<Document>,
        doing: &'static str,
    ) -> Result<Vec<Document>> {
        self.usage
            .aggregate(pipeline)
            .await
            .map_err(|e| error::driver(doing, e))?
            .try_collect()
            .await
            .map_err(|e| error::driver(doing, e))
    }
}

#[async_trait]
impl AnalyticsStore for MongoStore {
    async fn add_usage(&self, batch: UsageBatchId, rows: &[UsageRow]) -> Result<bool> {
        let mut added = false;
        for row in rows.iter().filter(|r| !r.counts.is_empty()) {
            let k = if row.key_id.is_some() {
                RowKind::Key
            } else {
                RowKind::Unattributed
            };
            for r in Resolution::ALL {
                added |= self
                    .add_one(
                        &batch,
                        r,
                        k,
                        key_of(row.key_id),
                        row.tenant_id.as_ref(),
                        &row.counts,
                    )
                    .await?;
            }
        }
        for (tenant, counts) in tenant_totals(rows) {
            for r in Resolution::ALL {
                added |= self
                    .add_one(
                        &batch,
                        r,
                        RowKind::TenantTotal,
                        uuid::Uuid::nil(),
                        tenant.as_ref(),
                        &counts,
                    )
                    .await?;
            }
        }
        Ok(added)
    }

    async fn usage_series(
        &self,
        tenant: &TenantScope,
        query: &SeriesQuery,
    ) -> Result<Vec<UsagePoint>> {
        query.validate()?;
        let (from, until) = query.range.buckets(query.resolution);
        let mut m = range(tenant, query.resolution, from, until);
        match &query.subject {
            UsageSubject::Key(k) => {
                m.insert("kind", kind(RowKind::Key));
                m.insert("k", uuid(*k.as_uuid()));
            }
            UsageSubject::Keys(ks) => {
                let ids: Vec<Bson> = ks.iter().map(|k| Bson::from(uuid(*k.as_uuid()))).collect();
                m.insert("kind", kind(RowKind::Key));
                m.insert("k", doc! { "$in": ids });
            }
            // The tenants' totals: one document per tenant and bucket.
            UsageSubject::Scope => {
                m.insert("kind", kind(RowKind::TenantTotal));
            }
            UsageSubject::Unattributed if *tenant == TenantScope::All => {
                m.insert("kind", kind(RowKind::Unattributed));
            }
            _ => return Ok(Vec::new()),
        }
        let mut group = doc! { "_id": "$b" };
        sums(&mut group);
        let docs = self
            .aggregate(
                vec![
                    doc! { "$match": m },
                    doc! { "$group": group },
                    doc! { "$sort": { "_id": 1 } },
                ],
                "read usage series",
            )
            .await?;
        docs.iter()
            .map(|d| {
                Ok(UsagePoint {
                    bucket: chrono(*d.get_datetime("_id").map_err(|_| corrupt("b"))?),
                    counts: counts_of(d)?,
                })
            })
            .collect()
    }

    async fn top_keys(&self, tenant: &TenantScope, query: &TopQuery) -> Result<Vec<KeyUsage>> {
        query.validate()?;
        let (from, until) = query.range.buckets(query.resolution);
        let mut m = range(tenant, query.resolution, from, until);
        m.insert("kind", kind(RowKind::Key));
        let mut group = doc! { "_id": "$k" };
        sums(&mut group);
        // Ranked here rather than by `$addFields`/`$sort` stages, which not every server that
        // speaks MongoDB's protocol runs: the groups are one per key used in the range.
        let docs = self
            .aggregate(
                vec![doc! { "$match": m }, doc! { "$group": group }],
                "rank usage",
            )
            .await?;
        let rank = |c: &UsageCounts| match query.by {
            Ranking::Requests => c.requests(),
            Ranking::Rejections => c.rejected(),
        };
        let mut top = Vec::new();
        for d in &docs {
            let k = match d.get("_id") {
                Some(Bson::Binary(b)) => {
                    uuid::Uuid::from_slice(&b.bytes).map_err(|_| corrupt("k"))?
                }
                _ => return Err(corrupt("k")),
            };
            let counts = counts_of(d)?;
            if rank(&counts) > 0 {
                top.push(KeyUsage {
                    key_id: key_id(uuid(k)),
                    counts,
                });
            }
        }
        top.sort_by(|a, b| {
            rank(&b.counts)
                .cmp(&rank(&a.counts))
                .then(a.key_id.cmp(&b.key_id))
        });
        top.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
        Ok(top)
    }

    async fn purge_usage(&self, cutoffs: &UsageCutoffs) -> Result<u64> {
        self.purge_usage_scoped(&PurgeScope::AllBut(Vec::new()), cutoffs)
            .await
    }

    async fn purge_usage_scoped(&self, scope: &PurgeScope, cutoffs: &UsageCutoffs) -> Result<u64> {
        let mut gone = 0;
        for r in Resolution::ALL {
            let mut filter = doc! {
                "r": i32::from(r.code()),
                "b": { "$lt": date(truncate_ms(cutoffs.of(r))) },
            };
            // The unattributed row and keys without a tenant are the default row's.
            if let Some(tenant) = crate::audit::scope_filter(scope) {
                filter.insert("tenant_id", tenant);
            }
            let res = self
                .usage
                .delete_many(filter)
                .await
                .map_err(|e| error::driver("purge usage", e))?;
            gone += res.deleted_count;
        }
        Ok(gone)
    }

    async fn erase_usage_of(&self, keys: &[KeyId]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Bson> = keys
            .iter()
            .map(|k| Bson::from(uuid(*k.as_uuid())))
            .collect();
        let res = self
            .usage
            .delete_many(doc! { "kind": kind(RowKind::Key), "k": { "$in": ids } })
            .await
            .map_err(|e| error::driver("erase usage", e))?;
        Ok(res.deleted_count)
    }
}
