//! What an audit event is about, when it is about something: a key, a tenant, an owner, a
//! webhook subscription. Stored as a kind and an id in two columns, so readers filter on either.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{KeyId, TenantId};

/// The subject of an audit event.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum EventSubject {
    /// A key.
    Key(KeyId),
    /// A tenant.
    Tenant(TenantId),
    /// An owner (user, team or service identifier).
    Owner(String),
    /// A webhook subscription.
    Webhook(Uuid),
}

impl EventSubject {
    /// The stored kind: `key`, `tenant`, `owner`, `webhook`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Key(_) => "key",
            Self::Tenant(_) => "tenant",
            Self::Owner(_) => "owner",
            Self::Webhook(_) => "webhook",
        }
    }

    /// The stored id.
    pub fn id(&self) -> String {
        match self {
            Self::Key(k) => k.to_string(),
            Self::Tenant(t) => t.as_str().to_owned(),
            Self::Owner(o) => o.clone(),
            Self::Webhook(w) => w.to_string(),
        }
    }

    /// The key, if the subject is one.
    pub const fn key(&self) -> Option<KeyId> {
        match self {
            Self::Key(k) => Some(*k),
            _ => None,
        }
    }

    /// Reads a stored (kind, id) pair; an unknown kind or a malformed id is an error, never a
    /// silent `None`.
    pub fn parse(kind: &str, id: &str) -> Result<Self> {
        let bad = |what: &str| Error::invalid("event subject", what);
        Ok(match kind {
            "key" => Self::Key(id.parse().map_err(|_| bad("malformed key id"))?),
            "tenant" => Self::Tenant(TenantId::new(id)?),
            "owner" => Self::Owner(id.to_owned()),
            "webhook" => {
                Self::Webhook(Uuid::parse_str(id).map_err(|_| bad("malformed webhook id"))?)
            }
            _ => return Err(bad("unknown kind")),
        })
    }
}

impl fmt::Display for EventSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_ids_round_trip_and_bad_ones_are_errors() {
        let key = KeyId::new();
        for s in [
            EventSubject::Key(key),
            EventSubject::Tenant(TenantId::new("acme").unwrap()),
            EventSubject::Owner("team 'ops'".into()),
            EventSubject::Webhook(Uuid::now_v7()),
        ] {
            assert_eq!(EventSubject::parse(s.kind(), &s.id()).unwrap(), s);
        }
        assert!(EventSubject::parse("key", "nope").is_err());
        assert!(EventSubject::parse("planet", "x").is_err());
        assert_eq!(EventSubject::Key(key).key(), Some(key));
    }
}
