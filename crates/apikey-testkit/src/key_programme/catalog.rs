//! Templates and groups as stored: every field round-trips, writes are compare-and-set with their
//! audit event, and presets of other tenants or the other kind stay apart.

use std::time::Duration;

use apikey_core::catalog::{
    CatalogKind, KeyDefaults, Preset, RotationMode, RotationPolicy, preset_event,
};
use apikey_core::limit::{CreditPlan, EndpointLimit, PoolLimits, Quota, QuotaPeriod};
use apikey_core::{
    CatalogStore, ErrorKind, EventType, IpRules, Metadata, Rate, ScopeSet, TenantId,
};
use chrono::{DateTime, TimeDelta, Utc};

use super::events_of;
use crate::fixtures::{base_time, tenant};

fn at(s: i64) -> DateTime<Utc> {
    // An odd millisecond, so a store that keeps seconds only is caught.
    base_time() + TimeDelta::seconds(s) + TimeDelta::milliseconds(7)
}

/// A preset with every default away from its default value.
pub fn full_preset(kind: CatalogKind, name: &str) -> Preset {
    let rate = Rate::with_burst(10, Duration::from_secs(1), 20).expect("rate");
    let metadata = Metadata::from_value(
        serde_json::json!({"plan": {"tier": "gold", "seats": 5, "ünïcode": "✓"}}),
    )
    .expect("metadata");
    Preset {
        kind,
        name: name.to_owned(),
        description: Some("for the \"partners\" programme\nsecond line".to_owned()),
        defaults: KeyDefaults {
            scopes: ScopeSet::parse(["projects:read", "billing:*"]).expect("scopes"),
            rate_limit: Some(rate),
            endpoint_limits: vec![EndpointLimit::new("GET /projects", rate)],
            quota: Some(Quota {
                limit: 1000,
                period: QuotaPeriod::Month,
            }),
            expires_in_days: Some(90),
            ip_rules: IpRules::parse(["10.0.0.0/8", "2001:db8::/32"], ["10.6.6.6/32"])
                .expect("ip rules"),
            environment: Some("production".to_owned()),
            tags: vec!["Partner".to_owned(), "tier-1 ✓".to_owned()],
            metadata,
            require_approval: true,
        },
        rotation: None,
        pool: None,
    }
}

async fn put<S: CatalogStore + ?Sized>(
    store: &S,
    t: Option<&TenantId>,
    p: &Preset,
    expected: u64,
    s: i64,
) -> apikey_core::Result<u64> {
    let event = preset_event(
        t,
        p.kind,
        &p.name,
        Some((p, expected + 1)),
        at(s),
        Some("admin 'x'; DROP TABLE apikey_catalog; --".into()),
        None,
    )
    .expect("event");
    store.put_preset(t, p, expected, &event).await
}

/// Every field of a preset, its version and `updated_at` (the event's instant, in ms) come back
/// as written, for a tenant and for keys without one; a list is ordered by name.
pub async fn presets_round_trip<S>(store: &S)
where
    S: CatalogStore + ?Sized,
{
    let acme = tenant("acme");
    for t in [Some(&acme), None] {
        let p = full_preset(CatalogKind::Template, "partner");
        assert_eq!(put(store, t, &p, 0, 1).await.expect("put"), 1);
        let got = store
            .get_preset(t, CatalogKind::Template, "partner")
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(got.preset, p);
        assert_eq!(got.version, 1);
        assert_eq!(got.tenant.as_ref(), t);
        assert_eq!(
            got.updated_at,
            at(1),
            "updated_at is the event's instant, in ms"
        );
    }
    let mut policy = Preset::new(CatalogKind::Policy, "group:payments");
    policy.rotation = Some(RotationPolicy {
        every_days: 90,
        grace_days: 7,
        mode: RotationMode::Rotate,
    });
    put(store, Some(&acme), &policy, 0, 1)
        .await
        .expect("policy");
    let got = store
        .get_preset(Some(&acme), CatalogKind::Policy, "group:payments")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.preset, policy, "a rotation policy round-trips");
    // A pool with every number: rate, quota, credits refilled on the 31st in a time zone.
    let pool = Preset::pool(
        "owner:*@owner:acme corp",
        PoolLimits {
            rate: Some(Rate::with_burst(100, Duration::from_secs(60), 20).expect("rate")),
            quota: Some(Quota {
                limit: 50_000,
                period: QuotaPeriod::Month,
            }),
            credits: Some(CreditPlan {
                initial: 12_345,
                refill: Some("+1000/month@31 America/New_York".parse().expect("refill")),
            }),
        },
    );
    put(store, Some(&acme), &pool, 0, 1).await.expect("pool");
    let got = store
        .get_preset(Some(&acme), CatalogKind::Pool, "owner:*@owner:acme corp")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.preset, pool, "a pool round-trips");
    for name in ["b-team", "a-team", "c-team"] {
        let g = Preset::new(CatalogKind::Group, name);
        put(store, Some(&acme), &g, 0, 2).await.expect("put group");
    }
    let names: Vec<String> = store
        .list_presets(Some(&acme), CatalogKind::Group)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.preset.name)
        .collect();
    assert_eq!(names, ["a-team", "b-team", "c-team"], "listed by name");
    assert_eq!(
        store
            .get_preset(Some(&acme), CatalogKind::Group, "nobody")
            .await
            .expect("get"),
        None
    );
}

/// Version 0 creates; a later write names the stored version. A stale or ahead version, or 0
/// for an existing preset, is `Conflict` and leaves the preset and the log as they were.
pub async fn presets_compare_and_set<S>(store: &S)
where
    S: CatalogStore + apikey_core::AuditStore + ?Sized,
{
    let t = tenant("cas");
    let mut p = Preset::new(CatalogKind::Template, "basic");
    put(store, Some(&t), &p, 0, 1).await.expect("create");
    let before = events_of(store, &[EventType::TemplateSaved]).await.len();
    p.description = Some("changed".to_owned());
    for expected in [0, 2, 9] {
        let err = put(store, Some(&t), &p, expected, 2).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Conflict,
            "expected version {expected}"
        );
    }
    assert_eq!(
        events_of(store, &[EventType::TemplateSaved]).await.len(),
        before,
        "a refused write records no event"
    );
    let got = store
        .get_preset(Some(&t), CatalogKind::Template, "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        got.preset.description, None,
        "a refused write changes nothing"
    );
    assert_eq!(put(store, Some(&t), &p, 1, 3).await.expect("update"), 2);
    let events = events_of(store, &[EventType::TemplateSaved]).await;
    assert_eq!(events.len(), before + 1, "each write commits its event");
    let last = events.iter().max_by_key(|e| e.at).expect("event");
    assert_eq!(last.data.as_ref().expect("data")["version"], 2);
    assert_eq!(last.tenant_id.as_ref(), Some(&t));
}

/// A preset belongs to one tenant and one kind: the same name elsewhere is another preset.
pub async fn presets_apart<S>(store: &S)
where
    S: CatalogStore + ?Sized,
{
    let (a, b) = (tenant("a"), tenant("a-"));
    let mut p = Preset::new(CatalogKind::Template, "x");
    p.description = Some("a's template".to_owned());
    put(store, Some(&a), &p, 0, 1).await.expect("a");
    assert_eq!(
        store
            .get_preset(Some(&b), CatalogKind::Template, "x")
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store
            .get_preset(None, CatalogKind::Template, "x")
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store
            .get_preset(Some(&a), CatalogKind::Group, "x")
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store
            .get_preset(Some(&a), CatalogKind::Template, "X")
            .await
            .expect("get"),
        None,
        "names are case-sensitive"
    );
    let g = Preset::new(CatalogKind::Group, "x");
    assert_eq!(
        put(store, Some(&a), &g, 0, 2).await.expect("group x"),
        1,
        "a group may share a template's name"
    );
    assert_eq!(put(store, None, &p, 0, 3).await.expect("no tenant"), 1);
    assert_eq!(put(store, Some(&b), &p, 0, 4).await.expect("b"), 1);
    assert!(
        store
            .list_presets(Some(&tenant("c")), CatalogKind::Template)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .list_presets(Some(&a), CatalogKind::Template)
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_presets(None, CatalogKind::Template)
            .await
            .expect("list")
            .len(),
        1
    );
}

/// Removing a preset removes it and records the removal; removing it again is `false` and
/// records nothing.
pub async fn presets_remove<S>(store: &S)
where
    S: CatalogStore + apikey_core::AuditStore + ?Sized,
{
    let t = tenant("rm");
    let g = Preset::new(CatalogKind::Group, "ops");
    put(store, Some(&t), &g, 0, 1).await.expect("put");
    let other = Preset::new(CatalogKind::Group, "dev");
    put(store, Some(&t), &other, 0, 1).await.expect("put");
    let removal = |s| {
        preset_event(Some(&t), CatalogKind::Group, "ops", None, at(s), None, None).expect("event")
    };
    assert!(
        store
            .remove_preset(Some(&t), CatalogKind::Group, "ops", &removal(2))
            .await
            .expect("remove")
    );
    assert_eq!(events_of(store, &[EventType::GroupRemoved]).await.len(), 1);
    assert!(
        !store
            .remove_preset(Some(&t), CatalogKind::Group, "ops", &removal(3))
            .await
            .expect("again")
    );
    assert_eq!(
        events_of(store, &[EventType::GroupRemoved]).await.len(),
        1,
        "no event for nothing removed"
    );
    assert_eq!(
        store
            .get_preset(Some(&t), CatalogKind::Group, "ops")
            .await
            .expect("get"),
        None
    );
    assert!(
        store
            .get_preset(Some(&t), CatalogKind::Group, "dev")
            .await
            .expect("get")
            .is_some(),
        "only that one"
    );
}
