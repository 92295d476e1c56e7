//! The audit log: one event per key change, written atomically with the change, carrying the record
//! before and after (so history, versions and rollback read from it).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::ids::{KeyId, TenantId, TenantScope};
use crate::record::KeyRecord;

/// What a change did.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Created.
    Created,
    /// Metadata, scopes, limits or rules changed.
    Updated,
    /// Revoked.
    Revoked,
    /// Replaced by a new key (on the old key), or created by a rotation (on the new key).
    Rotated,
    /// Suspended.
    Suspended,
    /// Unsuspended.
    Unsuspended,
    /// A revoked key restored.
    Restored,
    /// A pending key approved.
    Approved,
    /// A pending key rejected.
    Rejected,
    /// The stored hash was upgraded to the current hasher.
    Rehashed,
    /// Deleted (erasure).
    Deleted,
    /// Brought in by an import.
    Imported,
}

impl AuditAction {
    /// The stable name stored in databases.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Revoked => "revoked",
            Self::Rotated => "rotated",
            Self::Suspended => "suspended",
            Self::Unsuspended => "unsuspended",
            Self::Restored => "restored",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Rehashed => "rehashed",
            Self::Deleted => "deleted",
            Self::Imported => "imported",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unique id (UUIDv7); appending the same event twice is a no-op for idempotent stores.
    pub id: Uuid,
    /// The key.
    pub key_id: KeyId,
    /// The key's tenant.
    pub tenant_id: Option<TenantId>,
    /// What happened.
    pub action: AuditAction,
    /// Who did it, if known.
    pub actor: Option<String>,
    /// Why, if given.
    pub reason: Option<String>,
    /// When (millisecond precision).
    pub at: DateTime<Utc>,
    /// The record's version after the change.
    pub version: u64,
    /// The record before (none for creation).
    pub before: Option<Box<KeyRecord>>,
    /// The record after (none for deletion).
    pub after: Option<Box<KeyRecord>>,
}

/// A query over the audit log.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Events of this key.
    pub key_id: Option<KeyId>,
    /// Events with any of these actions; empty means all.
    pub actions: Vec<AuditAction>,
    /// `at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `at < to`.
    pub to: Option<DateTime<Utc>>,
    /// Only events after this (at, id) position.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    /// Page size (0 means the default of 100; at most 1000).
    pub limit: u32,
}

impl AuditFilter {
    /// Whether `e` satisfies every condition except tenancy.
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.key_id.is_none_or(|k| e.key_id == k)
            && (self.actions.is_empty() || self.actions.contains(&e.action))
            && self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at < t)
            && self.after.is_none_or(|a| (e.at, e.id) > a)
    }

    /// The page size clamped to `1..=1000`, 100 when unset.
    pub fn page_size(&self) -> usize {
        if self.limit == 0 {
            100
        } else {
            self.limit.min(1000) as usize
        }
    }
}

/// Reading and pruning the audit log that [`KeyStore`](crate::KeyStore) writes.
#[async_trait]
pub trait AuditStore: Send + Sync + fmt::Debug + 'static {
    /// Events in `tenant` matching `filter`, oldest first in (at, id) order.
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>>;

    /// Deletes events older than `before` (retention); returns how many.
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64>;
}
