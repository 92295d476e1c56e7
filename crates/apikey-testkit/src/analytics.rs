//! The [`AnalyticsStore`] conformance suite: every resolution written by one batch, a batch
//! applied once, sums across flushers, tenants apart, rankings, retention per resolution,
//! erasure, half-open ranges and refused queries. Run it with
//! [`analytics_suite!`](crate::analytics_suite).

use apikey_core::analytics::{
    AnalyticsStore, Ranking, Resolution, SeriesQuery, TopQuery, UsageCounts, UsageCutoffs,
    UsageRange, UsageRow, UsageSubject, total,
};
use apikey_core::store::UsageBatchId;
use apikey_core::{ErrorKind, KeyId, TenantScope};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::fixtures::{base_time, tenant};

/// `base_time()` plus `minutes` and 17.5 seconds (inside the minute, not on its edge).
fn at(minutes: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::minutes(minutes) + TimeDelta::milliseconds(17_500)
}

fn batch(flusher: Uuid, seq: u64, minutes: i64) -> UsageBatchId {
    UsageBatchId {
        flusher,
        seq,
        at: at(minutes),
    }
}

/// Counts with `success` admissions (cost 2 each) and `refused` of every refusal class a key
/// can have.
pub fn counts(success: u64, refused: u64) -> UsageCounts {
    UsageCounts {
        success,
        scope: refused,
        ip: refused,
        state: refused,
        rate_limited: refused,
        quota: refused,
        unavailable: refused,
        invalid: 0,
        cost: success * 2,
    }
}

fn row(key: KeyId, tenant_id: Option<&str>, c: UsageCounts) -> UsageRow {
    UsageRow {
        key_id: Some(key),
        tenant_id: tenant_id.map(tenant),
        counts: c,
    }
}

fn unattributed(invalid: u64) -> UsageRow {
    UsageRow {
        key_id: None,
        tenant_id: None,
        counts: UsageCounts {
            invalid,
            ..UsageCounts::default()
        },
    }
}

/// A range of `days` days from `base_time()`'s day.
fn days(days: i64) -> UsageRange {
    let since = Resolution::Day.bucket(base_time());
    UsageRange {
        since,
        until: since + TimeDelta::days(days),
    }
}

async fn series<S: AnalyticsStore>(
    store: &S,
    scope: &TenantScope,
    subject: UsageSubject,
    resolution: Resolution,
) -> Vec<(DateTime<Utc>, UsageCounts)> {
    store
        .usage_series(
            scope,
            &SeriesQuery {
                subject,
                resolution,
                range: days(1),
            },
        )
        .await
        .expect("series")
        .into_iter()
        .map(|p| (p.bucket, p.counts))
        .collect()
}

/// One batch lands in its minute, its hour and its day, each readable on its own.
pub async fn every_resolution_is_written<S: AnalyticsStore>(store: &S) {
    let k = KeyId::new();
    let f = Uuid::new_v4();
    let c = counts(5, 1);
    assert!(
        store
            .add_usage(batch(f, 1, 3), &[row(k, None, c), unattributed(4)])
            .await
            .expect("add")
    );
    for r in Resolution::ALL {
        let points = series(store, &TenantScope::All, UsageSubject::Key(k), r).await;
        assert_eq!(points, vec![(r.bucket(at(3)), c)], "{r:?}");
    }
    let none = series(
        store,
        &TenantScope::All,
        UsageSubject::Unattributed,
        Resolution::Minute,
    )
    .await;
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].1.invalid, 4);
    let scope = series(
        store,
        &TenantScope::All,
        UsageSubject::Scope,
        Resolution::Hour,
    )
    .await;
    assert_eq!(scope.len(), 1);
    assert_eq!(
        scope[0].1, c,
        "the scope's keys only, not the unattributed row"
    );
}

/// A batch sent again (same flusher and sequence) adds nothing.
pub async fn a_batch_applies_once<S: AnalyticsStore>(store: &S) {
    let k = KeyId::new();
    let id = batch(Uuid::new_v4(), 7, 0);
    let rows = [row(k, Some("acme"), counts(3, 0))];
    assert!(store.add_usage(id, &rows).await.expect("add"));
    assert!(!store.add_usage(id, &rows).await.expect("add again"));
    let points = series(
        store,
        &TenantScope::All,
        UsageSubject::Key(k),
        Resolution::Day,
    )
    .await;
    assert_eq!(points[0].1, counts(3, 0));
}

/// Batches from several flushers (instances) in one minute add up.
pub async fn flushers_add_up<S: AnalyticsStore>(store: &S) {
    let k = KeyId::new();
    for i in 0..3 {
        let id = batch(Uuid::new_v4(), 1, 10);
        store
            .add_usage(id, &[row(k, None, counts(i + 1, i))])
            .await
            .expect("add");
    }
    store
        .add_usage(batch(Uuid::new_v4(), 1, 11), &[row(k, None, counts(10, 0))])
        .await
        .expect("add");
    let minutes = series(
        store,
        &TenantScope::All,
        UsageSubject::Key(k),
        Resolution::Minute,
    )
    .await;
    assert_eq!(minutes.len(), 2);
    assert_eq!(minutes[0].1.success, 6);
    assert_eq!(minutes[0].1.scope, 3);
    assert_eq!(minutes[0].1.cost, 12);
    assert_eq!(minutes[1].1.success, 10);
    let hours = series(
        store,
        &TenantScope::All,
        UsageSubject::Key(k),
        Resolution::Hour,
    )
    .await;
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].1.success, 16);
    assert_eq!(hours[0].1.requests(), 16 + 6 * 3);
}

/// A tenant sees its own keys only, and never the unattributed row.
pub async fn tenants_are_apart<S: AnalyticsStore>(store: &S) {
    let (a, b) = (KeyId::new(), KeyId::new());
    store
        .add_usage(
            batch(Uuid::new_v4(), 1, 0),
            &[
                row(a, Some("acme"), counts(1, 0)),
                row(b, Some("globex"), counts(2, 0)),
                unattributed(9),
            ],
        )
        .await
        .expect("add");
    let acme = TenantScope::Tenant(tenant("acme"));
    let mine = series(store, &acme, UsageSubject::Scope, Resolution::Day).await;
    assert_eq!(total_of(&mine).success, 1);
    let theirs = series(store, &acme, UsageSubject::Key(b), Resolution::Day).await;
    assert!(theirs.is_empty(), "another tenant's key reads as empty");
    let both = series(
        store,
        &acme,
        UsageSubject::Keys(vec![a, b]),
        Resolution::Day,
    )
    .await;
    assert_eq!(total_of(&both).success, 1);
    assert!(
        series(store, &acme, UsageSubject::Unattributed, Resolution::Day)
            .await
            .is_empty()
    );
    let top = store
        .top_keys(&acme, &top_query(Ranking::Requests, 10))
        .await
        .expect("top");
    assert_eq!(top.iter().map(|t| t.key_id).collect::<Vec<_>>(), vec![a]);
}

fn total_of(points: &[(DateTime<Utc>, UsageCounts)]) -> UsageCounts {
    let mut sum = UsageCounts::default();
    for (_, c) in points {
        sum.add(c);
    }
    sum
}

fn top_query(by: Ranking, limit: u32) -> TopQuery {
    TopQuery {
        by,
        resolution: Resolution::Hour,
        range: days(1),
        limit,
    }
}

/// Rankings order by requests or by rejections, most first, ties by key id, empty keys out.
pub async fn top_keys_rank<S: AnalyticsStore>(store: &S) {
    let mut keys: Vec<KeyId> = (0..4).map(|_| KeyId::new()).collect();
    keys.sort();
    let rows = [
        row(keys[0], None, counts(10, 0)),
        row(keys[1], None, counts(1, 3)),
        row(keys[2], None, counts(10, 0)),
        row(keys[3], None, counts(0, 0)),
        unattributed(100),
    ];
    store
        .add_usage(batch(Uuid::new_v4(), 1, 5), &rows)
        .await
        .expect("add");
    let by_requests = store
        .top_keys(&TenantScope::All, &top_query(Ranking::Requests, 10))
        .await
        .expect("top");
    let order: Vec<KeyId> = by_requests.iter().map(|t| t.key_id).collect();
    assert_eq!(
        order,
        vec![keys[1], keys[0], keys[2]],
        "19, 10, 10 (tie by id)"
    );
    assert_eq!(by_requests[0].counts, counts(1, 3));
    let two = store
        .top_keys(&TenantScope::All, &top_query(Ranking::Requests, 2))
        .await
        .expect("top");
    assert_eq!(two.len(), 2);
    let by_rejections = store
        .top_keys(&TenantScope::All, &top_query(Ranking::Rejections, 10))
        .await
        .expect("top");
    assert_eq!(
        by_rejections.iter().map(|t| t.key_id).collect::<Vec<_>>(),
        vec![keys[1]]
    );
}

/// Retention deletes each resolution's buckets before its own cutoff.
pub async fn purge_follows_each_resolution<S: AnalyticsStore>(store: &S) {
    let k = KeyId::new();
    store
        .add_usage(batch(Uuid::new_v4(), 1, 0), &[row(k, None, counts(1, 0))])
        .await
        .expect("add");
    let after = at(0) + TimeDelta::days(1);
    let far = at(0) - TimeDelta::days(1);
    let purged = store
        .purge_usage(&UsageCutoffs {
            minute: after,
            hour: far,
            day: far,
            marks: far,
        })
        .await
        .expect("purge");
    assert!(purged >= 1);
    let key = UsageSubject::Key(k);
    assert!(
        series(store, &TenantScope::All, key.clone(), Resolution::Minute)
            .await
            .is_empty()
    );
    assert_eq!(
        series(store, &TenantScope::All, key.clone(), Resolution::Hour)
            .await
            .len(),
        1
    );
    store
        .purge_usage(&UsageCutoffs {
            minute: after,
            hour: after,
            day: far,
            marks: far,
        })
        .await
        .expect("purge");
    assert!(
        series(store, &TenantScope::All, key.clone(), Resolution::Hour)
            .await
            .is_empty()
    );
    assert_eq!(
        series(store, &TenantScope::All, key, Resolution::Day)
            .await
            .len(),
        1
    );
}

/// Erasure removes every bucket of the named keys and nothing else.
pub async fn erase_removes_the_keys_buckets<S: AnalyticsStore>(store: &S) {
    let (gone, kept) = (KeyId::new(), KeyId::new());
    store
        .add_usage(
            batch(Uuid::new_v4(), 1, 0),
            &[row(gone, None, counts(1, 1)), row(kept, None, counts(1, 0))],
        )
        .await
        .expect("add");
    let erased = store.erase_usage_of(&[gone]).await.expect("erase");
    assert_eq!(erased, 3, "its minute, hour and day");
    for r in Resolution::ALL {
        assert!(
            series(store, &TenantScope::All, UsageSubject::Key(gone), r)
                .await
                .is_empty()
        );
        assert_eq!(
            series(store, &TenantScope::All, UsageSubject::Key(kept), r)
                .await
                .len(),
            1
        );
    }
}

/// `since` counts its whole bucket; `until` is exclusive.
pub async fn ranges_are_half_open<S: AnalyticsStore>(store: &S) {
    let k = KeyId::new();
    for (seq, minute) in [(1, 0), (2, 1), (3, 2)] {
        store
            .add_usage(
                batch(Uuid::nil(), seq, minute),
                &[row(k, None, counts(1, 0))],
            )
            .await
            .expect("add");
    }
    let minute = |m| Resolution::Minute.bucket(at(m));
    let points = store
        .usage_series(
            &TenantScope::All,
            &SeriesQuery {
                subject: UsageSubject::Key(k),
                resolution: Resolution::Minute,
                range: UsageRange {
                    since: at(0) + TimeDelta::seconds(30),
                    until: minute(2),
                },
            },
        )
        .await
        .expect("series");
    assert_eq!(
        points.iter().map(|p| p.bucket).collect::<Vec<_>>(),
        vec![minute(0), minute(1)]
    );
    assert_eq!(total(&points).success, 2);
}

/// Reversed and over-long ranges and odd limits are refused before any read.
pub async fn bad_queries_are_refused<S: AnalyticsStore>(store: &S) {
    let mut reversed = days(1);
    std::mem::swap(&mut reversed.since, &mut reversed.until);
    let queries = [
        SeriesQuery {
            subject: UsageSubject::Scope,
            resolution: Resolution::Day,
            range: reversed,
        },
        SeriesQuery {
            subject: UsageSubject::Scope,
            resolution: Resolution::Minute,
            range: days(30),
        },
    ];
    for q in &queries {
        let e = store
            .usage_series(&TenantScope::All, q)
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    let e = store
        .top_keys(&TenantScope::All, &top_query(Ranking::Requests, 0))
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

/// Counts far beyond 32 bits survive the round trip.
pub async fn large_counts_survive<S: AnalyticsStore>(store: &S) {
    let k = KeyId::new();
    let big = counts(1 << 40, 1 << 33);
    store
        .add_usage(batch(Uuid::new_v4(), 1, 0), &[row(k, None, big)])
        .await
        .expect("add");
    store
        .add_usage(batch(Uuid::new_v4(), 1, 0), &[row(k, None, big)])
        .await
        .expect("add");
    let points = series(
        store,
        &TenantScope::All,
        UsageSubject::Key(k),
        Resolution::Day,
    )
    .await;
    assert_eq!(points[0].1.success, 2 << 40);
    assert_eq!(points[0].1.cost, 4 << 40);
}
