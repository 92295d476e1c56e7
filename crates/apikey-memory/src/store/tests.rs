//! Unit tests of [`MemoryStore`]: CRUD, tenancy, optimistic concurrency, usage, pagination, audit.

use apikey_core::record::LegacyPrefix;
use apikey_core::{
    AuditFilter, AuditStore, ErrorKind, EventType, KeyFilter, KeyId, KeyState, KeyStore, LookupId,
    TenantId, TenantScope, UsageUpdate,
};
use chrono::Duration;

use super::MemoryStore;
use crate::fixtures::{event, record, t0};

fn tenant(t: &str) -> TenantScope {
    TenantScope::Tenant(TenantId::new(t).unwrap())
}

#[tokio::test]
async fn insert_get_find_and_delete() {
    let store = MemoryStore::new();
    let r = record(None, 0);
    store
        .insert(&r, &event(&r, EventType::Created, t0()))
        .await
        .unwrap();

    assert_eq!(
        store.get(&TenantScope::All, r.id).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store.find_by_lookup_id(&r.lookup_id).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store
            .find_by_lookup_id(&LookupId::generate())
            .await
            .unwrap(),
        None
    );

    let gone = event(&r, EventType::Deleted, t0());
    assert!(store.delete(&TenantScope::All, r.id, &gone).await.unwrap());
    assert!(!store.delete(&TenantScope::All, r.id, &gone).await.unwrap());
    assert_eq!(store.get(&TenantScope::All, r.id).await.unwrap(), None);
    assert_eq!(store.find_by_lookup_id(&r.lookup_id).await.unwrap(), None);
}

#[tokio::test]
async fn duplicate_id_or_lookup_id_is_conflict() {
    let store = MemoryStore::new();
    let r = record(None, 0);
    store
        .insert(&r, &event(&r, EventType::Created, t0()))
        .await
        .unwrap();

    let err = store
        .insert(&r, &event(&r, EventType::Created, t0()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    let mut same_lookup = record(None, 1);
    same_lookup.lookup_id = r.lookup_id;
    let err = store
        .insert(&same_lookup, &event(&same_lookup, EventType::Created, t0()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        store.get(&TenantScope::All, same_lookup.id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn other_tenants_keys_are_invisible() {
    let store = MemoryStore::new();
    let a = record(Some("a"), 0);
    store
        .insert(&a, &event(&a, EventType::Created, t0()))
        .await
        .unwrap();

    assert_eq!(store.get(&tenant("b"), a.id).await.unwrap(), None);
    assert!(store.get(&tenant("a"), a.id).await.unwrap().is_some());

    let mut changed = a.clone();
    changed.version = 2;
    let err = store
        .update(
            &tenant("b"),
            1,
            &changed,
            &event(&changed, EventType::Updated, t0()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let del = event(&a, EventType::Deleted, t0());
    assert!(!store.delete(&tenant("b"), a.id, &del).await.unwrap());
    assert!(
        KeyStore::query(&store, &tenant("b"), &KeyFilter::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        AuditStore::query(&store, &tenant("b"), &AuditFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        AuditStore::query(&store, &tenant("a"), &AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn update_is_compare_and_set_with_its_audit_event() {
    let store = MemoryStore::new();
    let r = record(None, 0);
    store
        .insert(&r, &event(&r, EventType::Created, t0()))
        .await
        .unwrap();

    let mut revoked = r.clone();
    revoked.state = KeyState::Revoked;
    revoked.version = 2;
    let ev = event(&revoked, EventType::Revoked, t0() + Duration::seconds(1));
    store
        .update(&TenantScope::All, 1, &revoked, &ev)
        .await
        .unwrap();
    assert_eq!(
        store.get(&TenantScope::All, r.id).await.unwrap(),
        Some(revoked.clone())
    );

    // A writer that read version 1 loses instead of overwriting the revocation.
    let mut stale = r.clone();
    stale.name = "renamed".into();
    stale.version = 2;
    let stale_ev = event(&stale, EventType::Updated, t0() + Duration::seconds(2));
    let err = store
        .update(&TenantScope::All, 1, &stale, &stale_ev)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        store.get(&TenantScope::All, r.id).await.unwrap(),
        Some(revoked)
    );

    let log = AuditStore::query(&store, &TenantScope::All, &AuditFilter::default())
        .await
        .unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.event_type).collect();
    assert_eq!(actions, [EventType::Created, EventType::Revoked]);

    let missing = record(None, 5);
    let err = store
        .update(
            &TenantScope::All,
            1,
            &missing,
            &event(&missing, EventType::Updated, t0()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn update_cannot_take_another_keys_lookup_id() {
    let store = MemoryStore::new();
    let a = record(None, 0);
    let b = record(None, 1);
    for r in [&a, &b] {
        store
            .insert(r, &event(r, EventType::Created, t0()))
            .await
            .unwrap();
    }
    let mut b2 = b.clone();
    b2.lookup_id = a.lookup_id;
    b2.version = 2;
    let err = store
        .update(
            &TenantScope::All,
            1,
            &b2,
            &event(&b2, EventType::Updated, t0()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        store.find_by_lookup_id(&a.lookup_id).await.unwrap(),
        Some(a)
    );
    assert_eq!(
        store.find_by_lookup_id(&b.lookup_id).await.unwrap(),
        Some(b)
    );
}

#[tokio::test]
async fn usage_keeps_the_later_time_adds_counts_and_never_bumps_version() {
    let store = MemoryStore::new();
    let r = record(None, 0);
    store
        .insert(&r, &event(&r, EventType::Created, t0()))
        .await
        .unwrap();
    let later = t0() + Duration::minutes(5);
    let batch = |seq| apikey_core::UsageBatchId {
        flusher: uuid::Uuid::nil(),
        seq,
        at: later,
    };
    store
        .record_usage(
            batch(1),
            &[
                UsageUpdate {
                    id: r.id,
                    last_used_at: later,
                    count: 3,
                },
                UsageUpdate {
                    id: KeyId::new(),
                    last_used_at: later,
                    count: 9,
                },
            ],
        )
        .await
        .unwrap();
    store
        .record_usage(
            batch(2),
            &[UsageUpdate {
                id: r.id,
                last_used_at: t0(),
                count: 2,
            }],
        )
        .await
        .unwrap();
    let got = store.get(&TenantScope::All, r.id).await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(later));
    assert_eq!(got.usage_count, 5);
    assert_eq!(got.version, 1);
}

#[tokio::test]
async fn keyset_pagination_visits_each_match_once_and_ends_with_none() {
    let store = MemoryStore::new();
    let mut ids = Vec::new();
    for i in 0..10 {
        // Pairs share a created_at, so the id breaks ties.
        let mut r = record(Some("a"), i / 2);
        r.environment = Some(if i % 5 == 4 { "staging" } else { "production" }.into());
        store
            .insert(&r, &event(&r, EventType::Created, t0()))
            .await
            .unwrap();
        if r.environment.as_deref() == Some("production") {
            ids.push((r.created_at, r.id));
        }
    }
    let other = record(Some("b"), 0);
    store
        .insert(&other, &event(&other, EventType::Created, t0()))
        .await
        .unwrap();
    ids.sort();

    let mut filter = KeyFilter {
        environment: Some("production".into()),
        limit: 4,
        ..KeyFilter::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = KeyStore::query(&store, &tenant("a"), &filter)
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|r| (r.created_at, r.id)));
        match page.next {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    // 8 matches in pages of 4: the second page is exactly full and still the last.
    assert_eq!(pages, 2);
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn legacy_prefix_finds_every_holder_and_follows_updates() {
    let store = MemoryStore::new();
    let mut a = record(None, 0);
    a.legacy_lookup = Some(LegacyPrefix::new("deadbeef").unwrap());
    let mut b = record(None, 1);
    b.legacy_lookup = Some(LegacyPrefix::new("deadbeef").unwrap());
    for r in [&a, &b] {
        store
            .insert(r, &event(r, EventType::Created, t0()))
            .await
            .unwrap();
    }
    let legacy = store.legacy().unwrap();
    assert_eq!(
        legacy
            .find_by_legacy_lookup("deadbeef")
            .await
            .unwrap()
            .len(),
        2
    );

    // Re-hashing to HMAC clears the legacy prefix.
    let mut a2 = a.clone();
    a2.legacy_lookup = None;
    a2.version = 2;
    store
        .update(
            &TenantScope::All,
            1,
            &a2,
            &event(&a2, EventType::Rehashed, t0()),
        )
        .await
        .unwrap();
    assert_eq!(
        legacy.find_by_legacy_lookup("deadbeef").await.unwrap(),
        vec![b]
    );
    assert!(
        legacy
            .find_by_legacy_lookup("00000000")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn clones_share_data() {
    let store = MemoryStore::new();
    let clone = store.clone();
    let r = record(None, 0);
    clone
        .insert(&r, &event(&r, EventType::Created, t0()))
        .await
        .unwrap();
    assert!(store.get(&TenantScope::All, r.id).await.unwrap().is_some());
    assert!(format!("{store:?}").contains("keys: 1"));
}
