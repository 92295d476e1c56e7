//! `RedisNonces`: a nonce is accepted once across instances until its window ends, and an
//! unreachable Redis is an error (the guard then refuses: fail closed), never an acceptance.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::signing::NonceStore;
use apikey_core::{Clock, ErrorKind, ManualClock};
use apikey_redis::RedisNonces;
use common::proxy::{Mode, Proxy, RedisUrl};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_nonce_is_claimed_once_across_instances_until_it_expires() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let clock = ManualClock::new(chrono::Utc::now());
    let now = clock.now().timestamp_millis();
    let nonces = |conn| {
        RedisNonces::new(conn)
            .with_prefix(prefix.clone())
            .with_clock(Arc::new(clock.clone()))
    };
    let a = nonces(common::connect(&url).await);
    let b = nonces(common::connect(&url).await);
    assert!(a.claim("lookup1", "n-1", now + 1_000).await.unwrap());
    assert!(
        !b.claim("lookup1", "n-1", now + 1_000).await.unwrap(),
        "the other instance saw it"
    );
    assert!(
        b.claim("lookup2", "n-1", now + 1_000).await.unwrap(),
        "nonces are per key"
    );
    // Redis forgets it when its window ends (the TTL is what is left of it on our clock).
    let key = format!(
        "{}:nonce:{{lookup1}}:{}",
        prefix.as_str(),
        Sha256::digest(b"n-1")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut common::raw(&url).await)
        .await
        .unwrap();
    assert!((900..=1_000).contains(&ttl), "{ttl}");
    clock.advance(chrono::Duration::milliseconds(400));
    assert!(b.claim("lookup3", "n-1", now + 1_000).await.unwrap());
    let ttl: i64 = redis::cmd("PTTL")
        .arg(key.replace("lookup1", "lookup3"))
        .query_async(&mut common::raw(&url).await)
        .await
        .unwrap();
    assert!((500..=600).contains(&ttl), "{ttl}");

    // Concurrent claims of one nonce: exactly one wins.
    let wins = futures_util_join(&a, &b).await;
    assert_eq!(wins, 1);
}

async fn futures_util_join(a: &RedisNonces, b: &RedisNonces) -> usize {
    let far = chrono::Utc::now().timestamp_millis() + 60_000;
    let (x, y) = tokio::join!(a.claim("race", "n", far), b.claim("race", "n", far));
    usize::from(x.unwrap()) + usize::from(y.unwrap())
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_an_acceptance() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let upstream = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(upstream).await;
    let nonces = RedisNonces::new(common::connect(&proxy.url()).await)
        .with_prefix(common::prefix())
        .with_call_budget(Duration::from_millis(200));
    let far = chrono::Utc::now().timestamp_millis() + 60_000;
    assert!(nonces.claim("k", "before", far).await.unwrap());
    proxy.set(Mode::Pause);
    let e = nonces.claim("k", "during", far).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    proxy.set(Mode::Pass);
}
