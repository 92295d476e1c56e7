//! The documents and indexes of the key programme on MongoDB: catalog documents, the insert
//! locks, and the alias and staging indexes, all under the store's collection prefix. Needs
//! `APIKEY_TEST_MONGODB_URL` (skipped without it, except in CI); one test at a time, each on a
//! database of its own.

mod common;

use apikey_core::catalog::{CatalogKind, Preset, preset_event};
use apikey_core::tenant::CountLimits;
use apikey_core::{CatalogStore, KeyStore};
use apikey_mongodb::MongoStore;
use apikey_mongodb::mongodb::bson::{Bson, Document, doc};
use apikey_testkit::fixtures::{base_time, created, record, tenant};

/// A preset is `{tenant: "" | id, kind, name, preset: JSON text, version: Int64, updated_at: date,
/// pending_events: [], deleting: false}` in `<prefix>catalog`, unique on (tenant, kind, name); a
/// checked insert leaves a released lock in `<prefix>insert_locks` and a plain live key; another
/// prefix sees none of it.
#[tokio::test]
async fn programme_documents_are_typed_and_prefixed() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let db = isolated.store.database().clone();
    let other = MongoStore::with_prefix(db.clone(), "tenant2_");
    other.init().await.expect("init");

    let p = Preset::new(CatalogKind::Template, "partner");
    let e = preset_event(
        None,
        p.kind,
        &p.name,
        Some((&p, 1)),
        base_time(),
        None,
        None,
    )
    .expect("event");
    assert_eq!(other.put_preset(None, &p, 0, &e).await.expect("put"), 1);
    let catalog = db.collection::<Document>("tenant2_catalog");
    let d = catalog
        .find_one(doc! {})
        .await
        .expect("find")
        .expect("the preset");
    assert_eq!(d.get_str("tenant"), Ok(""), "{d}");
    assert_eq!(d.get_str("kind"), Ok("template"), "{d}");
    assert_eq!(d.get_str("name"), Ok("partner"), "{d}");
    let json: Preset =
        serde_json::from_str(d.get_str("preset").expect("JSON text")).expect("preset");
    assert_eq!(json, p);
    assert!(matches!(d.get("version"), Some(Bson::Int64(1))), "{d}");
    assert!(
        matches!(d.get("updated_at"), Some(Bson::DateTime(_))),
        "{d}"
    );
    assert!(
        d.get_array("pending_events").expect("array").is_empty(),
        "settled"
    );
    assert_eq!(d.get_bool("deleting"), Ok(false));
    let indexes = catalog.list_index_names().await.expect("indexes");
    for want in ["apikey_tenant_kind_name", "apikey_pending_events"] {
        assert!(indexes.iter().any(|n| n == want), "{want}: {indexes:?}");
    }
    assert_eq!(
        isolated
            .store
            .get_preset(None, p.kind, &p.name)
            .await
            .expect("get"),
        None,
        "another prefix does not see it"
    );

    let t = tenant("acme");
    let mut r = record(Some(&t), base_time());
    r.aliases = vec!["billing".to_owned()];
    let e = created(&r);
    other
        .checked()
        .expect("CheckedInsert")
        .insert_checked(Some(&t), &[(r.clone(), e)], &CountLimits::none())
        .await
        .expect("checked insert");
    let lock = db
        .collection::<Document>("tenant2_insert_locks")
        .find_one(doc! { "_id": "acme" })
        .await
        .expect("find")
        .expect("the tenant's lock");
    for gone in ["holder", "until", "batch", "committing"] {
        assert_eq!(lock.get(gone), None, "released: {lock}");
    }
    assert!(
        matches!(lock.get("fence"), Some(Bson::Int64(n)) if *n >= 1),
        "{lock}"
    );
    let keys = db.collection::<Document>("tenant2_keys");
    let key = keys
        .find_one(doc! {})
        .await
        .expect("find")
        .expect("the key");
    assert_eq!(key.get("staged"), None, "live: {key}");
    assert_eq!(key.get_bool("deleting"), Ok(false));
    assert!(
        key.get_array("pending_events").expect("array").is_empty(),
        "settled"
    );
    let indexes = keys.list_index_names().await.expect("indexes");
    for want in ["apikey_tenant_alias", "apikey_staged"] {
        assert!(indexes.iter().any(|n| n == want), "{want}: {indexes:?}");
    }
    assert!(
        isolated
            .store
            .get(&apikey_core::TenantScope::All, r.id)
            .await
            .expect("get")
            .is_none()
    );
}
