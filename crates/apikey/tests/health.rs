//! Health probes through real axum and actix-web servers on PostgreSQL: ready while the store
//! answers, 503 naming the store (and nothing of its URL) when it cannot be reached; live either
//! way.
//!
//! Needs `APIKEY_TEST_POSTGRES_URL` (a failure under `CI=true`, a noted skip elsewhere).

#![cfg(all(feature = "axum", feature = "actix", feature = "postgres"))]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey::sqlx::SqlxPostgresStore;
use apikey::sqlx::sqlx::postgres::PgPoolOptions;
use apikey::sqlx::sqlx::{self, Connection, Executor};
use apikey::{ApiKeys, KeyStore};
use apikey_testkit::isolated::{service_url, unique_name, with_database};
use serde_json::Value;

fn keys_on(store: Arc<dyn KeyStore>) -> ApiKeys {
    ApiKeys::builder(store)
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap()
}

/// A store on a fresh, migrated database, and one whose pool points at a port nothing listens
/// on (with a password, to check it never reaches the report); and the database's name.
async fn stores() -> Option<(ApiKeys, ApiKeys, String, String)> {
    let admin = service_url("APIKEY_TEST_POSTGRES_URL", "PostgreSQL")?;
    let name = unique_name();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let up = PgPoolOptions::new()
        .connect(&with_database(&admin, &name))
        .await
        .unwrap();
    let store = SqlxPostgresStore::new(up);
    store.migrate().await.unwrap();
    let down = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://apikey:hunter2-secret@127.0.0.1:1/none")
        .unwrap();
    Some((
        keys_on(Arc::new(store)),
        keys_on(Arc::new(SqlxPostgresStore::new(down))),
        admin,
        name,
    ))
}

async fn drop_database(admin: &str, name: &str) {
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

async fn probe(addr: SocketAddr, path: &str) -> (u16, String, Value) {
    let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    (status, ct, serde_json::from_str(&text).unwrap())
}

async fn check(addr_up: SocketAddr, addr_down: SocketAddr) {
    let (s, ct, body) = probe(addr_up, "/health/ready").await;
    assert_eq!((s, ct.as_str()), (200, "application/health+json"));
    assert_eq!(body["checks"]["store:responseTime"][0]["status"], "pass");
    let (s, _, body) = probe(addr_down, "/health/ready").await;
    assert_eq!(s, 503);
    assert_eq!(body["status"], "fail");
    let store = &body["checks"]["store:responseTime"][0];
    assert_eq!(store["status"], "fail");
    assert!(
        store["output"].as_str().unwrap().starts_with("store:"),
        "{store}"
    );
    let (s, _, body) = probe(addr_down, "/health/live").await;
    assert_eq!((s, body["status"].as_str()), (200, Some("pass")));
}

fn axum_serve(keys: &ApiKeys) -> SocketAddr {
    use apikey::axum::{ApiKeyLayer, Routes};
    let app: axum::Router = Routes::new(ApiKeyLayer::new(keys.verifier().clone()))
        .health(keys.health().clone())
        .into_router();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

fn actix_serve(keys: &ApiKeys) -> SocketAddr {
    use actix_web::{App, HttpServer};
    use apikey::actix::{ApiKeyAuth, Routes};
    let routes =
        Routes::new(ApiKeyAuth::new(keys.verifier().clone())).health(keys.health().clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let routes = routes.clone();
        App::new().configure(move |cfg| routes.configure(cfg))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_probes_follow_the_store() {
    let Some((up, down, admin, name)) = stores().await else {
        return;
    };
    check(axum_serve(&up), axum_serve(&down)).await;
    drop_database(&admin, &name).await;
}

#[actix_web::test]
async fn actix_probes_follow_the_store() {
    let Some((up, down, admin, name)) = stores().await else {
        return;
    };
    check(actix_serve(&up), actix_serve(&down)).await;
    drop_database(&admin, &name).await;
}
