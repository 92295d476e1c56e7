//! MongoDB storage for `apikey`: [`MongoStore`] implements
//! [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore),
//! [`LegacyLookup`](apikey_core::store::LegacyLookup) and
//! [`LeaseStore`](apikey_core::jobs::LeaseStore) (the scheduler's job leases, one document per
//! job in `apikey_job_leases`, each operation one conditional single-document write) on the
//! official `mongodb` driver.
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
//! arbitrary user strings; see the crate README). Audit events live in `apikey_audit_events`
//! with the event id as `_id` and the record before and after embedded as key documents.
//!
//! # A change and its audit event, without transactions
//!
//! Every key write is one single-document write (atomic on every MongoDB) that also pushes the
//! audit event onto the key's `pending_events` array: the change and its event commit together.
//! The event is then inserted into the audit collection under its own id (a duplicate means it
//! is already there) and pulled from the key. A deletion marks the key `deleting` with its event
//! pending (readers no longer see it), appends the event, then removes the document. A crash
//! between steps leaves the event pending, and [`MongoStore::repair`] (run by
//! [`init`](MongoStore::init) and before every audit query and purge) settles it. No filter
//! is ever built from user JSON: every user value is an `$eq` operand.

mod audit;
mod doc;
mod error;
mod filter;
mod journal;
mod keys;
mod leases;
mod rewrite;
mod store;
mod writes;

#[cfg(test)]
mod crash_tests;

pub use mongodb;
#[allow(deprecated)]
pub use store::MongoKeyStore;
pub use store::{DEFAULT_PREFIX, MongoStore};
