//! Shared test support: the server URL from `APIKEY_TEST_MONGODB_URL`, one fresh database per
//! test (dropped at the end), and one test at a time per test binary.
//!
//! BriskDB, the MongoDB-wire server of CI, answers "database is busy" to parallel writers, so
//! every test holds [`SERIAL`] for its whole run; against a real MongoDB this only costs time.
//! Each test crate uses a part of this module (hence `dead_code`, `unreachable_pub`).

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, ReaderCursor, Result, StoredSettings, TenantId,
    TenantScope, TenantSettings, TenantSettingsStore,
};
use apikey_mongodb::MongoStore;
use apikey_mongodb::mongodb::options::ClientOptions;
use apikey_mongodb::mongodb::{Client, Database};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
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

/// An [`Isolated`] store seen as a [`TenantSettingsStore`] + [`AuditStore`]. The testkit's
/// `Isolated` of this branch forwards `KeyStore` and `AuditStore` only (not
/// `TenantSettingsStore`, nor `KeyStore::count`), so the tenant settings suite gets this newtype,
/// which forwards both traits to the `MongoStore` inside and drops the database with the wrapper.
#[derive(Debug)]
pub struct WithSettings(pub Isolated<MongoStore>);

/// An initialised store on a fresh database for the tenant settings suite.
pub async fn settings_store(url: String) -> WithSettings {
    WithSettings(store(url).await)
}

#[async_trait]
impl TenantSettingsStore for WithSettings {
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        TenantSettingsStore::get(&self.0.store, tenant).await
    }
    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        self.0
            .store
            .put(tenant, expected_version, settings, event)
            .await
    }
}

#[async_trait]
impl AuditStore for WithSettings {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        AuditStore::query(&self.0.store, tenant, filter).await
    }
    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        self.0.store.append(event).await
    }
    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.0.store.read_after(after, limit).await
    }
    async fn last_position(&self) -> Result<u64> {
        self.0.store.last_position().await
    }
    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        self.0.store.cursors().await
    }
    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        self.0.store.save_cursor(reader, position).await
    }
    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        self.0.store.remove_cursor(reader).await
    }
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.0.store.purge_before(before).await
    }
}
