//! The [`RequestLogStore`](apikey_core::request_log::RequestLogStore) conformance suite.
//!
//! Every field round-trips (IPv4, IPv6 and no address; unicode; instants to the millisecond);
//! appends are idempotent by id; queries are newest first with ties broken by id, and keyset
//! pages visit every record once; each filter (key, network in both families, route, outcome,
//! time range) selects exactly what it says; tenants are apart; purge removes exactly the
//! expired records; erasure removes exactly the given keys' records; a bad filter is refused; a
//! batch of 1,001 (more than one multi-row statement) with addresses whose bytes are not UTF-8
//! goes in once and is found by network.
//!
//! Each case takes a fresh, empty store; run them all with
//! [`request_log_suite!`](crate::request_log_suite).

use std::net::IpAddr;

use apikey_core::request_log::{
    ADMITTED, OutcomeFilter, RequestCursor, RequestFacts, RequestFilter, RequestLogStore,
    RequestRecord,
};
use apikey_core::{ErrorKind, KeyId, TenantScope};
use chrono::{DateTime, TimeDelta, Utc};

use crate::fixtures::{base_time, tenant};

/// `base_time()` plus `ms` milliseconds and an odd 7.
fn at(ms: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::milliseconds(ms + 7)
}

/// A record at `at(ms)` with every field set.
pub fn record(
    ms: i64,
    tenant_id: Option<&str>,
    key: Option<KeyId>,
    ip: Option<&str>,
) -> RequestRecord {
    let facts = RequestFacts {
        method: "POST",
        route: Some("/projects/{id}/members"),
        path: "/projects/\u{1F511}7/members",
        client_ip: ip.map(|i| i.parse::<IpAddr>().expect("fixture address")),
        request_id: "req-'x'; DROP TABLE apikey_requests; --",
        user_agent: Some("curl/8.5 \"ü\""),
    };
    RequestRecord::new(
        at(ms),
        key,
        tenant_id.map(tenant),
        &facts,
        201,
        ADMITTED,
        1234,
        at(ms + 86_400_000),
    )
}

async fn append<S: RequestLogStore + ?Sized>(store: &S, records: &[RequestRecord]) -> u64 {
    store.append_requests(records).await.expect("append")
}

async fn query<S: RequestLogStore + ?Sized>(
    store: &S,
    tenant: &TenantScope,
    filter: RequestFilter,
) -> Vec<RequestRecord> {
    store.requests(tenant, &filter).await.expect("query")
}

fn all(limit: u32) -> RequestFilter {
    RequestFilter {
        limit,
        ..RequestFilter::default()
    }
}

/// Every field of records with an IPv4, an IPv6 and no address comes back as written.
pub async fn request_round_trip<S: RequestLogStore + ?Sized>(store: &S) {
    let v4 = record(0, Some("acme"), Some(KeyId::new()), Some("203.0.113.7"));
    let v6 = record(1, None, None, Some("2001:db8::1"));
    let mut none = record(2, Some("acme"), Some(KeyId::new()), None);
    none.route = None;
    none.user_agent = None;
    none.outcome = "rate_limited".into();
    none.status = 429;
    assert_eq!(
        append(store, &[v4.clone(), v6.clone(), none.clone()]).await,
        3
    );
    let got = query(store, &TenantScope::All, all(10)).await;
    assert_eq!(got, vec![none, v6, v4], "newest first, every field");
}

/// A batch written twice (a retry after a lost answer) is stored once.
pub async fn append_is_idempotent<S: RequestLogStore + ?Sized>(store: &S) {
    let batch: Vec<_> = (0..5).map(|i| record(i, None, None, None)).collect();
    assert_eq!(append(store, &batch).await, 5);
    assert_eq!(append(store, &batch).await, 0);
    let mut more = batch.clone();
    more.push(record(9, None, None, None));
    assert_eq!(append(store, &more).await, 1, "only the new one");
    assert_eq!(query(store, &TenantScope::All, all(100)).await.len(), 6);
}

/// Keyset pages of 10 over 25 records, several sharing an instant, visit each once in order.
pub async fn pages_visit_every_record_once<S: RequestLogStore + ?Sized>(store: &S) {
    let records: Vec<_> = (0..25).map(|i| record(i / 3, None, None, None)).collect();
    append(store, &records).await;
    let mut expected = records.clone();
    expected.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
    let mut seen = Vec::new();
    let mut filter = all(10);
    loop {
        let page = query(store, &TenantScope::All, filter.clone()).await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        filter.before = Some(RequestCursor::after(page.last().expect("not empty")));
        seen.extend(page);
    }
    assert_eq!(seen, expected);
}

/// Each filter selects exactly its records.
pub async fn filters_select_exactly<S: RequestLogStore + ?Sized>(store: &S) {
    let k = KeyId::new();
    let a = record(0, None, Some(k), Some("203.0.113.7"));
    let b = record(1, None, Some(KeyId::new()), Some("203.0.113.250"));
    let c = record(2, None, Some(k), Some("198.51.100.1"));
    let mut d = record(3, None, None, Some("2001:db8:1::5"));
    d.outcome = "unknown".into();
    d.status = 401;
    let mut e = record(4, None, Some(k), Some("2001:db8:2::5"));
    e.outcome = "rate_limited".into();
    e.status = 429;
    e.route = Some("/other".into());
    append(
        store,
        &[a.clone(), b.clone(), c.clone(), d.clone(), e.clone()],
    )
    .await;
    let ids = |v: Vec<RequestRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let run = |f: RequestFilter| async move { ids(query(store, &TenantScope::All, f).await) };

    assert_eq!(
        run(RequestFilter {
            key: Some(k),
            ..all(10)
        })
        .await,
        vec![e.id, c.id, a.id]
    );
    let net = |n: &str| Some(n.parse::<ipnet::IpNet>().expect("net"));
    assert_eq!(
        run(RequestFilter {
            network: net("203.0.113.0/24"),
            ..all(10)
        })
        .await,
        vec![b.id, a.id]
    );
    assert_eq!(
        run(RequestFilter {
            network: net("203.0.113.7/32"),
            ..all(10)
        })
        .await,
        vec![a.id]
    );
    assert_eq!(
        run(RequestFilter {
            network: net("2001:db8:1::/48"),
            ..all(10)
        })
        .await,
        vec![d.id]
    );
    assert_eq!(
        run(RequestFilter {
            route: Some("/other".into()),
            ..all(10)
        })
        .await,
        vec![e.id]
    );
    assert_eq!(
        run(RequestFilter {
            outcome: Some(OutcomeFilter::Rejected),
            ..all(10)
        })
        .await,
        vec![e.id, d.id]
    );
    assert_eq!(
        run(RequestFilter {
            outcome: Some(OutcomeFilter::Admitted),
            ..all(10)
        })
        .await,
        vec![c.id, b.id, a.id]
    );
    assert_eq!(
        run(RequestFilter {
            outcome: Some(OutcomeFilter::Exactly("unknown".into())),
            ..all(10)
        })
        .await,
        vec![d.id]
    );
    assert_eq!(
        run(RequestFilter {
            since: Some(b.at),
            until: Some(d.at),
            ..all(10)
        })
        .await,
        vec![c.id, b.id],
        "since inclusive, until exclusive"
    );
    assert_eq!(
        run(RequestFilter {
            key: Some(k),
            outcome: Some(OutcomeFilter::Admitted),
            ..all(1)
        })
        .await,
        vec![c.id],
        "conditions combine, the limit holds"
    );
}

/// A tenant sees only its records; records without a tenant are seen by `All` only.
pub async fn tenants_are_apart<S: RequestLogStore + ?Sized>(store: &S) {
    let a = record(0, Some("acme"), None, None);
    let b = record(1, Some("globex"), None, None);
    let none = record(2, None, None, None);
    append(store, &[a.clone(), b.clone(), none.clone()]).await;
    let acme = TenantScope::Tenant(tenant("acme"));
    assert_eq!(query(store, &acme, all(10)).await, vec![a]);
    assert_eq!(query(store, &TenantScope::All, all(10)).await.len(), 3);
}

/// Purge removes the records whose expiry has come, and only those.
pub async fn purge_removes_the_expired<S: RequestLogStore + ?Sized>(store: &S) {
    let mut old = record(0, None, None, None);
    old.expires_at = at(1000);
    let mut edge = record(1, None, None, None);
    edge.expires_at = at(2000);
    let fresh = record(2, None, None, None);
    append(store, &[old, edge, fresh.clone()]).await;
    assert_eq!(store.purge_requests(at(2000)).await.expect("purge"), 2);
    assert_eq!(query(store, &TenantScope::All, all(10)).await, vec![fresh]);
    assert_eq!(store.purge_requests(at(2000)).await.expect("again"), 0);
}

/// Erasure removes every record of the given keys and nothing else.
pub async fn erase_removes_the_keys_records<S: RequestLogStore + ?Sized>(store: &S) {
    let (k1, k2, k3) = (KeyId::new(), KeyId::new(), KeyId::new());
    let records = vec![
        record(0, Some("acme"), Some(k1), None),
        record(1, None, Some(k2), None),
        record(2, None, Some(k3), None),
        record(3, None, None, None),
        record(4, Some("acme"), Some(k1), None),
    ];
    append(store, &records).await;
    assert_eq!(store.erase_requests_of(&[k1, k2]).await.expect("erase"), 3);
    let left = query(store, &TenantScope::All, all(10)).await;
    assert_eq!(left.len(), 2);
    assert!(
        left.iter()
            .all(|r| r.key_id != Some(k1) && r.key_id != Some(k2))
    );
    assert_eq!(store.erase_requests_of(&[]).await.expect("nothing"), 0);
}

/// A filter out of range is `InvalidInput`, whatever the store.
pub async fn bad_filters_are_refused<S: RequestLogStore + ?Sized>(store: &S) {
    let err = store
        .requests(&TenantScope::All, &all(0))
        .await
        .expect_err("limit 0");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// 1,001 records (more than two multi-row inserts) go in once, come back once, and a network
/// filter over their non-UTF-8 address bytes finds each.
pub async fn batches_span_statements_and_keep_their_bytes<S: RequestLogStore + ?Sized>(store: &S) {
    let batch: Vec<_> = (0..1001)
        .map(|i| {
            let ip = format!("255.255.{}.{}", i / 256, i % 256);
            record(i, None, None, Some(ip.as_str()))
        })
        .collect();
    assert_eq!(store.append_requests(&batch).await.expect("append"), 1001);
    assert_eq!(store.append_requests(&batch).await.expect("again"), 0);

    let mut filter = RequestFilter {
        network: Some("255.255.0.0/16".parse().expect("net")),
        limit: 1000,
        ..RequestFilter::default()
    };
    let page = store
        .requests(&TenantScope::All, &filter)
        .await
        .expect("page");
    assert_eq!(page.len(), 1000);
    assert_eq!(page[0], batch[1000], "newest first, every field");
    filter.before = page.last().map(RequestCursor::after);
    let rest = store
        .requests(&TenantScope::All, &filter)
        .await
        .expect("rest");
    assert_eq!(rest, vec![batch[0].clone()]);

    let one = RequestFilter {
        network: Some("255.255.3.232/32".parse().expect("net")),
        ..RequestFilter::default()
    };
    let found = store.requests(&TenantScope::All, &one).await.expect("one");
    assert_eq!(
        found,
        vec![batch[1000].clone()],
        "255.255.3.232 is record 1000"
    );
}

/// A request log on `store` that flushes every 10 ms with `mode` as every tenant's default: what
/// a test of a guard's logging needs (call `shutdown` on it before reading the store).
///
/// # Panics
///
/// Outside a tokio runtime (the writer is a task).
pub fn spawn_test_log(
    store: std::sync::Arc<dyn RequestLogStore>,
    mode: apikey_core::request_log::RequestLogMode,
) -> apikey_core::request_log::RequestLog {
    use apikey_core::request_log::{RequestLog, RequestLogConfig, RequestLogSettings};
    let log = RequestLog::spawn(
        store,
        None,
        std::sync::Arc::new(apikey_core::SystemClock),
        RequestLogConfig {
            flush_every: std::time::Duration::from_millis(10),
            ..RequestLogConfig::default()
        },
    )
    .expect("request log");
    log.set_default(RequestLogSettings {
        mode,
        ..RequestLogSettings::default()
    })
    .expect("settings");
    log
}
