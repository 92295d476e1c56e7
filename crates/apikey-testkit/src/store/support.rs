//! Shared helpers of the store suites: reading the audit log, walking pages, oracles, error checks.

use std::collections::HashSet;

use apikey_core::audit::{AuditEvent, AuditFilter};
use apikey_core::store::{Cursor, KeyFilter, MAX_PAGE_SIZE, Page};
use apikey_core::{
    AuditStore, ErrorKind, KeyId, KeyRecord, KeyStore, Result, TenantScope, UsageBatchId,
};
use chrono::{DateTime, Utc};

use crate::fixtures;

/// Most pages a walk follows before deciding the store loops.
const MAX_PAGES: usize = 10_000;

/// Every audit event of `key`, in (at, id) order, across tenants.
pub(crate) async fn audit_of<S>(store: &S, key: KeyId) -> Vec<AuditEvent>
where
    S: AuditStore + ?Sized,
{
    let filter = AuditFilter {
        limit: 1000,
        ..AuditFilter::key(key)
    };
    crate::audit::unpositioned(
        AuditStore::query(store, &TenantScope::All, &filter)
            .await
            .expect("audit query"),
    )
}

/// Inserts `record` with its creation event, which it returns; panics if the store refuses.
pub(crate) async fn insert<S>(store: &S, record: &KeyRecord) -> AuditEvent
where
    S: KeyStore + ?Sized,
{
    let event = fixtures::created(record);
    store
        .insert(record, &event)
        .await
        .unwrap_or_else(|e| panic!("insert of key {} failed: {e}", record.id));
    event
}

/// Checks that `result` failed with `kind`.
pub(crate) fn assert_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Err(e) => assert_eq!(e.kind(), kind, "{what}: wrong error kind ({e})"),
        Ok(v) => panic!("{what}: expected a {kind} error, got Ok({v:?})"),
    }
}

/// One query page, checking the `next` cursor contract: `next` is the position after the last
/// item, a short page is the last one, and no page exceeds the requested size.
pub(crate) async fn page<S>(store: &S, tenant: &TenantScope, filter: &KeyFilter) -> Page<KeyRecord>
where
    S: KeyStore + ?Sized,
{
    let page = KeyStore::query(store, tenant, filter)
        .await
        .expect("key query");
    let size = filter.page_size();
    assert!(
        page.items.len() <= size,
        "page of {} items for a page size of {size}",
        page.items.len()
    );
    if page.items.len() < size {
        assert_eq!(page.next, None, "a short page must be the last one");
    }
    if let Some(next) = page.next {
        let last = page
            .items
            .last()
            .expect("a page with a next cursor has items");
        assert_eq!(
            next,
            Cursor::after(last),
            "next must point after the last item"
        );
    }
    page
}

/// Every record in `tenant` matching `filter`, following `next` cursors with pages of `size`.
/// Checks that no record appears twice.
pub(crate) async fn walk<S>(
    store: &S,
    tenant: &TenantScope,
    filter: &KeyFilter,
    size: u32,
) -> Vec<KeyRecord>
where
    S: KeyStore + ?Sized,
{
    let mut filter = KeyFilter {
        limit: size,
        ..filter.clone()
    };
    let mut out: Vec<KeyRecord> = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let page = page(store, tenant, &filter).await;
        let full = page.items.len() == filter.page_size();
        for r in page.items {
            assert!(
                seen.insert(r.id),
                "key {} returned twice while paging",
                r.id
            );
            out.push(r);
        }
        match page.next {
            Some(next) => filter.after = Some(next),
            None => {
                assert!(
                    !full
                        || KeyStore::query(
                            store,
                            tenant,
                            &KeyFilter {
                                after: out.last().map(Cursor::after),
                                ..filter.clone()
                            }
                        )
                        .await
                        .expect("key query")
                        .items
                        .is_empty(),
                    "a full page had no next cursor although more records follow"
                );
                return out;
            }
        }
    }
    panic!("paging did not end after {MAX_PAGES} pages");
}

/// Every record in `tenant` (pages of the largest size).
pub(crate) async fn all_keys<S>(store: &S, tenant: &TenantScope) -> Vec<KeyRecord>
where
    S: KeyStore + ?Sized,
{
    walk(store, tenant, &KeyFilter::default(), MAX_PAGE_SIZE).await
}

/// The records of `universe` visible in `tenant` and matching `filter`, in (created_at, id) order:
/// what a conforming store returns.
pub(crate) fn oracle(
    universe: &[KeyRecord],
    tenant: &TenantScope,
    filter: &KeyFilter,
) -> Vec<KeyRecord> {
    let mut out: Vec<KeyRecord> = universe
        .iter()
        .filter(|r| tenant.admits(r.tenant_id.as_ref()) && filter.matches(r))
        .cloned()
        .collect();
    out.sort_by_key(|r| (r.created_at, r.id));
    out
}

/// The ids of `records`, in order (for readable assertion failures).
pub(crate) fn ids(records: &[KeyRecord]) -> Vec<KeyId> {
    records.iter().map(|r| r.id).collect()
}

/// Asserts `got == want`; on a mismatch names each differing field with both values (cut to 120
/// characters), instead of dumping two whole records.
#[track_caller]
pub(crate) fn assert_same(got: Option<&KeyRecord>, want: Option<&KeyRecord>, what: &str) {
    if got == want {
        return;
    }
    let (Some(g), Some(w)) = (got, want) else {
        let show =
            |r: Option<&KeyRecord>| r.map_or("nothing".to_owned(), |r| format!("key {}", r.id));
        panic!("{what}: expected {}, read back {}", show(want), show(got));
    };
    let json = |r: &KeyRecord| match serde_json::to_value(r) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (gj, wj) = (json(g), json(w));
    let short = |v: Option<&serde_json::Value>| {
        let s = v.map_or("(absent)".to_owned(), ToString::to_string);
        let cut: String = s.chars().take(120).collect();
        if cut.len() < s.len() {
            format!("{cut}… ({} bytes)", s.len())
        } else {
            cut
        }
    };
    let diffs: Vec<String> = wj
        .keys()
        .chain(gj.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| gj.get(*k) != wj.get(*k))
        .map(|k| {
            format!(
                "{k}: read back {}, expected {}",
                short(gj.get(k)),
                short(wj.get(k))
            )
        })
        .collect();
    panic!(
        "{what}: key {} read back differently:\n  {}",
        w.id,
        diffs.join("\n  ")
    );
}

/// The first batch of a new flusher: a store must apply every item of it.
pub(crate) fn new_batch(at: DateTime<Utc>) -> UsageBatchId {
    UsageBatchId {
        flusher: uuid::Uuid::new_v4(),
        seq: 1,
        at,
    }
}
