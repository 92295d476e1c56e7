//! Persistence of key records: the [`KeyStore`] trait and its typed query filter.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::Result;
use crate::ids::{KeyId, LookupId, TenantId, TenantScope};
use crate::record::KeyRecord;
use crate::scope::Scope;
use crate::state::KeyState;

/// Default page size of [`KeyFilter`].
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size a store must serve.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A position in the (created_at, id) order: the last item of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cursor {
    /// `created_at` of the last item seen.
    pub created_at: DateTime<Utc>,
    /// `id` of the last item seen.
    pub id: KeyId,
}

impl Cursor {
    /// The cursor just after `record`.
    pub fn after(record: &KeyRecord) -> Self {
        Self {
            created_at: record.created_at,
            id: record.id,
        }
    }
}

/// A typed query over keys; every condition must hold (AND). Stores bind each value as a parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFilter {
    /// Exact owner.
    pub owner: Option<String>,
    /// Exact group.
    pub group: Option<String>,
    /// Exact environment.
    pub environment: Option<String>,
    /// Keys carrying every one of these tags (case-sensitive).
    pub tags: Vec<String>,
    /// Keys holding every one of these scopes literally.
    pub scopes: Vec<Scope>,
    /// Keys in any of these stored states; empty means every state.
    pub states: Vec<KeyState>,
    /// `created_at >= created_from`.
    pub created_from: Option<DateTime<Utc>>,
    /// `created_at < created_to`.
    pub created_to: Option<DateTime<Utc>>,
    /// `last_used_at >= last_used_from`.
    pub last_used_from: Option<DateTime<Utc>>,
    /// `last_used_at < last_used_to`.
    pub last_used_to: Option<DateTime<Utc>>,
    /// `expires_at >= expires_from` (keys without expiry never match).
    pub expires_from: Option<DateTime<Utc>>,
    /// `expires_at < expires_to` (keys without expiry never match).
    pub expires_to: Option<DateTime<Utc>>,
    /// Keys with this alias.
    pub alias: Option<String>,
    /// Keyset pagination: only keys after this position.
    pub after: Option<Cursor>,
    /// Page size, 1..=[`MAX_PAGE_SIZE`].
    pub limit: u32,
}

impl Default for KeyFilter {
    fn default() -> Self {
        Self {
            owner: None,
            group: None,
            environment: None,
            tags: Vec::new(),
            scopes: Vec::new(),
            states: Vec::new(),
            created_from: None,
            created_to: None,
            last_used_from: None,
            last_used_to: None,
            expires_from: None,
            expires_to: None,
            alias: None,
            after: None,
            limit: DEFAULT_PAGE_SIZE,
        }
    }
}

impl KeyFilter {
    /// Whether `record` satisfies every condition except tenancy and pagination. In-memory stores
    /// use it directly; SQL stores must agree with it (the testkit checks they do).
    pub fn matches(&self, r: &KeyRecord) -> bool {
        fn eq(want: Option<&String>, have: Option<&String>) -> bool {
            want.is_none_or(|w| have == Some(w))
        }
        fn range(
            t: Option<DateTime<Utc>>,
            from: Option<DateTime<Utc>>,
            to: Option<DateTime<Utc>>,
        ) -> bool {
            match t {
                Some(t) => from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e),
                None => from.is_none() && to.is_none(),
            }
        }
        eq(self.owner.as_ref(), r.owner.as_ref())
            && eq(self.group.as_ref(), r.group.as_ref())
            && eq(self.environment.as_ref(), r.environment.as_ref())
            && self.tags.iter().all(|t| r.tags.contains(t))
            && self.scopes.iter().all(|s| r.scopes.contains(s))
            && (self.states.is_empty() || self.states.contains(&r.state))
            && range(Some(r.created_at), self.created_from, self.created_to)
            && range(r.last_used_at, self.last_used_from, self.last_used_to)
            && range(r.expires_at, self.expires_from, self.expires_to)
            && self.alias.as_ref().is_none_or(|a| r.aliases.contains(a))
            && self
                .after
                .is_none_or(|c| (r.created_at, r.id) > (c.created_at, c.id))
    }

    /// The page size clamped to `1..=MAX_PAGE_SIZE`.
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_SIZE) as usize
    }
}

/// One page of a query, in (created_at, id) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// One key's usage since the last flush, applied without touching `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageUpdate {
    /// The key.
    pub id: KeyId,
    /// Latest use in the batch; a store keeps the later of this and what it has.
    pub last_used_at: DateTime<Utc>,
    /// Verifications to add to `usage_count`.
    pub count: u64,
}

/// Names one batch of usage, so that sending it again counts every key once.
///
/// A flusher (one per [`Verifier`](crate::Verifier), with a random id) numbers its batches with an
/// increasing `seq` and sends a failed batch again, with the same id and items, before it forms a
/// newer one. Stores remember per key the newest `seq` of each flusher they applied, for at least
/// [`USAGE_MARK_RETENTION`] after `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsageBatchId {
    /// The flusher that formed the batch.
    pub flusher: Uuid,
    /// Position among the flusher's batches, from 1.
    pub seq: u64,
    /// When the batch was formed (the verifier's clock): usage buckets take it as the batch's
    /// time, and the marks' age is measured from it.
    pub at: DateTime<Utc>,
}

/// How long a store keeps a key's per-flusher mark: a batch sent again later than this after its
/// `at` could be counted twice. Flushers retry every few seconds, so a week is far beyond any
/// outage a retry survives in memory.
pub const USAGE_MARK_RETENTION: TimeDelta = TimeDelta::days(7);

/// Where key records live.
///
/// Every management call takes a [`TenantScope`]; a key outside it is `NotFound`. Only
/// [`find_by_lookup_id`](Self::find_by_lookup_id), used by the verifier, is global.
#[async_trait]
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    /// Inserts a new record and its creation event together. A duplicate id or lookup id is
    /// `Conflict`, and so is an alias that another key of the same tenant holds (keys without a
    /// tenant share one alias space).
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()>;

    /// The record with `id`, if it exists in `tenant`.
    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>>;

    /// The record with this lookup id (one indexed point query).
    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>>;

    /// Replaces the record if its stored `version` is `expected_version`, and appends `event`, in one
    /// atomic step. The usage fields (`last_used_at`, `usage_count`) are not replaced: they belong
    /// to [`record_usage`](Self::record_usage), and the caller's copy may predate a flush. A stale
    /// version, or an alias another key of the tenant holds, is `Conflict`; a missing key (or one outside `tenant`) is
    /// `NotFound`. The caller sets `record.version = expected_version + 1`.
    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()>;

    /// Applies usage (`last_used_at`, `usage_count`) only; never changes `version`. Unknown ids are
    /// skipped. A batch names each key at most once.
    ///
    /// Exactly once per key and batch: an item whose key already holds a mark of `batch.flusher`
    /// with a `seq` of `batch.seq` or later is skipped, and applying an item sets that mark in the
    /// same atomic step. So after an error — when any subset of the items may have been applied —
    /// the caller sends the same batch again and each key ends up counted once.
    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()>;

    /// Records in `tenant` matching `filter`, in (created_at, id) order.
    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>>;

    /// Deletes the record (erasure) and appends `event`, atomically. `false` if there was none.
    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool>;

    /// How many records have exactly `tenant` as their tenant (`None`: the keys without a
    /// tenant) and match `filter`; the filter's `after` and `limit` are ignored. Used by the
    /// key-count limits of [`TenantSettings`](crate::TenantSettings).
    ///
    /// The default implementation pages through [`query`](Self::query), [`MAX_PAGE_SIZE`]
    /// records at a time: it reads and decodes every matching record (and, for `None`, every
    /// record of every tenant), so its cost grows with the tenant. Stores that can count in the
    /// database (`SELECT COUNT(*)`) override it.
    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        let scope = match tenant {
            Some(t) => TenantScope::Tenant(t.clone()),
            // No scope selects "no tenant": page through everything and keep those.
            None => TenantScope::All,
        };
        let mut page_filter = KeyFilter {
            after: None,
            limit: MAX_PAGE_SIZE,
            ..filter.clone()
        };
        let mut n = 0u64;
        loop {
            let page = self.query(&scope, &page_filter).await?;
            n += page
                .items
                .iter()
                .filter(|r| r.tenant_id.as_ref() == tenant)
                .count() as u64;
            match page.next {
                Some(next) => page_filter.after = Some(next),
                None => return Ok(n),
            }
        }
    }

    /// The optional capability to insert under the key-count limits atomically (and in bulk,
    /// all or none); see [`CheckedInsert`](crate::tenant::CheckedInsert).
    fn checked(&self) -> Option<&dyn crate::tenant::CheckedInsert> {
        None
    }

    /// The optional legacy-lookup capability, for stores that index nest-api-key-auth prefixes.
    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        None
    }

    /// The optional usage-analytics capability: where the verifier's flusher adds its counts by
    /// outcome, per minute, hour and day (see [`analytics`](crate::analytics)).
    fn analytics(&self) -> Option<&dyn crate::analytics::AnalyticsStore> {
        None
    }
}

/// Finding keys imported from nest-api-key-auth by the first 8 characters of their token.
#[async_trait]
pub trait LegacyLookup: Send + Sync {
    /// Every record whose `legacy_lookup` equals `prefix` (not unique: 32 bits only).
    async fn find_by_legacy_lookup(&self, prefix: &str) -> Result<Vec<KeyRecord>>;
}
