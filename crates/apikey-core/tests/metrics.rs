//! Metrics (feature `metrics`): each verification counts once under its outcome, cache hits and
//! misses move as they happen, the slow path records its duration, and no label holds a secret.

#![cfg(feature = "metrics")]

#[path = "support/recorder.rs"]
mod recorder;

use std::sync::Arc;

use apikey_core::metrics::{CACHE_HITS, CACHE_MISSES, VERIFICATIONS, VERIFY_SLOW_SECONDS};
use apikey_core::{ApiKeys, Change, Credential, NewKey, RequestContext, TenantScope};
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
