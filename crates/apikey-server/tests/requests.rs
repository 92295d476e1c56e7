//! `GET /v1/requests`: the request log within the admin key's tenant, filtered, newest first in
//! keyset pages; `usage:read` only.

mod common;

use std::sync::Arc;

use apikey_core::TenantId;
use apikey_core::request_log::{RequestFacts, RequestLogStore, RequestRecord};
use chrono::{Duration, Utc};
use serde_json::json;

fn record(minutes_ago: i64, tenant: Option<&str>, route: &str, outcome: &str) -> RequestRecord {
    let at = Utc::now() - Duration::minutes(minutes_ago);
    RequestRecord::new(
        at,
        Some(apikey_core::KeyId::new()),
        tenant.map(|t| TenantId::new(t).unwrap()),
        &RequestFacts {
            method: "GET",
            route: Some(route),
            path: "/projects/1?secret=no",
            client_ip: Some([203, 0, 113, 7].into()),
            request_id: "r1",
            user_agent: Some("curl"),
        },
        if outcome == "admitted" { 200 } else { 401 },
        outcome,
        120,
        at + Duration::days(30),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_pages_filters_and_stays_within_the_tenant() {
    let mut records: Vec<RequestRecord> = (0..5)
        .map(|i| record(i, Some("acme"), "/projects/{id}", "admitted"))
        .collect();
    records.push(record(10, Some("acme"), "/projects/{id}", "revoked"));
    records.push(record(1, Some("globex"), "/projects/{id}", "admitted"));
    let s = common::start_on(|store, svc| svc.request_log(Arc::new(store.clone()))).await;
    let store: Arc<dyn RequestLogStore> = Arc::new(s.store.clone());
    store.append_requests(&records).await.unwrap();

    let acme = s.admin_key(&["usage:read"], Some("acme")).await;
    let (status, page) = s.call("GET", "/v1/requests?limit=4", &acme, None).await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|r| r["tenant_id"] == "acme"), "{page}");
    assert_eq!(items[0]["path"], "/projects/1", "no query string is kept");
    let next = page["next"].as_str().unwrap();
    let (_, rest) = s
        .call("GET", &format!("/v1/requests?before={next}"), &acme, None)
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2, "{rest}");
    assert_eq!(rest["next"], json!(null));

    let (_, rejected) = s
        .call("GET", "/v1/requests?outcome=rejected", &acme, None)
        .await;
    assert_eq!(rejected["items"].as_array().unwrap().len(), 1);
    assert_eq!(rejected["items"][0]["outcome"], "revoked");
    let key = records[0].key_id.unwrap();
    let (_, one) = s
        .call("GET", &format!("/v1/requests?key={key}"), &acme, None)
        .await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);

    // The root key sees every tenant; an empty range holds nothing.
    let (_, all) = s.call("GET", "/v1/requests", &s.root, None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 7);
    let (status, none) = s
        .call(
            "GET",
            "/v1/requests?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z",
            &s.root,
            None,
        )
        .await;
    assert_eq!((status, none["items"].as_array().unwrap().len()), (200, 0));

    // Bad input; and keys:read is not usage:read.
    for bad in ["before=1.2", "outcome=Revoked", "limit=0", "key=nope"] {
        let (status, _) = s
            .call("GET", &format!("/v1/requests?{bad}"), &acme, None)
            .await;
        assert_eq!(status, 400, "{bad}");
    }
    let reader = s.admin_key(&["keys:read"], None).await;
    let (status, _) = s.call("GET", "/v1/requests", &reader, None).await;
    assert_eq!(status, 403);
}
