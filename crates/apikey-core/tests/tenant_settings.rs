//! Tenant settings on the manager: creation honours `approval_required` and both key-count
//! limits (counting only the counted states), a tenant's own row overrides the default row, and
//! `set_settings` validates, compares and records its change.

use std::sync::Arc;

use apikey_core::tenant::Retention;
use apikey_core::{
    ApiKeys, AuditFilter, AuditStore, Change, ErrorKind, EventSubject, EventType, KeyLimit,
    KeyLimitReached, KeyState, NewKey, TenantId, TenantScope, TenantSettings,
};
use apikey_memory::MemoryStore;

fn keys(store: &MemoryStore) -> ApiKeys {
    ApiKeys::builder(Arc::new(store.clone()))
        .random_peppers_keys_die_at_exit()
        .tenant_settings(Arc::new(store.clone()))
        .build()
        .expect("build")
}

fn t(id: &str) -> TenantId {
    TenantId::new(id).expect("tenant id")
}

fn key(name: &str, tenant: Option<&TenantId>, owner: Option<&str>) -> NewKey {
    let mut k = NewKey::new(name);
    k.tenant = tenant.cloned();
    k.owner = owner.map(str::to_owned);
    k
}

async fn events(store: &MemoryStore) -> usize {
    AuditStore::query(store, &TenantScope::All, &AuditFilter::default())
        .await
        .expect("audit")
        .len()
}

#[tokio::test]
async fn approval_required_comes_from_the_default_row_unless_the_tenant_overrides_it() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let strict = TenantSettings {
        approval_required: true,
        ..TenantSettings::default()
    };
    m.set_settings(None, strict, 0, Change::by("ops"))
        .await
        .expect("default row");
    let relaxed = t("relaxed");
    m.set_settings(Some(&relaxed), TenantSettings::default(), 0, Change::new())
        .await
        .expect("tenant row");

    let none = m.create(key("a", None, None)).await.expect("no tenant");
    assert_eq!(none.record.state, KeyState::Pending);
    let other = m
        .create(key("b", Some(&t("other")), None))
        .await
        .expect("other");
    assert_eq!(
        other.record.state,
        KeyState::Pending,
        "falls back to the default row"
    );
    let own = m.create(key("c", Some(&relaxed), None)).await.expect("own");
    assert_eq!(
        own.record.state,
        KeyState::Active,
        "the tenant's own row wins"
    );
    // The caller may still ask for approval where the settings do not.
    let asked = m
        .create(key("d", Some(&relaxed), None).require_approval())
        .await
        .expect("asked");
    assert_eq!(asked.record.state, KeyState::Pending);
}

#[tokio::test]
async fn max_keys_per_tenant_counts_only_counted_states_and_names_the_limit() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let acme = t("acme");
    m.set_settings(
        None,
        TenantSettings {
            max_keys_per_tenant: Some(1),
            ..TenantSettings::default()
        },
        0,
        Change::new(),
    )
    .await
    .expect("default row");
    m.set_settings(
        Some(&acme),
        TenantSettings {
            max_keys_per_tenant: Some(2),
            ..TenantSettings::default()
        },
        0,
        Change::new(),
    )
    .await
    .expect("acme row");

    let first = m.create(key("1", Some(&acme), None)).await.expect("1");
    m.create(key("2", Some(&acme), None)).await.expect("2");
    let before = events(&store).await;
    let err = m.create(key("3", Some(&acme), None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitReached);
    assert!(err.message().contains("max_keys_per_tenant"), "{err}");
    let why = KeyLimitReached::of(&err).expect("typed cause");
    assert_eq!(why.limit, KeyLimit::PerTenant(Some(acme.clone())));
    assert_eq!((why.max, why.count), (2, 2));
    assert_eq!(
        events(&store).await,
        before,
        "a refused creation writes nothing"
    );

    // Revoked keys do not count: revoking one makes room.
    m.revoke(&TenantScope::All, first.record.id, Change::new())
        .await
        .expect("revoke");
    m.create(key("3", Some(&acme), None))
        .await
        .expect("room again");

    // Another tenant and the keys without a tenant take the default row's limit of 1, each
    // counted on its own.
    m.create(key("x", Some(&t("beta")), None))
        .await
        .expect("beta 1");
    let err = m
        .create(key("y", Some(&t("beta")), None))
        .await
        .unwrap_err();
    assert_eq!(
        KeyLimitReached::of(&err).expect("typed").limit,
        KeyLimit::PerTenant(Some(t("beta")))
    );
    m.create(key("n", None, None)).await.expect("no tenant 1");
    let err = m.create(key("n2", None, None)).await.unwrap_err();
    assert_eq!(
        KeyLimitReached::of(&err).expect("typed").limit,
        KeyLimit::PerTenant(None)
    );
}

#[tokio::test]
async fn max_keys_per_owner_limits_each_owner_and_not_keys_without_one() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let acme = t("acme");
    m.set_settings(
        Some(&acme),
        TenantSettings {
            max_keys_per_owner: Some(1),
            // Only active keys count here: pending ones do not.
            counted_states: vec![KeyState::Active],
            ..TenantSettings::default()
        },
        0,
        Change::new(),
    )
    .await
    .expect("acme row");

    m.create(key("p", Some(&acme), Some("alice")).require_approval())
        .await
        .expect("pending, not counted");
    m.create(key("a1", Some(&acme), Some("alice")))
        .await
        .expect("alice 1");
    let err = m
        .create(key("a2", Some(&acme), Some("alice")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitReached);
    assert!(err.message().contains("max_keys_per_owner"), "{err}");
    let why = KeyLimitReached::of(&err).expect("typed cause");
    assert_eq!(
        why.limit,
        KeyLimit::PerOwner(Some(acme.clone()), "alice".into())
    );
    assert_eq!((why.max, why.count), (1, 1));
    m.create(key("b1", Some(&acme), Some("bob")))
        .await
        .expect("another owner");
    m.create(key("Alice", Some(&acme), Some("Alice")))
        .await
        .expect("owners compare exactly");
    for i in 0..3 {
        m.create(key(&format!("anon{i}"), Some(&acme), None))
            .await
            .expect("no owner, no owner limit");
    }
    // The same owner in another tenant (no settings: defaults) is not limited.
    m.create(key("a", Some(&t("elsewhere")), Some("alice")))
        .await
        .expect("other tenant");
    m.create(key("a", Some(&t("elsewhere")), Some("alice")))
        .await
        .expect("other tenant");
}

#[tokio::test]
async fn set_settings_validates_compares_and_records_the_change() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let acme = t("acme");
    assert_eq!(m.settings(Some(&acme)).await.expect("read"), None);
    assert_eq!(
        m.effective_settings(Some(&acme)).await.expect("effective"),
        TenantSettings::default()
    );

    let bad = TenantSettings {
        retention: Retention {
            audit_days: Some(0),
            ..Retention::default()
        },
        ..TenantSettings::default()
    };
    let err = m
        .set_settings(Some(&acme), bad, 0, Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("retention.audit_days"), "{err}");
    let err = m
        .set_settings(
            Some(&acme),
            TenantSettings::default(),
            0,
            Change::by("x".repeat(10_000)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(m.settings(Some(&acme)).await.expect("read"), None);
    assert_eq!(events(&store).await, 0, "bad input writes nothing");

    let wanted = TenantSettings {
        approval_required: true,
        retention: Retention {
            audit_days: Some(30),
            ..Retention::default()
        },
        ..TenantSettings::default()
    };
    let stored = m
        .set_settings(
            Some(&acme),
            wanted.clone(),
            0,
            Change::by("alice").because("SOC 2"),
        )
        .await
        .expect("first write");
    assert_eq!(stored.version, 1);
    assert_eq!(m.settings(Some(&acme)).await.expect("read"), Some(stored));
    let err = m
        .set_settings(Some(&acme), TenantSettings::default(), 0, Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    let log = AuditStore::query(
        &store,
        &TenantScope::Tenant(acme.clone()),
        &AuditFilter {
            subject: Some(EventSubject::Tenant(acme.clone())),
            ..AuditFilter::default()
        },
    )
    .await
    .expect("audit");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event_type, EventType::TenantSettingsUpdated);
    assert_eq!(log[0].actor.as_deref(), Some("alice"));
    assert_eq!(log[0].reason.as_deref(), Some("SOC 2"));
    let data = log[0].data.as_ref().expect("data");
    assert_eq!(data["version"], 1);
    assert_eq!(data["settings"]["retention"]["audit_days"], 30);
}

#[tokio::test]
async fn without_a_settings_store_defaults_apply_and_writes_are_a_config_error() {
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .expect("build");
    let m = keys.manager();
    let created = m.create(key("a", None, None)).await.expect("create");
    assert_eq!(created.record.state, KeyState::Active);
    let err = m
        .set_settings(None, TenantSettings::default(), 0, Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        m.settings(None).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}
