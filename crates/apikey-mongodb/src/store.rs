//! [`MongoStore`]: the handle on the two collections, and [`init`](MongoStore::init),
//! which creates their indexes.

use std::fmt;

use apikey_core::Result;
use bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};

use crate::error;

/// The collection name prefix used by [`MongoStore::new`].
pub const DEFAULT_PREFIX: &str = "apikey_";

/// A [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore),
/// [`LegacyLookup`](apikey_core::store::LegacyLookup) and
/// [`LeaseStore`](apikey_core::jobs::LeaseStore) on a MongoDB database.
///
/// Keys live in `<prefix>keys`, audit events in `<prefix>audit_events`, job leases in
/// `<prefix>job_leases` (`apikey_keys`, `apikey_audit_events` and `apikey_job_leases` by
/// default), beside the application's own collections. Call
/// [`init`](Self::init) once at start-up (it is idempotent). Clones share the driver's
/// connection pool.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) db: Database,
    pub(crate) keys: Collection<Document>,
    pub(crate) audit: Collection<Document>,
    /// `<prefix>data_migrations`: the data migrations done on this database.
    pub(crate) migrations: Collection<Document>,
    /// `<prefix>job_leases`: the scheduler's job leases, one document per job.
    pub(crate) leases: Collection<Document>,
}

/// The name before 0.2: stores are named `<driver><database>Store` across backends now.
#[deprecated(since = "0.2.0", note = "renamed to `MongoStore`")]
pub type MongoKeyStore = MongoStore;

impl MongoStore {
    /// A store on `db` with the default collection prefix `apikey_`.
    pub fn new(db: Database) -> Self {
        Self::with_prefix(db, DEFAULT_PREFIX)
    }

    /// A store on `db` whose collections are `<prefix>keys` and `<prefix>audit_events`.
    pub fn with_prefix(db: Database, prefix: &str) -> Self {
        let keys = db.collection(&format!("{prefix}keys"));
        let audit = db.collection(&format!("{prefix}audit_events"));
        let migrations = db.collection(&format!("{prefix}data_migrations"));
        let leases = db.collection(&format!("{prefix}job_leases"));
        Self {
            db,
            keys,
            audit,
            migrations,
            leases,
        }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The name of the keys collection.
    pub fn keys_collection(&self) -> &str {
        self.keys.name()
    }

    /// The name of the audit collection.
    pub fn audit_collection(&self) -> &str {
        self.audit.name()
    }

    /// Creates the collections' indexes (existing ones are left alone), then
    /// [`repair`](Self::repair)s any audit event a crash left pending, then, once per database,
    /// rewrites rules stored before they had one canonical form (recorded in
    /// `<prefix>data_migrations`). Idempotent; run it at start-up, before the store serves
    /// requests.
    pub async fn init(&self) -> Result<()> {
        let keys = vec![
            index(doc! { "lookup_id": 1 }, "lookup_id", true),
            index(doc! { "legacy_lookup": 1 }, "legacy_lookup", false),
            index(doc! { "tenant_id": 1, "owner": 1 }, "tenant_owner", false),
            index(doc! { "state": 1 }, "state", false),
            index(doc! { "expires_at": 1 }, "expires_at", false),
            index(doc! { "created_at": 1, "_id": 1 }, "created_at_id", false),
            index(doc! { "tags": 1 }, "tags", false),
            index(doc! { "aliases": 1 }, "aliases", false),
            index(doc! { "scopes": 1 }, "scopes", false),
            index(doc! { "pending_events._id": 1 }, "pending_events", false),
        ];
        self.keys
            .create_indexes(keys)
            .await
            .map_err(|e| error::driver("create key indexes", e))?;
        let audit = vec![
            index(doc! { "key_id": 1, "at": 1, "_id": 1 }, "key_at_id", false),
            index(doc! { "at": 1, "_id": 1 }, "at_id", false),
        ];
        self.audit
            .create_indexes(audit)
            .await
            .map_err(|e| error::driver("create audit indexes", e))?;
        self.repair().await?;
        self.rewrite_rules().await
    }
}

fn index(keys: Document, name: &str, unique: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .name(format!("apikey_{name}"))
        .unique(unique.then_some(true))
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.db.name())
            .field("keys", &self.keys.name())
            .field("audit", &self.audit.name())
            .finish()
    }
}
