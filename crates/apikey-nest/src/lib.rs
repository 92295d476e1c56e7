//! A way off [nest-api-key-auth](https://www.npmjs.com/package/nest-api-key-auth): reads the keys
//! that NestJS library stored and imports them as apikey keys whose **original tokens keep
//! working**.
//!
//! ```no_run
//! # async fn run(keys: &apikey_core::ApiKeys) -> Result<(), apikey_nest::NestError> {
//! use apikey_nest::{NestOptions, import_nest};
//!
//! let report = import_nest(
//!     keys.manager(),
//!     "postgres://app@db/app",
//!     &NestOptions::new().dry_run(true),
//! )
//! .await?;
//! for f in &report.failed {
//!     eprintln!("{}: {}", f.source_id, f.reason);
//! }
//! # Ok(()) }
//! ```
//!
//! # Sources
//!
//! [`NestSource`] reads `postgres://`, `mysql://` (`mariadb://`), `sqlite:` and
//! `mongodb://…/<database>`. On SQL it finds the table `api_keys` and tells its [`Shape`] from the
//! columns present: Prisma's full schema, Prisma's first migration (ten columns, `TEXT[]` scopes)
//! or TypeORM's entity (scopes one comma-separated text column); a table lacking the ten common
//! columns is refused, naming them. On MongoDB it reads Mongoose's `api_keys` collection.
//!
//! # Mapping
//!
//! See [`map_row`]. Each row keeps its 8-character `keyPrefix` as the record's legacy lookup and
//! its bcrypt or argon2id `hashedKey` as the stored hash, so a verifier built with
//! [`TokenFormat::with_legacy`](apikey_core::TokenFormat::with_legacy) accepts the old 64-hex
//! token (and re-hashes it on first use). The key id is derived from the source id
//! ([`key_id_for`]), which is also kept in `metadata.nest_id`: a second import skips what the
//! first wrote. A row that cannot be mapped (unknown hash kind, bad scope or CIDR, out-of-range
//! limit…) is reported with its source id and the reason; the others are imported. Hashes and
//! prefixes appear in no message and no `Debug` output.
//!
//! What the record has no place for is noted per row: the per-key expiration grace (kept in
//! `metadata.nest_expiration_grace_ms`; the verifier's grace applies), and the quota already used
//! this period (counting restarts).
//!
//! # Dependencies
//!
//! - `apikey-core`: the records and the import this crate feeds.
//! - `sqlx`: one async client for PostgreSQL, MySQL and SQLite, already the workspace's SQL
//!   driver (`apikey-sqlx`), with runtime column type checks that let one reader accept whichever
//!   SQL types the user's ORM chose.
//! - `mongodb`, `bson`, `futures-util`: the official driver (as `apikey-mongodb` uses), its
//!   document type, and draining its cursor.
//! - `chrono`, `serde_json`: the source's timestamps and JSON metadata, the types the record uses.
//! - `uuid`, `sha2`: deterministic UUIDv8 key ids from source ids.
//! - `thiserror`: the error type.
//!
//! Features `postgres`, `mysql`, `sqlite` and `mongodb` (all on by default) choose the sources.

// The readers share the row decoding and shape detection; a build without some of them leaves
// parts of those unused. Only the default (every source) build is held to dead-code warnings.
#![cfg_attr(
    not(all(
        feature = "postgres",
        feature = "mysql",
        feature = "sqlite",
        feature = "mongodb"
    )),
    allow(dead_code)
)]

mod error;
mod import;
mod map;
mod read;
mod report;
mod row;
mod shape;

pub use error::NestError;
pub use import::{NestOptions, import_nest};
pub use map::{Mapped, NEST_GRACE_KEY, NEST_ID_KEY, key_id_for, map_row};
pub use read::{NestRead, NestSource};
pub use report::{ImportedRow, NestReport, RowFailure};
pub use row::{HashedKey, NestRow, Prefix};
pub use shape::Shape;
