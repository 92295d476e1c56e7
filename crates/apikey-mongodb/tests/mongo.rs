//! MongoDB-specific checks beyond the testkit: the document layout, operator injection, indexes
//! and collection prefix, and error classification. Needs `APIKEY_TEST_MONGODB_URL` (skipped
//! without it, except in CI); one test at a time, each on a database of its own.

mod common;

use std::time::Duration;

use apikey_core::{ErrorKind, KeyFilter, KeyStore, Metadata, TenantScope};
use apikey_mongodb::MongoStore;
use apikey_mongodb::mongodb::bson::{Bson, Document, doc, spec::BinarySubtype};
use apikey_mongodb::mongodb::options::ClientOptions;
use apikey_mongodb::mongodb::{Client, Collection};
use apikey_testkit::fixtures::{base_time, created, full_record, record};
use chrono::TimeDelta;
use futures_util::TryStreamExt;
use serde_json::json;

fn keys(store: &MongoStore) -> Collection<Document> {
    store.database().collection(store.keys_collection())
}

#[tokio::test]
async fn documents_are_typed() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let r = full_record(None, base_time());
    store.insert(&r, &created(&r)).await.unwrap();
    let doc = keys(store)
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("the key");
    let is_uuid =
        |v: Option<&Bson>| matches!(v, Some(Bson::Binary(b)) if b.subtype == BinarySubtype::Uuid);
    assert!(
        is_uuid(doc.get("_id")) && is_uuid(doc.get("lineage_id")),
        "{doc}"
    );
    for field in ["created_at", "updated_at", "expires_at", "last_used_at"] {
        assert!(
            matches!(doc.get(field), Some(Bson::DateTime(_))),
            "{field}: {doc}"
        );
    }
    assert!(matches!(doc.get("version"), Some(Bson::Int64(_))), "{doc}");
    assert!(
        matches!(doc.get("metadata"), Some(Bson::String(_))),
        "{doc}"
    );
    assert_eq!(doc.get_bool("deleting"), Ok(false));
    assert!(
        doc.get_array("pending_events").unwrap().is_empty(),
        "settled"
    );
    let audit = store
        .database()
        .collection::<Document>(store.audit_collection());
    let event = audit.find_one(doc! {}).await.unwrap().expect("the event");
    assert!(
        is_uuid(event.get("_id")) && is_uuid(event.get("key_id")),
        "{event}"
    );
    assert!(
        matches!(event.get("at"), Some(Bson::DateTime(_))),
        "{event}"
    );
    assert!(
        matches!(event.get("after"), Some(Bson::Document(_))),
        "{event}"
    );
}

/// Operator-shaped values are data: stored verbatim, matched only literally.
#[tokio::test]
async fn operator_shaped_values_are_data() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let plain = record(None, base_time());
    store.insert(&plain, &created(&plain)).await.unwrap();
    let mut hostile = record(None, base_time() + TimeDelta::milliseconds(1));
    hostile.metadata = Metadata::from_value(json!({
        "$ne": null,
        "a": { "$gt": "" },
        "$where": "function() { return true; }",
        "dotted.key": 1,
    }))
    .unwrap();
    hostile.tags = vec!["{\"$gt\": \"\"}".into(), "$where".into()];
    hostile.owner = Some("{\"$ne\": null}".into());
    hostile.aliases = vec!["{\"$regex\": \".*\"}".into()];
    store.insert(&hostile, &created(&hostile)).await.unwrap();
    assert_eq!(
        store.get(&TenantScope::All, hostile.id).await.unwrap(),
        Some(hostile.clone())
    );

    let ids = |page: apikey_core::Page<apikey_core::KeyRecord>| {
        page.items.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    for filter in [
        KeyFilter {
            tags: vec!["{\"$gt\": \"\"}".into()],
            ..KeyFilter::default()
        },
        KeyFilter {
            tags: vec!["$where".into()],
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("{\"$ne\": null}".into()),
            ..KeyFilter::default()
        },
        KeyFilter {
            alias: Some("{\"$regex\": \".*\"}".into()),
            ..KeyFilter::default()
        },
    ] {
        let got = ids(KeyStore::query(store, &TenantScope::All, &filter)
            .await
            .unwrap());
        assert_eq!(got, vec![hostile.id], "{filter:?}");
    }
    for filter in [
        KeyFilter {
            tags: vec!["{\"$ne\": null}".into()],
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("{\"$gt\": \"\"}".into()),
            ..KeyFilter::default()
        },
        KeyFilter {
            group: Some("{\"$ne\": null}".into()),
            ..KeyFilter::default()
        },
    ] {
        let got = ids(KeyStore::query(store, &TenantScope::All, &filter)
            .await
            .unwrap());
        assert!(got.is_empty(), "{filter:?} matched {got:?}");
    }
}

#[tokio::test]
async fn init_is_idempotent_and_indexes_the_lookups() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    store.init().await.expect("second init");
    let names: Vec<String> = keys(store)
        .list_indexes()
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|i| i.options.and_then(|o| o.name))
        .collect();
    for want in [
        "apikey_lookup_id",
        "apikey_legacy_lookup",
        "apikey_tenant_owner",
        "apikey_state",
        "apikey_expires_at",
        "apikey_created_at_id",
        "apikey_tags",
        "apikey_aliases",
        "apikey_scopes",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}

/// A key document stored by an earlier version with non-canonical rules (a mapped deny network
/// it never matched against IPv4 clients, an unsorted scope list, a lower-case method) is
/// rewritten by `init`, once.
#[tokio::test]
async fn stored_rules_are_rewritten_canonical() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let k = apikey_testkit::rewrite::create_key(std::sync::Arc::new(store.clone())).await;
    let id = apikey_mongodb::mongodb::bson::Uuid::from_bytes(k.record.id.as_uuid().into_bytes());

    // The database as the previous version left it: no record of the rewrite, rules as stored.
    store
        .database()
        .collection::<Document>("apikey_data_migrations")
        .delete_many(doc! {})
        .await
        .unwrap();
    let old = doc! {
        "ip_rules": { "allow": [], "deny": ["::ffff:10.0.0.0/104"] },
        "scopes": ["projects:write", "projects:read", "projects:write"],
        "endpoint_limits": [{
            "endpoint": "get   /projects/{id}",
            "rate": { "requests": 5_i64, "per_ms": 60_000_i64, "burst": 5_i64 },
        }],
    };
    keys(store)
        .update_one(doc! { "_id": id }, doc! { "$set": old })
        .await
        .unwrap();

    store.init().await.expect("init rewrites");

    let raw = keys(store)
        .find_one(doc! { "_id": id })
        .await
        .unwrap()
        .expect("the key");
    assert_eq!(
        raw.get_document("ip_rules").unwrap(),
        &doc! { "allow": [], "deny": ["10.0.0.0/8"] }
    );
    assert_eq!(
        raw.get_array("scopes").unwrap(),
        &vec![Bson::from("projects:read"), Bson::from("projects:write")]
    );
    let limits = raw.get_array("endpoint_limits").unwrap();
    let first = limits[0].as_document().unwrap();
    assert_eq!(
        first.get_str("endpoint"),
        Ok(apikey_testkit::rewrite::CANONICAL_ENDPOINT)
    );

    apikey_testkit::rewrite::assert_rewritten_key_denies(std::sync::Arc::new(store.clone()), &k)
        .await;

    let marks = store
        .database()
        .collection::<Document>("apikey_data_migrations");
    let mark = marks
        .find_one(doc! { "_id": "canonical_rules" })
        .await
        .unwrap()
        .expect("recorded");
    assert!(
        matches!(mark.get("applied_at"), Some(Bson::DateTime(_))),
        "{mark}"
    );
    store.init().await.expect("init again");
}

#[tokio::test]
async fn collection_prefix_keeps_stores_apart() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let other = MongoStore::with_prefix(isolated.store.database().clone(), "tenant2_");
    other.init().await.unwrap();
    assert_eq!(other.keys_collection(), "tenant2_keys");
    assert_eq!(other.audit_collection(), "tenant2_audit_events");
    let r = record(None, base_time());
    other.insert(&r, &created(&r)).await.unwrap();
    assert!(
        isolated
            .store
            .get(&TenantScope::All, r.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(other.get(&TenantScope::All, r.id).await.unwrap().is_some());
}

/// A settings document is `{_id: "" (default row) or the tenant, settings: a document with
/// Int64 numbers, version: Int64, updated_at: date, pending_events: []}` in
/// `<prefix>tenant_settings`, indexed for repair; another prefix never sees it.
#[tokio::test]
async fn settings_documents_are_typed_and_prefixed() {
    use apikey_core::tenant::{TenantSettings, TenantSettingsStore, settings_event};

    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let other = MongoStore::with_prefix(isolated.store.database().clone(), "tenant2_");
    other.init().await.unwrap();
    let s = TenantSettings {
        max_keys_per_tenant: Some(u32::MAX),
        ..TenantSettings::default()
    };
    let e = settings_event(None, 1, &s, base_time(), None, None).unwrap();
    assert_eq!(other.put(None, 0, &s, &e).await.unwrap(), 1);

    let coll = other
        .database()
        .collection::<Document>("tenant2_tenant_settings");
    let doc = coll
        .find_one(doc! { "_id": "" })
        .await
        .unwrap()
        .expect("the default row");
    let settings = doc.get_document("settings").expect("a sub-document");
    assert_eq!(
        settings.get("max_keys_per_tenant"),
        Some(&Bson::Int64(i64::from(u32::MAX))),
        "{doc}"
    );
    assert!(matches!(doc.get("version"), Some(Bson::Int64(1))), "{doc}");
    assert!(
        matches!(doc.get("updated_at"), Some(Bson::DateTime(_))),
        "{doc}"
    );
    assert!(
        doc.get_array("pending_events").unwrap().is_empty(),
        "settled"
    );
    let indexes = coll.list_index_names().await.unwrap();
    assert!(
        indexes.iter().any(|n| n == "apikey_pending_events"),
        "{indexes:?}"
    );
    assert_eq!(
        TenantSettingsStore::get(&isolated.store, None)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn duplicate_lookup_id_is_conflict_with_the_driver_error() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let a = record(None, base_time());
    store.insert(&a, &created(&a)).await.unwrap();
    let mut b = record(None, base_time());
    b.lookup_id = a.lookup_id;
    let err = store.insert(&b, &created(&b)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let source = std::error::Error::source(&err).expect("source kept");
    assert!(
        source
            .downcast_ref::<apikey_mongodb::mongodb::error::Error>()
            .is_some()
    );
}

#[tokio::test]
async fn oversized_record_is_invalid_input() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let mut r = record(None, base_time());
    r.description = Some("x".repeat(17 << 20));
    let err = isolated.store.insert(&r, &created(&r)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    let mut options = ClientOptions::parse("mongodb://127.0.0.1:1").await.unwrap();
    options.server_selection_timeout = Some(Duration::from_millis(300));
    let store = MongoStore::new(Client::with_options(options).unwrap().database("nothing"));
    let err = store
        .get(&TenantScope::All, apikey_core::KeyId::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

/// Each verifier process leaves one usage mark per key it counted; marks older than
/// `USAGE_MARK_RETENTION` are dropped when the key is next counted, the fresh ones stay.
#[tokio::test]
async fn stale_usage_marks_are_forgotten() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let r = record(None, base_time());
    store.insert(&r, &created(&r)).await.unwrap();
    let batch = |at| apikey_core::UsageBatchId {
        flusher: uuid::Uuid::new_v4(),
        seq: 1,
        at,
    };
    let item = |at| apikey_core::UsageUpdate {
        id: r.id,
        last_used_at: at,
        count: 1,
    };
    let old = batch(base_time());
    let recent = batch(base_time() + TimeDelta::days(2));
    let now = batch(base_time() + apikey_core::USAGE_MARK_RETENTION + TimeDelta::days(1));
    for b in [old, recent, now] {
        store.record_usage(b, &[item(b.at)]).await.unwrap();
    }
    let doc = keys(store)
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("the key");
    let marks = doc.get_document("usage_marks").expect("marks");
    let mut flushers: Vec<&str> = marks.keys().map(String::as_str).collect();
    flushers.sort_unstable();
    let mut want = vec![
        recent.flusher.simple().to_string(),
        now.flusher.simple().to_string(),
    ];
    want.sort_unstable();
    assert_eq!(flushers, want, "the week-old mark is gone: {doc}");
    assert_eq!(doc.get_i64("usage_count"), Ok(3));
}

/// `count` (the server's `count_documents`, not the paging default) agrees with
/// [`KeyFilter::matches`] for an exact tenant — a tenant, another, none (keys without a tenant,
/// never a tenant's) and an unknown one — ignores `after` and `limit`, takes operator-shaped
/// values literally, and leaves out a key marked `deleting` — the MongoDB-only part the store
/// suite's `count_agrees_with_matches` cannot reach (a deletion stopped after its mark).
#[tokio::test]
async fn count_agrees_with_matches_in_exact_tenants() {
    use apikey_core::{Cursor, KeyState, TenantId};
    use apikey_testkit::fixtures::tenant;

    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = &isolated.store;
    let (acme, other, nobody) = (tenant("acme"), tenant("other"), tenant("nobody"));
    let mut data = Vec::new();
    for i in 0..12_u32 {
        let t = [Some(&acme), Some(&other), None][(i % 3) as usize];
        let mut r = record(t, base_time() + TimeDelta::seconds(i.into()));
        r.owner = match i % 4 {
            0 => Some("alice".to_owned()),
            1 => Some("{\"$ne\": null}".to_owned()),
            2 => Some("Alice".to_owned()),
            _ => None,
        };
        r.state = KeyState::ALL[(i % 4) as usize];
        r.tags = if i % 2 == 0 {
            vec!["prod".into()]
        } else {
            vec![]
        };
        store.insert(&r, &created(&r)).await.unwrap();
        data.push(r);
    }
    // A deletion stopped after its mark: gone for every reader, so not counted.
    let gone = data.pop().expect("a record");
    keys(store)
        .update_one(
            doc! { "lookup_id": { "$eq": gone.lookup_id.as_str() } },
            doc! { "$set": { "deleting": true } },
        )
        .await
        .unwrap();

    let counted = vec![KeyState::Active, KeyState::Pending, KeyState::Suspended];
    let filters = [
        KeyFilter::default(),
        KeyFilter {
            states: counted.clone(),
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("alice".into()),
            states: counted.clone(),
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("{\"$ne\": null}".into()),
            ..KeyFilter::default()
        },
        KeyFilter {
            tags: vec!["prod".into()],
            ..KeyFilter::default()
        },
        // Pagination does not apply to a count.
        KeyFilter {
            states: counted,
            limit: 1,
            after: Some(Cursor::after(&data[5])),
            ..KeyFilter::default()
        },
    ];
    let mut non_zero = 0;
    for filter in &filters {
        let unpaged = KeyFilter {
            after: None,
            ..filter.clone()
        };
        for t in [Some(&acme), Some(&other), None, Some(&nobody)] {
            let want = data
                .iter()
                .filter(|r| r.tenant_id.as_ref() == t && unpaged.matches(r))
                .count() as u64;
            let got = KeyStore::count(store, t, filter).await.expect("count");
            assert_eq!(got, want, "count in {t:?} for {filter:?}");
            non_zero += usize::from(want > 0);
        }
    }
    assert!(non_zero >= 10, "only {non_zero} counts were non-zero");
    let none: Option<&TenantId> = None;
    assert_eq!(
        KeyStore::count(store, none, &KeyFilter::default())
            .await
            .unwrap(),
        3,
        "four keys without a tenant, one of them marked deleting"
    );
}
