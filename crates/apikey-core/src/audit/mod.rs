//! The audit log: the event stream of the whole programme.
//!
//! Every key change is written atomically with its event, which carries the key's
//! [public view](crate::view::KeyView) before and after (history, versions and rollback read from
//! it). Events that are not changes of a key — expiry warnings, quota thresholds, aggregated auth
//! failures, threats, canary trips, leaks, erasures — are events too, with actor `system`, a
//! [subject](EventSubject) and a payload, appended with [`AuditStore::append`] under a
//! deterministic id so that running the same check twice records it once.
//!
//! Each store gives every event a *position*, increasing in insertion order. Readers (webhook
//! delivery, analytics of changes, exports) follow positions from a persisted cursor with an
//! [`AuditReader`], which deals with the one subtlety: under concurrency, commit order is not
//! position order. See `docs/audit.md`.

mod append_retry;
mod auth_failures;
mod canary_trips;
pub mod chain;
mod event_type;
mod filter;
mod purge_scope;
mod quota_thresholds;
mod reader;
mod subject;
mod threats;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{KeyId, TenantId, TenantScope};
use crate::record::KeyRecord;
use crate::view::KeyView;

pub use auth_failures::{AuthFailureConfig, AuthFailureLog};
pub use canary_trips::CanaryLog;
pub use chain::ChainLink;
#[allow(deprecated)]
pub use event_type::AuditAction;
pub use event_type::EventType;
pub use filter::AuditFilter;
pub use purge_scope::PurgeScope;
pub use quota_thresholds::QuotaThresholdLog;
pub use reader::{AuditReader, ReaderStart};
pub use subject::EventSubject;
pub use threats::ThreatLog;

/// The actor of events the library records on its own (expiry warnings, threats, …).
pub const SYSTEM_ACTOR: &str = "system";

/// Longest reader name a store accepts.
pub const MAX_READER_NAME: usize = 200;

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unique id (UUIDv7, or [deterministic](Self::deterministic_id) for system events); appending
    /// the same id twice stores it once.
    pub id: Uuid,
    /// The store's position of the event, increasing in insertion order; `None` until stored.
    pub position: Option<u64>,
    /// What happened.
    pub event_type: EventType,
    /// What it is about, if anything in particular.
    pub subject: Option<EventSubject>,
    /// The tenant it belongs to.
    pub tenant_id: Option<TenantId>,
    /// Who did it, if known ([`SYSTEM_ACTOR`] for system events).
    pub actor: Option<String>,
    /// Why, if given.
    pub reason: Option<String>,
    /// When (millisecond precision).
    pub at: DateTime<Utc>,
    /// For key changes, the key's version after the change; 0 otherwise.
    pub version: u64,
    /// The key before (key changes other than creation).
    pub before: Option<Box<KeyView>>,
    /// The key after (key changes other than deletion).
    pub after: Option<Box<KeyView>>,
    /// The payload of a system event (documented per type); never a secret.
    pub data: Option<serde_json::Value>,
    /// Its link in the tamper-evident chain ([`chain`]); `None` for events written before
    /// chaining, or by a manager without an audit store wired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainLink>,
}

impl AuditEvent {
    /// The event of a change of a key from `before` to `after` (either may be absent, not
    /// both), with a fresh UUIDv7 id. Only the records' public views are kept.
    pub fn key_change(
        event_type: EventType,
        before: Option<&KeyRecord>,
        after: Option<&KeyRecord>,
        at: DateTime<Utc>,
    ) -> Result<Self> {
        let subject = after
            .or(before)
            .ok_or_else(|| Error::invalid("audit event", "a key change needs a record"))?;
        Ok(Self {
            id: Uuid::now_v7(),
            position: None,
            event_type,
            subject: Some(EventSubject::Key(subject.id)),
            tenant_id: subject.tenant_id.clone(),
            actor: None,
            reason: None,
            at: crate::clock::truncate_ms(at),
            version: subject.version,
            before: before.map(|r| Box::new(KeyView::from(r))),
            after: after.map(|r| Box::new(KeyView::from(r))),
            data: None,
            chain: None,
        })
    }

    /// A system event (actor [`SYSTEM_ACTOR`]) with the deterministic id of `id_parts` (see
    /// [`deterministic_id`](Self::deterministic_id)).
    pub fn system(
        event_type: EventType,
        subject: Option<EventSubject>,
        tenant_id: Option<TenantId>,
        at: DateTime<Utc>,
        data: Option<serde_json::Value>,
        id_parts: &[&str],
    ) -> Self {
        let mut parts = vec![event_type.as_str()];
        parts.extend_from_slice(id_parts);
        let mut event = Self {
            id: Self::deterministic_id(&parts),
            position: None,
            event_type,
            subject,
            tenant_id,
            actor: Some(SYSTEM_ACTOR.to_owned()),
            reason: None,
            at: crate::clock::truncate_ms(at),
            version: 0,
            before: None,
            after: None,
            data,
            chain: None,
        };
        if event_type != EventType::AuditCheckpoint {
            event.seal_standalone();
        }
        event
    }

    /// Sets who and why (sealing a standalone event again, since its hash covers them).
    pub fn by(mut self, actor: Option<String>, reason: Option<String>) -> Self {
        self.actor = actor;
        self.reason = reason;
        if self.chain.is_some() {
            self.seal_standalone();
        }
        self
    }

    /// Seals an event that is not a change of a key (it starts no chain of its own; checkpoints
    /// cover it): a salt for its personal fields and its hash.
    pub fn seal_standalone(&mut self) {
        chain::seal(self, chain::ChainHash::GENESIS).expect("an audit event always serializes");
    }

    /// The same parts always give the same id, so an effect recorded twice (two instances, or
    /// a retried job) is stored once. A UUIDv8 from SHA-256 over the length-prefixed parts:
    /// `["a", "bc"]` and `["ab", "c"]` differ.
    pub fn deterministic_id(parts: &[&str]) -> Uuid {
        let mut h = Sha256::new();
        h.update(b"apikey.audit.v1");
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::new_v8(bytes)
    }

    /// The key the event is about, if it is about one.
    pub fn key_id(&self) -> Option<KeyId> {
        self.subject.as_ref().and_then(EventSubject::key)
    }
}

/// A reader's saved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCursor {
    /// The reader's name.
    pub reader: String,
    /// The last position it has handled.
    pub position: u64,
}

/// Checks a reader name before a store keeps it.
pub fn validate_reader_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_READER_NAME || name.contains('\0') {
        return Err(Error::invalid(
            "reader name",
            format_args!("must be 1 to {MAX_READER_NAME} bytes without NUL"),
        ));
    }
    Ok(())
}

/// Reading, appending to and pruning the audit log that [`KeyStore`](crate::KeyStore) writes,
/// with persisted reader cursors.
#[async_trait]
pub trait AuditStore: Send + Sync + fmt::Debug + 'static {
    /// Events in `tenant` matching `filter`, oldest first in (at, id) order.
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>>;

    /// Appends an event that is not written with a key change (a system event). `false` when an
    /// event with its id is already stored — the idempotent insert that deterministic ids rely on.
    async fn append(&self, event: &AuditEvent) -> Result<bool>;

    /// Up to `limit` (1..=1000) events with a position above `after`, in position order, across
    /// all tenants. Positions may have gaps (see [`AuditReader`]).
    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>>;

    /// The highest position given so far (0 for an empty log).
    async fn last_position(&self) -> Result<u64>;

    /// Every registered reader and its cursor.
    async fn cursors(&self) -> Result<Vec<ReaderCursor>>;

    /// Saves `reader`'s cursor (registering it). A position above
    /// [`last_position`](Self::last_position) is refused (`InvalidInput`): a cursor ahead of the
    /// log would skip whatever comes next.
    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()>;

    /// Forgets a reader, so retention no longer waits for it. `false` if it was not registered.
    async fn remove_cursor(&self, reader: &str) -> Result<bool>;

    /// Deletes events older than `before` (retention), but never one a registered reader has not
    /// passed: only events at or below the slowest cursor go. Returns how many.
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64>;

    /// [`purge_before`](Self::purge_before) within `scope` only: the same rules (readers'
    /// cursors, checkpoints and each live key's newest record are kept), applied to the events
    /// of one tenant, or of every tenant but some. This is how each tenant's retention rule
    /// ([`Retention::audit_days`](crate::tenant::Retention::audit_days)) applies to its own events.
    ///
    /// The default handles `AllBut(empty)` (every event) and refuses the rest (`Config`): a
    /// store that cannot filter its purge by tenant cannot honour per-tenant retention.
    async fn purge_scoped(&self, scope: &PurgeScope, before: DateTime<Utc>) -> Result<u64> {
        match scope {
            PurgeScope::AllBut(except) if except.is_empty() => self.purge_before(before).await,
            _ => Err(Error::new(
                crate::error::ErrorKind::Config,
                "this audit store cannot purge by tenant, so it cannot apply per-tenant retention",
            )),
        }
    }

    /// Writes back events whose personal fields [`chain::erase`] blanked: for each event (matched
    /// by id) its `actor`, `reason`, `data`, `before`, `after` and chain link are replaced, every
    /// other field kept, all in one atomic step. Returns how many were found. An event that is
    /// not stored is skipped.
    ///
    /// The default refuses (`Config`): a store that cannot rewrite its log cannot erase personal
    /// data from it.
    async fn rewrite_erased(&self, events: &[AuditEvent]) -> Result<u64> {
        let _ = events;
        Err(Error::new(
            crate::error::ErrorKind::Config,
            "this audit store cannot rewrite events, so it cannot erase personal data from them",
        ))
    }

    /// The newest event of key `id`'s chain — the one with the highest `version` (ties: the
    /// highest position) among its events with a version — whatever the tenant. The manager
    /// links the next change of the key to it.
    ///
    /// The default pages through [`query`](Self::query); stores with an index on the key
    /// override it with one point query.
    async fn newest_change(&self, id: KeyId) -> Result<Option<AuditEvent>> {
        let mut filter = AuditFilter::key(id);
        filter.limit = 1000;
        let mut newest: Option<AuditEvent> = None;
        loop {
            let page = self.query(&TenantScope::All, &filter).await?;
            let full = page.len() >= 1000;
            if let Some(last) = page.last() {
                filter.after = Some((last.at, last.id));
            }
            for e in page.into_iter().filter(|e| e.version > 0) {
                if newest
                    .as_ref()
                    .is_none_or(|n| (e.version, e.position) > (n.version, n.position))
                {
                    newest = Some(e);
                }
            }
            if !full {
                return Ok(newest);
            }
        }
    }
}

/// The error of a cursor saved beyond the log's last position, the same on every store.
pub fn ahead_of_log(position: u64, last: u64) -> Error {
    Error::invalid(
        "reader cursor",
        format_args!("position {position} is ahead of the log (last position {last})"),
    )
}

/// The cursor of `reader`, if registered.
pub async fn cursor_of(store: &dyn AuditStore, reader: &str) -> Result<Option<u64>> {
    Ok(store
        .cursors()
        .await?
        .into_iter()
        .find(|c| c.reader == reader)
        .map(|c| c.position))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_ids_depend_on_every_part_and_its_boundaries() {
        let a = AuditEvent::deterministic_id(&["key.expiring", "k1", "7"]);
        assert_eq!(
            a,
            AuditEvent::deterministic_id(&["key.expiring", "k1", "7"])
        );
        assert_ne!(
            a,
            AuditEvent::deterministic_id(&["key.expiring", "k1", "30"])
        );
        assert_ne!(
            AuditEvent::deterministic_id(&["a", "bc"]),
            AuditEvent::deterministic_id(&["ab", "c"])
        );
        assert_eq!(a.get_version_num(), 8);
    }

    #[test]
    fn reader_names_are_checked() {
        assert!(validate_reader_name("webhooks").is_ok());
        assert!(validate_reader_name("").is_err());
        assert!(validate_reader_name("a\0b").is_err());
        assert!(validate_reader_name(&"x".repeat(MAX_READER_NAME + 1)).is_err());
    }
}
