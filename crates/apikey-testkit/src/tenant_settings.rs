//! The [`TenantSettingsStore`] conformance suite: every field round-trips, an absent row is
//! `None`, writes are compare-and-set on the version (a refused write changes nothing and
//! records no event), each write commits its audit event, the default row (no tenant) is a row
//! of its own, and tenant ids at the edges of what [`TenantId`] admits stay apart.
//!
//! Each case takes a fresh, empty store implementing [`TenantSettingsStore`] and
//! [`AuditStore`]; run them all with [`tenant_settings_suite!`](crate::tenant_settings_suite).

use apikey_core::analytics::{
    AnalyticsStore, Resolution, SeriesQuery, UsageCounts, UsageRange, UsageRow, UsageSubject,
};
use apikey_core::audit::AuditFilter;
use apikey_core::request_log::{RequestLogMode, RequestLogSettings};
use apikey_core::store::UsageBatchId;
use apikey_core::tenant::{self, Retention, settings_event};
use apikey_core::{
    AuditEvent, AuditStore, ErrorKind, EventSubject, EventType, KeyId, KeyState, TenantId,
    TenantScope, TenantSettings, TenantSettingsStore,
};
use chrono::{DateTime, TimeDelta, Utc};

use crate::fixtures::{base_time, tenant};

fn secs(s: i64) -> DateTime<Utc> {
    // An odd millisecond, so a store that keeps seconds only is caught.
    base_time() + TimeDelta::seconds(s) + TimeDelta::milliseconds(7)
}

/// Settings with every field away from its default.
pub fn every_field_set() -> TenantSettings {
    TenantSettings {
        approval_required: true,
        max_keys_per_tenant: Some(u32::MAX),
        max_keys_per_owner: Some(0),
        counted_states: vec![KeyState::Revoked, KeyState::Pending],
        retention: Retention {
            audit_days: Some(400),
            usage_days: Some(800),
        },
        threats: apikey_core::threat::TenantThreats {
            network_spread: Some(apikey_core::threat::KeyDetectorSetting {
                action: apikey_core::threat::TenantThreatAction::Suspend,
                threshold: Some(7),
            }),
            rate_surge: Some(apikey_core::threat::KeyDetectorSetting {
                action: apikey_core::threat::TenantThreatAction::Off,
                threshold: None,
            }),
        },
        request_log: RequestLogSettings {
            mode: RequestLogMode::Sampled { one_in: 7 },
            retention_days: 90,
            // A fixed id: the suite compares settings read back with a fresh copy of these.
            keys: [(
                "0190a6a4-0000-7000-8000-000000000001"
                    .parse::<apikey_core::KeyId>()
                    .expect("fixture key id"),
                RequestLogMode::Full,
            )]
            .into(),
        },
    }
}

fn limited(n: u32) -> TenantSettings {
    TenantSettings {
        max_keys_per_tenant: Some(n),
        ..TenantSettings::default()
    }
}

fn event(t: Option<&TenantId>, version: u64, s: &TenantSettings, at: i64) -> AuditEvent {
    settings_event(
        t,
        version,
        s,
        secs(at),
        Some("admin 'x'; DROP TABLE apikey_keys; --".into()),
        Some("raise the limit \u{1F511} \"quoted\" \\ back".into()),
    )
    .expect("event")
}

async fn put<S>(store: &S, t: Option<&TenantId>, expected: u64, s: &TenantSettings, at: i64) -> u64
where
    S: TenantSettingsStore + ?Sized,
{
    store
        .put(t, expected, s, &event(t, expected + 1, s, at))
        .await
        .expect("put")
}

async fn get<S>(store: &S, t: Option<&TenantId>) -> Option<apikey_core::StoredSettings>
where
    S: TenantSettingsStore + ?Sized,
{
    TenantSettingsStore::get(store, t).await.expect("get")
}

/// The settings events stored for `t` (by subject; the default row's by type and no tenant).
async fn events_of<S>(store: &S, t: Option<&TenantId>) -> Vec<AuditEvent>
where
    S: AuditStore + ?Sized,
{
    let filter = AuditFilter {
        subject: t.cloned().map(EventSubject::Tenant),
        types: vec![EventType::TenantSettingsUpdated],
        limit: 1000,
        ..AuditFilter::default()
    };
    AuditStore::query(store, &TenantScope::All, &filter)
        .await
        .expect("query audit")
        .into_iter()
        .filter(|e| e.tenant_id.as_ref() == t)
        .collect()
}

/// Every field of the settings, the version and `updated_at` (the event's instant, to the
/// millisecond) come back as written, for a tenant and for the default row.
pub async fn round_trip_every_field<S>(store: &S)
where
    S: TenantSettingsStore + ?Sized,
{
    let acme = tenant("acme");
    let s = every_field_set();
    assert_eq!(put(store, Some(&acme), 0, &s, 1).await, 1);
    let got = get(store, Some(&acme)).await.expect("stored row");
    assert_eq!(got.settings, s);
    assert_eq!(got.version, 1);
    assert_eq!(
        got.updated_at,
        secs(1),
        "updated_at is the event's instant, in ms"
    );

    let d = TenantSettings::default();
    assert_eq!(put(store, None, 0, &d, 2).await, 1);
    let got = get(store, None).await.expect("default row");
    assert_eq!(got.settings, d);
    assert_eq!(got.updated_at, secs(2));
}

/// A row never written is `None`, for a tenant and for the default row.
pub async fn absent_is_none<S>(store: &S)
where
    S: TenantSettingsStore + ?Sized,
{
    assert_eq!(get(store, None).await, None);
    assert_eq!(get(store, Some(&tenant("nobody"))).await, None);
}

/// Version 0 creates; every later write names the stored version. A stale, ahead or
/// already-existing version is `Conflict` and leaves the row as it was.
pub async fn compare_and_set<S>(store: &S)
where
    S: TenantSettingsStore + ?Sized,
{
    let t = tenant("cas");
    let t = Some(&t);
    assert_eq!(put(store, t, 0, &limited(1), 1).await, 1);
    for (expected, why) in [(0, "exists already"), (2, "ahead"), (7, "far ahead")] {
        let err = store
            .put(
                t,
                expected,
                &limited(99),
                &event(t, expected + 1, &limited(99), 2),
            )
            .await
            .expect_err(why);
        assert_eq!(err.kind(), ErrorKind::Conflict, "{why}: {err}");
    }
    assert_eq!(get(store, t).await.expect("row").settings, limited(1));
    assert_eq!(put(store, t, 1, &limited(2), 3).await, 2);
    let err = store
        .put(t, 1, &limited(99), &event(t, 2, &limited(99), 4))
        .await
        .expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let got = get(store, t).await.expect("row");
    assert_eq!((got.settings, got.version), (limited(2), 2));
    assert_eq!(got.updated_at, secs(3));
    // A version with no row is no version at all.
    let fresh = tenant("fresh");
    let err = store
        .put(
            Some(&fresh),
            1,
            &limited(3),
            &event(Some(&fresh), 2, &limited(3), 5),
        )
        .await
        .expect_err("no row at version 1");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(get(store, Some(&fresh)).await, None);
}

/// Each write commits its event (type, subject, tenant, actor, reason, data as written, even
/// hostile text); a refused write records none.
pub async fn events_commit_with_the_write<S>(store: &S)
where
    S: TenantSettingsStore + AuditStore + ?Sized,
{
    let t = tenant("audited");
    let t = Some(&t);
    let written = event(t, 1, &every_field_set(), 1);
    store
        .put(t, 0, &every_field_set(), &written)
        .await
        .expect("put");
    let mut got = events_of(store, t).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].position.is_some());
    got[0].position = None;
    assert_eq!(got[0], written);
    let data = got[0].data.as_ref().expect("data");
    assert_eq!(data["version"], 1);
    let back: TenantSettings =
        serde_json::from_value(data["settings"].clone()).expect("settings in data");
    assert_eq!(back, every_field_set());

    let refused = event(t, 1, &limited(5), 2);
    assert!(store.put(t, 0, &limited(5), &refused).await.is_err());
    assert_eq!(
        events_of(store, t).await.len(),
        1,
        "a refused write records no event"
    );
    let all = store.read_after(0, 1000).await.expect("read_after");
    assert!(all.iter().all(|e| e.id != refused.id));

    put(store, t, 1, &limited(6), 3).await;
    assert_eq!(events_of(store, t).await.len(), 2);
}

/// The default row and the rows of tenants are separate: writing one never changes, creates or
/// answers for another, and the default row's events carry no tenant.
pub async fn default_row_is_separate<S>(store: &S)
where
    S: TenantSettingsStore + AuditStore + ?Sized,
{
    let a = tenant("a");
    assert_eq!(put(store, None, 0, &limited(10), 1).await, 1);
    assert_eq!(get(store, Some(&a)).await, None, "no fallback in get");
    assert_eq!(put(store, Some(&a), 0, &limited(20), 2).await, 1);
    assert_eq!(put(store, Some(&a), 1, &limited(21), 3).await, 2);
    let d = get(store, None).await.expect("default row");
    assert_eq!((d.settings, d.version), (limited(10), 1));
    assert_eq!(put(store, None, 1, &limited(11), 4).await, 2);
    assert_eq!(get(store, Some(&a)).await.expect("a").settings, limited(21));

    let defaults = events_of(store, None).await;
    assert_eq!(defaults.len(), 2);
    assert!(defaults.iter().all(|e| e.subject.is_none()));
    assert_eq!(events_of(store, Some(&a)).await.len(), 2);

    // Resolution over this store: own row, else the default row, else the built-in default.
    assert_eq!(
        tenant::effective(store, Some(&a)).await.expect("a"),
        limited(21)
    );
    assert_eq!(
        tenant::effective(store, Some(&tenant("b")))
            .await
            .expect("b"),
        limited(11)
    );
    assert_eq!(
        tenant::effective(store, None).await.expect("none"),
        limited(11)
    );
}

/// With no rows at all, every tenant resolves to the built-in default.
pub async fn effective_without_rows_is_the_default<S>(store: &S)
where
    S: TenantSettingsStore + ?Sized,
{
    assert_eq!(
        tenant::effective(store, Some(&tenant("x")))
            .await
            .expect("x"),
        TenantSettings::default()
    );
    assert_eq!(
        tenant::effective(store, None).await.expect("none"),
        TenantSettings::default()
    );
}

/// Tenant ids at the edges of what [`TenantId`] admits — case, every punctuation it allows,
/// the longest — are distinct rows, each found exactly.
pub async fn tenant_ids_at_the_edges<S>(store: &S)
where
    S: TenantSettingsStore + ?Sized,
{
    let long = "z".repeat(64);
    let ids = ["acme", "Acme", "ACME", "a:b.c-d_e", "0", "_", "a.", &long];
    for (i, id) in ids.iter().enumerate() {
        let n = u32::try_from(i).expect("small");
        put(store, Some(&tenant(id)), 0, &limited(n), 1).await;
    }
    for (i, id) in ids.iter().enumerate() {
        let n = u32::try_from(i).expect("small");
        let got = get(store, Some(&tenant(id))).await.expect("row");
        assert_eq!(got.settings, limited(n), "tenant {id:?}");
    }
    assert_eq!(get(store, Some(&tenant("acm"))).await, None);
    assert_eq!(
        get(store, None).await,
        None,
        "no tenant write touches the default row"
    );
}

/// `list` returns every row, the default row as `None`, each with what `get` returns.
pub async fn list_returns_every_row<S>(store: &S)
where
    S: TenantSettingsStore + ?Sized,
{
    let a = tenant("listed-a");
    let b = tenant("listed-b");
    put(store, None, 0, &limited(1), 1).await;
    put(store, Some(&a), 0, &every_field_set(), 2).await;
    put(store, Some(&b), 0, &limited(3), 3).await;
    put(store, Some(&b), 1, &limited(4), 4).await;
    let mut rows = store.list().await.expect("list");
    rows.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for (t, stored) in &rows {
        assert_eq!(Some(stored), get(store, t.as_ref()).await.as_ref(), "{t:?}");
    }
    assert_eq!(rows[0].0, None);
    assert_eq!(rows[2].0.as_ref(), Some(&b));
    assert_eq!(rows[2].1.version, 2);
}

/// The rows both retention cases run on, the days set by `set` in the retention field under
/// test: the default row keeps 90 days, the first tenant 30 on a row of its own, the second has
/// a row of its own that sets none, the third no row.
async fn retention_rows<S>(
    store: &S,
    names: [&str; 3],
    set: fn(&mut Retention, Option<u32>),
) -> [TenantId; 3]
where
    S: TenantSettingsStore + ?Sized,
{
    let days = |d: Option<u32>| {
        let mut s = TenantSettings::default();
        set(&mut s.retention, d);
        s
    };
    let [short, own_unset, plain] = names.map(tenant);
    put(store, None, 0, &days(Some(90)), 1).await;
    put(store, Some(&short), 0, &days(Some(30)), 2).await;
    put(store, Some(&own_unset), 0, &days(None), 3).await;
    [short, own_unset, plain]
}

/// The audit retention job applies each tenant's `audit_days` to its own events: a tenant with
/// a row of its own by that row (none set: the job's retention), every other event by the
/// default row.
pub async fn retention_applies_each_tenants_rule<S>(store: &S)
where
    S: TenantSettingsStore + AuditStore + Clone + 'static,
{
    use std::sync::Arc;

    use apikey_core::jobs::builtin::AuditRetention;
    use apikey_core::jobs::{Job, JobRun};
    use apikey_core::{Clock, ManualClock};

    let [short, own_unset, plain] = retention_rows(
        store,
        ["keeps-30-days", "own-row-no-days", "no-row"],
        |r, d| r.audit_days = d,
    )
    .await;
    // Events 40, 100 and 400 days old, of each tenant and of none.
    let now = base_time() + TimeDelta::days(500);
    let whose = [Some(&short), Some(&own_unset), Some(&plain), None];
    for t in whose {
        for age in [40, 100, 400] {
            let e = AuditEvent::system(
                EventType::AuthFailures,
                None,
                t.cloned(),
                now - TimeDelta::days(age),
                None,
                &[&format!("{t:?}"), &age.to_string()],
            );
            assert!(store.append(&e).await.expect("append"));
        }
    }
    let clock = ManualClock::new(now);
    let job = AuditRetention::new(
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
        std::time::Duration::from_secs(365 * 86_400),
    )
    .expect("job")
    .with_tenant_settings(Arc::new(store.clone()));
    let run = JobRun {
        job: AuditRetention::NAME.into(),
        period: 0,
        start: clock.now(),
        end: clock.now(),
        fence: 1,
    };
    job.run(&run).await.expect("purge");
    let left = store.read_after(0, 1000).await.expect("read");
    let ages = |t: Option<&TenantId>| {
        let mut a: Vec<i64> = left
            .iter()
            .filter(|e| e.event_type == EventType::AuthFailures && e.tenant_id.as_ref() == t)
            .map(|e| (now - e.at).num_days())
            .collect();
        a.sort_unstable();
        a
    };
    assert_eq!(ages(Some(&short)), Vec::<i64>::new(), "its own 30 days");
    assert_eq!(
        ages(Some(&own_unset)),
        [40, 100],
        "its own row sets none: the job's year"
    );
    assert_eq!(
        ages(Some(&plain)),
        [40],
        "no row: the default row's 90 days"
    );
    assert_eq!(ages(None), [40], "no tenant: the default row's 90 days");
    // Run again: nothing more goes.
    job.run(&run).await.expect("purge again");
    let again = store.read_after(0, 1000).await.expect("read");
    assert_eq!(
        again
            .iter()
            .filter(|e| e.event_type == EventType::AuthFailures)
            .count(),
        4
    );
}

/// The usage retention job applies each tenant's `usage_days` by the same plan as the audit
/// job: a tenant's own row (none set: the job's retention), else the default row, which also
/// rules the unattributed row and keys without a tenant.
pub async fn usage_retention_applies_each_tenants_rule<S>(store: &S)
where
    S: TenantSettingsStore + AnalyticsStore + Clone + 'static,
{
    use std::sync::Arc;

    use apikey_core::ManualClock;
    use apikey_core::analytics::{UsageRetention, UsageRetentionJob};
    use apikey_core::jobs::{Job, JobRun};

    let [short, own_unset, plain] = retention_rows(
        store,
        ["usage-30-days", "usage-own-row", "usage-no-row"],
        |r, d| r.usage_days = d,
    )
    .await;
    // A key of each tenant and one of none, used 40, 100 and 400 days before `now`, and
    // refusals before any key was known.
    let now = base_time() + TimeDelta::days(500);
    let whose = [Some(&short), Some(&own_unset), Some(&plain), None];
    let keys: Vec<KeyId> = whose.iter().map(|_| KeyId::new()).collect();
    for (seq, age) in [40, 100, 400].into_iter().enumerate() {
        let mut rows: Vec<UsageRow> = whose
            .iter()
            .zip(&keys)
            .map(|(t, k)| UsageRow {
                key_id: Some(*k),
                tenant_id: t.cloned(),
                counts: crate::analytics::counts(1, 0),
            })
            .collect();
        rows.push(UsageRow {
            key_id: None,
            tenant_id: None,
            counts: UsageCounts {
                invalid: 1,
                ..UsageCounts::default()
            },
        });
        let batch = UsageBatchId {
            flusher: uuid::Uuid::new_v4(),
            seq: u64::try_from(seq).expect("small") + 1,
            at: now - TimeDelta::days(age),
        };
        assert!(store.add_usage(batch, &rows).await.expect("add"));
    }
    let clock = ManualClock::new(now);
    let job = UsageRetentionJob::new(
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
        UsageRetention {
            minutes: TimeDelta::days(7),
            hours: TimeDelta::days(30),
            days: TimeDelta::days(365),
        },
    )
    .expect("job")
    .with_tenant_settings(Arc::new(store.clone()));
    let run = JobRun {
        job: UsageRetentionJob::NAME.into(),
        period: 0,
        start: now,
        end: now,
        fence: 1,
    };
    // The day buckets left: their ages.
    let ages = |scope: TenantScope, subject: UsageSubject| {
        let store = store.clone();
        async move {
            let q = SeriesQuery {
                subject,
                resolution: Resolution::Day,
                range: UsageRange {
                    since: now - TimeDelta::days(600),
                    until: now,
                },
            };
            let points = store.usage_series(&scope, &q).await.expect("series");
            points
                .iter()
                .map(|p| (Resolution::Day.bucket(now) - p.bucket).num_days())
                .collect::<Vec<i64>>()
        }
    };
    let all = || TenantScope::All;
    let key = |i: usize| UsageSubject::Key(keys[i]);
    assert_eq!(
        ages(all(), key(0)).await,
        [400, 100, 40],
        "all there before"
    );
    for _ in 0..2 {
        // A second run deletes nothing more.
        job.run(&run).await.expect("purge");
        assert_eq!(
            ages(all(), key(0)).await,
            Vec::<i64>::new(),
            "its own 30 days"
        );
        assert_eq!(
            ages(TenantScope::Tenant(short.clone()), UsageSubject::Scope).await,
            Vec::<i64>::new(),
            "its tenant total too"
        );
        assert_eq!(
            ages(all(), key(1)).await,
            [100, 40],
            "its own row sets none: the job's year"
        );
        assert_eq!(
            ages(all(), key(2)).await,
            [40],
            "no row: the default's 90 days"
        );
        assert_eq!(ages(all(), key(3)).await, [40], "no tenant: the default's");
        assert_eq!(
            ages(all(), UsageSubject::Unattributed).await,
            [40],
            "the unattributed row: the default's"
        );
        assert_eq!(
            ages(TenantScope::Tenant(own_unset.clone()), UsageSubject::Scope).await,
            [100, 40]
        );
    }
}
