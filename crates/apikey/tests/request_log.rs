//! The request log through real axum and actix-web servers, with its records on the memory
//! store, SQLite and PostgreSQL (the cases every HTTP integration shares:
//! `apikey_testkit::http_e2e::request_log`). gRPC: `examples/grpc/tests/request_log.rs` (a real
//! tonic server and client on SQLite and PostgreSQL).
//!
//! PostgreSQL needs `APIKEY_TEST_POSTGRES_URL` (a failure under `CI=true`, a noted skip
//! elsewhere); each run gets a database of its own.

#![cfg(all(
    feature = "axum",
    feature = "actix",
    feature = "memory",
    feature = "sqlite",
    feature = "postgres"
))]

use std::net::SocketAddr;
use std::sync::Arc;

use apikey::request_log::{RequestLog, RequestLogStore};
use apikey::sqlx::sqlx::{self, Connection, Executor};
use apikey::sqlx::{SqlxPostgresStore, SqlxSqliteStore};
use apikey::{ApiKeys, KeyStore};
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::request_log::{
    LogStart, memory_keys, nothing_is_logged_when_off, requests_are_logged,
};
use apikey_testkit::isolated::{
    remove_sqlite_files, service_url, sqlite_temp_path, unique_name, with_database,
};

// ---- the servers: GET /projects/{id} behind the guard, 500 for id 13 ----

mod axum_server {
    use super::*;
    use apikey::axum::{ApiKeyLayer, Verified};
    use axum::Router;
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;

    struct Running {
        addr: SocketAddr,
        task: tokio::task::JoinHandle<()>,
    }

    impl Server for Running {
        fn addr(&self) -> SocketAddr {
            self.addr
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn project(Path(id): Path<u32>, _key: Verified) -> (StatusCode, &'static str) {
        if id == 13 {
            (StatusCode::INTERNAL_SERVER_ERROR, "unlucky")
        } else {
            (StatusCode::OK, "ok")
        }
    }

    pub(super) fn start(keys: &ApiKeys, log: RequestLog) -> Box<dyn Server> {
        let app = Router::new()
            .route("/projects/{id}", get(project))
            .layer(ApiKeyLayer::new(keys.verifier().clone()).request_log(log));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Box::new(Running { addr, task })
    }
}

mod actix_server {
    use super::*;
    use actix_web::dev::ServerHandle;
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpResponse, HttpServer, web};
    use apikey::actix::{ApiKeyAuth, Verified};

    struct Running {
        addr: SocketAddr,
        handle: ServerHandle,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            drop(self.handle.stop(false));
        }
    }

    impl Server for Running {
        fn addr(&self) -> SocketAddr {
            self.addr
        }
    }

    async fn project(id: web::Path<u32>, _key: Verified) -> HttpResponse {
        if *id == 13 {
            HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).body("unlucky")
        } else {
            HttpResponse::Ok().body("ok")
        }
    }

    pub(super) fn start(keys: &ApiKeys, log: RequestLog) -> Box<dyn Server> {
        let auth = ApiKeyAuth::new(keys.verifier().clone()).request_log(log);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HttpServer::new(move || {
            App::new().service(
                web::scope("")
                    .wrap(auth.clone())
                    .route("/projects/{id}", web::get().to(project)),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Box::new(Running { addr, handle })
    }
}

// ---- the stores ----

fn keys_on(store: Arc<dyn KeyStore>) -> ApiKeys {
    ApiKeys::builder(store)
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap()
}

/// Runs the shared case on a fresh SQLite file.
async fn on_sqlite(start: LogStart<'_>) {
    let path = sqlite_temp_path();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
    let store = Arc::new(SqlxSqliteStore::new(pool.clone()));
    store.migrate().await.unwrap();
    let keys = keys_on(store.clone());
    requests_are_logged(&keys, store as Arc<dyn RequestLogStore>, start).await;
    pool.close().await;
    remove_sqlite_files(&path);
}

/// Runs the shared case on a fresh PostgreSQL database.
async fn on_postgres(start: LogStart<'_>) {
    let Some(admin) = service_url("APIKEY_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let name = unique_name();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let pool = sqlx::PgPool::connect(&with_database(&admin, &name))
        .await
        .unwrap();
    let store = Arc::new(SqlxPostgresStore::new(pool.clone()));
    store.migrate().await.unwrap();
    let keys = keys_on(store.clone());
    requests_are_logged(&keys, store as Arc<dyn RequestLogStore>, start).await;
    pool.close().await;
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

// ---- axum ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_requests_are_logged_in_memory() {
    let (keys, store) = memory_keys();
    requests_are_logged(&keys, store, &axum_server::start).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_logs_nothing_when_off() {
    let (keys, store) = memory_keys();
    nothing_is_logged_when_off(&keys, store, &axum_server::start).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_requests_are_logged_on_sqlite() {
    on_sqlite(&axum_server::start).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_requests_are_logged_on_postgres() {
    on_postgres(&axum_server::start).await;
}

// ---- actix-web ----

#[actix_web::test]
async fn actix_requests_are_logged_in_memory() {
    let (keys, store) = memory_keys();
    requests_are_logged(&keys, store, &actix_server::start).await;
}

#[actix_web::test]
async fn actix_logs_nothing_when_off() {
    let (keys, store) = memory_keys();
    nothing_is_logged_when_off(&keys, store, &actix_server::start).await;
}

#[actix_web::test]
async fn actix_requests_are_logged_on_sqlite() {
    on_sqlite(&actix_server::start).await;
}

#[actix_web::test]
async fn actix_requests_are_logged_on_postgres() {
    on_postgres(&actix_server::start).await;
}
