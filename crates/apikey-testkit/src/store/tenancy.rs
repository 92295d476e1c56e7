//! Tenant isolation: a key outside the caller's tenant is invisible to get, update, delete and query.

use apikey_core::store::KeyFilter;
use apikey_core::{AuditStore, ErrorKind, KeyRecord, KeyStore, TenantScope};
use chrono::TimeDelta;

use crate::fixtures::{self, base_time, tenant};
use crate::store::support::{assert_kind, audit_of, insert, oracle, walk};

struct Tenants {
    a: TenantScope,
    b: TenantScope,
    in_a: KeyRecord,
    in_b: KeyRecord,
    untenanted: KeyRecord,
}

async fn setup<S>(store: &S) -> Tenants
where
    S: KeyStore + ?Sized,
{
    let (ta, tb) = (tenant("tenant-a"), tenant("tenant-b"));
    let in_a = fixtures::full_record(Some(&ta), base_time());
    let in_b = fixtures::full_record(Some(&tb), base_time() + TimeDelta::milliseconds(1));
    let untenanted = fixtures::full_record(None, base_time() + TimeDelta::milliseconds(2));
    for r in [&in_a, &in_b, &untenanted] {
        insert(store, r).await;
    }
    Tenants {
        a: TenantScope::Tenant(ta),
        b: TenantScope::Tenant(tb),
        in_a,
        in_b,
        untenanted,
    }
}

/// `get` answers `None` for another tenant's key and for a key without tenant; the owner tenant
/// and the operator scope see it.
pub async fn tenant_isolation_get<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = setup(store).await;
    assert_eq!(
        store.get(&t.b, t.in_a.id).await.expect("get"),
        None,
        "tenant b reads a's key"
    );
    assert_eq!(
        store.get(&t.a, t.in_b.id).await.expect("get"),
        None,
        "tenant a reads b's key"
    );
    assert_eq!(
        store.get(&t.a, t.untenanted.id).await.expect("get"),
        None,
        "untenanted key"
    );
    assert_eq!(
        store.get(&t.a, t.in_a.id).await.expect("get"),
        Some(t.in_a.clone())
    );
    assert_eq!(
        store.get(&TenantScope::All, t.in_a.id).await.expect("get"),
        Some(t.in_a)
    );
    assert_eq!(
        store
            .get(&TenantScope::All, t.untenanted.id)
            .await
            .expect("get"),
        Some(t.untenanted)
    );
}

/// `update` of another tenant's key is `NotFound` (even from a stale version, which would
/// otherwise be `Conflict` and reveal the key), changes nothing and writes no event.
pub async fn tenant_isolation_update<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = setup(store).await;
    let log = audit_of(store, t.in_a.id).await;
    for expected in [t.in_a.version, t.in_a.version + 7] {
        let mut next = fixtures::next_version(&t.in_a, base_time() + TimeDelta::seconds(5));
        next.version = expected + 1;
        next.name = "hijacked".to_owned();
        let event = fixtures::updated(&t.in_a, &next);
        let result = store.update(&t.b, expected, &next, &event).await;
        assert_kind(
            result,
            ErrorKind::NotFound,
            "update of another tenant's key",
        );
    }
    let next = fixtures::next_version(&t.untenanted, base_time() + TimeDelta::seconds(5));
    let result = store
        .update(
            &t.a,
            t.untenanted.version,
            &next,
            &fixtures::updated(&t.untenanted, &next),
        )
        .await;
    assert_kind(
        result,
        ErrorKind::NotFound,
        "tenant update of an untenanted key",
    );
    assert_eq!(
        store.get(&TenantScope::All, t.in_a.id).await.expect("get"),
        Some(t.in_a.clone())
    );
    assert_eq!(
        store
            .get(&TenantScope::All, t.untenanted.id)
            .await
            .expect("get"),
        Some(t.untenanted)
    );
    assert_eq!(
        audit_of(store, t.in_a.id).await,
        log,
        "no event for a refused update"
    );
}

/// `delete` of another tenant's key answers `false`, keeps the key and writes no event.
pub async fn tenant_isolation_delete<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = setup(store).await;
    let log = audit_of(store, t.in_a.id).await;
    let event = fixtures::deleted(&t.in_a, base_time() + TimeDelta::seconds(5));
    assert!(!store.delete(&t.b, t.in_a.id, &event).await.expect("delete"));
    let event = fixtures::deleted(&t.untenanted, base_time() + TimeDelta::seconds(5));
    assert!(
        !store
            .delete(&t.a, t.untenanted.id, &event)
            .await
            .expect("delete")
    );
    assert_eq!(
        store.get(&TenantScope::All, t.in_a.id).await.expect("get"),
        Some(t.in_a.clone())
    );
    assert_eq!(
        store
            .get(&TenantScope::All, t.untenanted.id)
            .await
            .expect("get"),
        Some(t.untenanted.clone())
    );
    assert_eq!(
        audit_of(store, t.in_a.id).await,
        log,
        "no event for a refused delete"
    );
    assert_eq!(audit_of(store, t.untenanted.id).await.len(), 1);
}

/// `query` returns only the tenant's keys (with and without a filter); the operator scope
/// returns every key.
pub async fn tenant_isolation_query<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = setup(store).await;
    let (ta, tb) = (tenant("tenant-a"), tenant("tenant-b"));
    let mut all = vec![t.in_a.clone(), t.in_b.clone(), t.untenanted.clone()];
    for i in 0..4 {
        let owner = if i % 2 == 0 { &ta } else { &tb };
        let r = fixtures::record(Some(owner), base_time() + TimeDelta::seconds(i + 1));
        insert(store, &r).await;
        all.push(r);
    }
    let same_owner = KeyFilter {
        owner: t.in_a.owner.clone(),
        ..KeyFilter::default()
    };
    for scope in [&t.a, &t.b, &TenantScope::All] {
        for filter in [&KeyFilter::default(), &same_owner] {
            let want = oracle(&all, scope, filter);
            assert!(!want.is_empty());
            assert_eq!(
                walk(store, scope, filter, 2).await,
                want,
                "query in {scope:?}, {filter:?}"
            );
        }
    }
}
