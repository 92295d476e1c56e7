//! Audit log v2 at the storage level, on the raw documents: events written by the pre-v2 code
//! (in the audit collection and still pending on a key) become v2 events with positions after
//! `init`, with no secret-derived field left; and a key planted with a canary hash and legacy
//! prefix never puts either into a stored or pending audit document. Needs
//! `APIKEY_TEST_MONGODB_URL` (a missing URL fails these tests); serial with the crash tests.

use apikey_core::{AuditEvent, AuditFilter, AuditStore, KeyRecord, KeyStore, TenantScope};
use apikey_testkit::audit_stream::{assert_free_of_canary, canary_record};
use apikey_testkit::fixtures::{
    base_time, created, deleted, full_record, next_version, record, updated,
};
use bson::{Bson, Document, doc};
use chrono::TimeDelta;
use futures_util::TryStreamExt;

use crate::crash_tests::fresh_uninit as fresh;
use crate::doc::{KeyDoc, date, i64_of, uuid};

/// `e` exactly as the pre-v2 `EventDoc` stored it: `action` without the `key.` prefix, `key_id`,
/// no subject or position, whole key documents (hash and legacy prefix included).
fn pre_v2(e: &AuditEvent, before: Option<&KeyRecord>, after: Option<&KeyRecord>) -> Document {
    let key = |r: &KeyRecord| KeyDoc::from_record(r).to_document().expect("key document");
    let action = e
        .event_type
        .as_str()
        .strip_prefix("key.")
        .expect("a key change");
    doc! {
        "_id": uuid(e.id),
        "key_id": uuid(*e.key_id().expect("a key").as_uuid()),
        "tenant_id": e.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        "action": action,
        "actor": e.actor.clone(),
        "reason": e.reason.clone(),
        "at": date(e.at),
        "version": i64_of(e.version),
        "before": before.map(key),
        "after": after.map(key),
    }
}

async fn dump(collection: &mongodb::Collection<Document>, filter: Document) -> Vec<Document> {
    collection
        .find(filter)
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("find")
}

fn unpositioned(events: &[AuditEvent]) -> Vec<AuditEvent> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            e.position = None;
            e
        })
        .collect()
}

#[tokio::test]
async fn pre_v2_events_read_back_as_v2_events_with_positions_after_init() {
    let (store, _serial) = fresh().await;
    let t = |s| base_time() + TimeDelta::seconds(s);
    let mut a = canary_record();
    a.created_at = t(0);
    a.protection = Default::default();
    let a2 = next_version(&a, t(2));
    // Events from before audit v2 predate protection (signing, canaries) too.
    let b = KeyRecord {
        protection: Default::default(),
        ..full_record(None, t(1))
    };
    let b2 = next_version(&b, t(3));
    let (a_created, b_created, a_updated) = (created(&a), created(&b), updated(&a, &a2));
    let b_updated = updated(&b, &b2);
    // Inserted out of time order: positions must follow (at, _id), not insertion.
    store
        .audit
        .insert_many([
            pre_v2(&a_updated, Some(&a), Some(&a2)),
            pre_v2(&b_created, None, Some(&b)),
            pre_v2(&a_created, None, Some(&a)),
        ])
        .await
        .expect("old audit documents");
    // B's update committed by the old code, its event still pending on the key.
    let mut key = KeyDoc::from_record(&b2).to_document().expect("key");
    key.insert(
        "pending_events",
        vec![Bson::Document(pre_v2(&b_updated, Some(&b), Some(&b2)))],
    );
    key.insert("deleting", false);
    store.keys.insert_one(key).await.expect("old key");
    let raw = format!("{:?}", dump(&store.audit, doc! {}).await);
    assert!(
        raw.contains("c0ffee97"),
        "the old documents hold the prefix"
    );

    // Started twice (a restart, or a second instance after the first): each old event is
    // rewritten and positioned once. Not concurrently: BriskDB, the test server, answers
    // "database is busy" to parallel writers.
    store.init().await.expect("init");
    store.clone().init().await.expect("init again");

    let expected = vec![a_created, b_created, a_updated, b_updated];
    let read = store.read_after(0, 1000).await.expect("read_after");
    assert_eq!(
        unpositioned(&read),
        expected,
        "v2 events in (at, _id) order"
    );
    let positions: Vec<u64> = read.iter().map(|e| e.position.expect("position")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(store.last_position().await.expect("last") >= positions[3]);
    let history = AuditStore::query(&store, &TenantScope::All, &AuditFilter::key(b.id))
        .await
        .expect("query");
    assert_eq!(
        unpositioned(&history),
        expected[1..2]
            .iter()
            .chain(&expected[3..])
            .cloned()
            .collect::<Vec<_>>()
    );

    let stored = dump(&store.audit, doc! {}).await;
    assert_eq!(stored.len(), 4);
    for d in &stored {
        assert!(d.get_i64("position").is_ok(), "{d}");
        assert!(
            d.get_str("event_type").is_ok_and(|t| t.starts_with("key.")),
            "{d}"
        );
        assert_eq!(d.get_str("subject_kind"), Ok("key"), "{d}");
        assert!(d.get("action").is_none(), "{d}");
        for side in ["before", "after"] {
            if let Ok(view) = d.get_document(side) {
                assert!(
                    !view.contains_key("hash") && !view.contains_key("legacy_lookup"),
                    "{d}"
                );
            }
        }
    }
    assert_free_of_canary(&format!("{stored:?}"), "migrated mongo audit rows");
    let pending = dump(
        &store.keys,
        doc! { "pending_events._id": { "$exists": true } },
    )
    .await;
    assert!(pending.is_empty(), "settled: {pending:?}");
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn planted_secret_never_reaches_stored_or_pending_audit_documents() {
    let (store, _serial) = fresh().await;
    store.init().await.expect("init");
    let r = canary_record();
    store.insert(&r, &created(&r)).await.expect("insert");
    let v2 = next_version(&r, r.created_at + TimeDelta::seconds(1));
    store
        .update(&TenantScope::All, r.version, &v2, &updated(&r, &v2))
        .await
        .expect("update");
    // Stopped after step 1, as a crash would: the event waits on the key document.
    let v3 = next_version(&v2, r.created_at + TimeDelta::seconds(2));
    store
        .update_step(&TenantScope::All, v2.version, &v3, &updated(&v2, &v3))
        .await
        .expect("update step 1");
    let pending: Vec<Bson> = dump(&store.keys, doc! {})
        .await
        .into_iter()
        .filter_map(|mut k| k.remove("pending_events"))
        .collect();
    assert!(
        format!("{pending:?}").contains("key.updated"),
        "{pending:?}"
    );
    assert_free_of_canary(&format!("{pending:?}"), "pending mongo audit events");

    let gone = deleted(&v3, r.created_at + TimeDelta::seconds(3));
    assert!(
        store
            .delete(&TenantScope::All, r.id, &gone)
            .await
            .expect("delete")
    );
    // Another key with no canary, so the dump is not trivially empty of key views.
    let other = record(None, base_time());
    store
        .insert(&other, &created(&other))
        .await
        .expect("insert");

    let stored = dump(&store.audit, doc! {}).await;
    assert_eq!(stored.len(), 5);
    let debug = format!("{stored:?}");
    assert!(debug.contains("lookup_id"), "the public view is there");
    assert_free_of_canary(&debug, "mongo audit rows");
    let json: Vec<serde_json::Value> = stored
        .into_iter()
        .map(|d| Bson::Document(d).into_relaxed_extjson())
        .collect();
    assert_free_of_canary(
        &serde_json::to_string(&json).expect("json"),
        "mongo audit rows",
    );
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn a_key_s_events_take_positions_in_change_order_even_after_a_crash() {
    let (store, _serial) = fresh().await;
    store.init().await.expect("init");
    let r = record(None, base_time());
    let made = created(&r);
    store.insert(&r, &made).await.expect("insert");
    // Stopped after step 1: the update's event stays pending on the key...
    let v2 = next_version(&r, base_time() + TimeDelta::seconds(1));
    let changed = updated(&r, &v2);
    store
        .update_step(&TenantScope::All, r.version, &v2, &changed)
        .await
        .expect("update step 1");
    // ...and the deletion that follows settles it first, before removing the document.
    let gone = deleted(&v2, base_time() + TimeDelta::seconds(2));
    assert!(
        store
            .delete(&TenantScope::All, r.id, &gone)
            .await
            .expect("delete")
    );
    let read = store.read_after(0, 1000).await.expect("read_after");
    assert_eq!(unpositioned(&read), vec![made, changed, gone]);
    assert!(read.windows(2).all(|w| w[0].position < w[1].position));
    store.database().drop().await.expect("drop test database");
}

#[tokio::test]
async fn a_counter_behind_the_log_is_an_error_not_a_lost_event() {
    let (store, _serial) = fresh().await;
    store.init().await.expect("init");
    let r = record(None, base_time());
    store.insert(&r, &created(&r)).await.expect("insert");
    store.counters.drop().await.expect("drop the counter");
    let system = AuditEvent::system(
        apikey_core::EventType::AuthFailures,
        None,
        None,
        base_time(),
        None,
        &["behind"],
    );
    let err = store
        .append(&system)
        .await
        .expect_err("position 1 is taken");
    assert_eq!(err.kind(), apikey_core::ErrorKind::Backend);
    assert!(err.to_string().contains("counter"), "{err}");
    store.database().drop().await.expect("drop test database");
}
