//! The error of a creation refused by a key-count limit of [`TenantSettings`](super::TenantSettings).

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::ids::TenantId;

/// Which limit refused a creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLimit {
    /// [`max_keys_per_tenant`](super::TenantSettings::max_keys_per_tenant) of this tenant (`None`:
    /// the keys without a tenant).
    PerTenant(Option<TenantId>),
    /// [`max_keys_per_owner`](super::TenantSettings::max_keys_per_owner) for this owner in the
    /// tenant.
    PerOwner(Option<TenantId>, String),
}

/// The cause carried by an [`ErrorKind::LimitReached`] error: which limit, its value and the
/// count that reached it. Read it back with [`KeyLimitReached::of`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct KeyLimitReached {
    /// The limit.
    pub limit: KeyLimit,
    /// Its configured maximum.
    pub max: u32,
    /// How many counted keys there were.
    pub count: u64,
}

impl fmt::Display for KeyLimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenant = |t: &Option<TenantId>| match t {
            Some(t) => format!("tenant {t}"),
            None => "keys without a tenant".to_owned(),
        };
        match &self.limit {
            KeyLimit::PerTenant(t) => write!(
                f,
                "max_keys_per_tenant reached: {} has {} counted keys, the limit is {}",
                tenant(t),
                self.count,
                self.max
            ),
            // The owner is the caller's own input, printed with Debug so control characters
            // cannot forge log lines.
            KeyLimit::PerOwner(t, owner) => write!(
                f,
                "max_keys_per_owner reached: owner {owner:?} in {} has {} counted keys, the limit is {}",
                tenant(t),
                self.count,
                self.max
            ),
        }
    }
}

impl KeyLimitReached {
    /// The core error: kind [`ErrorKind::LimitReached`], this as its message and its source.
    pub fn into_error(self) -> Error {
        Error::new(ErrorKind::LimitReached, self.to_string()).with_source(self)
    }

    /// The limit behind `err`, if a key-count limit refused the call.
    pub fn of(err: &Error) -> Option<&Self> {
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<Self>())
    }
}
