//! Shared test support: the server URL from `APIKEY_TEST_MONGODB_URL`, one fresh database per
//! test (dropped at the end), and one test at a time per test binary.
//!
//! BriskDB, the MongoDB-wire server of CI, answers "database is busy" to parallel writers, so
//! every test holds [`SERIAL`] for its whole run; against a real MongoDB this only costs time.
//! Each test crate uses a part of this module (hence `dead_code`, `unreachable_pub`).

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use apikey_mongodb::MongoStore;
use apikey_mongodb::mongodb::options::ClientOptions;
use apikey_mongodb::mongodb::{Client, Database};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use apikey_testkit::isolated::{Isolated, run_detached, service_url, unique_name};

/// Held by every test for its whole run (the test harness runs tests on parallel threads).
static SERIAL: LazyLock<Arc<Mutex<()>>> = LazyLock::new(|| Arc::new(Mutex::new(())));

/// Waits for this binary's other tests to finish.
pub async fn serial() -> OwnedMutexGuard<()> {
    SERIAL.clone().lock_owned().await
}

/// The server URL, or `None` (the test then returns early). In CI (`CI=true`) a missing URL
/// fails the test instead: CI must provide the server.
pub fn url() -> Option<String> {
    service_url(
        "APIKEY_TEST_MONGODB_URL",
        "MongoDB (`source .ci/mongodb.sh` starts one)",
    )
}

/// A client on `url` that gives up quickly when the server is down.
pub async fn client(url: &str) -> Client {
    let mut options = ClientOptions::parse(url).await.expect("MongoDB URL");
    options.server_selection_timeout = Some(Duration::from_secs(10));
    options.app_name = Some("apikey-mongodb tests".to_owned());
    Client::with_options(options).expect("MongoDB client")
}

/// A fresh database on `url` and the guard that keeps other tests out until it is dropped.
pub async fn fresh_database(url: &str) -> (Database, OwnedMutexGuard<()>) {
    let guard = serial().await;
    (client(url).await.database(&unique_name()), guard)
}

/// An initialised store on a fresh database, dropped with the store; the next test runs after
/// that.
pub async fn store(url: String) -> Isolated<MongoStore> {
    let (db, guard) = fresh_database(&url).await;
    let store = MongoStore::new(db.clone());
    store.init().await.expect("init");
    let name = db.name().to_owned();
    Isolated::new(store, move || {
        drop_database(url, name);
        drop(guard);
    })
}

/// Drops database `name` on `url` (from `Drop`, which runs inside the test's runtime).
pub fn drop_database(url: String, name: String) {
    run_detached(async move {
        let _ = client(&url).await.database(&name).drop().await;
    });
}
