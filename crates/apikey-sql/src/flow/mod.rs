//! The operations of a SQL store, written once over the [`Driver`](crate::Driver) seam: every
//! statement comes from this crate's builders, every row is read by its codec, and a store only
//! supplies connections, transactions and value binding.
//!
//! - [`write`](mod@write): the key changes, each in one transaction with its label rows and audit event.
//! - [`read`]: the key lookups and the page query.
//! - [`audit`]: the audit log's query and purge.
//! - [`leases`]: the job leases (claim, renew, finish, release, list).
//! - [`tenant`]: tenant settings, each write in one transaction with its audit event.
//! - [`catalog`]: templates, groups and rotation policies, the same way.
//! - [`checked`]: batches of new keys inserted all or none under the tenant's key-count limits.
//! - [`aliases`]: the per-tenant alias index `migrate()` creates, and the duplicates report.
//! - [`webhooks`]: webhook subscriptions and their deliveries, each write one transaction.
//! - [`requests`]: the request log: idempotent batched appends, filtered keyset pages, purge
//!   and erasure.
//! - [`analytics`]: usage buckets: flushes added once per batch id, series, rankings, purge
//!   per resolution and erasure.
//! - [`rewrite`]: the data migrations a store's `migrate()` runs after its SQL migrations.

pub mod aliases;
pub mod analytics;
pub mod audit;
pub mod catalog;
pub mod checked;
pub mod leases;
pub mod read;
pub mod requests;
pub mod rewrite;
pub mod tenant;
pub mod webhooks;
pub mod write;

#[cfg(test)]
mod fake;
