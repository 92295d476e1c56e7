//! Keys stored before aliases were unique per tenant may share one: `init` must not fail on them,
//! `duplicate_aliases` must list them, writes must still refuse a held alias, and the unique index
//! must come with the first `init` after they are resolved. Needs `APIKEY_TEST_MONGODB_URL`.

use apikey_core::{ErrorKind, KeyRecord, KeyStore, TenantId};
use apikey_testkit::fixtures::{base_time, created, record, tenant};
use bson::{Bson, doc};
use chrono::TimeDelta;

use crate::MongoStore;
use crate::aliases::{DuplicateAlias, UNIQUE_ALIAS_INDEX};
use crate::crash_tests::fresh_uninit;
use crate::doc::{KeyDoc, uuid};

fn aliased(t: Option<&TenantId>, aliases: &[&str], n: i64) -> KeyRecord {
    let mut r = record(t, base_time() + TimeDelta::seconds(n));
    r.aliases = aliases.iter().map(|a| (*a).to_owned()).collect();
    r
}

/// Stores `r` as an older version did: no alias check, no event.
async fn plant(store: &MongoStore, r: &KeyRecord) {
    let mut d = KeyDoc::from_record(r).to_document().expect("doc");
    d.insert("pending_events", Vec::<Bson>::new());
    d.insert("deleting", false);
    store.keys.insert_one(d).await.expect("plant");
}

async fn has_index(store: &MongoStore) -> bool {
    store
        .keys
        .list_index_names()
        .await
        .expect("indexes")
        .iter()
        .any(|n| n == UNIQUE_ALIAS_INDEX)
}

#[tokio::test]
async fn duplicates_from_before_wait_for_the_index_and_are_listed() {
    let (store, _guard) = fresh_uninit().await;
    let acme = tenant("acme");
    let (a, b) = (
        aliased(Some(&acme), &["dup", "own-a"], 1),
        aliased(Some(&acme), &["dup"], 2),
    );
    let (n1, n2) = (aliased(None, &["x"], 3), aliased(None, &["x"], 4));
    let elsewhere = aliased(Some(&tenant("globex")), &["dup"], 5);
    let repeated = aliased(Some(&acme), &["twice", "twice"], 6);
    for r in [&a, &b, &n1, &n2, &elsewhere, &repeated] {
        plant(&store, r).await;
    }

    store.init().await.expect("duplicates do not fail init");
    assert!(!has_index(&store).await, "the index waits for them");
    let mut acme_keys = vec![a.id, b.id];
    acme_keys.sort();
    let mut none_keys = vec![n1.id, n2.id];
    none_keys.sort();
    assert_eq!(
        store.duplicate_aliases().await.expect("list"),
        vec![
            DuplicateAlias {
                tenant: None,
                alias: "x".to_owned(),
                keys: none_keys,
            },
            DuplicateAlias {
                tenant: Some(acme.clone()),
                alias: "dup".to_owned(),
                keys: acme_keys,
            },
        ],
        "another tenant's alias, and one key holding an alias twice, are no duplicates"
    );

    let c = aliased(Some(&acme), &["dup"], 7);
    let err = store.insert(&c, &created(&c)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "writes are still checked");
    assert!(err.message().contains("dup"), "{err}");

    for r in [&b, &n2] {
        store
            .keys
            .update_one(
                doc! { "_id": { "$eq": uuid(*r.id.as_uuid()) } },
                doc! { "$set": { "aliases": ["resolved"] } },
            )
            .await
            .expect("resolve");
    }
    store.init().await.expect("init again");
    assert!(has_index(&store).await, "created once they are resolved");
    assert!(store.duplicate_aliases().await.expect("list").is_empty());
    store.init().await.expect("idempotent");
    store.database().drop().await.expect("drop test database");
}
