//! The optional `LegacyLookup` capability: every record with a legacy prefix, case-sensitively.

use apikey_core::record::LegacyPrefix;
use apikey_core::{AuditStore, KeyRecord, KeyStore};
use chrono::TimeDelta;

use crate::fixtures::{self, base_time};
use crate::store::support::insert;

fn sorted(mut v: Vec<KeyRecord>) -> Vec<KeyRecord> {
    v.sort_by_key(|r| r.id);
    v
}

/// The store offers [`legacy()`](KeyStore::legacy); `find_by_legacy_lookup` returns every record
/// with that prefix (it is not unique), compares case-sensitively, ignores records without one,
/// and stops returning a record once it is deleted.
pub async fn legacy_lookup_finds_every_match<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let legacy = store
        .legacy()
        .expect("this store was declared to support legacy lookup but legacy() is None");
    let with = |prefix: Option<&str>, ms: i64| {
        let mut r = fixtures::full_record(None, base_time() + TimeDelta::milliseconds(ms));
        r.legacy_lookup = prefix.map(|p| LegacyPrefix::new(p).expect("valid legacy prefix"));
        r
    };
    let a1 = with(Some("abcd1234"), 0);
    let a2 = with(Some("abcd1234"), 1);
    let upper = with(Some("ABCD1234"), 2);
    let other = with(Some("ffff0000"), 3);
    let none = with(None, 4);
    for r in [&a1, &a2, &upper, &other, &none] {
        insert(store, r).await;
    }
    let find = |p: &'static str| async move {
        sorted(
            legacy
                .find_by_legacy_lookup(p)
                .await
                .expect("find_by_legacy_lookup"),
        )
    };
    assert_eq!(
        find("abcd1234").await,
        sorted(vec![a1.clone(), a2.clone()]),
        "two matches"
    );
    assert_eq!(find("ABCD1234").await, vec![upper], "case-sensitive");
    assert_eq!(find("ffff0000").await, vec![other]);
    assert_eq!(find("abcd123").await, vec![], "prefix of a prefix");
    assert_eq!(find("00000000").await, vec![]);

    let event = fixtures::deleted(&a1, base_time() + TimeDelta::seconds(1));
    assert!(
        store
            .delete(&apikey_core::TenantScope::All, a1.id, &event)
            .await
            .expect("delete")
    );
    assert_eq!(find("abcd1234").await, vec![a2], "after deleting one match");
}
