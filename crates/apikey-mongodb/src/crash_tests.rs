//! Crash points of the journal: each write is stopped after each of its steps, as a crash would
//! stop it, and the log a reader then sees must hold the change's event exactly once, with the
//! key in the state the change left it. Needs `APIKEY_TEST_MONGODB_URL` (a missing URL fails the
//! tests); one test at a time, each on a database of its own.

use std::sync::LazyLock;
use std::time::Duration;

use apikey_core::{AuditFilter, AuditStore, EventType, KeyStore, TenantScope};
use apikey_testkit::fixtures::{base_time, created, deleted, next_version, record, updated};
use bson::doc;
use chrono::TimeDelta;
use mongodb::Client;
use mongodb::options::ClientOptions;
use tokio::sync::{Mutex, MutexGuard};

use crate::MongoStore;
use crate::writes::Marked;

pub(crate) static SERIAL: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// A store on a fresh database, not initialised, and the serial guard. A missing server URL fails
/// the test: a run without the server must not pass by testing nothing.
pub(crate) async fn fresh_uninit() -> (MongoStore, MutexGuard<'static, ()>) {
    let url = std::env::var("APIKEY_TEST_MONGODB_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("APIKEY_TEST_MONGODB_URL is not set (`source .ci/mongodb.sh` starts a server)");
    let guard = SERIAL.lock().await;
    let mut options = ClientOptions::parse(&url).await.expect("URL");
    options.server_selection_timeout = Some(Duration::from_secs(10));
    let db = Client::with_options(options)
        .expect("client")
        .database(&format!("apikey_test_{}", uuid::Uuid::new_v4().simple()));
    (MongoStore::new(db), guard)
}

/// A fresh initialised store and the serial guard (`Option` so the tests keep their shape).
async fn fresh() -> Option<(MongoStore, MutexGuard<'static, ()>)> {
    let (store, guard) = fresh_uninit().await;
    store.init().await.expect("init");
    Some((store, guard))
}

async fn log_actions(store: &MongoStore) -> Vec<EventType> {
    let filter = AuditFilter {
        limit: 1000,
        ..AuditFilter::default()
    };
    AuditStore::query(store, &TenantScope::All, &filter)
        .await
        .expect("audit query")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

async fn pending_count(store: &MongoStore) -> u64 {
    store
        .keys
        .count_documents(doc! { "pending_events._id": { "$exists": true } })
        .await
        .expect("count")
}

async fn finish(store: MongoStore) {
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn insert_stopped_after_the_key_write() {
    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let r = record(None, base_time());
    store.insert_step(&r, &created(&r)).await.expect("step 1");
    // The key is visible and its event is committed beside it.
    assert_eq!(
        store.get(&TenantScope::All, r.id).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(pending_count(&store).await, 1);
    assert_eq!(log_actions(&store).await, [EventType::Created]);
    assert_eq!(pending_count(&store).await, 0, "the audit query settled it");
    assert_eq!(store.repair().await.unwrap(), 0);
    assert_eq!(log_actions(&store).await, [EventType::Created]);
    finish(store).await;
}

#[tokio::test]
async fn update_stopped_after_each_step() {
    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let r = record(None, base_time());
    store.insert(&r, &created(&r)).await.unwrap();

    // Stopped after step 1: the change is there, its event pending.
    let v2 = next_version(&r, base_time() + TimeDelta::seconds(1));
    store
        .update_step(&TenantScope::All, r.version, &v2, &updated(&r, &v2))
        .await
        .expect("step 1");
    assert_eq!(
        store.get(&TenantScope::All, r.id).await.unwrap(),
        Some(v2.clone())
    );

    // Stopped after step 2 (appended, not pulled): the next repair must not duplicate it.
    let v3 = next_version(&v2, base_time() + TimeDelta::seconds(2));
    let p = store
        .update_step(&TenantScope::All, v2.version, &v3, &updated(&v2, &v3))
        .await
        .expect("step 1");
    store.settle_event(&p.event).await.expect("step 2");
    assert_eq!(pending_count(&store).await, 1);

    assert_eq!(store.repair().await.unwrap(), 2);
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(
        log_actions(&store).await,
        [EventType::Created, EventType::Updated, EventType::Updated]
    );
    // A pending event never blocks the next change of the key.
    assert_eq!(store.get(&TenantScope::All, r.id).await.unwrap(), Some(v3));
    finish(store).await;
}

#[tokio::test]
async fn delete_stopped_after_the_mark() {
    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let r = record(None, base_time());
    store.insert(&r, &created(&r)).await.unwrap();
    let gone = deleted(&r, base_time() + TimeDelta::seconds(1));
    assert!(matches!(
        store
            .mark_step(&TenantScope::All, r.id, &gone)
            .await
            .unwrap(),
        Marked::Now(_)
    ));
    // Deleted for every reader from the mark on.
    assert_eq!(store.get(&TenantScope::All, r.id).await.unwrap(), None);
    assert_eq!(store.find_by_lookup_id(&r.lookup_id).await.unwrap(), None);
    let mut v2 = r.clone();
    v2.version += 1;
    let err = store
        .update(&TenantScope::All, r.version, &v2, &updated(&r, &v2))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), apikey_core::ErrorKind::NotFound);

    // A retried delete finishes the interrupted one and reports that nothing was left.
    assert!(!store.delete(&TenantScope::All, r.id, &gone).await.unwrap());
    assert_eq!(
        log_actions(&store).await,
        [EventType::Created, EventType::Deleted]
    );
    assert_eq!(store.keys.count_documents(doc! {}).await.unwrap(), 0);
    finish(store).await;
}

#[tokio::test]
async fn delete_stopped_after_the_append() {
    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let r = record(None, base_time());
    store.insert(&r, &created(&r)).await.unwrap();
    let gone = deleted(&r, base_time() + TimeDelta::seconds(1));
    let Marked::Now(p) = store
        .mark_step(&TenantScope::All, r.id, &gone)
        .await
        .unwrap()
    else {
        panic!("the key was there");
    };
    store.settle_event(&p.event).await.expect("step 2");
    // The audit query's repair removes the marked document without a second event.
    assert_eq!(
        log_actions(&store).await,
        [EventType::Created, EventType::Deleted]
    );
    assert_eq!(store.keys.count_documents(doc! {}).await.unwrap(), 0);
    assert_eq!(
        log_actions(&store).await,
        [EventType::Created, EventType::Deleted]
    );
    finish(store).await;
}

#[tokio::test]
async fn a_refused_write_leaves_no_event() {
    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let r = record(None, base_time());
    store.insert(&r, &created(&r)).await.unwrap();
    // Stale update and duplicate insert: step 1 fails, so nothing is pending and nothing logged.
    let mut stale = r.clone();
    stale.version += 1;
    stale.name = "stale".into();
    store
        .update_step(
            &TenantScope::All,
            r.version + 5,
            &stale,
            &updated(&r, &stale),
        )
        .await
        .unwrap_err();
    store.insert_step(&r, &created(&r)).await.unwrap_err();
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(log_actions(&store).await, [EventType::Created]);
    finish(store).await;
}

/// The stored settings events of `tenant`, read through the audit query (which repairs first).
async fn settings_events(
    store: &MongoStore,
    tenant: Option<&apikey_core::TenantId>,
) -> Vec<apikey_core::AuditEvent> {
    let filter = AuditFilter {
        types: vec![EventType::TenantSettingsUpdated],
        limit: 1000,
        ..AuditFilter::default()
    };
    AuditStore::query(store, &TenantScope::All, &filter)
        .await
        .expect("audit query")
        .into_iter()
        .filter(|e| e.tenant_id.as_ref() == tenant)
        .collect()
}

async fn settings_pending(store: &MongoStore) -> u64 {
    store
        .settings
        .count_documents(doc! { "pending_events._id": { "$exists": true } })
        .await
        .expect("count")
}

#[tokio::test]
async fn settings_put_stopped_after_each_step() {
    use apikey_core::tenant::{TenantSettings, TenantSettingsStore, settings_event};

    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let acme = apikey_testkit::fixtures::tenant("acme");
    let t = Some(&acme);
    let s1 = TenantSettings {
        max_keys_per_tenant: Some(5),
        ..TenantSettings::default()
    };
    let e1 = settings_event(t, 1, &s1, base_time(), None, None).unwrap();

    // Stopped after step 1: the row is written, its event pending beside it, not in the log.
    assert_eq!(store.put_settings_step(t, 0, &s1, &e1).await.unwrap(), 1);
    let got = TenantSettingsStore::get(&store, t).await.unwrap().unwrap();
    assert_eq!((got.settings, got.version), (s1.clone(), 1));
    assert_eq!(settings_pending(&store).await, 1);
    assert_eq!(store.audit.count_documents(doc! {}).await.unwrap(), 0);
    assert_eq!(store.repair().await.unwrap(), 1);
    assert_eq!(settings_pending(&store).await, 0);
    let logged = settings_events(&store, t).await;
    assert_eq!(logged.len(), 1, "logged exactly once: {logged:?}");
    assert_eq!(logged[0].id, e1.id);
    assert!(logged[0].position.is_some());
    assert_eq!(store.repair().await.unwrap(), 0);

    // Stopped after step 2 (settled, not pulled): repair neither duplicates nor loses it.
    let s2 = TenantSettings {
        approval_required: true,
        ..s1.clone()
    };
    let e2 = settings_event(t, 2, &s2, base_time() + TimeDelta::seconds(1), None, None).unwrap();
    assert_eq!(store.put_settings_step(t, 1, &s2, &e2).await.unwrap(), 2);
    let pending = crate::doc::EventDoc::from_event(&e2)
        .unwrap()
        .to_document()
        .unwrap();
    assert!(store.settle_event(&pending).await.unwrap());
    assert_eq!(settings_pending(&store).await, 1);
    assert_eq!(store.repair().await.unwrap(), 1);
    let ids: Vec<_> = settings_events(&store, t)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [e1.id, e2.id]);

    // The default row's document (`_id: ""`) is repaired the same way.
    let e0 = settings_event(None, 1, &s1, base_time(), None, None).unwrap();
    store.put_settings_step(None, 0, &s1, &e0).await.unwrap();
    assert_eq!(store.repair().await.unwrap(), 1);
    assert_eq!(settings_events(&store, None).await.len(), 1);
    finish(store).await;
}

#[tokio::test]
async fn a_refused_settings_write_leaves_no_event() {
    use apikey_core::tenant::{TenantSettings, settings_event};

    let Some((store, _serial)) = fresh().await else {
        return;
    };
    let s = TenantSettings::default();
    let first = settings_event(None, 1, &s, base_time(), None, None).unwrap();
    store.put_settings_step(None, 0, &s, &first).await.unwrap();
    for expected in [0, 2, u64::MAX] {
        let e = settings_event(None, 2, &s, base_time(), None, None).unwrap();
        let err = store
            .put_settings_step(None, expected, &s, &e)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), apikey_core::ErrorKind::Conflict, "{expected}");
    }
    assert_eq!(settings_pending(&store).await, 1, "only the first write's");
    assert_eq!(store.repair().await.unwrap(), 1);
    assert_eq!(settings_events(&store, None).await.len(), 1);
    finish(store).await;
}
