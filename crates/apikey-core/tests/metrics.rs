//! Metrics (feature `metrics`): each verification counts once under its outcome, cache hits and
//! misses move as they happen, the slow path records its duration, the limiter's answers and the
//! request log's written and dropped records are counted, and no label holds a secret.

#![cfg(feature = "metrics")]

#[path = "support/recorder.rs"]
mod recorder;

use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::limit::{Decision, LimitPolicy, Rate, RateLimiter, Subject};
use apikey_core::metrics::{
    CACHE_HITS, CACHE_MISSES, LIMITER_DECISIONS, REQUEST_LOG_DROPPED, REQUEST_LOG_WRITTEN,
    VERIFICATIONS, VERIFY_SLOW_SECONDS,
};
use apikey_core::request_log::{
    ADMITTED, RequestFacts, RequestLog, RequestLogConfig, RequestLogMode, RequestLogSettings,
};
use apikey_core::{
    ApiKeys, Attempt, Change, Clock, Credential, ManualClock, NewKey, RequestContext, TenantScope,
};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_trait::async_trait;
use recorder::TestRecorder;

#[tokio::test]
async fn verifications_are_counted_by_outcome() {
    let rec = Arc::new(TestRecorder::default());
    let keys = metrics::with_local_recorder(rec.as_ref(), || {
        apikey_core::metrics::describe();
        ApiKeys::builder(Arc::new(apikey_memory::MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .build()
            .unwrap()
    });
    let created = keys.manager().create(NewKey::new("m")).await.unwrap();
    let token = created.token.expose().to_owned();
    let ctx = RequestContext::new();
    let verify = |t: &str| {
        let t = t.to_owned();
        let v = keys.verifier().clone();
        async move { v.verify(Credential::new(&t), &RequestContext::new()).await }
    };

    verify(&token).await.unwrap(); // a miss: the store, the slow path
    verify(&token).await.unwrap(); // a hit
    let admitted = Some(("outcome", "admitted"));
    assert_eq!(rec.counter(VERIFICATIONS, admitted), 2);
    assert_eq!(rec.counter(CACHE_MISSES, None), 1);
    assert_eq!(rec.counter(CACHE_HITS, None), 1);
    assert_eq!(rec.samples(VERIFY_SLOW_SECONDS), 1);

    keys.verifier()
        .verify(Credential::new("not a token"), &ctx)
        .await
        .unwrap_err();
    assert_eq!(
        rec.counter(VERIFICATIONS, Some(("outcome", "malformed"))),
        1
    );
    keys.manager()
        .revoke(&TenantScope::All, created.record.id, Change::new())
        .await
        .unwrap();
    verify(&token).await.unwrap_err();
    assert_eq!(rec.counter(VERIFICATIONS, Some(("outcome", "revoked"))), 1);
    assert_eq!(
        rec.counter(VERIFICATIONS, None),
        4,
        "each verification once"
    );

    for value in rec.label_values() {
        assert!(
            !token.contains(&value) || value.len() < 8,
            "a label holds part of a token"
        );
        assert!(!value.contains(&token));
    }
}

/// `ApiKeys` over a memory store and limiter on a fixed clock, its handles bound to `rec`.
fn keys_recording_into(rec: &TestRecorder) -> ApiKeys {
    metrics::with_local_recorder(rec, || {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::fixed());
        ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .clock(clock.clone())
            .limiter(Arc::new(MemoryLimiter::new(clock)))
            .build()
            .unwrap()
    })
}

#[tokio::test]
async fn an_unknown_key_counts_as_unknown_and_its_lookup_id_is_no_label() {
    let rec = TestRecorder::default();
    let keys = keys_recording_into(&rec);
    // Well formed for this deployment's format, but created in another one's store.
    let stranger = keys_recording_into(&TestRecorder::default())
        .manager()
        .create(NewKey::new("elsewhere"))
        .await
        .unwrap();
    let token = stranger.token.expose();
    let ctx = RequestContext::new();

    let first = keys.verifier().verify(Credential::new(token), &ctx).await;
    assert_eq!(first.unwrap_err().kind().code(), "unknown");
    // The second is answered by the negative cache, still as unknown.
    let second = keys.verifier().verify(Credential::new(token), &ctx).await;
    assert_eq!(second.unwrap_err().kind().code(), "unknown");
    assert_eq!(rec.counter(VERIFICATIONS, Some(("outcome", "unknown"))), 2);
    assert_eq!(rec.counter(VERIFICATIONS, Some(("outcome", "admitted"))), 0);
    assert_eq!(rec.counter(CACHE_MISSES, None), 1);
    assert_eq!(rec.counter(CACHE_HITS, None), 0);

    let lookup = stranger.record.lookup_id.to_string();
    for value in rec.label_values() {
        assert!(
            !token.contains(&value),
            "label value {value:?} is part of the token"
        );
        assert_ne!(value, lookup);
    }
}

#[tokio::test]
async fn the_limiters_answers_are_counted_by_result() {
    let rec = TestRecorder::default();
    let keys = keys_recording_into(&rec);
    let plain = keys
        .manager()
        .create(NewKey::new("unlimited"))
        .await
        .unwrap();
    let rate = Rate::new(1, Duration::from_secs(3600)).unwrap();
    let rated = keys
        .manager()
        .create(NewKey::new("one an hour").rate_limit(rate))
        .await
        .unwrap();
    let (plain, rated) = (plain.token.expose(), rated.token.expose());
    let verify = |t| {
        keys.verifier()
            .verify_now(Credential::new(t), &RequestContext::new())
    };

    // The first verification of each key misses the cache, so it is finished separately.
    let Attempt::Pending(p) = verify(plain) else {
        panic!("a miss")
    };
    keys.verifier().finish(p).await.unwrap();
    assert_eq!(
        rec.counter(LIMITER_DECISIONS, None),
        0,
        "a key without limits never asks the limiter"
    );
    let Attempt::Pending(p) = verify(rated) else {
        panic!("a miss")
    };
    keys.verifier().finish(p).await.unwrap();
    let Attempt::Done(refused) = verify(rated) else {
        panic!("a hit: the memory limiter decides without waiting")
    };
    let refused = refused.unwrap_err();
    assert_eq!(refused.kind().code(), "rate_limited");
    assert_eq!(
        rec.counter(LIMITER_DECISIONS, Some(("result", "allowed"))),
        1
    );
    assert_eq!(
        rec.counter(LIMITER_DECISIONS, Some(("result", "limited"))),
        1
    );
    assert_eq!(
        rec.counter(VERIFICATIONS, Some(("outcome", "rate_limited"))),
        1
    );
    assert_eq!(rec.counter(VERIFICATIONS, Some(("outcome", "admitted"))), 2);
}

#[tokio::test]
async fn the_request_log_counts_what_it_writes_and_drops() {
    let rec = TestRecorder::default();
    let log = metrics::with_local_recorder(&rec, || {
        RequestLog::spawn(
            Arc::new(MemoryStore::new()),
            None,
            Arc::new(ManualClock::fixed()),
            RequestLogConfig::default(),
        )
        .unwrap()
    });
    log.set_default(RequestLogSettings {
        mode: RequestLogMode::Full,
        ..RequestLogSettings::default()
    })
    .unwrap();
    let facts = RequestFacts {
        method: "GET",
        route: Some("/projects"),
        path: "/projects",
        client_ip: None,
        request_id: "r-1",
        user_agent: None,
    };
    let request = || {
        let started = log
            .start(Instant::now(), None, Some(apikey_core::KeyId::new()))
            .expect("mode full logs every request");
        log.finish(started, &facts, 200, ADMITTED);
    };
    for _ in 0..3 {
        request();
    }
    log.shutdown(Duration::from_secs(5)).await;
    // Closed: these are dropped, not queued.
    request();
    request();

    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (3, 2));
    assert_eq!(rec.counter(REQUEST_LOG_WRITTEN, None), stats.written);
    assert_eq!(rec.counter(REQUEST_LOG_DROPPED, None), stats.dropped);
}

/// The memory limiter answered as a remote one would be: only through the awaited call.
#[derive(Debug)]
struct Remote(MemoryLimiter);

#[async_trait]
impl RateLimiter for Remote {
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> apikey_core::Result<Decision> {
        self.0.check(subject, policy, cost).await
    }
}

#[tokio::test]
async fn a_limiter_round_trip_is_counted_like_an_in_process_decision() {
    let rec = TestRecorder::default();
    let keys = metrics::with_local_recorder(&rec, || {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::fixed());
        ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .clock(clock.clone())
            .limiter(Arc::new(Remote(MemoryLimiter::new(clock))))
            .build()
            .unwrap()
    });
    let rate = Rate::new(1, Duration::from_secs(3600)).unwrap();
    let created = keys
        .manager()
        .create(NewKey::new("one an hour").rate_limit(rate))
        .await
        .unwrap();
    let token = created.token.expose();
    let ctx = RequestContext::new();

    keys.verifier()
        .verify(Credential::new(token), &ctx)
        .await
        .unwrap();
    // A hit, but the limiter needs its round trip: pending, then finished.
    let Attempt::Pending(p) = keys.verifier().verify_now(Credential::new(token), &ctx) else {
        panic!("a remote limiter cannot decide without waiting")
    };
    let refused = keys.verifier().finish(p).await.unwrap_err();
    assert_eq!(refused.kind().code(), "rate_limited");
    assert_eq!(
        rec.counter(LIMITER_DECISIONS, Some(("result", "allowed"))),
        1
    );
    assert_eq!(
        rec.counter(LIMITER_DECISIONS, Some(("result", "limited"))),
        1
    );
    assert_eq!(
        rec.counter(VERIFICATIONS, None),
        2,
        "each verification once"
    );
    assert_eq!(
        rec.samples(apikey_core::metrics::LIMITER_ROUND_TRIP_SECONDS),
        2,
        "both awaited limiter calls are timed"
    );
}

#[tokio::test]
async fn signature_checks_and_canary_trips_are_counted() {
    use apikey_core::http::{FieldList, RequestCheck, RequestHead};
    use apikey_core::metrics::{CANARY_TRIPS, SIGNATURE_CHECKS};
    use apikey_core::signing::{MemoryNonces, Signer, SigningMode};
    use apikey_core::{Keks, SecretBox};

    let rec = TestRecorder::default();
    let clock = ManualClock::fixed();
    let (keys, check) = metrics::with_local_recorder(&rec, || {
        let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .clock(Arc::new(clock.clone()))
            .secret_box(SecretBox::new(
                Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap(),
            ))
            .build()
            .unwrap();
        let check = keys
            .signature_check(Arc::new(MemoryNonces::new(Arc::new(clock.clone()))))
            .unwrap();
        (keys, check)
    });
    let created = keys
        .manager()
        .create(NewKey::new("s").signing(SigningMode::Required))
        .await
        .unwrap();
    let key = keys
        .verifier()
        .verify(
            Credential::new(created.token.expose()),
            &RequestContext::new(),
        )
        .await
        .unwrap();
    let base = FieldList::new().with("host", "api.example");
    let head = RequestHead::new("GET", "/a", &base);
    let out = Signer::new(
        created.record.lookup_id.to_string(),
        created.signing_secret.unwrap(),
    )
    .sign(&head, b"", clock.now().timestamp(), "n1")
    .unwrap();
    let signed = base
        .clone()
        .with("signature-input", out.signature_input)
        .with("signature", out.signature);
    let signed_head = RequestHead::new("GET", "/a", &signed);
    let body = Some(bytes::Bytes::new());
    assert!(check.check(&key, &signed_head, body.as_ref()).await.is_ok());
    assert!(
        check
            .check(&key, &signed_head, body.as_ref())
            .await
            .is_err()
    ); // replayed
    assert!(check.check(&key, &head, body.as_ref()).await.is_err()); // unsigned
    assert_eq!(
        rec.counter(SIGNATURE_CHECKS, Some(("result", "accepted"))),
        1
    );
    assert_eq!(
        rec.counter(SIGNATURE_CHECKS, Some(("result", "refused"))),
        2
    );

    let canary = keys
        .manager()
        .create(NewKey::new("planted").canary())
        .await
        .unwrap();
    for _ in 0..3 {
        keys.verifier()
            .verify(
                Credential::new(canary.token.expose()),
                &RequestContext::new(),
            )
            .await
            .unwrap_err();
    }
    assert_eq!(rec.counter(CANARY_TRIPS, None), 1, "one incident");
}
