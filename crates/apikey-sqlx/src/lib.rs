//! API-key storage for `apikey` on PostgreSQL, MySQL/MariaDB and SQLite, through the sqlx pool
//! your application already has.
//!
//! [`SqlxPostgresStore`], [`SqlxMySqlStore`] and [`SqlxSqliteStore`] (Cargo features `postgres`, `mysql`,
//! `sqlite`) implement [`KeyStore`](apikey_core::KeyStore),
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
//! use apikey_sqlx::{SqlxPostgresStore, sqlx::PgPool};
//!
//! let pool = PgPool::connect("postgres://app@db/app").await?;
//! let store = SqlxPostgresStore::new(pool);
//! store.migrate().await?; // idempotent; safe from several instances at once
//! let peppers = apikey_core::PepperConfig::from_env().load()?.peppers; // APIKEY_PEPPER
//! let keys = ApiKeys::builder(Arc::new(store)).peppers(peppers).build()?;
//! # let _ = keys; Ok(()) }
//! ```
//!
//! `apikey_sqlx::sqlx` re-exports the sqlx this crate was built with, so the pool you pass has
//! the same version.
//!
//! # Why sqlx
//!
//! One async driver family for the three databases, pure Rust, pooling built in, and already in
//! most async Rust services — so the store takes the application's pool instead of opening its
//! own connections. Only the runtime query API is used (`sqlx::query` + `bind`), never the
//! compile-time checked macros: building this crate needs no database and no `DATABASE_URL`.
//!
//! # Schema
//!
//! Every table is prefixed `apikey_`; migrations are embedded, applied by [`SqlxStore::migrate`]
//! and recorded in `apikey_schema_migrations` — never in sqlx's `_sqlx_migrations`, so they
//! coexist with the application's own sqlx migrations in the same database (see [`migrate`]).
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
//! - `apikey_audit_events`: one row per change with the record before and after; indexes
//!   `(key_id, occurred_at, id)`, `(occurred_at, id)`, `(tenant_id, occurred_at, id)`.
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
//!   a key outside the tenant `NotFound`. `record_usage` touches `last_used_at` (the later one
//!   wins) and `usage_count` only.
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
//!   non-unique, logs how many there are, and [`SqlxStore::duplicate_aliases`] lists them; the next
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
//! - Driver errors are classified: unique violation → `Conflict`; pool timeout, closed pool,
//!   refused connection, I/O, TLS, SQLite busy → `Unavailable`; data exceptions → `InvalidInput`;
//!   the rest `Backend`. The sqlx error is kept as the source, and messages carry no values.
//!
//! # SQLite in memory
//!
//! Each connection to `sqlite::memory:` is a separate database that ends with it: give the pool
//! one connection that never expires (`max_connections(1)`, `min_connections(1)`,
//! `idle_timeout(None)`, `max_lifetime(None)`).
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
mod store;
mod tenant;
mod webhooks;

pub use apikey_sql::MAX_INDEXED_BYTES;
pub use apikey_sql::flow::aliases::DuplicateAlias;
pub use dialect::Dialect;
pub use sqlx;
#[cfg(feature = "mysql")]
#[allow(deprecated)]
pub use store::MySqlKeyStore;
#[cfg(feature = "postgres")]
#[allow(deprecated)]
pub use store::PgKeyStore;
#[allow(deprecated)]
pub use store::SqlKeyStore;
#[cfg(feature = "sqlite")]
#[allow(deprecated)]
pub use store::SqliteKeyStore;
#[cfg(feature = "mysql")]
pub use store::SqlxMySqlStore;
#[cfg(feature = "postgres")]
pub use store::SqlxPostgresStore;
#[cfg(feature = "sqlite")]
pub use store::SqlxSqliteStore;
pub use store::SqlxStore;
