//! Writes and their audit events: duplicate inserts, optimistic-concurrency updates, deletion.

use apikey_core::scope::ScopeSet;
use apikey_core::{AuditStore, ErrorKind, EventType, KeyState, KeyStore, TenantScope};
use chrono::TimeDelta;

use crate::fixtures::{self, base_time, tenant};
use crate::store::support::{all_keys, assert_kind, audit_of, insert};

/// A second record with the same id (and a different lookup id) is `Conflict`; the first record
/// and its audit log are unchanged and the refused insert wrote no event.
pub async fn duplicate_id_is_conflict<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let first = fixtures::full_record(None, base_time());
    let created = insert(store, &first).await;
    let mut dup = fixtures::record(None, base_time());
    dup.id = first.id;
    dup.lineage_id = first.id;
    let result = store.insert(&dup, &fixtures::created(&dup)).await;
    assert_kind(result, ErrorKind::Conflict, "insert with a duplicate id");
    assert_eq!(
        store.get(&TenantScope::All, first.id).await.expect("get"),
        Some(first)
    );
    assert_eq!(
        store.find_by_lookup_id(&dup.lookup_id).await.expect("find"),
        None
    );
    assert_eq!(
        audit_of(store, dup.id).await,
        vec![created],
        "a refused insert writes no event"
    );
}

/// A second record with the same lookup id (and a different id) is `Conflict`; nothing of it is
/// stored and it wrote no event.
pub async fn duplicate_lookup_id_is_conflict<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let first = fixtures::full_record(None, base_time());
    insert(store, &first).await;
    let mut dup = fixtures::record(None, base_time());
    dup.lookup_id = first.lookup_id;
    let result = store.insert(&dup, &fixtures::created(&dup)).await;
    assert_kind(
        result,
        ErrorKind::Conflict,
        "insert with a duplicate lookup id",
    );
    assert_eq!(
        store.get(&TenantScope::All, dup.id).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .find_by_lookup_id(&first.lookup_id)
            .await
            .expect("find"),
        Some(first)
    );
    assert_eq!(
        audit_of(store, dup.id).await,
        vec![],
        "a refused insert writes no event"
    );
    assert_eq!(all_keys(store, &TenantScope::All).await.len(), 1);
}

/// `update` with the stored version replaces the record (every field) and appends its event;
/// a second update from the new version succeeds too.
pub async fn update_with_current_version_succeeds<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("tenant-a");
    let scope = TenantScope::Tenant(t.clone());
    let v1 = fixtures::record(Some(&t), base_time());
    let e1 = insert(store, &v1).await;

    let mut v2 = fixtures::full_record(Some(&t), base_time());
    v2.id = v1.id;
    v2.lookup_id = v1.lookup_id;
    v2.created_at = v1.created_at;
    v2.version = v1.version + 1;
    v2.updated_at = base_time() + TimeDelta::milliseconds(1_500);
    // Usage is `record_usage`'s to write; an update keeps what is stored.
    v2.last_used_at = v1.last_used_at;
    v2.usage_count = v1.usage_count;
    let e2 = fixtures::updated(&v1, &v2);
    store
        .update(&scope, v1.version, &v2, &e2)
        .await
        .expect("update from the current version");
    assert_eq!(
        store.get(&scope, v1.id).await.expect("get"),
        Some(v2.clone())
    );
    assert_eq!(
        store.find_by_lookup_id(&v1.lookup_id).await.expect("find"),
        Some(v2.clone())
    );

    let mut v3 = fixtures::next_version(&v2, base_time() + TimeDelta::seconds(3));
    v3.state = KeyState::Revoked;
    v3.state_reason = Some("leaked".to_owned());
    v3.scopes = ScopeSet::new();
    v3.tags.clear();
    v3.description = None;
    v3.quota = None;
    let e3 = fixtures::event(EventType::Revoked, Some(&v2), Some(&v3), v3.updated_at);
    store
        .update(&TenantScope::All, v2.version, &v3, &e3)
        .await
        .expect("second update, operator scope");
    assert_eq!(store.get(&scope, v1.id).await.expect("get"), Some(v3));
    assert_eq!(audit_of(store, v1.id).await, vec![e1, e2, e3], "audit log");
}

/// `update` from a stale (or future) version is `Conflict` and changes nothing: the record and the
/// audit log read back as before.
pub async fn stale_update_is_conflict_and_changes_nothing<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let v1 = fixtures::full_record(None, base_time());
    let e1 = insert(store, &v1).await;
    let mut v2 = fixtures::next_version(&v1, base_time() + TimeDelta::seconds(2));
    v2.name = "renamed".to_owned();
    let e2 = fixtures::updated(&v1, &v2);
    store
        .update(&TenantScope::All, v1.version, &v2, &e2)
        .await
        .expect("update");

    for expected in [v1.version, v2.version + 1, 0] {
        let mut lost = fixtures::next_version(&v1, base_time() + TimeDelta::seconds(5));
        lost.version = expected + 1;
        lost.name = "lost update".to_owned();
        lost.state = KeyState::Revoked;
        let event = fixtures::updated(&v1, &lost);
        let result = store
            .update(&TenantScope::All, expected, &lost, &event)
            .await;
        assert_kind(
            result,
            ErrorKind::Conflict,
            &format!(
                "update expecting version {expected} while {} is stored",
                v2.version
            ),
        );
        assert_eq!(
            store.get(&TenantScope::All, v1.id).await.expect("get"),
            Some(v2.clone())
        );
        assert_eq!(
            store.find_by_lookup_id(&v1.lookup_id).await.expect("find"),
            Some(v2.clone())
        );
        assert_eq!(audit_of(store, v1.id).await, vec![e1.clone(), e2.clone()]);
    }
}

/// `update` of a key that does not exist is `NotFound` and writes no event.
pub async fn update_of_missing_key_is_not_found<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let other = fixtures::record(None, base_time());
    insert(store, &other).await;
    let ghost = fixtures::record(None, base_time());
    let next = fixtures::next_version(&ghost, base_time() + TimeDelta::seconds(1));
    let result = store
        .update(
            &TenantScope::All,
            ghost.version,
            &next,
            &fixtures::updated(&ghost, &next),
        )
        .await;
    assert_kind(result, ErrorKind::NotFound, "update of a missing key");
    assert_eq!(
        store.get(&TenantScope::All, ghost.id).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .find_by_lookup_id(&ghost.lookup_id)
            .await
            .expect("find"),
        None
    );
    assert_eq!(audit_of(store, ghost.id).await, vec![]);
    assert_eq!(all_keys(store, &TenantScope::All).await, vec![other]);
}

/// `delete` removes the key everywhere (get, lookup, query), appends its event and frees the lookup
/// id; deleting again answers `false` and writes nothing.
pub async fn delete_writes_event_and_removes_key<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("tenant-a");
    let scope = TenantScope::Tenant(t.clone());
    let r = fixtures::full_record(Some(&t), base_time());
    let keep = fixtures::record(Some(&t), base_time() + TimeDelta::seconds(1));
    let created = insert(store, &r).await;
    insert(store, &keep).await;
    let deleted = fixtures::deleted(&r, base_time() + TimeDelta::seconds(9));
    assert!(store.delete(&scope, r.id, &deleted).await.expect("delete"));
    assert_eq!(store.get(&scope, r.id).await.expect("get"), None);
    assert_eq!(store.get(&TenantScope::All, r.id).await.expect("get"), None);
    assert_eq!(
        store.find_by_lookup_id(&r.lookup_id).await.expect("find"),
        None
    );
    assert_eq!(all_keys(store, &TenantScope::All).await, vec![keep.clone()]);
    assert_eq!(
        audit_of(store, r.id).await,
        vec![created.clone(), deleted.clone()]
    );

    let again = fixtures::deleted(&r, base_time() + TimeDelta::seconds(10));
    assert!(
        !store
            .delete(&TenantScope::All, r.id, &again)
            .await
            .expect("delete again")
    );
    assert_eq!(
        audit_of(store, r.id).await,
        vec![created, deleted],
        "no event for a no-op"
    );

    let mut reuse = fixtures::record(Some(&t), base_time() + TimeDelta::seconds(11));
    reuse.lookup_id = r.lookup_id;
    insert(store, &reuse).await;
    assert_eq!(
        store.find_by_lookup_id(&r.lookup_id).await.expect("find"),
        Some(reuse)
    );
    assert_eq!(store.get(&scope, keep.id).await.expect("get"), Some(keep));
}
