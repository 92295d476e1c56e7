//! MongoDB storage for `apikey`: [`MongoStore`] implements
//! [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore),
//! [`LegacyLookup`](apikey_core::store::LegacyLookup),
//! [`LeaseStore`](apikey_core::jobs::LeaseStore) (the scheduler's job leases, one document per
//! job in `apikey_job_leases`, each operation one conditional single-document write),
//! [`TenantSettingsStore`](apikey_core::TenantSettingsStore) (one document per tenant in
//! `apikey_tenant_settings`, below), [`CatalogStore`](apikey_core::CatalogStore) (templates,
//! groups and policies, one journaled document per preset in `apikey_catalog`),
//! [`WebhookStore`](apikey_core::webhook::WebhookStore) (`apikey_webhook_subscriptions` and
//! `apikey_webhook_deliveries`, below) and, through
//! [`KeyStore::checked`](apikey_core::KeyStore::checked),
//! [`CheckedInsert`](apikey_core::tenant::CheckedInsert) (batches inserted all or none under the
//! tenant's key-count limits; see the crate README) on the official `mongodb` driver. Aliases are
//! unique per tenant by a partial unique index ([`MongoStore::duplicate_aliases`] lists keys
//! from before that rule that share one).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use apikey_mongodb::{MongoStore, mongodb::Client};
//!
//! let client = Client::with_uri_str("mongodb://127.0.0.1:27017").await?;
//! let store = MongoStore::new(client.database("app"));
//! store.init().await?; // indexes, and settling anything a crash left pending
//! # Ok(()) }
//! ```
//!
//! # Why the official driver
//!
//! `mongodb` is maintained by MongoDB itself, follows the server's specifications (server
//! selection, retryable writes, connection pooling, SRV and TLS) and is the driver a MongoDB
//! user already runs; it is re-exported as [`mongodb`] so versions cannot mismatch. The crate
//! asks for `mongodb = "3.5"`: any 3.x from 3.5 on.
//!
//! # Documents
//!
//! One document per key in `apikey_keys`, with the record's own field names (`_id` is the key
//! id), UUIDs as BSON binary subtype 4, timestamps as BSON dates (millisecond precision, like
//! the whole workspace), counters as `Int64`, and `metadata` as its JSON text (its keys are
//! arbitrary user strings; see the crate README).
//!
//! [`KeyStore::count`](apikey_core::KeyStore::count) is one `count_documents` with the key
//! query's conditions (exact tenant, no pagination, keys being deleted left out).
//!
//! # Tenant settings
//!
//! `apikey_tenant_settings` holds one document per tenant: `_id` = the tenant id, or `""` for the
//! default row (tenant ids are never empty, so it cannot collide; the SQL stores use the same
//! key), `settings` as a BSON document (its field names are fixed and its numbers `u32`, so BSON
//! round-trips every field exactly), `version` (`Int64`), `updated_at` (a BSON date) and
//! `pending_events`. A write is one compare-and-set single-document write that also pushes its
//! audit event, settled like a key change's (below); a stale version is `Conflict` and writes
//! nothing.
//!
//! # Webhooks
//!
//! `apikey_webhook_subscriptions` holds one document per subscription (`_id` its id, the sealed
//! secrets as given, `version` for compare-and-set) and `apikey_webhook_deliveries` one per
//! (subscription, event) (`_id` the delivery id derived from the pair). Every operation is one
//! single-document write or a read, except `enqueue` (one unordered `insert_many`: a failure may
//! leave part of the batch stored until the fan-out retries it) and `remove_subscription`
//! (the subscription, then its deliveries: orphans an interruption leaves are never sent, and a
//! retried removal deletes them). See the crate README.
//!
//! # The audit log (audit log v2)
//!
//! Collections beside `apikey_keys` (all named `<prefix>…`, see [`MongoStore::with_prefix`]):
//!
//! - `apikey_audit_events`: one document per event, `_id` = event id; `event_type` (the dotted
//!   name, `key.created`), `subject_kind` + `subject_id` (strings), `key_id` (binary UUID, set
//!   only when the subject is a key, so the `(key_id, at, _id)` index serves a key's history),
//!   `before`/`after` as the key's public view ([`KeyView`](apikey_core::KeyView): never the
//!   hash or the legacy prefix), `data` as JSON text (BSON cannot carry every JSON value), and
//!   `position` (`Int64`, unique).
//! - `apikey_counters`: `{_id: "audit_position", seq}`, the position counter.
//! - `apikey_audit_cursors`: `{_id: <reader name>, position}`, one per registered reader.
//! - `apikey_tenant_settings`: the settings documents (above), journaled like keys.
//!
//! **Positions** are taken from the counter (`$inc`, upsert) when an event is *settled* into
//! the audit collection (key changes, below) or [appended](apikey_core::AuditStore::append)
//! (system events). A settle that finds the event already there (a race, a retry) burns the
//! value it took, and so does a crash between the increment and the insert: positions have
//! holes, which the core [`AuditReader`](apikey_core::AuditReader) waits out for a gap timeout.
//! Positions are never reused, even after a purge; retention never deletes past the slowest
//! registered cursor.
//!
//! **Repair before read**: a key change reaches the audit collection after its key write, so
//! [`query`](apikey_core::AuditStore::query),
//! [`read_after`](apikey_core::AuditStore::read_after) and
//! [`purge_before`](apikey_core::AuditStore::purge_before) run [`MongoStore::repair`] first: a
//! reader never passes a committed change that is not in the log yet.
//!
//! Events written before audit log v2 (`action`, whole key documents with the hash, no
//! position) are rewritten by [`init`](MongoStore::init), positioned in `(at, _id)` order; one
//! still pending on a key is upgraded when it is settled.
//!
//! # A change and its audit event, without transactions
//!
//! Every key write is one single-document write (atomic on every MongoDB) that also pushes the
//! audit event onto the key's `pending_events` array: the change and its event commit together.
//! The event is then inserted into the audit collection under its own id with a fresh position (a
//! duplicate means it is already there) and pulled from the key. A deletion marks the key `deleting` with its event
//! pending (readers no longer see it), appends the event, then removes the document. A crash
//! between steps leaves the event pending, and [`MongoStore::repair`] (run by
//! [`init`](MongoStore::init) and before every audit query, positional read and purge) settles
//! it. After each write, every event pending on the key is settled in commit order, so a key's
//! events take positions in the order of its changes. Tenant settings writes take the same steps
//! on their own documents (never marked `deleting`), and `repair` covers them too. No filter
//! is ever built from user JSON: every user value is an `$eq` operand.

mod aliases;
mod analytics;
mod audit;
mod catalog;
mod checked;
mod cursors;
mod doc;
mod error;
mod filter;
mod insert_lock;
mod insert_new;
mod journal;
mod keys;
mod leases;
mod migrate_v2;
mod positions;
mod requests;
mod rewrite;
mod settle_batch;
mod store;
mod tenant_settings;
mod view_doc;
mod webhooks;
mod writes;

#[cfg(test)]
mod alias_index_tests;
#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod programme_crash_tests;
#[cfg(test)]
mod v2_storage_tests;

pub use aliases::DuplicateAlias;
pub use mongodb;
#[allow(deprecated)]
pub use store::MongoKeyStore;
pub use store::{DEFAULT_PREFIX, MongoStore};
