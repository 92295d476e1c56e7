//! The [`AuditStore`] conformance suite: the events that `insert`, `update` and `delete` wrote,
//! queried by key, action, time range and (at, id) pages, tenant-scoped, and purged by age.
//!
//! Each case takes a fresh, empty store implementing both [`KeyStore`] and [`AuditStore`]; run
//! them all with [`audit_store_suite!`](crate::audit_store_suite).

use apikey_core::audit::AuditFilter;
use apikey_core::{
    AuditEvent, AuditStore, EventSubject, EventType, KeyRecord, KeyStore, KeyView, TenantScope,
};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::fixtures::{self, base_time, tenant};
use crate::store::support::insert;

fn secs(s: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::seconds(s)
}

/// The events of `all` visible in `tenant` and matching `filter`, in (at, id) order.
fn oracle(all: &[AuditEvent], tenant: &TenantScope, filter: &AuditFilter) -> Vec<AuditEvent> {
    let mut out: Vec<AuditEvent> = all
        .iter()
        .filter(|e| tenant.admits(e.tenant_id.as_ref()) && filter.matches(e))
        .cloned()
        .collect();
    out.sort_by_key(|e| (e.at, e.id));
    out.truncate(filter.page_size());
    out
}

/// The query's answer, positions checked (every stored event has one) and then cleared, so it
/// compares with the events as written.
async fn query<S>(store: &S, tenant: &TenantScope, filter: &AuditFilter) -> Vec<AuditEvent>
where
    S: AuditStore + ?Sized,
{
    let got = AuditStore::query(store, tenant, filter)
        .await
        .expect("audit query");
    unpositioned(got)
}

/// `events` with their positions cleared, after checking each has one.
pub(crate) fn unpositioned(events: Vec<AuditEvent>) -> Vec<AuditEvent> {
    events
        .into_iter()
        .map(|mut e| {
            assert!(
                e.position.is_some(),
                "stored event {} has no position",
                e.id
            );
            e.position = None;
            e
        })
        .collect()
}

/// Applies an update from `current` at `at` with `action`, returning the new record and event.
async fn update<S>(
    store: &S,
    current: &KeyRecord,
    action: EventType,
    at: DateTime<Utc>,
) -> (KeyRecord, AuditEvent)
where
    S: KeyStore + ?Sized,
{
    let mut next = fixtures::next_version(current, at);
    next.name = format!("{} v{}", current.name, next.version);
    let event = fixtures::event(action, Some(current), Some(&next), at);
    store
        .update(&TenantScope::All, current.version, &next, &event)
        .await
        .expect("update");
    (next, event)
}

/// Two keys in two tenants (and one without tenant) with creations, updates, a revocation and a
/// deletion spread over time; returns every event written.
async fn history<S>(store: &S) -> (Vec<AuditEvent>, KeyRecord, KeyRecord)
where
    S: KeyStore + ?Sized,
{
    let a = fixtures::full_record(Some(&tenant("tenant-a")), secs(0));
    let b = fixtures::full_record(Some(&tenant("tenant-b")), secs(1));
    let c = fixtures::record(None, secs(2));
    let mut events = vec![
        insert(store, &a).await,
        insert(store, &b).await,
        insert(store, &c).await,
    ];
    let (a2, e) = update(store, &a, EventType::Updated, secs(10)).await;
    events.push(e);
    let (_b2, e) = update(store, &b, EventType::Updated, secs(10)).await;
    events.push(e);
    let (a3, e) = update(store, &a2, EventType::Revoked, secs(20)).await;
    events.push(e);
    let deleted = fixtures::deleted(&c, secs(30));
    assert!(
        store
            .delete(&TenantScope::All, c.id, &deleted)
            .await
            .expect("delete")
    );
    events.push(deleted);
    (events, a3, c)
}

/// Events of one key, oldest first, equal to what was written (record before and after included).
pub async fn events_by_key_id<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (all, a, c) = history(store).await;
    for key in [a.id, c.id] {
        let filter = AuditFilter::key(key);
        let want = oracle(&all, &TenantScope::All, &filter);
        assert!(want.len() >= 2);
        assert_eq!(
            query(store, &TenantScope::All, &filter).await,
            want,
            "events of key {key}"
        );
    }
    let unknown = AuditFilter::key(apikey_core::KeyId::new());
    assert_eq!(query(store, &TenantScope::All, &unknown).await, vec![]);
}

/// Filtering by one or several actions, alone and with a key id.
pub async fn events_by_action<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (all, a, _) = history(store).await;
    use EventType::{Created, Deleted, Revoked, Rotated, Updated};
    for (key_id, actions) in [
        (None, vec![Created]),
        (None, vec![Updated]),
        (None, vec![Updated, Deleted]),
        (None, vec![Revoked, Created]),
        (None, vec![Rotated]),
        (Some(a.id), vec![Updated, Revoked]),
        (None, vec![]),
    ] {
        let filter = AuditFilter {
            subject: key_id.map(EventSubject::Key),
            types: actions,
            ..AuditFilter::default()
        };
        let want = oracle(&all, &TenantScope::All, &filter);
        assert_eq!(
            query(store, &TenantScope::All, &filter).await,
            want,
            "{filter:?}"
        );
    }
}

/// `from` inclusive and `to` exclusive, with bounds exactly on event instants.
pub async fn events_by_time_range<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (all, _, _) = history(store).await;
    let ms = TimeDelta::milliseconds;
    for (from, to) in [
        (Some(secs(10)), None),
        (None, Some(secs(10))),
        (Some(secs(1)), Some(secs(20))),
        (Some(secs(10)), Some(secs(10) + ms(1))),
        (Some(secs(20) + ms(1)), Some(secs(30))),
        (Some(secs(30)), Some(secs(30))),
        (Some(secs(31)), None),
    ] {
        let filter = AuditFilter {
            from,
            to,
            ..AuditFilter::default()
        };
        let want = oracle(&all, &TenantScope::All, &filter);
        assert_eq!(
            query(store, &TenantScope::All, &filter).await,
            want,
            "{filter:?}"
        );
    }
}

/// Pages of 3 over 21 events of which groups share one instant (random event ids), following
/// `after = (at, id)` of the last event: each event once, in (at, id) order.
pub async fn pagination_by_at_and_id<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut current = fixtures::record(None, secs(0));
    let mut all = vec![insert(store, &current).await];
    for i in 0..20 {
        let at = secs(match i {
            0..6 => 1,
            6..16 => 2,
            _ => 3 + i,
        });
        let next = fixtures::next_version(&current, at);
        let mut event = fixtures::updated(&current, &next);
        event.id = Uuid::new_v4();
        store
            .update(&TenantScope::All, current.version, &next, &event)
            .await
            .expect("update");
        all.push(event);
        current = next;
    }
    let want = oracle(&all, &TenantScope::All, &AuditFilter::default());
    assert_eq!(want.len(), 21);
    let mut filter = AuditFilter {
        limit: 3,
        ..AuditFilter::default()
    };
    let mut got: Vec<AuditEvent> = Vec::new();
    for _ in 0..=want.len() {
        let page = query(store, &TenantScope::All, &filter).await;
        assert!(
            page.len() <= 3,
            "page of {} events for a limit of 3",
            page.len()
        );
        let Some(last) = page.last() else { break };
        filter.after = Some((last.at, last.id));
        got.extend(page);
    }
    let ids = |v: &[AuditEvent]| v.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&got), ids(&want), "events walked in pages of 3");
    assert_eq!(got, want);
}

/// A tenant sees only its own keys' events; the operator scope sees every event.
pub async fn tenant_scoped<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (all, _, _) = history(store).await;
    for scope in [
        TenantScope::Tenant(tenant("tenant-a")),
        TenantScope::Tenant(tenant("tenant-b")),
        TenantScope::Tenant(tenant("tenant-z")),
        TenantScope::All,
    ] {
        for filter in [
            AuditFilter::default(),
            AuditFilter {
                types: vec![EventType::Updated],
                ..AuditFilter::default()
            },
        ] {
            let want = oracle(&all, &scope, &filter);
            assert_eq!(
                query(store, &scope, &filter).await,
                want,
                "{scope:?} {filter:?}"
            );
        }
    }
}

/// `purge_before(t)` deletes exactly the events with `at < t` (every tenant), returns that count,
/// keeps the key records, and is idempotent.
pub async fn purge_before_removes_only_older<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (all, a, _) = history(store).await;
    let cut = secs(10);
    let older = all.iter().filter(|e| e.at < cut).count();
    assert!(older > 0 && older < all.len());
    assert_eq!(
        store.purge_before(cut).await.expect("purge"),
        older as u64,
        "purged count"
    );
    let rest: Vec<AuditEvent> = all.iter().filter(|e| e.at >= cut).cloned().collect();
    let want = oracle(&rest, &TenantScope::All, &AuditFilter::default());
    assert_eq!(
        query(store, &TenantScope::All, &AuditFilter::default()).await,
        want
    );
    assert_eq!(store.purge_before(cut).await.expect("purge again"), 0);
    assert_eq!(
        store.get(&TenantScope::All, a.id).await.expect("get"),
        Some(a)
    );
}

/// Events carry the key's public view before and after (every field), actor, reason and version,
/// read back equal: creation (no before), update (both), deletion (no after).
pub async fn before_and_after_round_trip<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("tenant-a");
    let v1 = fixtures::full_record(Some(&t), secs(0));
    let mut created = fixtures::created(&v1);
    created.reason = Some("onboarding «billing» — 'quoted' \\ 🔑".to_owned());
    store.insert(&v1, &created).await.expect("insert");
    let mut v2 = fixtures::full_record(Some(&t), secs(0));
    v2.id = v1.id;
    v2.lookup_id = v1.lookup_id;
    v2.version = v1.version + 1;
    v2.updated_at = secs(5);
    let mut updated = fixtures::event(EventType::Rotated, Some(&v1), Some(&v2), secs(5));
    updated.actor = None;
    store
        .update(&TenantScope::All, v1.version, &v2, &updated)
        .await
        .expect("update");
    let deleted = fixtures::deleted(&v2, secs(6));
    assert!(
        store
            .delete(&TenantScope::All, v1.id, &deleted)
            .await
            .expect("delete")
    );
    let filter = AuditFilter::key(v1.id);
    let got = query(store, &TenantScope::Tenant(t), &filter).await;
    assert_eq!(got, vec![created, updated, deleted]);
    assert_eq!(got[1].before.as_deref(), Some(&KeyView::from(&v1)));
    assert_eq!(got[1].after.as_deref(), Some(&KeyView::from(&v2)));
}
