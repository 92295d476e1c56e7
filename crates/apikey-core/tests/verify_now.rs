//! `Verifier::verify_now` / `finish`: what is decided on the spot, and that a pending attempt has
//! charged and recorded nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::{
    Attempt, Credential, Decision, LimitPolicy, NewKey, Rate, RateLimiter, RejectionKind,
    RequestContext, Result, Subject, Verified,
};
use apikey_memory::MemoryLimiter;
use async_trait::async_trait;
use common::{Fixture, fixture, fixture_with_limiter};

/// The memory limiter seen only through `check`, as a remote limiter is.
#[derive(Debug)]
struct AsyncOnly(MemoryLimiter);

#[async_trait]
impl RateLimiter for AsyncOnly {
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Result<Decision> {
        self.0.check(subject, policy, cost).await
    }
}

fn async_fixture() -> Fixture {
    fixture_with_limiter(|clock| Arc::new(AsyncOnly(MemoryLimiter::new(Arc::new(clock)))))
}

async fn key_with_burst(f: &Fixture, burst: u32) -> String {
    let rate = Rate::with_burst(1, Duration::from_secs(3600), burst).unwrap();
    let created = f
        .keys
        .manager()
        .create(NewKey::new("svc").rate_limit(rate))
        .await
        .unwrap();
    created.token.expose().to_owned()
}

fn now(f: &Fixture, token: &str) -> Attempt {
    f.keys
        .verifier()
        .verify_now(Credential::new(token), &RequestContext::new())
}

async fn finish(f: &Fixture, attempt: Attempt) -> Verified {
    let Attempt::Pending(p) = attempt else {
        panic!("expected a pending attempt, got {attempt:?}");
    };
    f.keys.verifier().finish(p).await.unwrap()
}

fn remaining(v: &Verified) -> u64 {
    v.limit()
        .expect("a limited key reports its limit")
        .remaining
}

#[tokio::test]
async fn an_in_process_hit_is_decided_on_the_spot_and_a_pending_miss_charges_nothing() {
    let f = fixture();
    let token = key_with_burst(&f, 3).await;
    let first = now(&f, &token);
    assert!(
        matches!(first, Attempt::Pending(_)),
        "cold cache: {first:?}"
    );
    assert_eq!(
        f.store.finds(),
        0,
        "a pending attempt has not read the store"
    );
    assert_eq!(f.keys.verifier().flush_usage().await.unwrap(), 0);
    // Burst 3, one admitted: two left, so the pending attempt charged nothing.
    assert_eq!(remaining(&finish(&f, first).await), 2);
    assert_eq!(f.store.finds(), 1);
    match now(&f, &token) {
        Attempt::Done(Ok(v)) => assert_eq!(remaining(&v), 1),
        other => panic!("a warm hit with the memory limiter is decided on the spot: {other:?}"),
    }
    assert!(matches!(now(&f, &token), Attempt::Done(Ok(_))));
    match now(&f, &token) {
        Attempt::Done(Err(r)) => assert_eq!(r.kind(), RejectionKind::RateLimited),
        other => panic!("the fourth request is over the burst: {other:?}"),
    }
    assert_eq!(f.store.finds(), 1, "hits never read the store");
}

#[tokio::test]
async fn with_a_remote_limiter_a_hit_waits_for_it_and_is_charged_once_by_finish() {
    let f = async_fixture();
    let token = key_with_burst(&f, 3).await;
    let warm = now(&f, &token);
    assert_eq!(remaining(&finish(&f, warm).await), 2);
    assert_eq!(f.keys.verifier().flush_usage().await.unwrap(), 1);

    // Two attempts left pending charge nothing and record no use.
    let a = now(&f, &token);
    let b = now(&f, &token);
    assert!(matches!(a, Attempt::Pending(_)), "{a:?}");
    assert!(matches!(b, Attempt::Pending(_)), "{b:?}");
    assert_eq!(f.keys.verifier().flush_usage().await.unwrap(), 0);
    drop(b);
    assert_eq!(remaining(&finish(&f, a).await), 1);
    assert_eq!(f.keys.verifier().flush_usage().await.unwrap(), 1);
    assert_eq!(f.store.finds(), 1, "the limiter's wait is not a cache miss");
}

#[tokio::test]
async fn refusals_before_the_limiter_are_decided_on_the_spot_even_with_a_remote_limiter() {
    let f = async_fixture();
    let token = key_with_burst(&f, 3).await;
    let warm = now(&f, &token);
    finish(&f, warm).await;

    // One character changed (never to itself: one token in 62 has an `x` there).
    let other = if token.as_bytes()[20] == b'x' {
        'y'
    } else {
        'x'
    };
    let typo = format!("{}{other}{}", &token[..20], &token[21..]);
    match now(&f, &typo) {
        Attempt::Done(Err(r)) => assert_eq!(r.kind(), RejectionKind::Malformed),
        other => panic!("{other:?}"),
    }
    let need = [apikey_core::Scope::new("projects:write").unwrap()];
    let ctx = RequestContext::new().scopes(&need);
    match f.keys.verifier().verify_now(Credential::new(&token), &ctx) {
        Attempt::Done(Err(r)) => assert_eq!(r.kind(), RejectionKind::InsufficientScope),
        other => panic!("{other:?}"),
    }
    // Neither refusal spent budget: two were left, the next admitted request leaves one.
    let next = now(&f, &token);
    assert_eq!(remaining(&finish(&f, next).await), 1);
}

#[tokio::test]
async fn a_verified_key_prints_nothing_derived_from_its_secret() {
    let f = fixture();
    let token = key_with_burst(&f, 3).await;
    let warm = now(&f, &token);
    let v = finish(&f, warm).await;
    let printed = format!("{v:?}");
    let secret = &token["sk_live_".len() + 12..token.len() - 6];
    assert!(!printed.contains(secret), "{printed}");
    assert!(printed.contains("digest: \"<redacted>\""), "{printed}");
    // The stored hash prints its algorithm only.
    assert!(printed.contains("StoredHash(hmac-sha256"), "{printed}");
}
