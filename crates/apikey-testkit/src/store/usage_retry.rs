//! `record_usage` is exact under retries: the write-behind flusher sends a failed batch again,
//! unchanged, and every key of it must end up counted once — whether the first attempt applied
//! nothing, everything (a commit whose acknowledgement was lost) or the keys before a failure
//! half-way (a backend without multi-key transactions).

use apikey_core::store::UsageUpdate;
use apikey_core::{
    AuditStore, Error, ErrorKind, KeyId, KeyRecord, KeyStore, Result, TenantScope, UsageBatchId,
};
use chrono::TimeDelta;

use crate::fixtures::{self, base_time};
use crate::store::support::{insert, new_batch};

/// Fault injection: applies the first `k` items of `batch` one at a time — as a backend without
/// multi-key transactions does before its connection drops — and then fails as that connection
/// would. Every item is sent under `batch`, so the store's marks see what a real partial write
/// leaves behind.
pub async fn record_usage_failing_after<S>(
    store: &S,
    k: usize,
    batch: UsageBatchId,
    items: &[UsageUpdate],
) -> Result<()>
where
    S: KeyStore + ?Sized,
{
    for item in items.iter().take(k) {
        store
            .record_usage(batch, std::slice::from_ref(item))
            .await?;
    }
    Err(Error::new(
        ErrorKind::Unavailable,
        format!("injected failure after {k} of {} usage items", items.len()),
    ))
}

async fn counts<S>(store: &S, keys: &[KeyRecord]) -> Vec<u64>
where
    S: KeyStore + ?Sized,
{
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let r = store
            .get(&TenantScope::All, k.id)
            .await
            .expect("get")
            .expect("key exists");
        assert_eq!(r.version, k.version, "usage never changes the version");
        out.push(r.usage_count);
    }
    out
}

async fn fresh_keys<S>(store: &S, n: usize) -> Vec<KeyRecord>
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let offset = TimeDelta::milliseconds(i64::try_from(i).expect("small"));
        let mut r = fixtures::record(None, base_time() + offset);
        r.last_used_at = None;
        r.usage_count = 0;
        insert(store, &r).await;
        keys.push(r);
    }
    keys
}

/// A batch sent again counts nothing twice: not the same batch (a lost acknowledgement), not an
/// older batch of the same flusher after a newer one; batches of another flusher count on their
/// own.
pub async fn record_usage_batch_sent_again_counts_once<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let keys = fresh_keys(store, 2).await;
    let (a, b) = (keys[0].id, keys[1].id);
    let t = base_time() + TimeDelta::seconds(5);
    let item = |id, count| UsageUpdate {
        id,
        last_used_at: t,
        count,
    };
    let first = new_batch(t);
    let items = [item(a, 3), item(b, 5)];
    store.record_usage(first, &items).await.expect("first");
    assert_eq!(counts(store, &keys).await, [3, 5]);
    store.record_usage(first, &items).await.expect("again");
    assert_eq!(counts(store, &keys).await, [3, 5], "the same batch twice");

    let second = UsageBatchId {
        seq: first.seq + 1,
        ..first
    };
    store
        .record_usage(second, &[item(a, 1)])
        .await
        .expect("second");
    assert_eq!(counts(store, &keys).await, [4, 5], "a newer batch counts");
    store.record_usage(first, &items).await.expect("old again");
    assert_eq!(
        counts(store, &keys).await,
        [4, 5],
        "an older batch after a newer one"
    );

    let other = new_batch(t);
    store
        .record_usage(other, &[item(a, 10), item(b, 1)])
        .await
        .expect("other flusher");
    assert_eq!(
        counts(store, &keys).await,
        [14, 6],
        "another flusher's batch counts"
    );
    let r = store
        .get(&TenantScope::All, a)
        .await
        .expect("get")
        .expect("key exists");
    assert_eq!(r.last_used_at, Some(t));
}

/// A failure in the middle of a batch, then the retry the flusher makes: every key is counted
/// exactly once, wherever the failure struck (before the first item, between any two, after the
/// last), and a second retry after a lost acknowledgement adds nothing. Unknown ids in the batch
/// change nothing.
pub async fn record_usage_exact_after_failure_mid_batch<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let keys = fresh_keys(store, 4).await;
    let start = new_batch(base_time());
    let mut expected = vec![0_u64; keys.len()];
    let mut items: Vec<UsageUpdate> = keys
        .iter()
        .zip(1_u64..)
        .map(|(k, n)| UsageUpdate {
            id: k.id,
            last_used_at: base_time(),
            count: n,
        })
        .collect();
    items.insert(
        2,
        UsageUpdate {
            id: KeyId::new(),
            last_used_at: base_time(),
            count: 100,
        },
    );
    for k in 0..=items.len() {
        let at = base_time() + TimeDelta::seconds(i64::try_from(k).expect("small") + 1);
        let batch = UsageBatchId {
            seq: start.seq + u64::try_from(k).expect("small"),
            at,
            ..start
        };
        for item in &mut items {
            item.last_used_at = at;
        }
        let failed = record_usage_failing_after(store, k, batch, &items).await;
        assert!(failed.is_err(), "the injected failure is reported");
        store.record_usage(batch, &items).await.expect("retry");
        store
            .record_usage(batch, &items)
            .await
            .expect("retry after a lost acknowledgement");
        for (e, n) in expected.iter_mut().zip(1_u64..) {
            *e += n;
        }
        assert_eq!(
            counts(store, &keys).await,
            expected,
            "failure after {k} of {} items, then two retries",
            items.len()
        );
    }
    for k in &keys {
        let r = store
            .get(&TenantScope::All, k.id)
            .await
            .expect("get")
            .expect("key exists");
        let last = base_time() + TimeDelta::seconds(i64::try_from(items.len()).expect("small") + 1);
        assert_eq!(r.last_used_at, Some(last), "the latest use wins");
    }
}
