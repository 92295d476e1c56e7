//! Checked inserts: every record of a batch or none, the key-count limits checked with the
//! insert, and concurrent inserts at a limit admitting exactly the limit.

use apikey_core::tenant::{CheckedInsert, CountLimits};
use apikey_core::{
    AuditEvent, AuditStore, ErrorKind, EventType, KeyFilter, KeyLimit, KeyLimitReached, KeyRecord,
    KeyState, KeyStore, TenantId, TenantScope,
};
use chrono::TimeDelta;

use super::events_of;
use crate::fixtures::{base_time, created, record, tenant};

fn key(t: Option<&TenantId>, owner: Option<&str>, n: i64) -> (KeyRecord, AuditEvent) {
    let mut r = record(t, base_time() + TimeDelta::milliseconds(n));
    r.owner = owner.map(str::to_owned);
    let e = created(&r);
    (r, e)
}

fn checked<S: KeyStore + ?Sized>(store: &S) -> &dyn CheckedInsert {
    store
        .checked()
        .expect("the store offers CheckedInsert (KeyStore::checked)")
}

fn limits(tenant: Option<u32>, owner: Option<u32>) -> CountLimits {
    CountLimits {
        max_per_tenant: tenant,
        max_per_owner: owner,
        ..CountLimits::of(&apikey_core::TenantSettings::default())
    }
}

async fn count<S: KeyStore + ?Sized>(store: &S, t: Option<&TenantId>) -> u64 {
    store.count(t, &KeyFilter::default()).await.expect("count")
}

/// A batch whose last record collides (an alias of an existing key, then a lookup id within the
/// batch) writes none of its records and none of their events.
pub async fn checked_insert_is_all_or_none<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("batch");
    let (mut holder, _) = key(Some(&t), None, 0);
    holder.aliases = vec!["taken".to_owned()];
    let e = created(&holder);
    store.insert(&holder, &e).await.expect("holder");

    let mut batch: Vec<_> = (1..=3).map(|n| key(Some(&t), None, n)).collect();
    batch[2].0.aliases = vec!["taken".to_owned()];
    let err = checked(store)
        .insert_checked(Some(&t), &batch, &CountLimits::none())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let mut twins: Vec<_> = (4..=5).map(|n| key(Some(&t), None, n)).collect();
    twins[1].0.lookup_id = twins[0].0.lookup_id;
    let err = checked(store)
        .insert_checked(Some(&t), &twins, &CountLimits::none())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(
        count(store, Some(&t)).await,
        1,
        "no record of a failed batch is written"
    );
    assert_eq!(
        events_of(store, &[EventType::Created]).await.len(),
        1,
        "nor any of its events"
    );

    let other = tenant("other");
    let err = checked(store)
        .insert_checked(Some(&other), &batch[..1], &CountLimits::none())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidInput,
        "records of another tenant are refused"
    );

    checked(store)
        .insert_checked(Some(&t), &batch[..2], &CountLimits::none())
        .await
        .expect("a good batch");
    assert_eq!(count(store, Some(&t)).await, 3);
}

/// The tenant limit counts the tenant's keys in the counted states only, and refuses a batch
/// that would pass it (naming the limit, its maximum and the count) without writing any of it;
/// the owner limit counts that owner's keys; other tenants and keys without a tenant are apart.
pub async fn checked_insert_limits<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("lim");
    let (a, ea) = key(Some(&t), Some("ann"), 1);
    let (mut dead, _) = key(Some(&t), Some("ann"), 2);
    dead.state = KeyState::Revoked;
    let ed = created(&dead);
    store.insert(&a, &ea).await.expect("a");
    store.insert(&dead, &ed).await.expect("revoked");
    for n in 3..6 {
        let (r, e) = key(Some(&tenant("lim2")), None, n);
        store.insert(&r, &e).await.expect("another tenant's key");
        let (r, e) = key(None, None, n);
        store.insert(&r, &e).await.expect("a key without a tenant");
    }

    let two: Vec<_> = (10..12).map(|n| key(Some(&t), None, n)).collect();
    let err = checked(store)
        .insert_checked(Some(&t), &two, &limits(Some(2), None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitReached);
    let reached = KeyLimitReached::of(&err).expect("names the limit");
    assert_eq!(
        (reached.limit.clone(), reached.max, reached.count),
        (KeyLimit::PerTenant(Some(t.clone())), 2, 1),
        "one counted key (the revoked one is not counted)"
    );
    assert_eq!(
        count(store, Some(&t)).await,
        2,
        "nothing of the refused batch"
    );
    checked(store)
        .insert_checked(Some(&t), &two[..1], &limits(Some(2), None))
        .await
        .expect("fits");

    let (ann, e1) = key(Some(&t), Some("ann"), 20);
    let (bob, e2) = key(Some(&t), Some("bob"), 21);
    let (nobody, e3) = key(Some(&t), None, 22);
    let per_owner = limits(None, Some(1));
    let err = checked(store)
        .insert_checked(Some(&t), &[(ann, e1)], &per_owner)
        .await
        .unwrap_err();
    let reached = KeyLimitReached::of(&err).expect("names the limit");
    assert_eq!(
        reached.limit,
        KeyLimit::PerOwner(Some(t.clone()), "ann".to_owned())
    );
    assert_eq!(reached.count, 1);
    checked(store)
        .insert_checked(Some(&t), &[(bob, e2), (nobody, e3)], &per_owner)
        .await
        .expect("bob and no owner");
    let (bob2, e4) = key(Some(&t), Some("bob"), 23);
    let (bob3, e5) = key(Some(&t), Some("bob"), 24);
    let err = checked(store)
        .insert_checked(Some(&t), &[(bob2, e4), (bob3, e5)], &limits(None, Some(3)))
        .await;
    assert!(err.is_ok(), "bob has 1 of 3: two more fit");

    let (free, e6) = key(None, None, 30);
    let err = checked(store)
        .insert_checked(None, &[(free, e6)], &limits(Some(3), None))
        .await
        .unwrap_err();
    let reached = KeyLimitReached::of(&err).expect("names the limit");
    assert_eq!(
        (reached.limit.clone(), reached.count),
        (KeyLimit::PerTenant(None), 3),
        "keys without a tenant count apart"
    );
}

/// Eight concurrent checked inserts into a tenant with room for three: exactly three succeed and
/// the others are refused by the limit, never admitted on a stale count.
pub async fn checked_insert_serializes<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("race");
    let rows: Vec<_> = (0..8).map(|n| key(Some(&t), Some("o"), n)).collect();
    let limit = limits(Some(3), None);
    let results = futures_util::future::join_all(rows.iter().map(|row| {
        let limit = &limit;
        let t = &t;
        async move {
            checked(store)
                .insert_checked(Some(t), std::slice::from_ref(row), limit)
                .await
        }
    }))
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.kind(), ErrorKind::LimitReached, "{e}");
        }
    }
    assert_eq!(ok, 3, "exactly the limit is admitted");
    assert_eq!(count(store, Some(&t)).await, 3);
    let per_owner = limits(None, Some(5));
    let more: Vec<_> = (10..16).map(|n| key(Some(&t), Some("o"), n)).collect();
    let results = futures_util::future::join_all(more.iter().map(|row| {
        let per_owner = &per_owner;
        let t = &t;
        async move {
            checked(store)
                .insert_checked(Some(t), std::slice::from_ref(row), per_owner)
                .await
        }
    }))
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        2,
        "owner o had 3 of 5"
    );
}

/// A batch larger than any statement's parameter limit (1,200 keys) goes in whole, with no
/// limits to check.
pub async fn checked_insert_large_batch<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("big");
    let batch: Vec<_> = (0..1200)
        .map(|n| {
            let (mut r, _) = key(Some(&t), Some("o"), n);
            r.aliases = vec![format!("alias-{n}")];
            r.tags = vec!["bulk".to_owned()];
            let e = created(&r);
            (r, e)
        })
        .collect();
    checked(store)
        .insert_checked(Some(&t), &batch, &CountLimits::none())
        .await
        .expect("1200 at once");
    assert_eq!(count(store, Some(&t)).await, 1200);
    let page = KeyStore::query(
        store,
        &TenantScope::Tenant(t.clone()),
        &KeyFilter {
            alias: Some("alias-1199".to_owned()),
            ..KeyFilter::default()
        },
    )
    .await
    .expect("query");
    assert_eq!(page.items.len(), 1, "label rows are written too");
}
