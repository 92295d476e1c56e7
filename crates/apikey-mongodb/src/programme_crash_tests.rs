//! Crash points of checked inserts and catalog removals: each is stopped after a step, as a crash
//! would stop it, and what readers then see must be all of the batch or none of it, with each
//! event logged exactly once. Needs `APIKEY_TEST_MONGODB_URL` (a missing URL fails the tests);
//! one test at a time (the journal crash tests' lock), each on a database of its own.

use apikey_core::catalog::{CatalogKind, Preset, preset_event};
use apikey_core::tenant::{CheckedInsert, CountLimits};
use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, CatalogStore, ErrorKind, EventType, KeyFilter, KeyRecord,
    KeyStore, TenantId, TenantScope,
};
use apikey_testkit::fixtures::{base_time, created, record, tenant};
use bson::{Bson, doc};
use chrono::TimeDelta;
use tokio::sync::MutexGuard;

use crate::MongoStore;
use crate::crash_tests::fresh_uninit;
use crate::doc::{date, uuid};
use crate::insert_lock::InsertLock;

async fn fresh() -> (MongoStore, MutexGuard<'static, ()>) {
    let (store, guard) = fresh_uninit().await;
    store.init().await.expect("init");
    (store, guard)
}

fn keys(t: &TenantId, from: i64, n: i64) -> Vec<(KeyRecord, AuditEvent)> {
    (from..from + n)
        .map(|i| {
            let mut r = record(Some(t), base_time() + TimeDelta::seconds(i));
            r.aliases = vec![format!("alias-{i}")];
            let e = created(&r);
            (r, e)
        })
        .collect()
}

/// Steps 1–2 of a checked insert: the lock taken and the batch staged, nothing more.
async fn stage(store: &MongoStore, t: &TenantId, items: &[(KeyRecord, AuditEvent)]) -> InsertLock {
    let lock = store
        .lock_inserts(Some(t), uuid(uuid::Uuid::now_v7()))
        .await
        .expect("lock");
    let docs: Vec<_> = items
        .iter()
        .map(|(r, e)| crate::checked::staged_doc(r, e, lock.batch).expect("doc"))
        .collect();
    store.keys.insert_many(docs).await.expect("stage");
    lock
}

/// Every lease of an insert lock runs out, as one lease after a crash.
async fn expire_locks(store: &MongoStore) {
    store
        .locks
        .update_many(
            doc! {},
            doc! { "$set": { "until": date(chrono::Utc::now() - TimeDelta::days(1)) } },
        )
        .await
        .expect("expire");
}

async fn events(store: &MongoStore, types: &[EventType]) -> Vec<AuditEvent> {
    let filter = AuditFilter {
        types: types.to_vec(),
        limit: 1000,
        ..AuditFilter::default()
    };
    AuditStore::query(store, &TenantScope::All, &filter)
        .await
        .expect("query audit")
}

async fn visible(store: &MongoStore, t: &TenantId) -> u64 {
    store
        .count(Some(t), &KeyFilter::default())
        .await
        .expect("count")
}

async fn staged(store: &MongoStore) -> u64 {
    store
        .keys
        .count_documents(doc! { "staged": { "$exists": true } })
        .await
        .expect("count staged")
}

#[tokio::test]
async fn checked_insert_stopped_after_staging_leaves_nothing() {
    let (store, _guard) = fresh().await;
    let t = tenant("crash");
    let batch = keys(&t, 0, 2);
    let _crashed = stage(&store, &t, &batch).await;
    assert_eq!(visible(&store, &t).await, 0, "staged keys are not visible");
    let id = batch[0].0.id;
    assert!(
        store
            .get(&TenantScope::All, id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        events(&store, &[EventType::Created]).await.is_empty(),
        "a repair leaves the events of staged keys alone"
    );
    assert_eq!(staged(&store).await, 2, "the live lease keeps the batch");

    expire_locks(&store).await;
    assert!(events(&store, &[EventType::Created]).await.is_empty());
    assert_eq!(
        staged(&store).await,
        0,
        "repair removed the abandoned batch"
    );
    store
        .insert_checked(Some(&t), &batch, &CountLimits::none())
        .await
        .expect("the same keys (lookup ids, aliases) are free again");
    assert_eq!(visible(&store, &t).await, 2);
    let pending = store
        .keys
        .count_documents(doc! { "pending_events._id": { "$exists": true } })
        .await
        .expect("count pending");
    assert_eq!(
        pending, 0,
        "the batch's events were settled together, not left to repair"
    );
    let logged = events(&store, &[EventType::Created]).await;
    let mut positions: Vec<u64> = logged.iter().filter_map(|e| e.position).collect();
    positions.sort_unstable();
    assert_eq!(positions.len(), 2, "each event once, with a position");
    assert_eq!(positions[1], positions[0] + 1, "consecutive: {positions:?}");
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn checked_insert_stopped_after_the_commit_point_is_finished_whole() {
    let (store, _guard) = fresh().await;
    let t = tenant("crash");
    let lock = stage(&store, &t, &keys(&t, 0, 2)).await;
    assert!(store.mark_committing(&lock).await.expect("commit point"));
    assert_eq!(
        visible(&store, &t).await,
        0,
        "not live before it is finished"
    );

    expire_locks(&store).await;
    let limit = CountLimits {
        max_per_tenant: Some(2),
        ..CountLimits::of(&apikey_core::TenantSettings::default())
    };
    let err = store
        .insert_checked(Some(&t), &keys(&t, 10, 1), &limit)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::LimitReached,
        "the committed batch is made live first, and counts: {err}"
    );
    assert_eq!(visible(&store, &t).await, 2);
    assert_eq!(staged(&store).await, 0);
    assert_eq!(
        events(&store, &[EventType::Created]).await.len(),
        2,
        "each event once"
    );
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn a_holder_whose_lease_was_taken_over_cannot_commit() {
    let (store, _guard) = fresh().await;
    let t = tenant("slow");
    let slow = stage(&store, &t, &keys(&t, 0, 1)).await;
    expire_locks(&store).await;
    let next = store
        .lock_inserts(Some(&t), uuid(uuid::Uuid::now_v7()))
        .await
        .expect("taken over");
    assert_eq!(
        staged(&store).await,
        0,
        "the slow holder's batch is removed"
    );
    assert!(
        !store.mark_committing(&slow).await.expect("commit point"),
        "the slow holder no longer reaches its commit point"
    );
    assert!(store.mark_committing(&next).await.expect("commit point"));
    store.unlock_inserts(&next).await;
    let lock = store
        .locks
        .find_one(doc! {})
        .await
        .expect("find")
        .expect("lock");
    assert_eq!(lock.get("holder"), None, "released");
    assert_eq!(lock.get("batch"), None);
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn catalog_removal_stopped_after_the_mark() {
    let (store, _guard) = fresh().await;
    let t = tenant("cat");
    let g = Preset::new(CatalogKind::Group, "ops");
    let saved = |version| {
        preset_event(
            Some(&t),
            CatalogKind::Group,
            "ops",
            Some((&g, version)),
            base_time(),
            None,
            None,
        )
        .expect("event")
    };
    store
        .put_preset(Some(&t), &g, 0, &saved(1))
        .await
        .expect("put");
    let removal = preset_event(
        Some(&t),
        CatalogKind::Group,
        "ops",
        None,
        base_time(),
        None,
        None,
    )
    .expect("event");
    let marked = store
        .mark_preset_step(Some(&t), CatalogKind::Group, "ops", &removal)
        .await
        .expect("mark");
    assert!(matches!(marked, Some(Bson::ObjectId(_))));
    assert_eq!(
        store
            .get_preset(Some(&t), CatalogKind::Group, "ops")
            .await
            .expect("get"),
        None,
        "a marked preset is gone for readers"
    );
    assert!(
        store
            .list_presets(Some(&t), CatalogKind::Group)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .put_preset(Some(&t), &g, 0, &saved(1))
            .await
            .expect("again"),
        1,
        "the interrupted removal is finished before the name is taken again"
    );
    assert_eq!(events(&store, &[EventType::GroupRemoved]).await.len(), 1);
    assert_eq!(events(&store, &[EventType::GroupSaved]).await.len(), 2);
    store.database().drop().await.expect("drop test database");
}
