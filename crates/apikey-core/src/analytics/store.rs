//! [`AnalyticsStore`]: the capability a backend implements to keep usage buckets.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::counts::UsageCounts;
use super::query::{Resolution, SeriesQuery, TopQuery};
use crate::audit::PurgeScope;
use crate::error::Result;
use crate::ids::{KeyId, TenantId, TenantScope};
use crate::store::UsageBatchId;

/// One key's counts in a flush (or, without a key, the requests refused before a key was known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// The key; `None` for the unattributed row.
    pub key_id: Option<KeyId>,
    /// The key's tenant.
    pub tenant_id: Option<TenantId>,
    /// What to add.
    pub counts: UsageCounts,
}

/// What a stored bucket row counts: one key, all keys of one tenant, or the refusals before a
/// key was known. Stores keep the tenant totals beside the key rows (added in the same write),
/// so a tenant's series reads one row per bucket however many keys it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKind {
    /// One key's row.
    Key,
    /// The sum of one tenant's key rows (keys without a tenant have their own total).
    TenantTotal,
    /// The refusals before a key was known.
    Unattributed,
}

impl RowKind {
    /// The stored code (0, 1, 2).
    pub const fn code(self) -> i16 {
        match self {
            Self::Key => 0,
            Self::TenantTotal => 1,
            Self::Unattributed => 2,
        }
    }
}

/// The tenant totals of a batch: the key rows summed per tenant (the unattributed row is not a
/// tenant's), in tenant order.
pub fn tenant_totals(rows: &[UsageRow]) -> Vec<(Option<TenantId>, UsageCounts)> {
    let mut totals: std::collections::BTreeMap<Option<TenantId>, UsageCounts> =
        std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| r.key_id.is_some()) {
        totals
            .entry(r.tenant_id.clone())
            .or_default()
            .add(&r.counts);
    }
    totals.into_iter().filter(|(_, c)| !c.is_empty()).collect()
}

/// One bucket of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UsagePoint {
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// Its counts (summed over the subject's keys).
    pub counts: UsageCounts,
}

/// One key's sum over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyUsage {
    /// The key.
    pub key_id: KeyId,
    /// Its counts.
    pub counts: UsageCounts,
}

/// Where each resolution's retention ends: buckets that start before a cutoff are deleted,
/// and batch marks older than `marks` forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageCutoffs {
    /// Minute buckets before this go.
    pub minute: DateTime<Utc>,
    /// Hour buckets before this go.
    pub hour: DateTime<Utc>,
    /// Day buckets before this go.
    pub day: DateTime<Utc>,
    /// Batch marks of flushes older than this go ([`USAGE_MARK_RETENTION`](crate::store::USAGE_MARK_RETENTION)).
    pub marks: DateTime<Utc>,
}

impl UsageCutoffs {
    /// The cutoff of `resolution`.
    pub fn of(&self, resolution: Resolution) -> DateTime<Utc> {
        match resolution {
            Resolution::Minute => self.minute,
            Resolution::Hour => self.hour,
            Resolution::Day => self.day,
        }
    }
}

/// Usage buckets in a backend every instance shares: per key (and one unattributed row), per
/// minute, hour and day, by outcome.
///
/// Reads are scoped by [`TenantScope`]: a tenant sees only its keys' rows; the unattributed
/// row belongs to [`TenantScope::All`] only. Writes come from the verifiers' flushers, never
/// from the request path.
#[async_trait]
pub trait AnalyticsStore: Send + Sync + fmt::Debug + 'static {
    /// Adds `rows` to the minute, hour and day buckets holding `batch.at`, unless a batch with
    /// this id was applied before (then nothing, and `false`). A batch is applied whole or not
    /// at all, so a flusher that sends a failed batch again counts it once.
    async fn add_usage(&self, batch: UsageBatchId, rows: &[UsageRow]) -> Result<bool>;

    /// The subject's non-empty buckets in the range, oldest first; the query is validated first.
    async fn usage_series(
        &self,
        tenant: &TenantScope,
        query: &SeriesQuery,
    ) -> Result<Vec<UsagePoint>>;

    /// The keys with the most requests (or rejections) in the range, most first (ties by key
    /// id), keys with none left out; the query is validated first.
    async fn top_keys(&self, tenant: &TenantScope, query: &TopQuery) -> Result<Vec<KeyUsage>>;

    /// Deletes buckets older than each resolution's cutoff and old batch marks; how many rows.
    async fn purge_usage(&self, cutoffs: &UsageCutoffs) -> Result<u64>;

    /// [`purge_usage`](Self::purge_usage) within `scope`: one tenant's buckets (its keys' and
    /// its total), or every bucket but some tenants' (the unattributed row and keys without a
    /// tenant included). Old batch marks go by `cutoffs.marks` whatever the scope.
    ///
    /// The default purges everything for an empty [`PurgeScope::AllBut`] and refuses (`Config`)
    /// any other scope, so per-tenant retention fails loudly on a store that cannot apply it
    /// rather than applying one rule to every tenant.
    async fn purge_usage_scoped(&self, scope: &PurgeScope, cutoffs: &UsageCutoffs) -> Result<u64> {
        match scope {
            PurgeScope::AllBut(except) if except.is_empty() => self.purge_usage(cutoffs).await,
            _ => Err(crate::error::Error::new(
                crate::error::ErrorKind::Config,
                "this analytics store cannot purge by tenant, so per-tenant retention cannot be applied",
            )),
        }
    }

    /// Deletes every bucket of `keys` (erasure of an owner's data); how many rows. The tenant
    /// totals keep their counts: they name no key and no owner.
    async fn erase_usage_of(&self, keys: &[KeyId]) -> Result<u64>;
}
