//! API-key storage for `apikey` on PostgreSQL, MySQL/MariaDB and SQLite through diesel, with
//! the diesel-async connection pool your application already has.
//!
//! [`DieselPostgresStore`], [`DieselMySqlStore`] and [`DieselSqliteStore`] (Cargo features
//! `postgres`, `mysql`, `sqlite`) implement [`KeyStore`](apikey_core::KeyStore),
//! [`AuditStore`](apikey_core::AuditStore), [`LegacyLookup`](apikey_core::store::LegacyLookup),
//! [`LeaseStore`](apikey_core::jobs::LeaseStore) (the scheduler's job leases),
//! [`TenantSettingsStore`](apikey_core::TenantSettingsStore) (wire it with
//! `ApiKeysBuilder::tenant_settings`), [`CatalogStore`](apikey_core::CatalogStore) (templates
//! and groups; wire it with `ApiKeysBuilder::catalog`),
//! [`WebhookStore`](apikey_core::webhook::WebhookStore) (webhook subscriptions and their
//! deliveries), [`RequestLogStore`](apikey_core::request_log::RequestLogStore) (the request log)
//! and [`CheckedInsert`](apikey_core::tenant::CheckedInsert) (reached through
//! `KeyStore::checked`: key-count limits checked atomically with the insert, and batches
//! inserted all or none):
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use apikey_core::ApiKeys;
//! use apikey_diesel::DieselPostgresStore;
//! use apikey_diesel::diesel_async::AsyncPgConnection;
//! use apikey_diesel::diesel_async::pooled_connection::AsyncDieselConnectionManager;
//! use apikey_diesel::diesel_async::pooled_connection::deadpool::Pool;
//!
//! let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new("postgres://app@db/app");
//! let pool = Pool::builder(manager).max_size(16).build()?;
//! let store = DieselPostgresStore::new(pool);
//! store.migrate().await?; // idempotent; safe from several instances at once
//! let peppers = apikey_core::PepperConfig::from_env().load()?.peppers; // APIKEY_PEPPER
//! let keys = ApiKeys::builder(Arc::new(store)).peppers(peppers).build()?;
//! # let _ = keys; Ok(()) }
//! ```
//!
//! `apikey_diesel::diesel` and `apikey_diesel::diesel_async` re-export the crates this one was
//! built with (diesel 2.3, diesel-async 0.9), so the pool you pass has the same versions.
//!
//! # Why diesel-async, and why deadpool
//!
//! The verifier and the manager are async; diesel's own connections block. diesel-async gives
//! diesel's query builder async connections: `AsyncPgConnection` (on tokio-postgres) and
//! `AsyncMysqlConnection` (on mysql_async), both pure Rust — building this crate needs neither
//! libpq nor libmysqlclient. SQLite has no async driver; diesel-async's `SyncConnectionWrapper`
//! runs diesel's `SqliteConnection` on tokio's blocking threads (SQLite itself is compiled in,
//! `libsqlite3-sys/bundled`). All three are `AsyncConnection`s, so one generic store serves
//! them.
//!
//! The pool is diesel-async's `deadpool` integration
//! (`diesel_async::pooled_connection::deadpool::Pool<C>`): async-native (no blocking thread per
//! checkout, unlike r2d2), small, and the pool the diesel-async documentation leads with.
//! Configure it with `RecyclingMethod::Fast` (`ManagerConfig::recycling_method`): diesel-async's
//! default, `Verified`, sends a `SELECT 1` on every checkout — a second statement and round trip
//! on every cold verification (measured: 1 → 2 statements, +45 µs p50).
//!
//! Statements are built with `diesel::sql_query` and bound parameters (one small builder
//! shared by the three databases, see the source), not with `table!` DSL types: the columns
//! differ in SQL type per database (UUID, TIMESTAMPTZ and JSONB on PostgreSQL; text, DATETIME(3)
//! or integer milliseconds elsewhere), and the schema must stay identical to `apikey-sqlx`'s.
//!
//! # Schema
//!
//! The same tables and columns as `apikey-sqlx` (the migration SQL is that crate's, byte for
//! byte; a test checks it), so a database moves between the two crates' stores — but the two
//! record their migrations in different tables, see [`migrate`]. Every table is prefixed
//! `apikey_`:
//!
//! - `apikey_keys`: one column per [`KeyRecord`](apikey_core::KeyRecord) field (structured
//!   fields as JSONB on PostgreSQL, JSON text elsewhere; instants as `TIMESTAMPTZ`,
//!   `DATETIME(3)` in UTC, or integer milliseconds on SQLite — millisecond precision
//!   everywhere). Unique index on `lookup_id`; indexes on `legacy_lookup` (not unique),
//!   `(tenant_id, owner)`, `state`, `expires_at`, `(created_at, id)` and `lineage_id`.
//! - `apikey_key_tags`, `apikey_key_aliases`, `apikey_key_scopes`: one row per label, indexed
//!   both ways, so filters on them are indexed `EXISTS` subqueries. Alias rows carry their key's
//!   tenant (`tenant_key`, `''` for none), indexed with the alias: unique once `migrate()` could
//!   make it so (see *Guarantees*).
//! - `apikey_audit_events`: one row per change with the record before and after.
//! - `apikey_data_migrations`: the data migrations written in Rust that SQL migrations queue
//!   (today one, which rewrites stored rules in canonical form), and when each was done.
//! - `apikey_job_leases`: one row per scheduled job (primary key `job`): its lease (holder,
//!   `lease_until`, a `fence` every claim bumps) and its last completed period, run time and
//!   error.
//! - `apikey_tenant_settings`: one versioned JSON document per tenant (`tenant_key`, `''` for
//!   the default row).
//! - `apikey_catalog`: templates and groups, one versioned JSON document per
//!   `(kind, tenant_key, name)`.
//! - `apikey_tenant_locks`: one row per tenant (`tenant_key`, a counter `n`), the row a checked
//!   insert locks.
//!
//! Lookup ids, tags and every other compared label compare byte for byte: collation `"C"` on
//! PostgreSQL, the default `BINARY` on SQLite, and `VARBINARY` columns on MySQL/MariaDB (the
//! `utf8mb4_bin` collation is case-sensitive but pads, so `'x' = 'x '` would hold there).
//!
//! # Guarantees
//!
//! - `find_by_lookup_id` is one point query on the unique index. On PostgreSQL (300 keys,
//!   analyzed; the test `lookup_uses_the_unique_index` asserts it):
//!
//!   ```text
//!   EXPLAIN SELECT * FROM apikey_keys k WHERE k.lookup_id = $1
//!   Index Scan using apikey_keys_lookup_id_key on apikey_keys k  (cost=0.27..8.29 rows=1 width=678)
//!     Index Cond: (lookup_id = '6OAwHp63R7Mm'::text)
//!   ```
//! - `insert`, `update` and `delete` write the key, its label rows and its audit event in one
//!   transaction. `update` is a compare-and-set on `version`
//!   (`UPDATE … WHERE id = ? AND version = ? [AND tenant_id = ?]`): a stale write is `Conflict`,
//!   a key outside the tenant `NotFound`; it never writes `last_used_at` or `usage_count`.
//!   `record_usage` touches those two only (the later `last_used_at` wins).
//! - Job leases are compare-and-sets on the caller's clock, never the database's: a claim
//!   inserts the job's row if absent and takes it with one conditional `UPDATE` (period after
//!   the last completed one, no live lease; bumps `fence`) in one write transaction, so
//!   concurrent claimers queue on the row lock and exactly one wins; renew, finish and release
//!   are one `UPDATE … WHERE job = ? AND fence = ? AND holder = ?` each.
//! - Aliases are unique per tenant (keys without a tenant share one space): `insert` and
//!   `update` look for another key of the tenant holding one of the record's aliases in their
//!   transaction (`Conflict` naming the alias, nothing written), and the unique index on
//!   `(tenant_key, alias)` refuses the one a concurrent writer commits meanwhile. A database that
//!   held duplicates before migration 0008 still migrates: `migrate()` leaves the index
//!   non-unique, logs how many there are, and [`DieselStore::duplicate_aliases`] lists them; the next
//!   `migrate()` after they are resolved makes it unique.
//! - Templates and groups (`CatalogStore`) are written like tenant settings: a compare-and-set
//!   on `version` committed with the audit event; a stale version is `Conflict` and writes no
//!   event.
//! - Webhooks (`WebhookStore`, migration 0009): a subscription update is a compare-and-set on
//!   `version` (and never moves it to another tenant); an enqueue inserts only the delivery ids
//!   not stored yet, all in one transaction, and counts those; removing a subscription deletes
//!   its deliveries in the same transaction. A tenant's reads and changes filter on
//!   `tenant_key`; `enabled` and `due` span tenants for the delivery job.
//! - A checked insert is one transaction: with limits, it first takes the row lock of the
//!   tenant's row in `apikey_tenant_locks` (`UPDATE … n = n + 1`; the row is created beforehand
//!   if missing; on SQLite the write lock), so the checked inserts of one tenant run one at a
//!   time; under it the tenant's keys in the counted states (and each new owner's) are counted
//!   and the limits checked; then every key, label row and event goes in as multi-row `INSERT`s
//!   (a few hundred keys per statement), all or none. Without limits there is no lock and no
//!   count, only the batch.
//! - Every value is a bound parameter; filters compare with `=` (no `LIKE`), so quotes, `%`, `_`
//!   and backslashes are plain characters. Text with NUL characters, which PostgreSQL cannot
//!   store, is refused with `InvalidInput` on every database, as are labels over
//!   [`MAX_INDEXED_BYTES`]; a filter with NUL answers an empty page.
//! - Errors are classified: unique violation, serialization failure, deadlock → `Conflict`;
//!   pool timeout or closed pool, refused or closed connection, SQLite busy → `Unavailable`;
//!   the rest (including undecodable columns) `Backend`. The diesel or pool error is kept as the
//!   source, and messages carry no values. diesel reports no SQLSTATE, so data exceptions the
//!   guard does not catch are `Backend` here (`InvalidInput` in `apikey-sqlx`).
//!
//! # SQLite
//!
//! Set a busy timeout on each connection (`PRAGMA busy_timeout`, e.g. in the manager's
//! `custom_setup`): diesel does not set one, and without it a second writer fails at once with
//! `Unavailable`. For an in-memory database give the pool one connection (`max_size(1)`): each
//! connection to `:memory:` is a separate database that ends with it.
#![cfg_attr(
    not(any(feature = "postgres", feature = "mysql", feature = "sqlite")),
    allow(dead_code, unused_imports)
)]

mod analytics;
mod audit;
mod catalog;
mod codec;
mod dialect;
mod driver;
mod error;
mod keys;
mod leases;
pub mod migrate;
mod requests;
mod source;
mod store;
mod tenant;
mod webhooks;

pub use apikey_sql::MAX_INDEXED_BYTES;
pub use apikey_sql::flow::aliases::DuplicateAlias;
pub use dialect::{Dialect, Manager, Pool};
#[cfg(feature = "mysql")]
pub use store::DieselMySqlStore;
#[cfg(feature = "mysql")]
#[allow(deprecated)]
pub use store::DieselMysqlStore;
#[cfg(feature = "postgres")]
#[allow(deprecated)]
pub use store::DieselPgStore;
#[cfg(feature = "postgres")]
pub use store::DieselPostgresStore;
#[cfg(feature = "sqlite")]
pub use store::DieselSqliteStore;
pub use store::DieselStore;
pub use {diesel, diesel_async};
