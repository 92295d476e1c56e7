//! History, diff and rollback read back from the audit log (memory store).

use std::sync::Arc;

use apikey_core::{
    ApiKeys, AuditFilter, AuditStore, Change, ErrorKind, EventType, KeyId, KeyUpdate, ManualClock,
    Metadata, NewKey, Peppers, Rate, ScopeSet, TenantId, TenantScope,
};
use apikey_memory::{MemoryLimiter, MemoryStore};

struct Fx {
    keys: ApiKeys,
    store: MemoryStore,
    clock: ManualClock,
}

fn fx() -> Fx {
    let store = MemoryStore::new();
    let clock = ManualClock::fixed();
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .audit(Arc::new(store.clone()))
        .peppers(Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap())
        .clock(Arc::new(clock.clone()))
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(clock.clone()))))
        .build()
        .unwrap();
    Fx { keys, store, clock }
}

fn tick(f: &Fx) {
    f.clock.advance(chrono::Duration::seconds(1));
}

const ALL: TenantScope = TenantScope::All;

/// A key at version 3: created with read scopes and tag `v1`, then given write scopes, a rate
/// and metadata (v2), then renamed (v3).
async fn three_versions(f: &Fx, tenant: Option<&str>) -> KeyId {
    let m = f.keys.manager();
    let mut new = NewKey::new("svc")
        .scopes(["projects:read"])
        .unwrap()
        .tags(["v1"]);
    if let Some(t) = tenant {
        new = new.tenant(TenantId::new(t).unwrap());
    }
    let id = m
        .create_as(new, Change::by("alice").because("new service"))
        .await
        .unwrap()
        .record
        .id;
    tick(f);
    let upd = KeyUpdate {
        scopes: Some(ScopeSet::parse(["projects:read", "projects:write"]).unwrap()),
        rate_limit: Some(Some(
            Rate::new(10, std::time::Duration::from_secs(1)).unwrap(),
        )),
        tags: Some(vec!["v2".into()]),
        metadata: Some(Metadata::from_json(r#"{"team":"core"}"#).unwrap()),
        ..KeyUpdate::default()
    };
    m.update(&ALL, id, upd, Change::by("bob").because("needs writes"))
        .await
        .unwrap();
    tick(f);
    let rename = KeyUpdate {
        name: Some("svc-renamed".into()),
        ..KeyUpdate::default()
    };
    m.update(&ALL, id, rename, Change::by("carol"))
        .await
        .unwrap();
    tick(f);
    id
}

async fn event_count(f: &Fx, id: KeyId) -> usize {
    f.store
        .query(&ALL, &AuditFilter::key(id))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn history_lists_every_version_with_actor_and_reason() {
    let f = fx();
    let id = three_versions(&f, None).await;
    let h = f.keys.manager().history(&ALL, id).await.unwrap();
    let summary: Vec<_> = h
        .iter()
        .map(|v| {
            (
                v.version,
                v.event_type,
                v.actor.as_deref(),
                v.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, EventType::Created, Some("alice"), Some("new service")),
            (2, EventType::Updated, Some("bob"), Some("needs writes")),
            (3, EventType::Updated, Some("carol"), None),
        ]
    );
    assert!(h[0].before.is_none());
    assert_eq!(h[1].before.as_ref().unwrap().version, 1);
    assert_eq!(h[2].after.as_ref().unwrap().name, "svc-renamed");
    assert!(h[0].at < h[1].at && h[1].at < h[2].at);
}

#[tokio::test]
async fn diff_names_exactly_the_changed_fields() {
    let f = fx();
    let id = three_versions(&f, None).await;
    let m = f.keys.manager();
    let d = m.diff(&ALL, id, 1, 2).await.unwrap();
    let fields: Vec<_> = d.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["metadata", "rate_limit", "scopes", "tags"]);
    let scopes = &d[2];
    assert_eq!(scopes.from, serde_json::json!(["projects:read"]));
    assert_eq!(
        scopes.to,
        serde_json::json!(["projects:read", "projects:write"])
    );
    let d = m.diff(&ALL, id, 2, 3).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].field, "name");
    assert!(m.diff(&ALL, id, 3, 3).await.unwrap().is_empty());
    let err = m.diff(&ALL, id, 1, 9).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("version 9"), "{err}");
}

#[tokio::test]
async fn rollback_restores_settings_and_writes_its_own_event() {
    let f = fx();
    let id = three_versions(&f, None).await;
    let m = f.keys.manager();
    let before = m.get(&ALL, id).await.unwrap();
    let r = m
        .rollback(&ALL, id, 1, Change::by("dave").because("too broad"))
        .await
        .unwrap();
    assert_eq!(r.version, 4);
    assert_eq!(r.name, "svc");
    assert_eq!(r.scopes, ScopeSet::parse(["projects:read"]).unwrap());
    assert_eq!(r.rate_limit, None);
    assert_eq!(r.tags, ["v1"]);
    assert!(r.metadata.as_map().is_empty());
    // Never the secret or the lineage.
    assert_eq!(r.hash, before.hash);
    assert_eq!(r.lookup_id, before.lookup_id);
    assert_eq!(r.lineage_id, before.lineage_id);
    assert_eq!(m.get(&ALL, id).await.unwrap(), r);

    let h = m.history(&ALL, id).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!(
        (last.version, last.event_type, last.actor.as_deref()),
        (4, EventType::Updated, Some("dave"))
    );
    assert_eq!(
        last.reason.as_deref(),
        Some("rollback to version 1: too broad")
    );
    // The rollback is itself a version, so it can be diffed and undone.
    assert!(m.diff(&ALL, id, 1, 4).await.unwrap().is_empty());
    let again = m.rollback(&ALL, id, 3, Change::new()).await.unwrap();
    assert_eq!(again.name, "svc-renamed");
    assert_eq!(again.tags, ["v2"]);
}

#[tokio::test]
async fn refused_rollbacks_write_nothing() {
    let f = fx();
    let id = three_versions(&f, Some("a")).await;
    let m = f.keys.manager();
    let a = TenantScope::Tenant(TenantId::new("a").unwrap());
    let b = TenantScope::Tenant(TenantId::new("b").unwrap());
    let key_before = m.get(&ALL, id).await.unwrap();
    let events_before = event_count(&f, id).await;

    let missing = m.rollback(&a, id, 7, Change::new()).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("version 7"), "{missing}");

    let other_tenant = m.rollback(&b, id, 1, Change::new()).await.unwrap_err();
    assert_eq!(other_tenant.kind(), ErrorKind::NotFound);
    assert_eq!(
        m.history(&b, id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let same = m.rollback(&a, id, 3, Change::new()).await.unwrap_err();
    assert_eq!(same.kind(), ErrorKind::InvalidInput);
    assert!(same.to_string().contains("version"), "{same}");

    // A version of another key is not one of this key's versions.
    let other = m.create(NewKey::new("other")).await.unwrap().record.id;
    let err = m.rollback(&ALL, other, 3, Change::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    assert_eq!(m.get(&ALL, id).await.unwrap(), key_before);
    assert_eq!(event_count(&f, id).await, events_before);

    m.revoke(&a, id, Change::by("ops")).await.unwrap();
    let revoked = m.get(&ALL, id).await.unwrap();
    let events = event_count(&f, id).await;
    let err = m.rollback(&a, id, 1, Change::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("state"), "{err}");
    assert!(err.to_string().contains("revoked"), "{err}");
    assert_eq!(m.get(&ALL, id).await.unwrap(), revoked);
    assert_eq!(event_count(&f, id).await, events);
}

#[tokio::test]
async fn history_pages_through_long_logs() {
    let f = fx();
    let m = f.keys.manager();
    let id = m.create(NewKey::new("busy")).await.unwrap().record.id;
    for i in 0..1100 {
        let upd = KeyUpdate {
            description: Some(Some(format!("change {i}"))),
            ..KeyUpdate::default()
        };
        m.update(&ALL, id, upd, Change::new()).await.unwrap();
    }
    let h = m.history(&ALL, id).await.unwrap();
    assert_eq!(h.len(), 1101);
    assert!(h.iter().enumerate().all(|(i, v)| v.version == i as u64 + 1));
}

#[tokio::test]
async fn history_needs_an_audit_store_and_a_known_key() {
    let f = fx();
    let m = f.keys.manager();
    assert_eq!(
        m.history(&ALL, KeyId::new()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let store = Arc::new(MemoryStore::new());
    let bare = ApiKeys::builder(store)
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let id = bare
        .manager()
        .create(NewKey::new("k"))
        .await
        .unwrap()
        .record
        .id;
    let err = bare.manager().history(&ALL, id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("ApiKeysBuilder::audit"), "{err}");
}

#[tokio::test]
async fn rollback_checks_a_restored_expiry_like_any_update() {
    let f = fx();
    let m = f.keys.manager();
    let now = apikey_core::Clock::now(&f.clock);
    let new = NewKey::new("temp")
        .scopes(["a:read"])
        .unwrap()
        .expires_at(now + chrono::Duration::hours(1));
    let id = m.create(new).await.unwrap().record.id;
    let widen = KeyUpdate {
        scopes: Some(ScopeSet::parse(["a:read", "a:write"]).unwrap()),
        ..KeyUpdate::default()
    };
    m.update(&ALL, id, widen, Change::new()).await.unwrap();
    f.clock.advance(chrono::Duration::hours(2));
    // The expiry did not change between the versions, so its having passed is no obstacle.
    let r = m.rollback(&ALL, id, 1, Change::new()).await.unwrap();
    assert_eq!(r.scopes, ScopeSet::parse(["a:read"]).unwrap());

    // Putting back an expiry that has passed since is refused, naming it, and writes nothing.
    let forever = KeyUpdate {
        expires_at: Some(None),
        ..KeyUpdate::default()
    };
    m.update(&ALL, id, forever, Change::new()).await.unwrap();
    let before = m.get(&ALL, id).await.unwrap();
    let err = m.rollback(&ALL, id, 1, Change::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("expires_at"), "{err}");
    assert_eq!(m.get(&ALL, id).await.unwrap(), before);
}
