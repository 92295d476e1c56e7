//! A query over the audit log, for people and reports: by subject, type and time, paged by
//! (at, id). Readers that must not miss an event use positions instead (see
//! [`AuditReader`](super::AuditReader)).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuditEvent, EventSubject, EventType};
use crate::ids::KeyId;

/// A query over the audit log; every condition must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Events about this subject.
    pub subject: Option<EventSubject>,
    /// Events of any of these types; empty means all.
    pub types: Vec<EventType>,
    /// Events done by this actor (exactly; [`SYSTEM_ACTOR`](super::SYSTEM_ACTOR) for the
    /// library's own).
    #[serde(default)]
    pub actor: Option<String>,
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
    /// The events of one key (its history).
    pub fn key(id: KeyId) -> Self {
        Self {
            subject: Some(EventSubject::Key(id)),
            ..Self::default()
        }
    }

    /// Whether `e` satisfies every condition except tenancy.
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.subject
            .as_ref()
            .is_none_or(|s| e.subject.as_ref() == Some(s))
            && (self.types.is_empty() || self.types.contains(&e.event_type))
            && self
                .actor
                .as_ref()
                .is_none_or(|a| e.actor.as_ref() == Some(a))
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
