//! The request log through a real axum server: admitted, refused and failed requests are
//! recorded with the route template, path (never the query), status, outcome, key, tenant,
//! client address, request id and user agent; a tenant whose mode is off records nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::request_log::{
    RequestFilter, RequestLog, RequestLogConfig, RequestLogMode, RequestLogSettings,
    RequestLogStore, RequestRecord,
};
use apikey_core::{ApiKeys, NewKey, SystemClock, TenantId, TenantScope};
use apikey_memory::MemoryStore;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;

async fn project(Path(id): Path<u32>, _key: Verified) -> (StatusCode, &'static str) {
    if id == 13 {
        (StatusCode::INTERNAL_SERVER_ERROR, "unlucky")
    } else {
        (StatusCode::OK, "ok")
    }
}

async fn serve(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, task)
}

async fn records(store: &dyn RequestLogStore) -> Vec<RequestRecord> {
    let mut got = store
        .requests(&TenantScope::All, &RequestFilter::default())
        .await
        .unwrap();
    got.reverse();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_through_axum_are_logged() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder(store.clone())
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let log = RequestLog::spawn(
        store.clone(),
        None,
        Arc::new(SystemClock),
        RequestLogConfig {
            flush_every: Duration::from_millis(10),
            ..RequestLogConfig::default()
        },
    )
    .unwrap();
    log.set_default(RequestLogSettings {
        mode: RequestLogMode::Full,
        ..RequestLogSettings::default()
    })
    .unwrap();
    let app = Router::new()
        .route("/projects/{id}", get(project))
        .layer(ApiKeyLayer::new(keys.verifier().clone()).request_log(log.clone()));
    let (addr, server) = serve(app).await;
    let acme = TenantId::new("acme").unwrap();
    let key = keys
        .manager()
        .create(NewKey::new("svc").tenant(acme.clone()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{addr}{path}"));

    let ok = get("/projects/7?api_key=not-kept&page=2")
        .header("x-api-key", key.token.expose())
        .header("x-request-id", "req-42")
        .header("user-agent", "tests/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let failed = get("/projects/13")
        .header("x-api-key", key.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 500);
    let missing = get("/projects/8").send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let revoked_token = key.token.expose().to_owned();
    keys.manager()
        .revoke(&TenantScope::All, key.record.id, apikey_core::Change::new())
        .await
        .unwrap();
    let revoked = get("/projects/9")
        .header("x-api-key", &revoked_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);

    log.shutdown(Duration::from_secs(5)).await;
    let got = records(&*store).await;
    assert_eq!(got.len(), 4, "{got:#?}");
    let (ok, failed, missing, revoked) = (&got[0], &got[1], &got[2], &got[3]);

    assert_eq!(ok.method, "GET");
    assert_eq!(ok.route.as_deref(), Some("/projects/{id}"));
    assert_eq!(ok.path, "/projects/7", "the query is never kept");
    assert_eq!((ok.status, ok.outcome.as_str()), (200, "admitted"));
    assert_eq!(ok.key_id, Some(key.record.id));
    assert_eq!(ok.tenant_id.as_ref(), Some(&acme));
    assert_eq!(ok.client_ip, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(ok.request_id, "req-42");
    assert_eq!(ok.user_agent.as_deref(), Some("tests/1.0"));

    assert_eq!((failed.status, failed.outcome.as_str()), (500, "admitted"));
    assert_eq!(failed.request_id.len(), 32, "generated when the header is absent");

    assert_eq!((missing.status, missing.outcome.as_str()), (401, "missing"));
    assert_eq!(missing.key_id, None);
    assert_eq!(missing.route.as_deref(), Some("/projects/{id}"));

    assert_eq!((revoked.status, revoked.outcome.as_str()), (401, "revoked"));
    assert_eq!(revoked.key_id, Some(key.record.id), "a known key is named");
    assert_eq!(revoked.tenant_id.as_ref(), Some(&acme));
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (4, 0));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_logging_off_nothing_is_recorded() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder(store.clone())
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let log = RequestLog::spawn(
        store.clone(),
        None,
        Arc::new(SystemClock),
        RequestLogConfig::default(),
    )
    .unwrap();
    let app = Router::new()
        .route("/projects/{id}", get(project))
        .layer(ApiKeyLayer::new(keys.verifier().clone()).request_log(log.clone()));
    let (addr, server) = serve(app).await;
    let key = keys.manager().create(NewKey::new("svc")).await.unwrap();
    let http = reqwest::Client::new();
    for path in ["/projects/1", "/projects/13"] {
        http.get(format!("http://{addr}{path}"))
            .header("x-api-key", key.token.expose())
            .send()
            .await
            .unwrap();
    }
    http.get(format!("http://{addr}/projects/2")).send().await.unwrap();
    log.shutdown(Duration::from_secs(5)).await;
    assert!(records(&*store).await.is_empty());
    assert_eq!(log.stats().queued, 0);
    server.abort();
}
