//! Pools and credits through `ApiKeys`: the verifier charges a key's pools from the catalog,
//! the 429 names the pool, credits are set, topped up and audited through the manager.

use std::sync::Arc;

use apikey_core::catalog::{CatalogKind, Preset};
use apikey_core::http::problem_for;
use apikey_core::limit::{CreditAdjust, CreditPlan, LimitKind, PoolKind, PoolLimits};
use apikey_core::{
    ApiKeys, AuditFilter, AuditStore, Change, Clock, Credential, ErrorKind, EventType, ManualClock,
    NewKey, Peppers, Quota, QuotaPeriod, RejectionKind, RequestContext, TenantId, TenantScope,
};
use apikey_memory::{MemoryLimiter, MemoryStore};

fn keys(store: &MemoryStore, clock: &ManualClock, volatile_credits: bool) -> ApiKeys {
    let mut limiter = MemoryLimiter::new(Arc::new(clock.clone()));
    if volatile_credits {
        limiter = limiter.with_volatile_credits();
    }
    ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap())
        .clock(Arc::new(clock.clone()))
        .catalog(Arc::new(store.clone()))
        .audit(Arc::new(store.clone()))
        .limiter(Arc::new(limiter))
        .build()
        .expect("build")
}

fn quota_pool(name: &str, limit: u64) -> Preset {
    Preset::pool(
        name,
        PoolLimits {
            quota: Some(Quota {
                limit,
                period: QuotaPeriod::Day,
            }),
            ..PoolLimits::default()
        },
    )
}

async fn call(keys: &ApiKeys, token: &str) -> Result<(), apikey_core::Rejection> {
    keys.verifier()
        .verify(Credential::new(token), &RequestContext::new())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_owners_keys_share_its_pool_and_the_429_names_it() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = keys(&store, &clock, false);
    let acme = TenantId::new("acme").unwrap();
    let m = keys.manager();
    m.save_preset(Some(&acme), quota_pool("owner:*", 3), 0, Change::new())
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for i in 0..2 {
        let new = NewKey::new(format!("k{i}"))
            .tenant(acme.clone())
            .owner("o1");
        tokens.push(m.create(new).await.unwrap().token);
    }
    let other = m
        .create(NewKey::new("other").tenant(acme.clone()).owner("o2"))
        .await
        .unwrap()
        .token;
    for t in [&tokens[0], &tokens[1], &tokens[0]] {
        call(&keys, t.expose()).await.expect("within the owner's 3");
    }
    let refused = call(&keys, tokens[1].expose()).await.unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::RateLimited);
    assert_eq!(refused.limiting_pool(), Some("owner:o1"));
    assert_eq!(
        refused.limit().unwrap().kind,
        LimitKind::PoolQuota(PoolKind::Owner)
    );
    let problem = problem_for(&refused, "");
    let body: serde_json::Value = serde_json::from_str(&problem.body).unwrap();
    assert_eq!(
        (body["limit"].as_str(), body["pool"].as_str()),
        (Some("owner-quota"), Some("owner:o1"))
    );
    assert!(
        problem
            .headers
            .iter()
            .any(|(n, v)| *n == "ratelimit" && v.starts_with("\"owner-quota\";r=0"))
    );
    call(&keys, other.expose())
        .await
        .expect("another owner has a pool of their own");
}

#[tokio::test]
async fn key_credits_are_charged_from_the_first_request_topped_up_and_audited() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = keys(&store, &clock, true);
    let m = keys.manager();
    // The verifier reads the (empty) pools of the tenant before the key exists.
    let warm = m.create(NewKey::new("warm")).await.unwrap().token;
    call(&keys, warm.expose()).await.unwrap();
    clock.advance(chrono::TimeDelta::seconds(1));
    let created = m.create(NewKey::new("metered")).await.unwrap();
    let id = created.record.id;
    m.set_key_credits(
        &TenantScope::All,
        id,
        Some(CreditPlan::once(2)),
        Change::by("ops"),
    )
    .await
    .unwrap();
    let token = created.token.expose();
    call(&keys, token).await.unwrap();
    call(&keys, token).await.unwrap();
    let spent = call(&keys, token).await.unwrap_err();
    assert_eq!(spent.kind(), RejectionKind::CreditsExhausted);
    assert_eq!(spent.status(), 429);
    assert_eq!(
        spent.retry_after_duration(),
        None,
        "one-time credits never return"
    );
    let body: serde_json::Value = serde_json::from_str(&problem_for(&spent, "").body).unwrap();
    assert_eq!(body["code"], "credits_exhausted");
    assert_eq!(body["limit"], "credits");

    let after = m
        .adjust_key_credits(
            &TenantScope::All,
            id,
            CreditAdjust::TopUp(5),
            Change::by("billing").because("invoice 42 paid"),
        )
        .await
        .unwrap();
    assert_eq!(after.balance, 5);
    call(&keys, token).await.expect("topped up");
    assert_eq!(
        m.key_credits(&TenantScope::All, id).await.unwrap().balance,
        4
    );
    let events = AuditStore::query(
        &store,
        &TenantScope::All,
        &AuditFilter {
            types: vec![EventType::CreditsAdjusted],
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.actor.as_deref(), Some("billing"));
    assert_eq!(e.data.as_ref().unwrap()["balance"], 5);
    assert_eq!(
        m.key_credits(&TenantScope::All, warm_id(&keys).await)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound,
        "a key without credits"
    );
    let _ = clock.now();
}

async fn warm_id(keys: &ApiKeys) -> apikey_core::KeyId {
    keys.manager()
        .query(&TenantScope::All, &apikey_core::KeyFilter::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.name == "warm")
        .unwrap()
        .id
}

/// Another instance, whose copy of the pools predates the key, still charges a key created with
/// credits from its first request: the key is newer than the copy, so the copy is read again.
#[tokio::test]
async fn another_instance_charges_a_new_keys_credits_at_once() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(chrono::Utc::now());
    let (a, b) = (keys(&store, &clock, true), keys(&store, &clock, true));
    let warm = a.manager().create(NewKey::new("warm")).await.unwrap().token;
    call(&b, warm.expose()).await.unwrap();
    clock.advance(chrono::TimeDelta::seconds(30));
    let created = a.manager().create(NewKey::new("metered")).await.unwrap();
    a.manager()
        .set_key_credits(
            &TenantScope::All,
            created.record.id,
            Some(CreditPlan::once(1)),
            Change::new(),
        )
        .await
        .unwrap();
    call(&b, created.token.expose()).await.unwrap();
    assert_eq!(
        call(&b, created.token.expose()).await.unwrap_err().kind(),
        RejectionKind::CreditsExhausted
    );
}

#[tokio::test]
async fn credits_without_a_durable_limiter_fail_closed() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = keys(&store, &clock, false);
    let m = keys.manager();
    let created = m.create(NewKey::new("metered")).await.unwrap();
    m.set_key_credits(
        &TenantScope::All,
        created.record.id,
        Some(CreditPlan::once(10)),
        Change::new(),
    )
    .await
    .unwrap();
    let refused = call(&keys, created.token.expose()).await.unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::Unavailable);
}

#[tokio::test]
async fn bad_pools_are_refused_naming_why() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = keys(&store, &clock, true);
    let m = keys.manager();
    let credits = PoolLimits {
        credits: Some(CreditPlan::once(1)),
        ..PoolLimits::default()
    };
    for (preset, why) in [
        (quota_pool("team:x", 1), "pool name"),
        (
            Preset::pool("tenant", PoolLimits::default()),
            "needs a rate",
        ),
        (Preset::pool("tenant@owner:a", credits), "override"),
        (
            Preset::pool(
                format!("key:{}", apikey_core::KeyId::new()),
                quota_pool("x", 1).pool.unwrap(),
            ),
            "credits only",
        ),
        (Preset::new(CatalogKind::Pool, "tenant"), "needs its limits"),
    ] {
        let err = m
            .save_preset(None, preset, 0, Change::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(why), "{err} should say {why}");
    }
    assert!(m.presets(None, CatalogKind::Pool).await.unwrap().is_empty());
}
