//! The shared layer of apikey's SQL stores, `apikey-sqlx` and `apikey-diesel`: everything about
//! the schema that does not depend on the driver.
//!
//! - [`migrations`]: the migration SQL of each database, embedded by both stores, so a database
//!   moves between them.
//! - [`guard`]: input every database stores identically (no NUL, labels of at most
//!   [`MAX_INDEXED_BYTES`], counters within `i64`), checked before any statement runs.
//! - [`sql`]: a tiny builder of SQL text with placeholders ([`Placeholder`]) and the typed
//!   [`Value`]s bound to them; each store binds those through its own driver.
//! - [`codec`]: [`KeyRecord`](apikey_core::KeyRecord) ↔ the columns of `apikey_keys`; rows are
//!   read through the [`Row`] trait each store implements over its row type.
//! - [`keys`], [`labels`], [`query`], [`audit`], [`tenant`], [`catalog`]: the statements of
//!   every operation, including the [`KeyFilter`](apikey_core::KeyFilter) → `WHERE` builder and
//!   the catalog of templates and groups.
//! - [`webhooks`]: webhook subscriptions and deliveries
//!   ([`WebhookStore`](apikey_core::webhook::WebhookStore)), in `apikey_webhook_subscriptions`
//!   and `apikey_webhook_deliveries`.
//! - [`requests`]: the request log ([`RequestLogStore`](apikey_core::request_log::RequestLogStore)),
//!   in `apikey_requests`, the client address also as 16 bytes so a network is a byte range.
//! - [`leases`]: the job leases' compare-and-set statements
//!   ([`LeaseStore`](apikey_core::jobs::LeaseStore)), in `apikey_job_leases`.
//! - [`rewrite`]: data migrations written in Rust (stored rules rewritten in canonical form),
//!   which each store's `migrate()` runs after the SQL ones.
//! - [`flow`]: every operation of a store — the write transactions (key change, label rows and
//!   audit event together; compare-and-set on `version`), the reads, the audit log, tenant
//!   settings and the catalog, checked inserts under the tenant's lock row, aliases unique per
//!   tenant and the data-migration loop — written once, generic over [`Driver`].
//! - [`driver`]: that seam, [`Driver`] (connections, transactions, `execute`, `fetch`) and
//!   [`Decode`] (a value read from a result row), which each store implements over its driver.
//!
//! This crate has no database driver dependency: it runs statements only through a [`Driver`].

pub mod analytics;
pub mod audit;
pub mod catalog;
pub mod codec;
pub mod driver;
pub mod flow;
pub mod guard;
pub mod keys;
pub mod labels;
pub mod leases;
pub mod migrations;
pub mod query;
pub mod requests;
pub mod rewrite;
pub mod sql;
pub mod tenant;
pub mod webhooks;

pub use codec::{Reader, Row};
pub use driver::{Database, Decode, Driver};
pub use guard::MAX_INDEXED_BYTES;
pub use sql::{Placeholder, Sql, Value};
