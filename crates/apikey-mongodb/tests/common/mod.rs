//! Shared test support: the server URL from `APIKEY_TEST_MONGODB_URL`, one fresh database per
//! test (dropped at the end), and one test at a time per test binary.
//!
//! BriskDB, the MongoDB-wire server of CI, answers "database is busy" to parallel writers, so
//! every test holds [`SERIAL`] for its whole run; against a real MongoDB this only costs time.
//! Each test crate uses a part of this module (hence `dead_code`, `unreachable_pub`).

#![allow(dead_code, unreachable_pub)]

pub mod isolated;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use apikey_mongodb::MongoKeyStore;
use apikey_mongodb::mongodb::options::ClientOptions;
use apikey_mongodb::mongodb::{Client, Database};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use isolated::Isolated;

/// Held by every test for its whole run (the test harness runs tests on parallel threads).
static SERIAL: LazyLock<Arc<Mutex<()>>> = LazyLock::new(|| Arc::new(Mutex::new(())));

/// Waits for this binary's other tests to finish.
pub async fn serial() -> OwnedMutexGuard<()> {
    SERIAL.clone().lock_owned().await
}

/// The server URL, or `None` (the test then returns early). In CI (`CI=true`) a missing URL
/// fails the test instead: CI must provide the server.
#[allow(clippy::print_stderr)]
pub fn url() -> Option<String> {
    match std::env::var("APIKEY_TEST_MONGODB_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("APIKEY_TEST_MONGODB_URL is not set; CI must provide a MongoDB-wire server")
        }
        _ => {
            eprintln!(
                "skipped: APIKEY_TEST_MONGODB_URL is not set (run `source .ci/mongodb.sh`, or \
                 point it at a MongoDB)"
            );
            None
        }
    }
}

/// A database name no other test uses.
pub fn unique_name() -> String {
    format!("apikey_test_{}", uuid::Uuid::new_v4().simple())
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

/// An initialised store on a fresh database, dropped with the store.
pub async fn store(url: String) -> Isolated<MongoKeyStore> {
    let (db, guard) = fresh_database(&url).await;
    let store = MongoKeyStore::new(db.clone());
    store.init().await.expect("init");
    Isolated::new(store, guard, url, db.name().to_owned())
}

/// Drops database `name` on `url`, from a runtime of its own (for `Drop`, which runs inside the
/// test's runtime and cannot block on it).
pub fn drop_database(url: String, name: String) {
    let handle = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cleanup runtime")
            .block_on(async move {
                let _ = client(&url).await.database(&name).drop().await;
            });
    });
    let _ = handle.join();
}
