//! Confirmed changes: knowing that every running instance has stopped accepting a key.
//!
//! A change is committed to the store, then the caches are invalidated and the invalidation is
//! published to the other instances. Publishing says nothing about whether they applied it. A
//! [`Confirmer`] closes that gap: given the key's lookup id and its new version, it asks every
//! live verifier instance to apply the invalidation and waits until each has acknowledged it, or
//! until a timeout, and reports who answered ([`Confirmation`]).
//!
//! `apikey-redis` implements it (`RedisConfirmer`) over a presence registry that every
//! `RevocationListener` keeps itself in. [`KeyManager::revoke_confirmed`](crate::KeyManager::revoke_confirmed),
//! [`suspend_confirmed`](crate::KeyManager::suspend_confirmed) and
//! [`rotate_confirmed`](crate::KeyManager::rotate_confirmed) use the one wired with
//! [`ApiKeysBuilder::confirmer`](crate::ApiKeysBuilder::confirmer).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::ids::LookupId;

/// Asks every live instance to apply an invalidation and waits for their acknowledgements.
#[async_trait]
pub trait Confirmer: Send + Sync + fmt::Debug + 'static {
    /// Asks every instance live now to invalidate `lookup` at `version` (the version the change
    /// committed) and waits up to `timeout` for them. Call it after the change is committed and
    /// published; an instance that joins later starts with an empty first-level cache.
    ///
    /// Errors only when the request itself could not be made (the registry is unreachable); an
    /// instance that does not answer in time is reported in [`Confirmation::missing`].
    async fn confirm(
        &self,
        lookup: &LookupId,
        version: u64,
        timeout: Duration,
    ) -> Result<Confirmation>;
}

/// A running verifier instance as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Instance {
    /// Unique per process start.
    pub id: String,
    /// The name the service gave itself (for example a host name), if any.
    pub name: Option<String>,
    /// When it registered.
    pub started: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_seen: DateTime<Utc>,
}

impl Instance {
    /// An instance record.
    pub fn new(
        id: impl Into<String>,
        name: Option<String>,
        started: DateTime<Utc>,
        last_seen: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            name,
            started,
            last_seen,
        }
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} ({name})", self.id),
            None => f.write_str(&self.id),
        }
    }
}

/// Who applied an invalidation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// Instances that acknowledged applying it.
    pub acknowledged: Vec<Instance>,
    /// Instances that were live when it was asked and then stopped heartbeating for longer than
    /// the registry's presence TTL. They no longer trust their first-level cache (an instance
    /// stops trusting it before its presence can expire, and clears it before trusting it
    /// again), so they cannot accept the old state from it.
    pub departed: Vec<Instance>,
    /// Instances still live that did not acknowledge within the timeout: they may still accept
    /// the old state until they catch up (or until their first-level entry expires).
    pub missing: Vec<Instance>,
    /// How long the confirmation took.
    #[serde(with = "millis")]
    pub elapsed: Duration,
    /// Whether the instances were asked at all (see [`not_asked`](Self::not_asked)).
    pub asked: bool,
}

impl Confirmation {
    /// A confirmation from its parts.
    pub fn new(
        acknowledged: Vec<Instance>,
        departed: Vec<Instance>,
        missing: Vec<Instance>,
        elapsed: Duration,
    ) -> Self {
        Self {
            acknowledged,
            departed,
            missing,
            elapsed,
            asked: true,
        }
    }

    /// A change committed whose confirmation could not even be asked (the registry was
    /// unreachable): never complete. The change's result says why.
    pub fn not_asked() -> Self {
        Self {
            asked: false,
            ..Self::new(vec![], vec![], vec![], Duration::ZERO)
        }
    }

    /// Every instance applied the change or can no longer use an old copy.
    pub fn is_complete(&self) -> bool {
        self.asked && self.missing.is_empty()
    }
}

/// A change and what the instances said about it.
#[derive(Debug)]
#[must_use = "a confirmation may be incomplete: check `confirmation.is_complete()`"]
#[non_exhaustive]
pub struct Confirmed<T> {
    /// What the change returned.
    pub value: T,
    /// Who applied it.
    pub confirmation: Confirmation,
}

impl<T> Confirmed<T> {
    pub(crate) fn new(value: T, confirmation: Confirmation) -> Self {
        Self {
            value,
            confirmation,
        }
    }
}

mod millis {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str) -> Instance {
        Instance::new(id, None, DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH)
    }

    #[test]
    fn complete_means_nobody_is_missing() {
        let done = Confirmation::new(
            vec![instance("a")],
            vec![instance("b")],
            vec![],
            Duration::ZERO,
        );
        assert!(done.is_complete());
        let not = Confirmation::new(vec![], vec![], vec![instance("c")], Duration::ZERO);
        assert!(!not.is_complete());
        assert!(!Confirmation::not_asked().is_complete());
    }

    #[test]
    fn an_instance_shows_its_name() {
        let mut i = instance("i-1");
        assert_eq!(i.to_string(), "i-1");
        i.name = Some("web-3".into());
        assert_eq!(i.to_string(), "i-1 (web-3)");
    }
}
