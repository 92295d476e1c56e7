//! Network blocks shared through Redis: a block one instance's detector makes is refused by
//! another within a second, and by an instance started afterwards (it reads the running blocks
//! when it subscribes); other clients are not affected. And the network detectors' counts added
//! up: credential stuffing spread over two instances, short of the threshold on each, is
//! blocked on both once their flushes add up.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::event::FanOut;
use apikey_core::threat::{
    CredentialStuffing, KeySketch, NetworkAction, RevokedKeyUse, SharedThreatCounts, ThreatPolicy,
};
use apikey_core::{
    ApiKeys, Change, Credential, KeyId, KeyStore, NewKey, Peppers, RejectionKind, RequestContext,
    TenantScope, TracingSink, Verifier, VerifierConfig,
};
use apikey_memory::MemoryStore;
use apikey_redis::{KeyPrefix, RedisCache, RedisThreatShare, RevocationListener};

async fn instance(
    url: &str,
    prefix: &KeyPrefix,
    store: &Arc<dyn KeyStore>,
    peppers: &Peppers,
    threats: ThreatPolicy,
) -> (ApiKeys, RevocationListener) {
    let conn = common::connect(url).await;
    let cache = RedisCache::new(conn.clone(), peppers).with_prefix(prefix.clone());
    let share = Arc::new(RedisThreatShare::new(conn.clone(), &cache));
    let keys = ApiKeys::builder(Arc::clone(store))
        .peppers(peppers.clone())
        .shared_cache(Arc::new(cache.clone()))
        .events(Arc::new(FanOut(vec![Arc::new(TracingSink), share.clone()])))
        .threat_counts(share)
        .config(VerifierConfig {
            threats,
            ..VerifierConfig::default()
        })
        .build()
        .expect("build");
    let listener = RevocationListener::spawn(&conn, &cache, keys.verifier().clone());
    assert!(listener.wait_subscribed(1, Duration::from_secs(5)).await);
    (keys, listener)
}

fn from(ip: &str) -> RequestContext<'static> {
    RequestContext::new().client_ip(Some(ip.parse::<IpAddr>().unwrap()))
}

async fn kind(v: &Verifier, token: &str, ip: &str) -> Option<RejectionKind> {
    v.verify(Credential::new(token), &from(ip))
        .await
        .err()
        .map(|r| r.kind())
}

async fn refused_before(v: &Verifier, token: &str, ip: &str, deadline: Instant) {
    while kind(v, token, ip).await != Some(RejectionKind::TooManyFailures) {
        assert!(
            Instant::now() < deadline,
            "{ip} still served at the deadline"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_made_on_one_instance_holds_on_every_instance() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let detecting = ThreatPolicy {
        revoked_key_use: Some(RevokedKeyUse {
            uses: 3,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(600)),
        }),
        ..ThreatPolicy::default()
    };
    let (a, _la) = instance(&url, &prefix, &store, &peppers, detecting).await;
    let (b, _lb) = instance(&url, &prefix, &store, &peppers, ThreatPolicy::default()).await;
    let live = a.manager().create(NewKey::new("live")).await.unwrap();
    let live = live.token.expose().to_owned();
    let dead = a.manager().create(NewKey::new("leaked")).await.unwrap();
    a.manager()
        .revoke(&TenantScope::All, dead.record.id, Change::new())
        .await
        .unwrap();
    let dead = dead.token.expose().to_owned();
    let attacker = "203.0.113.77";
    assert_eq!(kind(b.verifier(), &live, attacker).await, None);
    for _ in 0..3 {
        assert_eq!(
            kind(a.verifier(), &dead, attacker).await,
            Some(RejectionKind::Revoked)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    refused_before(a.verifier(), &live, attacker, deadline).await;
    refused_before(b.verifier(), &live, attacker, deadline).await;
    assert_eq!(
        kind(b.verifier(), &live, "198.51.100.3").await,
        None,
        "another client is served"
    );

    // An instance that starts now reads the running block when it subscribes.
    let (c, _lc) = instance(&url, &prefix, &store, &peppers, ThreatPolicy::default()).await;
    assert_eq!(
        kind(c.verifier(), &live, attacker).await,
        Some(RejectionKind::TooManyFailures)
    );
    assert_eq!(kind(c.verifier(), &live, "198.51.100.3").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuffing_spread_over_two_instances_is_blocked_on_both() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let stuffing = ThreatPolicy {
        credential_stuffing: Some(CredentialStuffing {
            distinct_ids: 10,
            // A window of a day: the test cannot straddle two.
            window: Duration::from_secs(86_400),
            action: NetworkAction::Block(Duration::from_secs(600)),
        }),
        ..ThreatPolicy::default()
    };
    let (a, _la) = instance(&url, &prefix, &store, &peppers, stuffing).await;
    let (b, _lb) = instance(&url, &prefix, &store, &peppers, stuffing).await;
    let live = a.manager().create(NewKey::new("live")).await.unwrap();
    let live = live.token.expose().to_owned();
    let attacker = "203.0.113.88";
    let format = a.verifier().token_format().clone();
    // Six unknown ids through each instance: short of ten on either.
    for v in [a.verifier(), b.verifier()] {
        for _ in 0..6 {
            let (_, t) = format.generate();
            assert_eq!(
                kind(v, t.expose(), attacker).await,
                Some(RejectionKind::Unknown)
            );
        }
    }
    a.verifier().flush_usage().await.unwrap();
    assert_eq!(
        kind(a.verifier(), &live, attacker).await,
        None,
        "six so far"
    );
    b.verifier().flush_usage().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    refused_before(b.verifier(), &live, attacker, deadline).await;
    refused_before(a.verifier(), &live, attacker, deadline).await;
    assert_eq!(kind(a.verifier(), &live, "198.51.100.4").await, None);
}

#[tokio::test]
async fn network_sketches_merge_by_or_per_key_and_window() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let conn = common::connect(&url).await;
    let cache = RedisCache::new(conn.clone(), &Peppers::random()).with_prefix(common::prefix());
    let share = RedisThreatShare::new(conn, &cache);
    let (k, other) = (KeyId::new(), KeyId::new());
    let hour = chrono::DateTime::from_timestamp_millis(
        chrono::Utc::now().timestamp_millis() / 3_600_000 * 3_600_000,
    )
    .unwrap();
    let s = |key, window_start, sketch| KeySketch {
        key,
        window_start,
        window: Duration::from_secs(3600),
        sketch,
    };
    assert_eq!(
        share.merge_sketches(&[s(k, hour, 0b101)]).await.unwrap(),
        [0b101]
    );
    let next = hour + chrono::TimeDelta::hours(1);
    assert_eq!(
        share
            .merge_sketches(&[
                s(k, hour, (1 << 63) | 0b10),
                s(other, hour, 1 << 40),
                s(k, next, 1),
            ])
            .await
            .unwrap(),
        [(1 << 63) | 0b111, 1 << 40, 1],
        "each key and window apart"
    );
}
