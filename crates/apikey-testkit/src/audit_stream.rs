//! The audit log as an event stream (audit log v2): positions in insertion order, system events
//! appended once under deterministic ids, reader cursors that refuse to run ahead of the log,
//! retention that waits for the slowest reader, and events that never carry a secret.
//!
//! Run with the rest of the audit cases by [`audit_store_suite!`](crate::audit_store_suite).

use apikey_core::audit::{AuditFilter, MAX_READER_NAME};
use apikey_core::record::LegacyPrefix;
use apikey_core::{
    AuditEvent, AuditStore, ErrorKind, EventSubject, EventType, KeyRecord, KeyStore, TenantScope,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use crate::audit::unpositioned;
use crate::fixtures::{self, base_time, tenant};
use crate::store::support::insert;

fn secs(s: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::seconds(s)
}

/// Inserts three keys and updates one: four events, in this order.
async fn four_events<S>(store: &S) -> Vec<AuditEvent>
where
    S: KeyStore + ?Sized,
{
    let a = fixtures::record(Some(&tenant("tenant-a")), secs(5));
    // Earlier `at` than `a`: positions follow insertion, not time.
    let b = fixtures::record(None, secs(1));
    let c = fixtures::record(Some(&tenant("tenant-b")), secs(3));
    let mut events = vec![
        insert(store, &a).await,
        insert(store, &b).await,
        insert(store, &c).await,
    ];
    let next = fixtures::next_version(&a, secs(9));
    let e = fixtures::updated(&a, &next);
    store
        .update(&TenantScope::All, a.version, &next, &e)
        .await
        .expect("update");
    events.push(e);
    events
}

async fn read_all<S>(store: &S) -> Vec<AuditEvent>
where
    S: AuditStore + ?Sized,
{
    store.read_after(0, 1000).await.expect("read_after")
}

/// Every event gets a position; positions increase in insertion order (not time order) across
/// tenants; `read_after` pages by position and `last_position` is the highest.
pub async fn positions_follow_insertion_order<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    assert_eq!(store.last_position().await.expect("last position"), 0);
    assert!(read_all(store).await.is_empty());
    let written = four_events(store).await;
    let read = read_all(store).await;
    let positions: Vec<u64> = read.iter().map(|e| e.position.expect("position")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(unpositioned(read.clone()), written, "insertion order");
    assert_eq!(
        store.last_position().await.expect("last position"),
        *positions.last().expect("four events")
    );
    let page = store.read_after(positions[0], 2).await.expect("page");
    assert_eq!(page, read[1..3].to_vec());
    let tail = store.read_after(positions[3], 10).await.expect("tail");
    assert!(tail.is_empty());
}

/// A system event (no key, a subject, a payload) is appended once: the same deterministic id
/// again is `false` and stores nothing. It reads back equal and is found by subject and type.
pub async fn system_events_append_once<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("tenant-a");
    let owner = EventSubject::Owner("team «ops» 'quoted' \\ 🔑".to_owned());
    let warn = AuditEvent::system(
        EventType::QuotaThreshold,
        Some(owner.clone()),
        Some(t.clone()),
        secs(7),
        Some(json!({"percent": 80, "period": "2026-12", "note": "ünï"})),
        &["owner", "2026-12", "80"],
    );
    assert!(store.append(&warn).await.expect("append"));
    let again = AuditEvent::system(
        EventType::QuotaThreshold,
        Some(owner.clone()),
        Some(t.clone()),
        secs(8),
        Some(json!({"percent": 80})),
        &["owner", "2026-12", "80"],
    );
    assert_eq!(again.id, warn.id, "deterministic");
    assert!(!store.append(&again).await.expect("append again"));
    let global = AuditEvent::system(
        EventType::AuthFailures,
        None,
        None,
        secs(9),
        Some(json!({"network": "203.0.113.0/24", "failures": 120})),
        &["203.0.113.0/24", "interval-1"],
    );
    assert!(store.append(&global).await.expect("append"));

    let all = unpositioned(read_all(store).await);
    assert_eq!(all, vec![warn.clone(), global.clone()]);
    let by_subject = AuditFilter {
        subject: Some(owner),
        ..AuditFilter::default()
    };
    let got = unpositioned(
        AuditStore::query(store, &TenantScope::Tenant(t), &by_subject)
            .await
            .expect("query"),
    );
    assert_eq!(got, vec![warn]);
    let by_type = AuditFilter {
        types: vec![EventType::AuthFailures],
        ..AuditFilter::default()
    };
    let got = unpositioned(
        AuditStore::query(store, &TenantScope::All, &by_type)
            .await
            .expect("query"),
    );
    assert_eq!(got, vec![global]);
    assert!(
        AuditStore::query(store, &TenantScope::Tenant(tenant("tenant-b")), &by_type)
            .await
            .expect("query")
            .is_empty(),
        "an event without tenant is the operator's only"
    );
}

/// Cursors are saved, overwritten, listed and removed; a cursor ahead of the log and a bad
/// reader name are refused (`InvalidInput`) and change nothing.
pub async fn cursors_never_run_ahead_of_the_log<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    four_events(store).await;
    let last = store.last_position().await.expect("last");
    store.save_cursor("webhooks", 1).await.expect("save");
    store.save_cursor("webhooks", last).await.expect("move");
    store.save_cursor("siem 'export'", 0).await.expect("save");
    let err = store
        .save_cursor("webhooks", last + 1)
        .await
        .expect_err("ahead of the log");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = store
        .save_cursor("new-reader", last + 10)
        .await
        .expect_err("ahead of the log");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    for bad in [
        String::new(),
        "a\0b".to_owned(),
        "x".repeat(MAX_READER_NAME + 1),
    ] {
        let err = store.save_cursor(&bad, 0).await.expect_err("bad name");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    let mut cursors: Vec<(String, u64)> = store
        .cursors()
        .await
        .expect("cursors")
        .into_iter()
        .map(|c| (c.reader, c.position))
        .collect();
    cursors.sort();
    assert_eq!(
        cursors,
        vec![
            ("siem 'export'".to_owned(), 0),
            ("webhooks".to_owned(), last)
        ]
    );
    assert!(store.remove_cursor("webhooks").await.expect("remove"));
    assert!(!store.remove_cursor("webhooks").await.expect("remove again"));
    assert_eq!(store.cursors().await.expect("cursors").len(), 1);
}

/// Retention never deletes what a registered reader has not passed; once the reader moves on
/// (or is removed), the rest goes — except each live key's newest record, which stays whatever
/// its age (the key's view as it stands, and where its audit chain continues).
pub async fn purge_waits_for_the_slowest_reader<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let written = four_events(store).await;
    let system = AuditEvent::system(EventType::QuotaThreshold, None, None, secs(2), None, &["p"]);
    assert!(store.append(&system).await.expect("append"));
    let read = read_all(store).await;
    let second = read[1].position.expect("position");
    store
        .save_cursor("fast", read[4].position.expect("position"))
        .await
        .expect("save");
    store.save_cursor("slow", second).await.expect("save");
    let far = secs(3600);
    // Up to the slow cursor: `a`'s creation (superseded by its update); `b`'s creation is `b`'s
    // newest record and stays.
    assert_eq!(store.purge_before(far).await.expect("purge"), 1);
    let mut rest = written[1..].to_vec();
    rest.push(system);
    assert_eq!(unpositioned(read_all(store).await), rest);
    store.remove_cursor("slow").await.expect("remove");
    // Now the system event too; the three left are each a live key's newest record.
    assert_eq!(store.purge_before(far).await.expect("purge"), 1);
    assert_eq!(unpositioned(read_all(store).await), written[1..].to_vec());
    assert_eq!(store.purge_before(far).await.expect("purge"), 0);
    assert!(
        store.last_position().await.expect("last") >= read[4].position.expect("position"),
        "positions are never reused after a purge"
    );
}

/// A record whose hash and legacy prefix are recognisable canaries.
pub fn canary_record() -> KeyRecord {
    let mut r = fixtures::full_record(Some(&tenant("tenant-a")), secs(0));
    r.hash = fixtures::dummy_hash(0xC7);
    r.legacy_lookup = Some(LegacyPrefix::new("c0ffee97").expect("valid prefix"));
    r
}

/// The strings that must never appear in the audit log: the canary's digest (as stored, hex and
/// base64), its legacy prefix, and its sealed signing secrets (only the signing mode is public).
pub fn canary_strings() -> Vec<String> {
    let r = canary_record();
    let hash = serde_json::to_string(&r.hash).expect("hash serializes");
    let mut strings = vec![
        hash.trim_matches('"').to_owned(),
        "c7c7c7c7c7c7c7c7".to_owned(),
        "x8fHx8fHx8fHx8fH".to_owned(),
        "c0ffee97".to_owned(),
    ];
    if let Some(s) = &r.protection.signing {
        strings.push(s.sealed.clone());
        strings.extend(s.previous.clone());
    }
    strings
}

/// Panics if `text` (a dump of stored audit rows or events) holds any canary string.
pub fn assert_free_of_canary(text: &str, what: &str) {
    for c in canary_strings() {
        assert!(
            !text.contains(&c),
            "{what} holds the key's secret-derived {c:?}"
        );
    }
}

/// The planted-secret case: a key with a canary hash and legacy prefix is created, updated and
/// deleted; no event read back, by query or by position, holds either.
pub async fn events_never_carry_secrets<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let r = canary_record();
    insert(store, &r).await;
    let next = fixtures::next_version(&r, secs(4));
    store
        .update(
            &TenantScope::All,
            r.version,
            &next,
            &fixtures::updated(&r, &next),
        )
        .await
        .expect("update");
    assert!(
        store
            .delete(&TenantScope::All, r.id, &fixtures::deleted(&next, secs(5)))
            .await
            .expect("delete")
    );
    let by_query = AuditStore::query(store, &TenantScope::All, &AuditFilter::key(r.id))
        .await
        .expect("query");
    assert_eq!(by_query.len(), 3);
    let text = serde_json::to_string(&(by_query, read_all(store).await)).expect("json");
    assert!(
        text.contains(&r.lookup_id.to_string()),
        "the public fields are there"
    );
    assert_free_of_canary(&text, "an audit event");
}
