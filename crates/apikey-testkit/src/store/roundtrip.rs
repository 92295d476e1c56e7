//! Reading back what was written: every field, millisecond timestamps, case-sensitive lookup ids.

use apikey_core::clock::truncate_ms;
use apikey_core::store::KeyFilter;
use apikey_core::{AuditStore, KeyId, KeyStore, LookupId, TenantScope};
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::fixtures::{self, base_time, tenant};
use crate::store::support::{assert_same, audit_of, ids, insert, page};

/// A record with every field populated, and a minimal one with every optional field empty, read
/// back equal through `get` (tenant and operator scope), `find_by_lookup_id` and `query`; the
/// insert wrote exactly its creation event.
pub async fn round_trip_every_field<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("tenant-a");
    let full = fixtures::full_record(Some(&t), base_time());
    let minimal = fixtures::record(None, base_time() + chrono::TimeDelta::seconds(1));
    for r in [&full, &minimal] {
        let created = fixtures::created(r);
        store.insert(r, &created).await.expect("insert");
        let scope = TenantScope::Tenant(t.clone());
        if r.tenant_id.is_some() {
            assert_same(
                store.get(&scope, r.id).await.expect("get").as_ref(),
                Some(r),
                "get (tenant)",
            );
        }
        assert_same(
            store
                .get(&TenantScope::All, r.id)
                .await
                .expect("get")
                .as_ref(),
            Some(r),
            "get (all)",
        );
        assert_same(
            store
                .find_by_lookup_id(&r.lookup_id)
                .await
                .expect("find")
                .as_ref(),
            Some(r),
            "find_by_lookup_id",
        );
        assert_eq!(audit_of(store, r.id).await, vec![created], "creation event");
    }
    let listed = page(store, &TenantScope::All, &KeyFilter::default()).await;
    assert_eq!(
        listed.items,
        vec![full.clone(), minimal],
        "query returns both records in full"
    );
    // Clearing what a key carries besides its token (signing, canary) is stored too: a backend
    // that kept the old value would keep a removed signing secret working.
    let mut cleared = fixtures::next_version(&full, base_time() + chrono::TimeDelta::seconds(2));
    cleared.protection = Default::default();
    store
        .update(
            &TenantScope::All,
            full.version,
            &cleared,
            &fixtures::updated(&full, &cleared),
        )
        .await
        .expect("update");
    assert_same(
        store
            .get(&TenantScope::All, full.id)
            .await
            .expect("get")
            .as_ref(),
        Some(&cleared),
        "protection cleared",
    );
}

/// Timestamps keep their milliseconds, from 2001 to 2100, in every timestamp field; two records
/// created one millisecond apart sort by that millisecond, not by id.
pub async fn timestamps_round_trip_at_millisecond_precision<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let ts = |y, mo, d, h, mi, s, ms: i64| -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid date")
            + chrono::TimeDelta::milliseconds(ms)
    };
    let mut r = fixtures::full_record(None, ts(2001, 2, 3, 4, 5, 6, 789));
    r.updated_at = ts(2030, 1, 15, 12, 0, 0, 1);
    r.state_changed_at = Some(ts(2030, 1, 15, 12, 0, 0, 999));
    r.not_before = Some(ts(2001, 2, 3, 4, 5, 6, 790));
    r.expires_at = Some(ts(2100, 12, 31, 23, 59, 59, 999));
    r.grace_until = Some(ts(2099, 6, 30, 0, 0, 0, 1));
    r.last_used_at = Some(ts(2038, 1, 19, 3, 14, 8, 1));
    for t in [r.created_at, r.updated_at, r.expires_at.expect("set")] {
        assert_eq!(t, truncate_ms(t));
    }
    insert(store, &r).await;
    assert_same(
        store
            .get(&TenantScope::All, r.id)
            .await
            .expect("get")
            .as_ref(),
        Some(&r),
        "timestamps",
    );

    // Later created_at, smaller id: only a millisecond-precise store orders these correctly.
    let (mut lo, mut hi) = (Uuid::new_v4(), Uuid::new_v4());
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    let t0 = base_time() + chrono::TimeDelta::milliseconds(1);
    let mut first = fixtures::record(None, t0);
    first.id = KeyId::from_uuid(hi);
    first.lineage_id = first.id;
    let mut second = fixtures::record(None, t0 + chrono::TimeDelta::milliseconds(1));
    second.id = KeyId::from_uuid(lo);
    second.lineage_id = second.id;
    insert(store, &second).await;
    insert(store, &first).await;
    let filter = KeyFilter {
        created_from: Some(t0),
        ..KeyFilter::default()
    };
    let got = page(store, &TenantScope::All, &filter).await.items;
    assert_eq!(
        ids(&got),
        vec![first.id, second.id],
        "order by created_at at ms precision"
    );
    assert_eq!(got, vec![first, second]);
}

/// Lookup ids differing only in case are different keys: both insert, each finds its own record,
/// and a third casing finds nothing.
pub async fn lookup_ids_compare_case_sensitively<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let lower = LookupId::parse("aaaaaaaaaaaa").expect("valid lookup id");
    let upper = LookupId::parse("AAAAAAAAAAAA").expect("valid lookup id");
    let mixed = LookupId::parse("aAaaaaaaaaaa").expect("valid lookup id");
    let mut a = fixtures::record(None, base_time());
    a.lookup_id = lower;
    let mut b = fixtures::record(None, base_time());
    b.lookup_id = upper;
    insert(store, &a).await;
    store
        .insert(&b, &fixtures::created(&b))
        .await
        .expect("a lookup id differing only in case is not a duplicate");
    assert_eq!(
        store.find_by_lookup_id(&lower).await.expect("find"),
        Some(a)
    );
    assert_eq!(
        store.find_by_lookup_id(&upper).await.expect("find"),
        Some(b)
    );
    assert_eq!(store.find_by_lookup_id(&mixed).await.expect("find"), None);
}

/// Tags compare case-sensitively in filters: `Prod` does not match a filter on `prod`.
pub async fn tags_compare_case_sensitively<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut upper = fixtures::record(None, base_time());
    upper.tags = vec!["Prod".to_owned()];
    let mut lower = fixtures::record(None, base_time() + chrono::TimeDelta::milliseconds(1));
    lower.tags = vec!["prod".to_owned()];
    insert(store, &upper).await;
    insert(store, &lower).await;
    let by_tag = |tag: &str| KeyFilter {
        tags: vec![tag.to_owned()],
        ..KeyFilter::default()
    };
    let q = |tag: &'static str| {
        let f = by_tag(tag);
        async move { page(store, &TenantScope::All, &f).await.items }
    };
    assert_eq!(q("prod").await, vec![lower.clone()], "filter tag \"prod\"");
    assert_eq!(q("Prod").await, vec![upper.clone()], "filter tag \"Prod\"");
    assert_eq!(q("PROD").await, vec![], "filter tag \"PROD\"");
    assert_eq!(
        store.get(&TenantScope::All, upper.id).await.expect("get"),
        Some(upper)
    );
    assert_eq!(
        store.get(&TenantScope::All, lower.id).await.expect("get"),
        Some(lower)
    );
}
