//! The [`AnalyticsStore`] implementation of [`MemoryStore`]: buckets in an ordered map by
//! (resolution, key, bucket start), summed by a range scan (the memory store is for tests and
//! single processes).

use std::collections::{BTreeMap, HashMap};

use apikey_core::analytics::{
    AnalyticsStore, KeyUsage, Ranking, Resolution, SeriesQuery, TopQuery, UsageCounts,
    UsageCutoffs, UsagePoint, UsageRow, UsageSubject, tenant_totals,
};
use apikey_core::audit::PurgeScope;
use apikey_core::store::UsageBatchId;
use apikey_core::{KeyId, Result, TenantId, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryStore;

/// A bucket's key: resolution code, key (`None` sorts first: the unattributed row), start.
type BucketKey = (i16, Option<KeyId>, DateTime<Utc>);

/// The buckets, the tenant totals and the batches already applied.
#[derive(Default)]
pub(super) struct UsageTables {
    buckets: BTreeMap<BucketKey, (Option<TenantId>, UsageCounts)>,
    /// (resolution code, tenant, start) → the tenant's keys' sum.
    totals: BTreeMap<(i16, Option<TenantId>, DateTime<Utc>), UsageCounts>,
    /// (flusher, seq) → when the batch was formed.
    batches: HashMap<(Uuid, u64), DateTime<Utc>>,
}

impl UsageTables {
    fn in_subject(key: Option<KeyId>, subject: &UsageSubject) -> bool {
        match subject {
            UsageSubject::Key(k) => key == Some(*k),
            UsageSubject::Keys(ks) => key.is_some_and(|k| ks.contains(&k)),
            UsageSubject::Unattributed => key.is_none(),
            _ => false,
        }
    }
}

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn add_usage(&self, batch: UsageBatchId, rows: &[UsageRow]) -> Result<bool> {
        let mut t = self.tables.write();
        let u = &mut t.usage;
        if u.batches.contains_key(&(batch.flusher, batch.seq)) {
            return Ok(false);
        }
        u.batches.insert((batch.flusher, batch.seq), batch.at);
        for row in rows {
            for r in Resolution::ALL {
                let slot = u
                    .buckets
                    .entry((r.code(), row.key_id, r.bucket(batch.at)))
                    .or_insert_with(|| (row.tenant_id.clone(), UsageCounts::default()));
                slot.1.add(&row.counts);
            }
        }
        for (tenant, counts) in tenant_totals(rows) {
            for r in Resolution::ALL {
                u.totals
                    .entry((r.code(), tenant.clone(), r.bucket(batch.at)))
                    .or_default()
                    .add(&counts);
            }
        }
        Ok(true)
    }

    async fn usage_series(
        &self,
        tenant: &TenantScope,
        query: &SeriesQuery,
    ) -> Result<Vec<UsagePoint>> {
        query.validate()?;
        let (from, until) = query.range.buckets(query.resolution);
        let code = query.resolution.code();
        let t = self.tables.read();
        let mut sums: BTreeMap<DateTime<Utc>, UsageCounts> = BTreeMap::new();
        if query.subject == UsageSubject::Scope {
            for ((c, row_tenant, bucket), counts) in &t.usage.totals {
                if *c == code
                    && *bucket >= from
                    && *bucket < until
                    && tenant.admits(row_tenant.as_ref())
                {
                    sums.entry(*bucket).or_default().add(counts);
                }
            }
        }
        for ((c, key, bucket), (row_tenant, counts)) in &t.usage.buckets {
            let visible = match key {
                Some(_) => tenant.admits(row_tenant.as_ref()),
                None => *tenant == TenantScope::All,
            };
            if *c == code
                && *bucket >= from
                && *bucket < until
                && visible
                && UsageTables::in_subject(*key, &query.subject)
            {
                sums.entry(*bucket).or_default().add(counts);
            }
        }
        Ok(sums
            .into_iter()
            .map(|(bucket, counts)| UsagePoint { bucket, counts })
            .collect())
    }

    async fn top_keys(&self, tenant: &TenantScope, query: &TopQuery) -> Result<Vec<KeyUsage>> {
        query.validate()?;
        let (from, until) = query.range.buckets(query.resolution);
        let code = query.resolution.code();
        let t = self.tables.read();
        let mut sums: HashMap<KeyId, UsageCounts> = HashMap::new();
        for ((c, key, bucket), (row_tenant, counts)) in &t.usage.buckets {
            if let Some(k) = key
                && *c == code
                && *bucket >= from
                && *bucket < until
                && tenant.admits(row_tenant.as_ref())
            {
                sums.entry(*k).or_default().add(counts);
            }
        }
        let rank = |c: &UsageCounts| match query.by {
            Ranking::Requests => c.requests(),
            Ranking::Rejections => c.rejected(),
        };
        let mut top: Vec<KeyUsage> = sums
            .into_iter()
            .filter(|(_, c)| rank(c) > 0)
            .map(|(key_id, counts)| KeyUsage { key_id, counts })
            .collect();
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
        let mut t = self.tables.write();
        let u = &mut t.usage;
        let before = u.buckets.len() + u.totals.len() + u.batches.len();
        let kept = |code: i16, tenant: Option<&TenantId>, bucket: DateTime<Utc>| {
            let r = Resolution::ALL
                .into_iter()
                .find(|r| r.code() == code)
                .unwrap_or(Resolution::Minute);
            !scope.contains(tenant) || bucket >= cutoffs.of(r)
        };
        u.buckets
            .retain(|(code, _, bucket), (tenant, _)| kept(*code, tenant.as_ref(), *bucket));
        u.totals
            .retain(|(code, tenant, bucket), _| kept(*code, tenant.as_ref(), *bucket));
        u.batches.retain(|_, at| *at >= cutoffs.marks);
        let after = u.buckets.len() + u.totals.len() + u.batches.len();
        Ok(u64::try_from(before - after).unwrap_or(u64::MAX))
    }

    async fn erase_usage_of(&self, keys: &[KeyId]) -> Result<u64> {
        let mut t = self.tables.write();
        let u = &mut t.usage;
        let before = u.buckets.len();
        u.buckets
            .retain(|(_, key, _), _| !key.is_some_and(|k| keys.contains(&k)));
        Ok(u64::try_from(before - u.buckets.len()).unwrap_or(u64::MAX))
    }
}
