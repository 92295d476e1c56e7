//! Rotation policies: rotate (or only announce) a key every N days, set per key, per group or
//! per tenant, stored in the catalog under the kind [`Policy`](super::CatalogKind::Policy) with
//! the target as the name (`key:<id>`, `group:<name>`, `tenant`). The most specific applies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::manage::MAX_ROTATION_GRACE_DAYS;

/// What a due policy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationMode {
    /// Record `key.rotation_due` (once per key generation) and let people rotate.
    Notify,
    /// Rotate, and hand the new token to the job's [`TokenSink`](crate::jobs::builtin::TokenSink).
    Rotate,
}

/// Rotate every `every_days`, the old key working `grace_days` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationPolicy {
    /// A key is due this many days after it was created (a rotated key is a new key: its
    /// successor's clock starts at the rotation). 1..=3650.
    pub every_days: u32,
    /// How long the old key keeps working after a rotation.
    #[serde(default)]
    pub grace_days: u32,
    /// Announce or rotate.
    pub mode: RotationMode,
}

impl RotationPolicy {
    /// Checks the periods; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if !(1..=3650).contains(&self.every_days) {
            return Err(Error::invalid("every_days", "must be 1..=3650"));
        }
        if i64::from(self.grace_days) > MAX_ROTATION_GRACE_DAYS {
            return Err(Error::invalid(
                "grace_days",
                format_args!("at most {MAX_ROTATION_GRACE_DAYS}"),
            ));
        }
        Ok(())
    }
}

/// What a policy applies to; its string form is the policy's name in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyTarget {
    /// One key.
    Key(KeyId),
    /// The keys of a group.
    Group(String),
    /// Every key of the tenant (or of the keys without a tenant).
    Tenant,
}

impl fmt::Display for PolicyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(id) => write!(f, "key:{id}"),
            Self::Group(g) => write!(f, "group:{g}"),
            Self::Tenant => f.write_str("tenant"),
        }
    }
}

impl FromStr for PolicyTarget {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("policy target", "must be key:<id>, group:<name> or tenant");
        if s == "tenant" {
            return Ok(Self::Tenant);
        }
        match s.split_once(':') {
            Some(("key", id)) => Ok(Self::Key(id.parse().map_err(|_| bad())?)),
            Some(("group", g)) if !g.trim().is_empty() => Ok(Self::Group(g.to_owned())),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_their_names() {
        for t in [
            PolicyTarget::Key(KeyId::new()),
            PolicyTarget::Group("pay:ments".into()),
            PolicyTarget::Tenant,
        ] {
            assert_eq!(t.to_string().parse::<PolicyTarget>().unwrap(), t);
        }
        for bad in ["", "key:nope", "group:", "tenants", "owner:x"] {
            assert!(bad.parse::<PolicyTarget>().is_err(), "{bad}");
        }
    }
}
