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
/// [`LegacyLookup`](apikey_core::store::LegacyLookup),
/// [`LeaseStore`](apikey_core::jobs::LeaseStore),
/// [`TenantSettingsStore`](apikey_core::TenantSettingsStore),
/// [`CatalogStore`](apikey_core::CatalogStore),
/// [`CheckedInsert`](apikey_core::tenant::CheckedInsert) and
/// [`WebhookStore`](apikey_core::webhook::WebhookStore) on a MongoDB database.
///
/// Keys live in `<prefix>keys`, audit events in `<prefix>audit_events` (`apikey_keys` and
/// `apikey_audit_events` by default), the audit position counter in `<prefix>counters`, reader
/// cursors in `<prefix>audit_cursors`, job leases in `<prefix>job_leases`, tenant settings in
/// `<prefix>tenant_settings`, templates, groups and policies in `<prefix>catalog`, the locks
/// of checked inserts in `<prefix>insert_locks`, and webhook subscriptions and deliveries in
/// `<prefix>webhook_subscriptions` and `<prefix>webhook_deliveries`, the request log in
/// `<prefix>requests`, usage buckets in `<prefix>usage`, beside the application's
/// own collections. Call [`init`](Self::init) once at start-up (it is idempotent). Clones share
/// the driver's connection pool.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) db: Database,
    pub(crate) keys: Collection<Document>,
    pub(crate) audit: Collection<Document>,
    /// `<prefix>data_migrations`: the data migrations done on this database.
    pub(crate) migrations: Collection<Document>,
    /// `<prefix>counters`: the audit position counter (see [`positions`](crate::positions)).
    pub(crate) counters: Collection<Document>,
    /// `<prefix>audit_cursors`: reader cursors (see [`cursors`](crate::cursors)).
    pub(crate) cursors: Collection<Document>,
    /// `<prefix>job_leases`: the scheduler's job leases, one document per job.
    pub(crate) leases: Collection<Document>,
    /// `<prefix>tenant_settings`: one settings document per tenant, plus the default row (see
    /// [`tenant_settings`](crate::tenant_settings)).
    pub(crate) settings: Collection<Document>,
    /// `<prefix>catalog`: templates, groups and rotation policies (see
    /// [`catalog`](crate::catalog)).
    pub(crate) catalog: Collection<Document>,
    /// `<prefix>insert_locks`: the per-tenant locks of checked inserts (see
    /// [`insert_lock`](crate::insert_lock)).
    pub(crate) locks: Collection<Document>,
    /// `<prefix>webhook_subscriptions`: one document per webhook subscription (see
    /// [`webhooks`](crate::webhooks)).
    pub(crate) webhook_subscriptions: Collection<Document>,
    /// `<prefix>webhook_deliveries`: one document per (subscription, event) delivery.
    pub(crate) webhook_deliveries: Collection<Document>,
    /// `<prefix>requests`: the request log, one document per request (see
    /// [`requests`](crate::requests)).
    pub(crate) requests: Collection<Document>,
    /// `<prefix>usage`: usage buckets, one document per (resolution, key, bucket) (see
    /// [`analytics`](crate::analytics)).
    pub(crate) usage: Collection<Document>,
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
        let counters = db.collection(&format!("{prefix}counters"));
        let cursors = db.collection(&format!("{prefix}audit_cursors"));
        let leases = db.collection(&format!("{prefix}job_leases"));
        let settings = db.collection(&format!("{prefix}tenant_settings"));
        let catalog = db.collection(&format!("{prefix}catalog"));
        let locks = db.collection(&format!("{prefix}insert_locks"));
        let webhook_subscriptions = db.collection(&format!("{prefix}webhook_subscriptions"));
        let webhook_deliveries = db.collection(&format!("{prefix}webhook_deliveries"));
        let requests = db.collection(&format!("{prefix}requests"));
        let usage = db.collection(&format!("{prefix}usage"));
        Self {
            db,
            keys,
            audit,
            migrations,
            counters,
            cursors,
            leases,
            settings,
            catalog,
            locks,
            webhook_subscriptions,
            webhook_deliveries,
            requests,
            usage,
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

    /// Creates the collections' indexes (existing ones are left alone; the unique alias index
    /// waits while keys share an alias, see [`duplicate_aliases`](Self::duplicate_aliases)), then
    /// brings audit events written before audit log v2 to its layout and gives them positions
    /// (see the crate docs),
    /// then [`repair`](Self::repair)s any audit event a crash left pending, then, once per
    /// database, rewrites rules stored before they had one canonical form (recorded in
    /// `<prefix>data_migrations`). Idempotent, and every rewrite is conditional on the old state,
    /// so instances starting at once apply each one once; run it at start-up, before the store
    /// serves requests.
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
            // Only the keys a checked insert has staged and not committed yet carry it.
            sparse(index(doc! { "staged": 1 }, "staged", false)),
        ];
        self.keys
            .create_indexes(keys)
            .await
            .map_err(|e| error::driver("create key indexes", e))?;
        let audit = vec![
            index(doc! { "key_id": 1, "at": 1, "_id": 1 }, "key_at_id", false),
            index(doc! { "at": 1, "_id": 1 }, "at_id", false),
            index(
                doc! { "subject_kind": 1, "subject_id": 1, "at": 1, "_id": 1 },
                "subject_at_id",
                false,
            ),
            // Sparse: events written before audit v2 have no position until the migration below
            // gives them one, and a pending event never reaches this collection without one.
            sparse(index(doc! { "position": 1 }, "position", true)),
        ];
        self.audit
            .create_indexes(audit)
            .await
            .map_err(|e| error::driver("create audit indexes", e))?;
        // `_id` is the tenant; this one serves `repair`, which runs before every audit read.
        self.settings
            .create_indexes(vec![index(
                doc! { "pending_events._id": 1 },
                "pending_events",
                false,
            )])
            .await
            .map_err(|e| error::driver("create tenant settings indexes", e))?;
        self.catalog
            .create_indexes(vec![
                index(
                    doc! { "tenant": 1, "kind": 1, "name": 1 },
                    "tenant_kind_name",
                    true,
                ),
                index(doc! { "pending_events._id": 1 }, "pending_events", false),
            ])
            .await
            .map_err(|e| error::driver("create catalog indexes", e))?;
        // Left uncreated (with a warning) while keys written before it share an alias.
        self.ensure_unique_aliases().await?;
        self.create_webhook_indexes().await?;
        self.create_request_indexes().await?;
        self.create_usage_indexes().await?;
        // Old events first, so they take the positions before anything settled from now on.
        self.migrate_audit_v2().await?;
        self.repair().await?;
        self.rewrite_rules().await
    }
}

impl MongoStore {
    /// The webhook collections' indexes: subscriptions listed oldest first, by tenant or across
    /// tenants (the fan-out's `enabled`); deliveries by `(state, next_attempt_at, _id)` for the
    /// delivery job's `due` (and the pending count), by `(tenant_id, created_at, _id)` and
    /// `(subscription_id, created_at, _id)` for listing newest first (the latter also serves a
    /// removal's deletion), and by `(state, created_at)` for retention.
    async fn create_webhook_indexes(&self) -> Result<()> {
        self.webhook_subscriptions
            .create_indexes(vec![
                index(
                    doc! { "tenant_id": 1, "created_at": 1, "_id": 1 },
                    "tenant_created_id",
                    false,
                ),
                index(
                    doc! { "enabled": 1, "created_at": 1, "_id": 1 },
                    "enabled_created_id",
                    false,
                ),
            ])
            .await
            .map_err(|e| error::driver("create webhook subscription indexes", e))?;
        self.webhook_deliveries
            .create_indexes(vec![
                index(
                    doc! { "state": 1, "next_attempt_at": 1, "_id": 1 },
                    "due",
                    false,
                ),
                index(
                    doc! { "tenant_id": 1, "created_at": 1, "_id": 1 },
                    "tenant_created_id",
                    false,
                ),
                index(
                    doc! { "subscription_id": 1, "created_at": 1, "_id": 1 },
                    "subscription_created_id",
                    false,
                ),
                index(doc! { "created_at": 1, "_id": 1 }, "created_id", false),
                index(doc! { "state": 1, "created_at": 1 }, "state_created", false),
            ])
            .await
            .map_err(|e| error::driver("create webhook delivery indexes", e))?;
        Ok(())
    }
}

impl MongoStore {
    /// The request log's: newest-first pages, by key, by tenant, by address, by expiry.
    async fn create_request_indexes(&self) -> Result<()> {
        self.requests
            .create_indexes(vec![
                index(doc! { "at": -1, "_id": -1 }, "at_id", false),
                index(doc! { "key_id": 1, "at": -1 }, "key_at", false),
                index(doc! { "tenant_id": 1, "at": -1 }, "tenant_at", false),
                index(doc! { "ip": 1 }, "ip", false),
                index(doc! { "expires_at": 1 }, "expires_at", false),
            ])
            .await
            .map_err(|e| error::driver("create request-log indexes", e))?;
        Ok(())
    }
}

impl MongoStore {
    /// Usage buckets': a key's series, a tenant's, a resolution's range (rankings, purge).
    async fn create_usage_indexes(&self) -> Result<()> {
        self.usage
            .create_indexes(vec![
                index(doc! { "r": 1, "k": 1, "b": 1 }, "usage_key", false),
                index(
                    doc! { "r": 1, "kind": 1, "tenant_id": 1, "b": 1 },
                    "usage_tenant",
                    false,
                ),
                index(doc! { "r": 1, "b": 1 }, "usage_bucket", false),
            ])
            .await
            .map_err(|e| error::driver("create usage indexes", e))?;
        Ok(())
    }
}

fn index(keys: Document, name: &str, unique: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .name(format!("apikey_{name}"))
        .unique(unique.then_some(true))
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

fn sparse(mut model: IndexModel) -> IndexModel {
    let mut options = model.options.take().unwrap_or_default();
    options.sparse = Some(true);
    model.options = Some(options);
    model
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.db.name())
            .field("keys", &self.keys.name())
            .field("audit", &self.audit.name())
            .field("counters", &self.counters.name())
            .field("cursors", &self.cursors.name())
            .field("settings", &self.settings.name())
            .field("catalog", &self.catalog.name())
            .field("locks", &self.locks.name())
            .field("webhook_subscriptions", &self.webhook_subscriptions.name())
            .field("webhook_deliveries", &self.webhook_deliveries.name())
            .field("requests", &self.requests.name())
            .field("usage", &self.usage.name())
            .finish()
    }
}
