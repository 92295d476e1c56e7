//! The suites are not vacuous: each deliberately broken backend below (a correct memory backend
//! with one bug added) must make the named case fail.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::audit::{AuditEvent, AuditFilter};
use apikey_core::limit::{LimitKind, LimitStatus};
use apikey_core::store::{KeyFilter, LegacyLookup, Page, UsageBatchId, UsageUpdate};
use apikey_core::{
    AuditStore, Cache, CachedRecord, Clock, Decision, KeyId, KeyRecord, KeyStore, LimitPolicy,
    LookupId, ManualClock, RateLimiter, ReaderCursor, Result, StoredSettings, Subject, TenantId,
    TenantScope, TenantSettings, TenantSettingsStore,
};
use apikey_memory::{MemoryCache, MemoryLimiter, MemoryStore};
use apikey_testkit::{
    __private::block_on, __private::block_on_multi_thread, cache, limiter, store, tenant_settings,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

mod common;

use common::{caught, seconds};

#[derive(Debug, Clone, Copy, PartialEq)]
enum StoreBug {
    SecondTimestamps,
    IgnoresVersion,
    CaseInsensitiveTags,
    DeleteIgnoresTenant,
    UsageBumpsVersion,
    PagingIgnoresCursor,
    /// Ignores the batch id: every attempt of a batch counts again.
    UsageIgnoresBatch,
    /// Remembers whole batches, not keys: after a partial write, the retry skips the keys the
    /// first attempt never reached.
    UsageMarksWholeBatch,
    /// Retention deletes by age alone, past readers that have not handled the events.
    PurgeIgnoresCursors,
    /// A repeated system event is stored again under a new id.
    AppendDuplicates,
    /// A cursor beyond the log is saved.
    CursorAheadAccepted,
    /// Snapshots keep the whole record, hash included.
    SnapshotsKeepHash,
    /// `count` counts every tenant's keys, not the one asked for.
    CountIgnoresTenant,
    /// Tenant settings `put` writes whatever version it is given (a lost update).
    SettingsIgnoreVersion,
    /// Tenant settings `put` appends its event before the version check, so a refused write
    /// still records one.
    SettingsEventOnRefusal,
    /// Tenant settings `get` answers a tenant without a row with the default row.
    SettingsGetFallsBack,
    /// Tenant settings rows are keyed case-insensitively.
    SettingsCaseInsensitiveTenant,
    /// A purge for one tenant (or for the rest) deletes every tenant's old events.
    PurgeIgnoresTenant,
}

#[derive(Clone)]
struct Buggy {
    inner: MemoryStore,
    bug: StoreBug,
    batches_seen: std::sync::Arc<Mutex<HashSet<(uuid::Uuid, u64)>>>,
}

impl fmt::Debug for Buggy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buggy({:?})", self.bug)
    }
}

#[async_trait]
impl KeyStore for Buggy {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        let mut r = record.clone();
        if self.bug == StoreBug::SecondTimestamps {
            r.created_at = seconds(r.created_at);
            r.expires_at = r.expires_at.map(seconds);
        }
        self.inner.insert(&r, event).await
    }
    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        KeyStore::get(&self.inner, tenant, id).await
    }
    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        self.inner.find_by_lookup_id(lookup).await
    }
    async fn update(
        &self,
        tenant: &TenantScope,
        expected: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut expected = expected;
        if self.bug == StoreBug::IgnoresVersion
            && let Some(stored) = KeyStore::get(&self.inner, tenant, record.id).await?
        {
            expected = stored.version;
        }
        self.inner.update(tenant, expected, record, event).await
    }
    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        match self.bug {
            StoreBug::UsageIgnoresBatch => {
                let fresh = UsageBatchId {
                    flusher: uuid::Uuid::new_v4(),
                    ..batch
                };
                return self.inner.record_usage(fresh, items).await;
            }
            StoreBug::UsageMarksWholeBatch => {
                if !self
                    .batches_seen
                    .lock()
                    .expect("lock")
                    .insert((batch.flusher, batch.seq))
                {
                    return Ok(());
                }
                let fresh = UsageBatchId {
                    flusher: uuid::Uuid::new_v4(),
                    ..batch
                };
                return self.inner.record_usage(fresh, items).await;
            }
            _ => {}
        }
        self.inner.record_usage(batch, items).await?;
        if self.bug == StoreBug::UsageBumpsVersion {
            for u in items {
                if let Some(r) = KeyStore::get(&self.inner, &TenantScope::All, u.id).await? {
                    let next = KeyRecord {
                        version: r.version + 1,
                        ..r.clone()
                    };
                    let event = apikey_testkit::fixtures::updated(&r, &next);
                    self.inner
                        .update(&TenantScope::All, r.version, &next, &event)
                        .await?;
                }
            }
        }
        Ok(())
    }
    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let mut f = filter.clone();
        match self.bug {
            StoreBug::PagingIgnoresCursor => f.after = None,
            StoreBug::CaseInsensitiveTags => {
                f.tags = f.tags.iter().map(|t| t.to_lowercase()).collect();
                let mut page = KeyStore::query(
                    &self.inner,
                    tenant,
                    &KeyFilter {
                        tags: vec![],
                        ..f.clone()
                    },
                )
                .await?;
                page.items.retain(|r| {
                    f.tags
                        .iter()
                        .all(|t| r.tags.iter().any(|have| have.to_lowercase() == *t))
                });
                return Ok(page);
            }
            _ => {}
        }
        KeyStore::query(&self.inner, tenant, &f).await
    }
    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        let scope = if self.bug == StoreBug::DeleteIgnoresTenant {
            &TenantScope::All
        } else {
            tenant
        };
        self.inner.delete(scope, id, event).await
    }
    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        if self.bug == StoreBug::CountIgnoresTenant {
            let mut n = 0;
            for t in [
                None,
                Some(TenantId::new("filters")?),
                Some(TenantId::new("other")?),
            ] {
                n += self.inner.count(t.as_ref(), filter).await?;
            }
            return Ok(n);
        }
        self.inner.count(tenant, filter).await
    }
    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        self.inner.legacy()
    }
}

#[async_trait]
impl AuditStore for Buggy {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let mut events = AuditStore::query(&self.inner, tenant, filter).await?;
        if self.bug == StoreBug::SnapshotsKeepHash {
            // What a store that serialized the record instead of its view would hand back.
            for e in &mut events {
                if let Some(after) = &e.after {
                    e.data = Some(serde_json::json!({
                        "hash": apikey_testkit::audit_stream::canary_strings()[0],
                        "lookup_id": after.lookup_id.to_string(),
                    }));
                }
            }
        }
        Ok(events)
    }
    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        if self.bug == StoreBug::AppendDuplicates {
            let mut again = event.clone();
            again.id = uuid::Uuid::now_v7();
            return self.inner.append(&again).await;
        }
        self.inner.append(event).await
    }
    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.inner.read_after(after, limit).await
    }
    async fn last_position(&self) -> Result<u64> {
        self.inner.last_position().await
    }
    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        self.inner.cursors().await
    }
    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        if self.bug == StoreBug::CursorAheadAccepted {
            let last = self.inner.last_position().await?;
            return self.inner.save_cursor(reader, position.min(last)).await;
        }
        self.inner.save_cursor(reader, position).await
    }
    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        self.inner.remove_cursor(reader).await
    }
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        if self.bug == StoreBug::PurgeIgnoresCursors {
            let saved = self.inner.cursors().await?;
            for c in &saved {
                self.inner.remove_cursor(&c.reader).await?;
            }
            let n = self.inner.purge_before(before).await?;
            for c in saved {
                // The slowest reader's position may be purged by now; keep what still fits.
                let last = self.inner.last_position().await?;
                self.inner
                    .save_cursor(&c.reader, c.position.min(last))
                    .await?;
            }
            return Ok(n);
        }
        self.inner.purge_before(before).await
    }

    async fn purge_scoped(
        &self,
        scope: &apikey_core::audit::PurgeScope,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        if self.bug == StoreBug::PurgeIgnoresTenant {
            return self.inner.purge_before(before).await;
        }
        self.inner.purge_scoped(scope, before).await
    }
}

#[async_trait]
impl TenantSettingsStore for Buggy {
    async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
        self.inner.list().await
    }
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        let tenant = self.settings_key(tenant)?;
        let own = TenantSettingsStore::get(&self.inner, tenant.as_ref()).await?;
        if self.bug == StoreBug::SettingsGetFallsBack && own.is_none() {
            return TenantSettingsStore::get(&self.inner, None).await;
        }
        Ok(own)
    }
    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        let tenant = self.settings_key(tenant)?;
        let tenant = tenant.as_ref();
        match self.bug {
            StoreBug::SettingsIgnoreVersion => {
                let current = TenantSettingsStore::get(&self.inner, tenant)
                    .await?
                    .map_or(0, |s| s.version);
                self.inner.put(tenant, current, settings, event).await
            }
            StoreBug::SettingsEventOnRefusal => {
                self.inner.append(event).await?;
                let mut again = event.clone();
                again.id = uuid::Uuid::now_v7();
                self.inner
                    .put(tenant, expected_version, settings, &again)
                    .await
            }
            _ => {
                self.inner
                    .put(tenant, expected_version, settings, event)
                    .await
            }
        }
    }
}

impl Buggy {
    fn settings_key(&self, tenant: Option<&TenantId>) -> Result<Option<TenantId>> {
        match tenant {
            Some(t) if self.bug == StoreBug::SettingsCaseInsensitiveTenant => {
                TenantId::new(t.as_str().to_lowercase()).map(Some)
            }
            t => Ok(t.cloned()),
        }
    }
}

#[test]
fn tenant_settings_suite_catches_settings_bugs() {
    use StoreBug::*;
    caught("a lost settings update (version ignored)", || {
        block_on(tenant_settings::compare_and_set(&buggy(
            SettingsIgnoreVersion,
        )));
    });
    caught("a refused settings write records an event", || {
        block_on(tenant_settings::events_commit_with_the_write(&buggy(
            SettingsEventOnRefusal,
        )));
    });
    caught("get falls back to the default row", || {
        block_on(tenant_settings::default_row_is_separate(&buggy(
            SettingsGetFallsBack,
        )));
    });
    caught("tenant ids compared case-insensitively", || {
        block_on(tenant_settings::tenant_ids_at_the_edges(&buggy(
            SettingsCaseInsensitiveTenant,
        )));
    });
    caught("a tenant's purge deletes other tenants' events", || {
        block_on(tenant_settings::retention_applies_each_tenants_rule(
            &buggy(PurgeIgnoresTenant),
        ));
    });
    caught("count ignores the tenant", || {
        block_on(store::count_agrees_with_matches(&buggy(CountIgnoresTenant)));
    });
    // The unbroken store passes the same cases, so the catches above are the bugs'.
    for case in 0..6 {
        let ok = buggy(SecondTimestamps);
        block_on(async {
            match case {
                0 => tenant_settings::compare_and_set(&ok).await,
                1 => tenant_settings::events_commit_with_the_write(&ok).await,
                2 => tenant_settings::default_row_is_separate(&ok).await,
                3 => tenant_settings::tenant_ids_at_the_edges(&ok).await,
                4 => tenant_settings::retention_applies_each_tenants_rule(&ok).await,
                _ => store::count_agrees_with_matches(&ok).await,
            }
        });
    }
}

#[test]
fn audit_suite_catches_audit_bugs() {
    use StoreBug::*;
    caught("purge passes the slowest reader", || {
        block_on(
            apikey_testkit::audit_stream::purge_waits_for_the_slowest_reader(&buggy(
                PurgeIgnoresCursors,
            )),
        );
    });
    caught("a repeated system event stored twice", || {
        block_on(apikey_testkit::audit_stream::system_events_append_once(
            &buggy(AppendDuplicates),
        ));
    });
    caught("a cursor ahead of the log accepted", || {
        block_on(
            apikey_testkit::audit_stream::cursors_never_run_ahead_of_the_log(&buggy(
                CursorAheadAccepted,
            )),
        );
    });
    caught("snapshots keep the hash", || {
        block_on(apikey_testkit::audit_stream::events_never_carry_secrets(
            &buggy(SnapshotsKeepHash),
        ));
    });
}

fn buggy(bug: StoreBug) -> Buggy {
    Buggy {
        inner: MemoryStore::new(),
        bug,
        batches_seen: std::sync::Arc::default(),
    }
}

#[test]
fn store_suite_catches_store_bugs() {
    use StoreBug::*;
    caught("timestamps kept at second precision", || {
        block_on(store::timestamps_round_trip_at_millisecond_precision(
            &buggy(SecondTimestamps),
        ));
    });
    caught("lost update (version ignored)", || {
        block_on(store::stale_update_is_conflict_and_changes_nothing(&buggy(
            IgnoresVersion,
        )));
    });
    caught("case-insensitive tags", || {
        block_on(store::tags_compare_case_sensitively(&buggy(
            CaseInsensitiveTags,
        )));
    });
    caught("case-insensitive tags (oracle)", || {
        block_on(store::query_filters_by_fields_agree_with_matches(&buggy(
            CaseInsensitiveTags,
        )));
    });
    caught("delete across tenants", || {
        block_on(store::tenant_isolation_delete(&buggy(DeleteIgnoresTenant)));
    });
    caught("usage bumps version", || {
        block_on(store::record_usage_updates_usage_columns_only(&buggy(
            UsageBumpsVersion,
        )));
    });
    caught("usage batch id ignored", || {
        block_on(store::record_usage_batch_sent_again_counts_once(&buggy(
            UsageIgnoresBatch,
        )));
    });
    caught("usage batch id ignored (mid-batch failure)", || {
        block_on(store::record_usage_exact_after_failure_mid_batch(&buggy(
            UsageIgnoresBatch,
        )));
    });
    caught("usage marked per batch, not per key", || {
        block_on(store::record_usage_exact_after_failure_mid_batch(&buggy(
            UsageMarksWholeBatch,
        )));
    });
    caught("cursor ignored", || {
        block_on(store::keyset_pagination_with_equal_created_at(&buggy(
            PagingIgnoresCursor,
        )));
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CacheBugKind {
    /// Every hit is written again with a fresh ttl (time-to-idle).
    ExtendsOnRead,
    /// Invalidation forgets the tombstone's version.
    TombstoneWithoutVersion,
    /// A hit claims the full ttl is left, whatever its age.
    ReportsFullTtl,
}

#[derive(Debug)]
struct CacheBug {
    inner: MemoryCache,
    bug: CacheBugKind,
}

#[async_trait]
impl Cache for CacheBug {
    async fn get(&self, lookup: &LookupId) -> Result<Option<CachedRecord>> {
        let hit = self.inner.get(lookup).await?;
        match (self.bug, hit) {
            (CacheBugKind::ExtendsOnRead, Some(hit)) => {
                self.inner.put(&hit.record, Duration::from_secs(60)).await?;
                Ok(Some(hit))
            }
            (CacheBugKind::ReportsFullTtl, Some(hit)) => {
                Ok(Some(CachedRecord::new(hit.record, Duration::from_secs(60))))
            }
            (_, hit) => Ok(hit),
        }
    }
    async fn put(&self, record: &KeyRecord, ttl: Duration) -> Result<()> {
        self.inner.put(record, ttl).await
    }
    async fn invalidate(&self, lookup: &LookupId, version: u64, ttl: Duration) -> Result<()> {
        let version = match self.bug {
            CacheBugKind::TombstoneWithoutVersion => 0,
            CacheBugKind::ExtendsOnRead | CacheBugKind::ReportsFullTtl => version,
        };
        self.inner.invalidate(lookup, version, ttl).await
    }
}

fn cache_bug(bug: CacheBugKind) -> impl FnOnce(ManualClock) -> std::future::Ready<CacheBug> {
    move |clock| {
        let clock: Arc<dyn Clock> = Arc::new(clock);
        std::future::ready(CacheBug {
            inner: MemoryCache::new(clock, 1000),
            bug,
        })
    }
}

#[test]
fn cache_suite_catches_cache_bugs() {
    use CacheBugKind::*;
    caught("reads extend the ttl", || {
        block_on(cache::reads_do_not_extend_ttl(cache_bug(ExtendsOnRead)));
    });
    caught("tombstone without version", || {
        block_on(cache::invalidate_refuses_older_fill(cache_bug(
            TombstoneWithoutVersion,
        )));
    });
    caught("hits claim the full ttl", || {
        block_on(cache::get_reports_remaining_life(cache_bug(ReportsFullTtl)));
    });
    caught("tombstone without version (tombstone ttl)", || {
        block_on(cache::tombstone_expires_after_ttl(cache_bug(
            TombstoneWithoutVersion,
        )));
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LimiterBug {
    /// Checks each limit in its own call, so an earlier one is charged when a later one refuses.
    NotAtomic,
    /// Charges 1 whatever the cost.
    IgnoresCost,
}

#[derive(Debug)]
struct LimiterMutant {
    inner: MemoryLimiter,
    bug: LimiterBug,
}

#[async_trait]
impl RateLimiter for LimiterMutant {
    async fn check(&self, s: &Subject<'_>, p: &LimitPolicy, cost: u32) -> Result<Decision> {
        match self.bug {
            LimiterBug::IgnoresCost => self.inner.check(s, p, 1).await,
            LimiterBug::NotAtomic => {
                let mut tightest = None;
                for part in [
                    LimitPolicy {
                        rate: p.rate,
                        ..LimitPolicy::default()
                    },
                    LimitPolicy {
                        endpoint: p.endpoint,
                        ..LimitPolicy::default()
                    },
                    LimitPolicy {
                        quota: p.quota,
                        ..LimitPolicy::default()
                    },
                ] {
                    match self.inner.check(s, &part, cost).await? {
                        Decision::Allowed {
                            tightest: Some(t), ..
                        } => {
                            tightest = Some(LimitStatus::tightest(tightest, t));
                        }
                        Decision::Allowed { tightest: None, .. } => {}
                        limited => return Ok(limited),
                    }
                }
                Ok(Decision::Allowed {
                    tightest,
                    quota: None,
                })
            }
        }
    }
}

fn limiter_bug(bug: LimiterBug) -> impl FnOnce(ManualClock) -> std::future::Ready<LimiterMutant> {
    move |clock| {
        std::future::ready(LimiterMutant {
            inner: MemoryLimiter::new(Arc::new(clock)),
            bug,
        })
    }
}

/// A quota counter that reads, then writes later: admits more than its limit under concurrency.
/// The request that would take the last unit waits (bounded) until another request has read the
/// same count, so the lost update happens on every run rather than when the scheduler obliges.
#[derive(Debug, Default)]
struct RacyQuota {
    used: Mutex<HashMap<KeyId, u64>>,
    at_edge: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl RateLimiter for RacyQuota {
    async fn check(&self, s: &Subject<'_>, p: &LimitPolicy, cost: u32) -> Result<Decision> {
        let q = p.quota.expect("quota-only policy");
        let used = *self
            .used
            .lock()
            .expect("lock")
            .get(&s.lineage)
            .unwrap_or(&0);
        if used + u64::from(cost) == q.limit {
            use std::sync::atomic::Ordering::SeqCst;
            self.at_edge.fetch_add(1, SeqCst);
            for _ in 0..100_000 {
                if self.at_edge.load(SeqCst) >= 2 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        if used + u64::from(cost) > q.limit {
            let limit = LimitStatus {
                kind: LimitKind::Quota,
                limit: q.limit,
                remaining: 0,
                reset_after: Duration::from_secs(1),
                window: Duration::from_secs(1),
            };
            return Ok(Decision::Limited {
                limit,
                retry_after: Duration::from_secs(1),
            });
        }
        self.used
            .lock()
            .expect("lock")
            .insert(s.lineage, used + u64::from(cost));
        Ok(Decision::Allowed {
            tightest: None,
            quota: None,
        })
    }
}

#[test]
fn limiter_suite_catches_limiter_bugs() {
    use LimiterBug::*;
    caught("quota refusal charged the rate", || {
        block_on(limiter::quota_denial_consumes_no_rate_budget(limiter_bug(
            NotAtomic,
        )));
    });
    caught("endpoint refusal charged the rate", || {
        block_on(limiter::endpoint_denial_consumes_nothing_else(limiter_bug(
            NotAtomic,
        )));
    });
    caught("cost ignored (rate)", || {
        block_on(limiter::rate_cost_above_one(limiter_bug(IgnoresCost)))
    });
    caught("cost ignored (quota)", || {
        block_on(limiter::quota_cost_above_one(limiter_bug(IgnoresCost)))
    });
    caught("racy quota", || {
        block_on_multi_thread(limiter::concurrent_quota_at_limit_admits_one(
            |_clock| async { RacyQuota::default() },
        ));
    });
}
