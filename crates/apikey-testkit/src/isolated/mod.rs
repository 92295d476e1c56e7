//! A database per test without a database driver (feature `isolated-db`).
//!
//! The suites run their cases in parallel, so each case needs data no other case sees: its own
//! database, schema, file or key prefix. Creating one is driver-specific (a `CREATE DATABASE`
//! over sqlx, diesel or a MongoDB client), but everything around it is not, and lives here:
//!
//! - [`service_url`]: the server's URL from the environment; under `CI=true` a missing one fails
//!   the test, elsewhere the test is skipped with a note (the architecture's rule).
//! - [`unique_name`]: `apikey_test_<32 hex>`, a valid database, schema or file name everywhere.
//! - [`with_database`]: a connection URL pointed at another database.
//! - [`sqlite_temp_path`] and [`remove_sqlite_files`]: a fresh SQLite file and its cleanup
//!   (with the `-wal` and `-shm` files).
//! - [`proxy::Proxy`]: a TCP proxy a test pauses or cuts to take a real server away.
//! - [`run_detached`]: runs async cleanup from `Drop`, which cannot block on the test's runtime.
//! - [`Isolated`]: a `KeyStore` + `AuditStore` (and a `LeaseStore`, `TenantSettingsStore`,
//!   `WebhookStore` or `RequestLogStore` when the store is one) that runs its cleanup (drop the
//!   database, remove the file) when the case ends, so it can be what a suite macro's factory
//!   returns.
//!
//! ```no_run
//! use apikey_memory::MemoryStore;
//! use apikey_testkit::isolated::{Isolated, run_detached, service_url, unique_name};
//!
//! // Stand-ins for the driver's two calls.
//! async fn create_database_and_connect(url: &str, name: &str) -> MemoryStore {
//! #   let _ = (url, name);
//!     MemoryStore::new()
//! }
//! async fn drop_database(url: String, name: String) {
//! #   let _ = (url, name);
//! }
//!
//! async fn fresh_store() -> Option<Isolated<MemoryStore>> {
//!     let url = service_url("MY_DATABASE_URL", "MyDatabase")?;
//!     let name = unique_name();
//!     let store = create_database_and_connect(&url, &name).await;
//!     Some(Isolated::new(store, move || run_detached(drop_database(url, name))))
//! }
//! ```

mod analytics;
mod detached;
mod env;
mod leases;
mod names;
pub mod proxy;
mod requests;
mod sqlite;
mod store;
mod webhooks;

pub use detached::run_detached;
pub use env::{in_ci, service_url};
pub use names::{unique_name, with_database};
pub use sqlite::{remove_sqlite_files, sqlite_temp_path};
pub use store::Isolated;
