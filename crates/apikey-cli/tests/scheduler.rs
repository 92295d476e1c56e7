//! The three-scheduler suite (`apikey_testkit::scheduler`) on the databases `apikey jobs` runs
//! on: three schedulers, each with its own connection pool to one real database, stand for three
//! hosts. PostgreSQL needs `APIKEY_TEST_POSTGRES_URL`, MySQL `APIKEY_TEST_MYSQL_URL` and Redis (`RedisLeases`, for instances that
//! share a Redis rather than a database) `APIKEY_TEST_REDIS_URL` (`source .ci/services.sh`);
//! without them the tests fail, since a lease model untested on a shared server proves nothing.

use std::sync::Arc;

use apikey_core::jobs::LeaseStore;
use apikey_redis::{KeyPrefix, RedisConnection, RedisLeases};
use apikey_sqlx::sqlx::mysql::MySqlPoolOptions;
use apikey_sqlx::sqlx::postgres::PgPoolOptions;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use apikey_sqlx::sqlx::{self, Connection as _};
use apikey_sqlx::{SqlxMySqlStore, SqlxPostgresStore, SqlxSqliteStore};
use apikey_testkit::scheduler;

fn postgres_url() -> String {
    std::env::var("APIKEY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("APIKEY_TEST_POSTGRES_URL is not set (source .ci/services.sh): the scheduler suite needs a real PostgreSQL")
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with ://");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{db}{query}")
}

/// A fresh, migrated PostgreSQL database; `drop` removes it.
struct Pg {
    admin: String,
    name: String,
    url: String,
}

impl Pg {
    async fn fresh(tag: &str) -> Self {
        let admin = postgres_url();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("apikey_sched_{tag}_{}_{nanos}", std::process::id());
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let url = with_database(&admin, &name);
        let pool = PgPoolOptions::new().connect(&url).await.unwrap();
        SqlxPostgresStore::new(pool.clone())
            .migrate()
            .await
            .unwrap();
        pool.close().await;
        Self { admin, name, url }
    }

    /// A new pool on the database per call: one per scheduler, as on separate hosts.
    fn connect(
        &self,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn LeaseStore>> + Send>> + use<>
    {
        let url = self.url.clone();
        move || {
            let url = url.clone();
            Box::pin(async move {
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .connect(&url)
                    .await
                    .unwrap();
                Arc::new(SqlxPostgresStore::new(pool)) as Arc<dyn LeaseStore>
            })
        }
    }

    async fn drop(self) {
        let mut c = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        // FORCE: the schedulers' pools are still open when the case ends.
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut c)
        .await;
        let _ = c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_period_runs_once() {
    let db = Pg::fresh("count").await;
    scheduler::every_period_runs_once(db.connect()).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_killed_holder_is_taken_over_within_one_ttl() {
    let db = Pg::fresh("kill").await;
    scheduler::a_killed_holder_is_taken_over_within_one_ttl(db.connect()).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_graceful_shutdown_hands_the_period_over_at_once() {
    let db = Pg::fresh("stop").await;
    scheduler::a_graceful_shutdown_hands_the_period_over_at_once(db.connect()).await;
    db.drop().await;
}

/// SQLite, the CLI's default: three pools on one file, as three cron runs on one host.
fn sqlite_connect(
    path: std::path::PathBuf,
) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn LeaseStore>> + Send>> {
    move || {
        let path = path.clone();
        Box::pin(async move {
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .busy_timeout(std::time::Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .unwrap();
            let store = SqlxSqliteStore::new(pool);
            store.migrate().await.unwrap();
            Arc::new(store) as Arc<dyn LeaseStore>
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_period_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    scheduler::every_period_runs_once(sqlite_connect(dir.path().join("jobs.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_killed_holder_is_taken_over_within_one_ttl() {
    let dir = tempfile::tempdir().unwrap();
    scheduler::a_killed_holder_is_taken_over_within_one_ttl(sqlite_connect(
        dir.path().join("jobs.db"),
    ))
    .await;
}

/// Redis: a new connection per scheduler, all under one fresh key prefix (this case's keys only).
fn redis_connect()
-> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn LeaseStore>> + Send>> {
    let url = std::env::var("APIKEY_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("APIKEY_TEST_REDIS_URL is not set (source .ci/services.sh): the scheduler suite needs a real Redis");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("sched{}x{nanos}", std::process::id());
    move || {
        let url = url.clone();
        let prefix = KeyPrefix::new(&prefix).expect("valid prefix");
        Box::pin(async move {
            let conn = RedisConnection::connect(&url)
                .await
                .expect("connect to redis");
            Arc::new(RedisLeases::new(conn).with_prefix(prefix)) as Arc<dyn LeaseStore>
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_every_period_runs_once() {
    scheduler::every_period_runs_once(redis_connect()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_killed_holder_is_taken_over_within_one_ttl() {
    scheduler::a_killed_holder_is_taken_over_within_one_ttl(redis_connect()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_graceful_shutdown_hands_the_period_over_at_once() {
    scheduler::a_graceful_shutdown_hands_the_period_over_at_once(redis_connect()).await;
}

/// A fresh, migrated MySQL database, reached with a new pool per scheduler.
struct My {
    admin: String,
    name: String,
    url: String,
}

impl My {
    async fn fresh(tag: &str) -> Self {
        let admin = std::env::var("APIKEY_TEST_MYSQL_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .expect("APIKEY_TEST_MYSQL_URL is not set (source .ci/services.sh): the scheduler suite needs a real MySQL");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("apikey_sched_{tag}_{}_{nanos}", std::process::id());
        let mut c = sqlx::MySqlConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let url = with_database(&admin, &name);
        let pool = MySqlPoolOptions::new().connect(&url).await.unwrap();
        SqlxMySqlStore::new(pool.clone()).migrate().await.unwrap();
        pool.close().await;
        Self { admin, name, url }
    }

    fn connect(
        &self,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn LeaseStore>> + Send>> + use<>
    {
        let url = self.url.clone();
        move || {
            let url = url.clone();
            Box::pin(async move {
                let pool = MySqlPoolOptions::new()
                    .max_connections(4)
                    .connect(&url)
                    .await
                    .unwrap();
                Arc::new(SqlxMySqlStore::new(pool)) as Arc<dyn LeaseStore>
            })
        }
    }

    async fn drop(self) {
        let mut c = sqlx::MySqlConnection::connect(&self.admin).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .execute(&mut c)
            .await;
        let _ = c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_every_period_runs_once() {
    let db = My::fresh("count").await;
    scheduler::every_period_runs_once(db.connect()).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_killed_holder_is_taken_over_within_one_ttl() {
    let db = My::fresh("kill").await;
    scheduler::a_killed_holder_is_taken_over_within_one_ttl(db.connect()).await;
    db.drop().await;
}

/// The expiry monitor on one real PostgreSQL: three instances (a pool each), 1,000 keys, 40 days
/// — every warning and expiry stored and emitted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_expiry_monitor_records_each_warning_once() {
    let db = Pg::fresh("expiry").await;
    let url = db.url.clone();
    apikey_testkit::expiry::three_instances_record_each_warning_once(move || {
        let url = url.clone();
        async move {
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .connect(&url)
                .await
                .unwrap();
            Arc::new(SqlxPostgresStore::new(pool))
        }
    })
    .await;
    db.drop().await;
}
