//! Keyset pagination over (created_at, id): stable, gapless and duplicate-free, even when many
//! records share one `created_at`.

use apikey_core::store::{Cursor, KeyFilter};
use apikey_core::{AuditStore, KeyId, KeyRecord, KeyStore, TenantScope};
use chrono::TimeDelta;
use uuid::Uuid;

use crate::fixtures::{self, base_time, tenant};
use crate::store::support::{ids, insert, oracle, page, walk};

/// A record with a random (UUIDv4) id, so id order is unrelated to insertion order.
fn random_id_record(tenant: Option<&apikey_core::TenantId>, ms: i64) -> KeyRecord {
    let mut r = fixtures::record(tenant, base_time() + TimeDelta::milliseconds(ms));
    r.id = KeyId::from_uuid(Uuid::new_v4());
    r.lineage_id = r.id;
    r
}

/// 25 records, 10 and 12 of them sharing one `created_at` each, walked in pages of 3: every record
/// exactly once, in the oracle's (created_at, id) order, every page but the last full.
pub async fn keyset_pagination_with_equal_created_at<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut data = Vec::new();
    for i in 0..25 {
        let ms = match i {
            0..10 => 0,
            10..22 => 1,
            _ => 2 + i64::from(i),
        };
        data.push(random_id_record(None, ms));
    }
    for r in &data {
        insert(store, r).await;
    }
    let want = oracle(&data, &TenantScope::All, &KeyFilter::default());
    let got = walk(store, &TenantScope::All, &KeyFilter::default(), 3).await;
    assert_eq!(ids(&got), ids(&want), "pages of 3 over 25 records");
    assert_eq!(got, want);

    // Page by page: sizes 3,3,…,1 and each page starts right after the previous cursor.
    let mut filter = KeyFilter {
        limit: 3,
        ..KeyFilter::default()
    };
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    loop {
        let p = page(store, &TenantScope::All, &filter).await;
        sizes.push(p.items.len());
        seen.extend(p.items);
        match p.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
        assert!(sizes.len() <= 10, "more pages than records");
    }
    sizes.retain(|&n| n > 0);
    assert_eq!(sizes, [3, 3, 3, 3, 3, 3, 3, 3, 1], "page sizes");
    assert_eq!(ids(&seen), ids(&want));
}

/// Pagination combined with a tenant and a filter, in pages of 2, including a cursor at a
/// position whose record was deleted (the walk continues right after it) and a cursor inside a
/// group of equal `created_at`.
pub async fn keyset_pagination_with_filter_and_tenant<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (ta, tb) = (tenant("tenant-a"), tenant("tenant-b"));
    let mut data = Vec::new();
    for i in 0..30 {
        let t = if i % 3 == 0 { &tb } else { &ta };
        let mut r = random_id_record(Some(t), i64::from(i / 4));
        if i % 2 == 0 {
            r.tags = vec!["even".to_owned()];
        }
        data.push(r);
    }
    for r in &data {
        insert(store, r).await;
    }
    let scope = TenantScope::Tenant(ta);
    let even = KeyFilter {
        tags: vec!["even".to_owned()],
        ..KeyFilter::default()
    };
    let want = oracle(&data, &scope, &even);
    assert!(want.len() >= 8);
    assert_eq!(
        ids(&walk(store, &scope, &even, 2).await),
        ids(&want),
        "filtered walk"
    );

    // Cursor inside a run of equal created_at.
    let cursor = Cursor::after(&want[3]);
    let from_cursor = KeyFilter {
        after: Some(cursor),
        ..even.clone()
    };
    assert_eq!(
        ids(&walk(store, &scope, &from_cursor, 2).await),
        ids(&want[4..]),
        "walk from {cursor:?}"
    );

    // Cursor at a deleted record.
    let gone = &want[5];
    let event = fixtures::deleted(gone, base_time() + TimeDelta::seconds(1));
    assert!(store.delete(&scope, gone.id, &event).await.expect("delete"));
    let after_gone = KeyFilter {
        after: Some(Cursor::after(gone)),
        ..even
    };
    assert_eq!(
        ids(&walk(store, &scope, &after_gone, 2).await),
        ids(&want[6..]),
        "walk from a deleted record's position"
    );
}
