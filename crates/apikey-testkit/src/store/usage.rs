//! `record_usage`: the narrow write-behind path that touches usage columns and never `version`.

use apikey_core::store::UsageUpdate;
use apikey_core::{AuditStore, KeyId, KeyStore, TenantScope};
use chrono::TimeDelta;

use crate::fixtures::{self, base_time};
use crate::store::support::{audit_of, insert, new_batch};

/// Usage sets `last_used_at` to the later of stored and reported, adds to `usage_count`, leaves
/// every other field (including `version` and `updated_at`) alone and writes no audit event; an
/// update from the unchanged version still succeeds afterwards.
pub async fn record_usage_updates_usage_columns_only<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut a = fixtures::full_record(None, base_time());
    a.last_used_at = None;
    a.usage_count = 0;
    let mut b = fixtures::full_record(None, base_time() + TimeDelta::milliseconds(1));
    b.usage_count = 10;
    insert(store, &a).await;
    insert(store, &b).await;
    let log = audit_of(store, a.id).await;
    let t1 = base_time() + TimeDelta::milliseconds(60_123);
    let before_t1 = t1 - TimeDelta::milliseconds(1);
    let t2 = t1 + TimeDelta::milliseconds(1);
    let get = |id| async move {
        store
            .get(&TenantScope::All, id)
            .await
            .expect("get")
            .expect("key exists")
    };

    store
        .record_usage(
            new_batch(base_time()),
            &[
                UsageUpdate {
                    id: a.id,
                    last_used_at: t1,
                    count: 3,
                },
                UsageUpdate {
                    id: b.id,
                    last_used_at: t2,
                    count: 1,
                },
            ],
        )
        .await
        .expect("record_usage");
    a.last_used_at = Some(t1);
    a.usage_count = 3;
    b.last_used_at = Some(t2);
    b.usage_count = 11;
    assert_eq!(get(a.id).await, a, "first batch, key a");
    assert_eq!(get(b.id).await, b, "first batch, key b");

    // An older report only adds its count.
    store
        .record_usage(
            new_batch(base_time()),
            &[UsageUpdate {
                id: a.id,
                last_used_at: before_t1,
                count: 2,
            }],
        )
        .await
        .expect("record_usage");
    a.usage_count = 5;
    assert_eq!(get(a.id).await, a, "an earlier last_used_at is ignored");

    store
        .record_usage(
            new_batch(base_time()),
            &[UsageUpdate {
                id: a.id,
                last_used_at: t2,
                count: 1,
            }],
        )
        .await
        .expect("record_usage");
    a.last_used_at = Some(t2);
    a.usage_count = 6;
    assert_eq!(get(a.id).await, a, "a later last_used_at wins");
    assert_eq!(
        store.find_by_lookup_id(&a.lookup_id).await.expect("find"),
        Some(a.clone())
    );
    assert_eq!(
        audit_of(store, a.id).await,
        log,
        "usage writes no audit event"
    );

    let mut next = fixtures::next_version(&a, t2 + TimeDelta::seconds(1));
    next.name = "after usage".to_owned();
    store
        .update(
            &TenantScope::All,
            a.version,
            &next,
            &fixtures::updated(&a, &next),
        )
        .await
        .expect("usage did not change the version");
}

/// `update` leaves the usage fields alone: a manager that read the record before a usage flush
/// must not roll the flushed usage back when it writes its change.
pub async fn update_leaves_usage_alone<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut a = fixtures::record(None, base_time());
    a.last_used_at = None;
    a.usage_count = 0;
    insert(store, &a).await;
    let read_before_flush = a.clone();
    let used = base_time() + TimeDelta::seconds(10);
    store
        .record_usage(
            new_batch(base_time()),
            &[UsageUpdate {
                id: a.id,
                last_used_at: used,
                count: 7,
            }],
        )
        .await
        .expect("record_usage");

    let mut next = fixtures::next_version(&read_before_flush, used + TimeDelta::seconds(1));
    next.name = "renamed".to_owned();
    next.last_used_at = None;
    next.usage_count = 0;
    store
        .update(
            &TenantScope::All,
            read_before_flush.version,
            &next,
            &fixtures::updated(&read_before_flush, &next),
        )
        .await
        .expect("update");
    let stored = store
        .get(&TenantScope::All, a.id)
        .await
        .expect("get")
        .expect("key exists");
    assert_eq!(stored.name, "renamed", "the update applied");
    assert_eq!(
        (stored.last_used_at, stored.usage_count),
        (Some(used), 7),
        "usage flushed after the read survives the update"
    );
}

/// Unknown ids in a batch are skipped without error, and the known ones still apply.
pub async fn record_usage_skips_unknown_ids<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut a = fixtures::record(None, base_time());
    insert(store, &a).await;
    let t = base_time() + TimeDelta::seconds(30);
    store
        .record_usage(
            new_batch(base_time()),
            &[
                UsageUpdate {
                    id: KeyId::new(),
                    last_used_at: t,
                    count: 4,
                },
                UsageUpdate {
                    id: a.id,
                    last_used_at: t,
                    count: 2,
                },
                UsageUpdate {
                    id: KeyId::new(),
                    last_used_at: t,
                    count: 9,
                },
            ],
        )
        .await
        .expect("record_usage with unknown ids");
    store
        .record_usage(new_batch(base_time()), &[])
        .await
        .expect("empty batch");
    a.last_used_at = Some(t);
    a.usage_count = 2;
    assert_eq!(
        store.get(&TenantScope::All, a.id).await.expect("get"),
        Some(a)
    );
}
