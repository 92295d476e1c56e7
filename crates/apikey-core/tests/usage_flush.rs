//! The write-behind usage flusher loses nothing and counts nothing twice: a batch that failed
//! half-way is retried as it was, and a graceful shutdown flushes within its deadline.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use apikey_core::{Credential, NewKey, RequestContext, TenantScope, Token};
use common::{Fixture, fixture};

async fn use_key(f: &Fixture, token: &Token, times: u64) {
    for _ in 0..times {
        f.keys
            .verifier()
            .verify(Credential::new(token.expose()), &RequestContext::new())
            .await
            .expect("valid key");
    }
}

async fn stored_counts(f: &Fixture, keys: &[apikey_core::CreatedKey]) -> Vec<u64> {
    let mut out = Vec::new();
    for k in keys {
        let r = f
            .keys
            .manager()
            .get(&TenantScope::All, k.record.id)
            .await
            .expect("key exists");
        out.push(r.usage_count);
    }
    out
}

async fn keys(f: &Fixture, n: usize) -> Vec<apikey_core::CreatedKey> {
    let mut out = Vec::new();
    for i in 0..n {
        let k = f
            .keys
            .manager()
            .create(NewKey::new(format!("svc-{i}")))
            .await
            .expect("create");
        out.push(k);
    }
    out
}

/// The store applies some keys of a batch and then fails; the flusher retries and every key ends
/// up with exactly the verifications it had, also with new traffic counted in between.
#[tokio::test]
async fn a_failure_mid_batch_is_retried_without_counting_twice() {
    for fail_after in 0..=4 {
        let f = fixture();
        let keys = keys(&f, 4).await;
        for (k, n) in keys.iter().zip(1..) {
            use_key(&f, &k.token, n).await;
        }
        *f.store.usage_fail_after.lock().unwrap() = Some(fail_after);
        assert!(
            f.keys.verifier().flush_usage().await.is_err(),
            "the injected failure is reported"
        );
        assert_eq!(f.keys.verifier().unflushed_usage(), 1 + 2 + 3 + 4);
        use_key(&f, &keys[0].token, 10).await;
        assert_eq!(f.keys.verifier().unflushed_usage(), 20);
        f.keys.verifier().flush_usage().await.expect("retry");
        assert_eq!(f.keys.verifier().unflushed_usage(), 0);
        assert_eq!(
            stored_counts(&f, &keys).await,
            [11, 2, 3, 4],
            "store failed after {fail_after} of 4 keys"
        );
        f.keys.verifier().flush_usage().await.expect("nothing left");
        assert_eq!(stored_counts(&f, &keys).await, [11, 2, 3, 4]);
    }
}

/// A flush dropped while it waits on the store (a shutdown deadline) keeps its batch pending.
#[tokio::test]
async fn a_flush_cancelled_mid_write_keeps_its_counts() {
    let f = fixture();
    let keys = keys(&f, 1).await;
    use_key(&f, &keys[0].token, 3).await;
    f.store.down.store(true, Ordering::SeqCst);
    assert!(f.keys.verifier().flush_usage().await.is_err());
    drop(tokio::time::timeout(Duration::ZERO, f.keys.verifier().flush_usage()).await);
    f.store.down.store(false, Ordering::SeqCst);
    f.keys.verifier().flush_usage().await.expect("flush");
    assert_eq!(stored_counts(&f, &keys).await, [3]);
}

/// Shutdown retries a store that comes back before the deadline, and writes everything.
#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_the_store_until_the_deadline() {
    let f = fixture();
    let keys = keys(&f, 2).await;
    use_key(&f, &keys[0].token, 5).await;
    use_key(&f, &keys[1].token, 2).await;
    f.store.down.store(true, Ordering::SeqCst);
    let store = f.store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(450)).await;
        store.down.store(false, Ordering::SeqCst);
    });
    assert_eq!(f.keys.shutdown(Duration::from_secs(2)).await, 0);
    assert_eq!(stored_counts(&f, &keys).await, [5, 2]);
}

/// Shutdown gives up at the deadline and says how many verifications it could not write.
#[tokio::test(start_paused = true)]
async fn shutdown_reports_what_it_could_not_write() {
    let f = fixture();
    let keys = keys(&f, 2).await;
    use_key(&f, &keys[0].token, 5).await;
    use_key(&f, &keys[1].token, 2).await;
    f.store.down.store(true, Ordering::SeqCst);
    let started = tokio::time::Instant::now();
    assert_eq!(f.keys.shutdown(Duration::from_secs(1)).await, 7);
    assert!(started.elapsed() <= Duration::from_secs(1));
    f.store.down.store(false, Ordering::SeqCst);
    assert_eq!(f.keys.shutdown(Duration::from_secs(1)).await, 0);
    assert_eq!(stored_counts(&f, &keys).await, [5, 2]);
}
