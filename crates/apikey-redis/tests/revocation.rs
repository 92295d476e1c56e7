//! Revocation fan-out: three verifiers share a store and Redis; a revoke on one is seen by the
//! others within 1 s; a listener that lost its subscription recovers and drops its first level.

mod common;

use apikey_core::Change;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::{
    ApiKeys, Credential, KeyStore, NewKey, Peppers, RequestContext, TenantScope, Verifier,
};
use apikey_memory::MemoryStore;
use apikey_redis::{KeyPrefix, RedisCache, RevocationListener};
use common::proxy::{Mode, Proxy, RedisUrl};

async fn instance(
    url: &str,
    prefix: &KeyPrefix,
    store: &Arc<dyn KeyStore>,
    peppers: &Peppers,
) -> (ApiKeys, RevocationListener) {
    let conn = common::connect(url).await;
    let cache = RedisCache::new(conn.clone(), peppers).with_prefix(prefix.clone());
    let keys = ApiKeys::builder(Arc::clone(store))
        .peppers(peppers.clone())
        .shared_cache(Arc::new(cache.clone()))
        .build()
        .expect("build");
    let listener = RevocationListener::spawn(&conn, &cache, keys.verifier().clone());
    assert!(listener.wait_subscribed(1, Duration::from_secs(5)).await);
    (keys, listener)
}

async fn accepts(v: &Verifier, token: &str) -> bool {
    v.verify(Credential::new(token), &RequestContext::new())
        .await
        .is_ok()
}

/// Polls until `v` rejects `token`, failing after `deadline`.
async fn rejected_before(v: &Verifier, token: &str, deadline: Instant) {
    while accepts(v, token).await {
        assert!(Instant::now() < deadline, "still accepted at the deadline");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_on_one_verifier_is_seen_by_the_others_within_a_second() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(instance(&url, &prefix, &store, &peppers).await);
    }
    let created = nodes[0]
        .0
        .manager()
        .create(NewKey::new("shared"))
        .await
        .expect("create");
    let token = created.token.expose().to_owned();
    for (keys, _) in &nodes {
        assert!(
            accepts(keys.verifier(), &token).await,
            "fills every first level"
        );
    }

    nodes[0]
        .0
        .manager()
        .revoke(&TenantScope::All, created.record.id, Change::new())
        .await
        .expect("revoke");
    let deadline = Instant::now() + Duration::from_secs(1);
    for (keys, _) in &nodes {
        rejected_before(keys.verifier(), &token, deadline).await;
    }
    assert!(nodes[1].1.applied() >= 1 && nodes[2].1.applied() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_subscription_resubscribes_and_clears_the_first_level() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let (a, _la) = instance(&url, &prefix, &store, &peppers).await;

    // Instance b subscribes through a proxy the test controls.
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    let conn = common::connect(&url).await;
    let cache = RedisCache::new(conn, &peppers).with_prefix(prefix.clone());
    let b = ApiKeys::builder(Arc::clone(&store))
        .peppers(peppers.clone())
        .shared_cache(Arc::new(cache.clone()))
        .build()
        .expect("build");
    let client = redis::Client::open(proxy.url()).unwrap();
    let conn = common::connect(&url).await;
    let lb = RevocationListener::builder(&conn, &cache, b.verifier().clone())
        .pubsub_client(client)
        .ping_every(Duration::from_millis(100))
        .spawn()
        .expect("listener");
    assert!(lb.wait_subscribed(1, Duration::from_secs(5)).await);

    let created = a.manager().create(NewKey::new("k")).await.unwrap();
    let token = created.token.expose().to_owned();
    assert!(accepts(b.verifier(), &token).await);

    // Creating a key invalidates its lookup id too (a negative entry may exist): wait for b to
    // have applied that message, so the count below only moves if b hears the revocation.
    let deadline = Instant::now() + Duration::from_secs(2);
    while lb.applied() == 0 {
        assert!(
            Instant::now() < deadline,
            "create's invalidation never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The invalidation is published while b is cut off, so b never receives it.
    let applied = lb.applied();
    proxy.set(Mode::Cut);
    a.manager()
        .revoke(&TenantScope::All, created.record.id, Change::new())
        .await
        .unwrap();
    proxy.set(Mode::Pass);
    assert!(lb.wait_subscribed(2, Duration::from_secs(5)).await);
    assert!(!accepts(b.verifier(), &token).await);
    assert_eq!(
        lb.applied(),
        applied,
        "the message was lost; the cache clear covered it"
    );
}
