//! Core of the `apikey` toolkit: domain types, the storage/cache/limiter traits, the token format,
//! hashing, the request-time [`Verifier`] and the management-time [`KeyManager`].
//!
//! This crate does no I/O of its own and depends on no database, cache or web framework: backends
//! (`apikey-memory`, `apikey-sqlx`, `apikey-redis`, …) implement its traits and integrations
//! (`apikey-axum`, …) call its [`Verifier`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> apikey_core::Result<()> {
//! use std::sync::Arc;
//! use apikey_core::{ApiKeys, Change, Credential, NewKey, RequestContext, Scope, TenantScope};
//! use apikey_memory::MemoryStore;
//!
//! let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
//!     .random_peppers_keys_die_at_exit() // in memory: keys die with the process anyway
//!     .build()?;
//! let created = keys.manager().create(NewKey::new("billing-service").scopes(["invoices:read"])?).await?;
//!
//! let need = [Scope::new("invoices:read")?];
//! let ctx = RequestContext::new().scopes(&need);
//! let verified = keys.verifier().verify(Credential::new(created.token.expose()), &ctx).await;
//! assert!(verified.is_ok());
//!
//! keys.manager().revoke(&TenantScope::All, created.record.id, Change::new().because("leaked")).await?;
//! assert!(keys.verifier().verify(Credential::new(created.token.expose()), &ctx).await.is_err());
//! # Ok(()) }
//! ```
//!
//! Dependencies are chosen for being the well-kept standard in their niche: `thiserror` (errors),
//! `chrono` (calendar arithmetic in UTC), `ipnet` (CIDR), `subtle` (constant-time comparison),
//! `zeroize` (secrets), RustCrypto `hmac`/`sha2`/`argon2` and `bcrypt` (hashing), RustCrypto
//! `aes-gcm` (recoverable secrets, see [`secret_box`]), `crc32fast`
//! (checksum), `papaya` (a lock-free concurrent map: cache hits take no lock), `tokio` (blocking
//! threads for slow hashes, timers for write-behind), `tracing` (logs), `itoa` (integers of `RateLimit` header values formatted
//! on the stack, without `core::fmt`, on every admitted request), `bytes` (the body a
//! [`RequestCheck`](http::RequestCheck) is handed: the buffer type hyper, axum, actix-web and tonic
//! all share, so a buffered body reaches the check and the handler without a copy).

pub mod analytics;
pub mod audit;
pub mod breaker;
pub mod cache;
pub mod catalog;
pub mod clock;
pub mod compliance;
pub mod confirm;
pub mod error;
pub mod event;
pub mod hash;
pub mod health;
pub mod http;
pub mod ids;
pub mod ip;
pub mod jobs;
pub mod limit;
pub mod log_throttle;
pub mod manage;
pub mod metadata;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod pool;
pub mod record;
pub mod request_log;
pub mod routes;
pub mod scope;
pub mod score;
pub mod secret;
pub mod secret_box;
pub mod shutdown;
pub mod signing;
pub mod state;
pub mod store;
pub mod tenant;
pub mod threat;
pub mod token;
pub mod verify;
pub mod view;
pub mod webhook;

mod builder;
mod private_file;

#[allow(deprecated)]
pub use audit::AuditAction;
pub use audit::{
    AuditEvent, AuditFilter, AuditReader, AuditStore, EventSubject, EventType, ReaderCursor,
    ReaderStart,
};
pub use builder::{ApiKeys, ApiKeysBuilder, NeedsPeppers, WithPeppers};
pub use cache::{Cache, CachedRecord};
pub use catalog::{CatalogKind, CatalogStore, KeyDefaults, Preset, StoredPreset};
pub use clock::{Clock, ManualClock, SystemClock};
pub use confirm::{Confirmation, Confirmed, Confirmer, Instance};
pub use error::{Error, ErrorKind, Result, WrongState};
pub use event::{EventSink, KeyEvent, KeyEventKind, TracingSink};
pub use hash::{HashAlgorithm, Hasher, PepperConfig, Peppers, StoredHash};
pub use ids::{KeyId, LookupId, TenantId, TenantScope};
pub use ip::{ClientIpResolver, IpRules};
pub use limit::{Decision, LimitPolicy, Quota, QuotaPeriod, Rate, RateLimiter, Subject};
pub use log_throttle::LogThrottle;
pub use manage::{
    BulkAction, BulkChanged, BulkCreated, BulkOptions, BulkRowError, Change, CreatedKey,
    FieldChange, KeyManager, KeyUpdate, KeyVersion, LeakOutcome, NewKey,
};
pub use metadata::Metadata;
pub use record::KeyRecord;
pub use scope::{Scope, ScopeSet};
pub use secret::{Credential, Token};
pub use secret_box::{Binding, KekConfig, Keks, Sealed, SecretBox, SecretBoxError};
pub use shutdown::{SHUTDOWN_DEADLINE, shutdown_signal};
pub use state::{EffectiveState, KeyState};
pub use store::{
    Cursor, KeyFilter, KeyStore, Page, USAGE_MARK_RETENTION, UsageBatchId, UsageUpdate,
};
pub use tenant::{KeyLimit, KeyLimitReached, StoredSettings, TenantSettings, TenantSettingsStore};
pub use token::TokenFormat;
pub use verify::{
    Attempt, CANARY_INCIDENT, CanaryPolicy, PendingVerification, Rejection, RejectionKind,
    RequestContext, Verified, Verifier, VerifierConfig,
};
pub use view::KeyView;

/// The reserved tenant of the key service's own admin keys (`apikey serve`): a verifier accepts
/// them only when [`VerifierConfig::admin_keys`] says so, and then nothing else.
pub const ADMIN_TENANT: &str = "apikey.admin";
