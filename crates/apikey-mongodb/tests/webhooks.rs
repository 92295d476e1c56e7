//! MongoDB-specific webhook checks beyond the testkit suite: the document layout of
//! `<prefix>webhook_subscriptions` and `<prefix>webhook_deliveries` and their indexes, a removal
//! interrupted between its two steps (orphaned deliveries) cleaned up by a retry, enqueue's count
//! with duplicates inside one batch, and retention's bound below the millisecond. Needs `APIKEY_TEST_MONGODB_URL` (skipped without it,
//! except in CI); one test at a time, each on a database of its own.

mod common;

use apikey_core::TenantScope;
use apikey_core::webhook::{AttemptOutcome, DeliveryFilter, WebhookStore};
use apikey_mongodb::MongoStore;
use apikey_mongodb::mongodb::Collection;
use apikey_mongodb::mongodb::bson::{Bson, Document, Uuid as BsonUuid, doc, spec::BinarySubtype};
use apikey_testkit::webhooks::{at, delivery, subscription};

fn collection(store: &MongoStore, name: &str) -> Collection<Document> {
    store.database().collection(name)
}

fn is_uuid(v: Option<&Bson>) -> bool {
    matches!(v, Some(Bson::Binary(b)) if b.subtype == BinarySubtype::Uuid)
}

fn is_date(v: Option<&Bson>) -> bool {
    matches!(v, Some(Bson::DateTime(_)))
}

/// Subscriptions and deliveries are typed documents under the store's prefix (UUIDs as binary
/// subtype 4, instants as BSON dates to the millisecond, counters as `Int64`), with the indexes
/// the delivery job and the listings read; another prefix never sees them.
#[tokio::test]
async fn webhook_documents_are_typed_indexed_and_prefixed() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = MongoStore::with_prefix(isolated.store.database().clone(), "billing_");
    store.init().await.unwrap();
    let s = subscription(Some("acme"), 0);
    store.insert_subscription(&s).await.unwrap();
    let mut d = delivery(&s, 0);
    assert_eq!(store.enqueue(std::slice::from_ref(&d)).await.unwrap(), 1);
    d.record(at(10), &AttemptOutcome::answered(503), Some(at(20)));
    assert!(store.record_attempt(&d).await.unwrap());

    let subs = collection(&store, "billing_webhook_subscriptions");
    let sub = subs
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("the subscription");
    assert!(is_uuid(sub.get("_id")), "{:?}", sub.get("_id"));
    for f in ["created_at", "updated_at", "previous_until"] {
        assert!(is_date(sub.get(f)), "{f}: {:?}", sub.get(f));
    }
    assert_eq!(
        sub.get_datetime("created_at").unwrap().timestamp_millis(),
        at(0).timestamp_millis()
    );
    assert!(matches!(sub.get("version"), Some(Bson::Int64(1))));
    assert_eq!(sub.get_str("tenant_id").unwrap(), "acme");
    assert_eq!(
        sub.get_str("secret").unwrap(),
        s.secret,
        "sealed, stored as given"
    );
    assert!(matches!(sub.get("events"), Some(Bson::Array(a)) if a.len() == 2));
    assert!(matches!(sub.get("enabled"), Some(Bson::Boolean(true))));

    let dels = collection(&store, "billing_webhook_deliveries");
    let del = dels.find_one(doc! {}).await.unwrap().expect("the delivery");
    for f in ["_id", "subscription_id", "event_id"] {
        assert!(is_uuid(del.get(f)), "{f}: {:?}", del.get(f));
    }
    for f in [
        "created_at",
        "next_attempt_at",
        "give_up_at",
        "last_attempt_at",
    ] {
        assert!(is_date(del.get(f)), "{f}: {:?}", del.get(f));
    }
    assert_eq!(del.get("delivered_at"), Some(&Bson::Null));
    assert_eq!(del.get_str("state").unwrap(), "pending");
    assert!(matches!(del.get("attempts"), Some(Bson::Int64(1))));
    assert!(matches!(del.get("last_status"), Some(Bson::Int32(503))));
    assert_eq!(del.get_str("payload").unwrap(), d.payload);

    let names = subs.list_index_names().await.unwrap();
    for want in ["apikey_tenant_created_id", "apikey_enabled_created_id"] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    let names = dels.list_index_names().await.unwrap();
    for want in [
        "apikey_due",
        "apikey_tenant_created_id",
        "apikey_subscription_created_id",
        "apikey_created_id",
        "apikey_state_created",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }

    let default = &isolated.store;
    assert!(
        default
            .subscription(&TenantScope::All, s.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        default
            .delivery(&TenantScope::All, d.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(default.pending_count().await.unwrap(), 0);
}

/// A removal that stopped after deleting the subscription (its second step, deleting the
/// deliveries, never ran) leaves orphans; a retried removal answers `false` and deletes them,
/// but only within the caller's tenant, and never the deliveries of a subscription that exists.
#[tokio::test]
async fn a_retried_removal_deletes_orphaned_deliveries() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let gone = subscription(Some("acme"), 0);
    let live = subscription(Some("other"), 0);
    store.insert_subscription(&gone).await.unwrap();
    store.insert_subscription(&live).await.unwrap();
    let orphans = [delivery(&gone, 0), delivery(&gone, 1)];
    let kept = delivery(&live, 2);
    assert_eq!(store.enqueue(&orphans).await.unwrap(), 2);
    assert_eq!(store.enqueue(std::slice::from_ref(&kept)).await.unwrap(), 1);

    // Step one only, as a crash would leave it.
    let subs = collection(store, "apikey_webhook_subscriptions");
    let by_id = doc! { "_id": BsonUuid::from_bytes(gone.id.0.into_bytes()) };
    assert_eq!(subs.delete_one(by_id).await.unwrap().deleted_count, 1);
    assert_eq!(store.pending_count().await.unwrap(), 3, "orphans are left");

    let other = TenantScope::Tenant(live.tenant_id.clone().unwrap());
    assert!(!store.remove_subscription(&other, gone.id).await.unwrap());
    assert_eq!(
        store.pending_count().await.unwrap(),
        3,
        "not another tenant's"
    );
    let acme = TenantScope::Tenant(gone.tenant_id.clone().unwrap());
    assert!(!store.remove_subscription(&acme, live.id).await.unwrap());
    assert!(
        store
            .delivery(&TenantScope::All, kept.id)
            .await
            .unwrap()
            .is_some(),
        "a live subscription's deliveries are not touched from another tenant"
    );

    assert!(
        !store.remove_subscription(&acme, gone.id).await.unwrap(),
        "the subscription was already gone"
    );
    let left = store
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(left, [kept], "the orphans are deleted, nothing else");
}

/// One batch holding a new delivery twice, an already stored one and another new one stores each
/// id once and counts the two new ids.
#[tokio::test]
async fn enqueue_counts_duplicates_inside_a_batch_once() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let s = subscription(None, 0);
    store.insert_subscription(&s).await.unwrap();
    let (stored, new, newer) = (delivery(&s, 0), delivery(&s, 1), delivery(&s, 2));
    assert_eq!(
        store.enqueue(std::slice::from_ref(&stored)).await.unwrap(),
        1
    );
    let batch = [new.clone(), stored.clone(), new.clone(), newer.clone()];
    assert_eq!(store.enqueue(&batch).await.unwrap(), 2);
    let mut ids: Vec<_> = store
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    ids.sort();
    let mut want = vec![stored.id, new.id, newer.id];
    want.sort();
    assert_eq!(ids, want);
}

/// Retention's bound may carry microseconds while stored instants are whole milliseconds: a
/// finished delivery created 1 µs before the bound is purged (`created_at < before`), one created
/// at a later millisecond is kept.
#[tokio::test]
async fn purge_compares_with_a_sub_millisecond_bound_exactly() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let s = subscription(Some("acme"), 0);
    store.insert_subscription(&s).await.unwrap();
    let (mut old, mut new) = (delivery(&s, 0), delivery(&s, 1));
    assert_eq!(store.enqueue(&[old.clone(), new.clone()]).await.unwrap(), 2);
    for d in [&mut old, &mut new] {
        d.record(at(5), &AttemptOutcome::answered(200), None);
        assert!(store.record_attempt(d).await.unwrap());
    }
    let before = at(0) + chrono::TimeDelta::microseconds(1);
    assert_eq!(store.purge_deliveries(before).await.unwrap(), 1);
    let left = store
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(left, [new]);
}
