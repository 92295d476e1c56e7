//! Shared pools and credits through an integration: the 429 of a spent owner pool names the
//! pool in problem+json and in the `RateLimit` fields, and spent one-time credits answer
//! `credits_exhausted` with no `Retry-After` (they never come back on their own).

use std::net::TcpListener;
use std::sync::Arc;

use apikey_core::catalog::Preset;
use apikey_core::limit::{CreditPlan, PoolLimits};
use apikey_core::{ApiKeys, Change, NewKey, Peppers, Quota, QuotaPeriod, TenantScope};
use apikey_memory::{MemoryLimiter, MemoryStore};

use super::Start;
use super::client::Client;

/// Keys with a catalog and a limiter that counts pools and credits (in process).
fn keys() -> ApiKeys {
    let store = MemoryStore::new();
    ApiKeys::builder(Arc::new(store.clone()))
        .peppers(
            Peppers::single("test", b"a test pepper of enough length".to_vec())
                .expect("valid test pepper"),
        )
        .catalog(Arc::new(store))
        .limiter(Arc::new(
            MemoryLimiter::new(Arc::new(apikey_core::SystemClock)).with_volatile_credits(),
        ))
        .build()
        .expect("valid test keys")
}

/// Runs the pool and credit cases against a server made by `start` (the matrix's routes; only
/// `GET /any` is used).
pub async fn pools(start: Start<'_>) {
    let keys = keys();
    let server = start(&keys, TcpListener::bind("127.0.0.1:0").expect("bind"));
    let m = keys.manager();
    let quota = PoolLimits {
        quota: Some(Quota {
            limit: 2,
            period: QuotaPeriod::Day,
        }),
        ..PoolLimits::default()
    };
    m.save_preset(None, Preset::pool("owner:*", quota), 0, Change::new())
        .await
        .expect("pool");
    let a = m
        .create(NewKey::new("a").owner("acme"))
        .await
        .expect("key a");
    let b = m
        .create(NewKey::new("b").owner("acme"))
        .await
        .expect("key b");
    let mut client = Client::new();
    let addr = server.addr();
    for (i, t) in [&a.token, &b.token].into_iter().enumerate() {
        let r = client.get(addr, "/any", t.expose()).await;
        assert_eq!(r.status, 200, "request {i} within the owner's pool");
    }
    let r = client.get(addr, "/any", a.token.expose()).await;
    assert_eq!(r.status, 429, "the owner's pool of 2 is spent: {}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("problem json");
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["limit"], "owner-quota");
    assert_eq!(body["pool"], "owner:acme");
    assert!(
        r.header("ratelimit-policy")
            .is_some_and(|v| v.starts_with("\"owner-quota\";q=2")),
        "{:?}",
        r.headers
    );
    assert!(r.header("retry-after").is_some());

    let metered = m.create(NewKey::new("metered")).await.expect("metered");
    m.set_key_credits(
        &TenantScope::All,
        metered.record.id,
        Some(CreditPlan::once(1)),
        Change::new(),
    )
    .await
    .expect("credits");
    let r = client.get(addr, "/any", metered.token.expose()).await;
    assert_eq!(r.status, 200);
    let r = client.get(addr, "/any", metered.token.expose()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "credits_exhausted");
    assert_eq!(
        r.header("retry-after"),
        None,
        "one-time credits never return"
    );
    assert!(
        r.header("ratelimit")
            .is_some_and(|v| v.starts_with("\"credits\";r=0")),
        "{:?}",
        r.headers
    );
}
