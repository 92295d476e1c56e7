//! The request log through a real tonic server and client, with its records in SQLite and
//! PostgreSQL: the method path is the route, refusals carry their HTTP-equivalent status.
//!
//! PostgreSQL needs `APIKEY_TEST_POSTGRES_URL` (a failure under `CI=true`, a noted skip
//! elsewhere); each run gets a database of its own.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::request_log::{RequestFilter, RequestLogMode, RequestLogStore, RequestRecord};
use apikey_core::{ApiKeys, KeyStore, NewKey, TenantScope};
use apikey_example_grpc::pb::GetProjectRequest;
use apikey_example_grpc::pb::projects_client::ProjectsClient;
use apikey_example_grpc::{methods, spawn_layered};
use apikey_sqlx::sqlx::{self, Connection, Executor};
use apikey_sqlx::{SqlxPostgresStore, SqlxSqliteStore};
use apikey_testkit::isolated::{
    remove_sqlite_files, service_url, sqlite_temp_path, unique_name, with_database,
};
use apikey_tonic::{ApiKeyInterceptor, ApiKeyLayer};
use tonic::Code;
use tonic::transport::Channel;

const GET: &str = "/apikey.demo.v1.Projects/GetProject";
const CREATE: &str = "/apikey.demo.v1.Projects/CreateProject";

async fn calls_are_logged<S>(store: Arc<S>)
where
    S: KeyStore + RequestLogStore + 'static,
{
    let keys = ApiKeys::builder(store.clone() as Arc<dyn KeyStore>)
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let log = apikey_testkit::requests::spawn_test_log(store.clone(), RequestLogMode::Full);
    let layer = ApiKeyLayer::new(keys.verifier().clone(), methods()).request_log(log.clone());
    let (addr, serving) = spawn_layered(
        "127.0.0.1:0".parse().unwrap(),
        Some(layer),
        std::future::pending(),
    )
    .await
    .unwrap();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let created = keys
        .manager()
        .create(NewKey::new("reader").scopes(["projects:read"]).unwrap())
        .await
        .unwrap();
    let token = created.token.expose().to_owned();
    let signed = |t: &str| {
        ProjectsClient::with_interceptor(channel.clone(), ApiKeyInterceptor::new(t).unwrap())
    };
    let get = || GetProjectRequest { id: "p-1".into() };

    signed(&token).get_project(get()).await.unwrap();
    let missing = ProjectsClient::new(channel.clone())
        .get_project(get())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    let scope = signed(&token)
        .create_project(apikey_example_grpc::pb::CreateProjectRequest { name: "n".into() })
        .await
        .unwrap_err();
    assert_eq!(scope.code(), Code::PermissionDenied);
    log.shutdown(Duration::from_secs(5)).await;
    serving.abort();

    let mut got: Vec<RequestRecord> = store
        .requests(&TenantScope::All, &RequestFilter::default())
        .await
        .unwrap();
    got.reverse();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0].route.as_deref(), Some(GET));
    assert_eq!(got[0].path, GET);
    assert_eq!((got[0].status, got[0].outcome.as_str()), (200, "admitted"));
    assert_eq!(got[0].key_id, Some(created.record.id));
    assert_eq!(got[0].client_ip, Some("127.0.0.1".parse().unwrap()));
    assert_eq!((got[1].status, got[1].outcome.as_str()), (401, "missing"));
    assert_eq!(got[1].key_id, None);
    assert_eq!(got[2].route.as_deref(), Some(CREATE));
    assert_eq!(got[2].status, 403);
    assert_eq!(got[2].key_id, Some(created.record.id));
    for r in &got {
        assert!(
            !format!("{r:?}").contains(&token),
            "a token reached a record"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_logged_in_sqlite() {
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
    calls_are_logged(store).await;
    pool.close().await;
    remove_sqlite_files(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_logged_in_postgres() {
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
    calls_are_logged(store).await;
    pool.close().await;
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
