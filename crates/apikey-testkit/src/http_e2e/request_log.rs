//! The request log through an HTTP integration, on any [`RequestLogStore`].
//!
//! The integration's test starts a server (a [`LogStart`]) that serves `GET /projects/{id}`
//! behind its guard configured with the given [`RequestLog`], answering 500 for id 13 and 200
//! otherwise. [`requests_are_logged`] then sends an admitted request (with a query, a request id
//! and a user agent), one whose handler fails, one without a key and one with a revoked key, and
//! checks every recorded field; [`nothing_is_logged_when_off`] checks that a log whose mode is off
//! records nothing.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::request_log::{
    RequestFilter, RequestLog, RequestLogMode, RequestLogStore, RequestRecord,
};
use apikey_core::{ApiKeys, Change, KeyStore, NewKey, TenantId, TenantScope};

use super::Server;
use crate::requests::spawn_test_log;

/// Serves `GET /projects/{id}` behind the guard with `log` on the keys' verifier.
pub type LogStart<'a> = &'a dyn Fn(&ApiKeys, RequestLog) -> Box<dyn Server>;

async fn records(store: &dyn RequestLogStore) -> Vec<RequestRecord> {
    let mut got = store
        .requests(&TenantScope::All, &RequestFilter::default())
        .await
        .expect("query");
    got.reverse();
    got
}

/// Admitted, failed and refused requests are recorded with every field; the query never is.
/// `keys` is built on `key_store`; records go to `log_store` (often the same store).
pub async fn requests_are_logged(
    keys: &ApiKeys,
    log_store: Arc<dyn RequestLogStore>,
    start: LogStart<'_>,
) {
    let log = spawn_test_log(Arc::clone(&log_store), RequestLogMode::Full);
    let server = start(keys, log.clone());
    let addr = server.addr();
    let acme = TenantId::new("acme").expect("tenant");
    let key = keys
        .manager()
        .create(NewKey::new("svc").tenant(acme.clone()))
        .await
        .expect("create");
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{addr}{path}"));

    let ok = get("/projects/7?api_key=not-kept&page=2")
        .header("x-api-key", key.token.expose())
        .header("x-request-id", "req-42")
        .header("user-agent", "tests/1.0")
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status(), 200);
    let failed = get("/projects/13")
        .header("x-api-key", key.token.expose())
        .send()
        .await
        .expect("send");
    assert_eq!(failed.status(), 500);
    let missing = get("/projects/8").send().await.expect("send");
    assert_eq!(missing.status(), 401);
    keys.manager()
        .revoke(&TenantScope::All, key.record.id, Change::new())
        .await
        .expect("revoke");
    let revoked = get("/projects/9")
        .header("x-api-key", key.token.expose())
        .send()
        .await
        .expect("send");
    assert_eq!(revoked.status(), 401);

    log.shutdown(Duration::from_secs(5)).await;
    let got = records(&*log_store).await;
    assert_eq!(got.len(), 4, "{got:#?}");
    let (ok, failed, missing, revoked) = (&got[0], &got[1], &got[2], &got[3]);

    assert_eq!(ok.method, "GET");
    assert_eq!(ok.route.as_deref(), Some("/projects/{id}"));
    assert_eq!(ok.path, "/projects/7", "the query is never kept");
    assert_eq!((ok.status, ok.outcome.as_str()), (200, "admitted"));
    assert_eq!(ok.key_id, Some(key.record.id));
    assert_eq!(ok.tenant_id.as_ref(), Some(&acme));
    assert_eq!(ok.client_ip, Some("127.0.0.1".parse().expect("ip")));
    assert_eq!(ok.request_id, "req-42");
    assert_eq!(ok.user_agent.as_deref(), Some("tests/1.0"));
    assert!(ok.latency_us > 0);

    assert_eq!((failed.status, failed.outcome.as_str()), (500, "admitted"));
    assert_eq!(
        failed.request_id.len(),
        32,
        "generated when the header is absent"
    );

    assert_eq!((missing.status, missing.outcome.as_str()), (401, "missing"));
    assert_eq!(missing.key_id, None);
    assert_eq!(missing.route.as_deref(), Some("/projects/{id}"));

    assert_eq!((revoked.status, revoked.outcome.as_str()), (401, "revoked"));
    assert_eq!(revoked.key_id, Some(key.record.id), "a known key is named");
    assert_eq!(revoked.tenant_id.as_ref(), Some(&acme));
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (4, 0), "{stats:?}");
    drop(server);
}

/// With the mode off, requests of every kind record nothing and queue nothing.
pub async fn nothing_is_logged_when_off(
    keys: &ApiKeys,
    log_store: Arc<dyn RequestLogStore>,
    start: LogStart<'_>,
) {
    let log = spawn_test_log(Arc::clone(&log_store), RequestLogMode::Off);
    let server = start(keys, log.clone());
    let addr = server.addr();
    let key = keys
        .manager()
        .create(NewKey::new("svc"))
        .await
        .expect("create");
    let http = reqwest::Client::new();
    for path in ["/projects/1", "/projects/13"] {
        http.get(format!("http://{addr}{path}"))
            .header("x-api-key", key.token.expose())
            .send()
            .await
            .expect("send");
    }
    http.get(format!("http://{addr}/projects/2"))
        .send()
        .await
        .expect("send");
    log.shutdown(Duration::from_secs(5)).await;
    assert!(records(&*log_store).await.is_empty());
    assert_eq!(log.stats().queued, 0);
    drop(server);
}

/// Keys on the memory store, for integrations that test with it.
pub fn memory_keys() -> (ApiKeys, Arc<apikey_memory::MemoryStore>) {
    let store = Arc::new(apikey_memory::MemoryStore::new());
    let key_store: Arc<dyn KeyStore> = store.clone();
    let keys = ApiKeys::builder(key_store)
        .random_peppers_keys_die_at_exit()
        .build()
        .expect("keys");
    (keys, store)
}
