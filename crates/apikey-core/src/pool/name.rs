//! Pool names: what a pool preset in the catalog is called, and so what it applies to.
//!
//! ```text
//! tenant              one pool for every key of the tenant
//! group:<name>        one pool for the keys of a group
//! owner:<name>        one pool for the keys of an owner
//! owner:*             a pool of these numbers for each owner (owner:<name> replaces it for one)
//! key:<id>            a key's own credits (counted per rotation lineage: name the first key)
//! <pool>@key:<id>     an override of <pool>'s numbers for one key (its counter stays shared)
//! <pool>@owner:<name> an override of <pool>'s numbers for one owner's keys
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::ids::KeyId;
use crate::limit::PoolKind;

/// What a pool applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolTarget {
    /// Every key of the tenant.
    Tenant,
    /// The keys of a group.
    Group(String),
    /// The keys of one owner.
    Owner(String),
    /// Each owner's keys, one pool per owner.
    EachOwner,
    /// One key's own credits (by its lineage id).
    Key(KeyId),
}

impl PoolTarget {
    /// The kind of pool it makes.
    pub fn kind(&self) -> PoolKind {
        match self {
            Self::Tenant => PoolKind::Tenant,
            Self::Group(_) => PoolKind::Group,
            Self::Owner(_) | Self::EachOwner => PoolKind::Owner,
            Self::Key(_) => PoolKind::Key,
        }
    }
}

/// Whom an override is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolMember {
    /// One key (matched by its id or its lineage id).
    Key(KeyId),
    /// One owner's keys.
    Owner(String),
}

/// A pool preset's name: a target, and for an override, the member it is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolName {
    /// The pool.
    pub target: PoolTarget,
    /// `Some` for an override of the pool's numbers.
    pub member: Option<PoolMember>,
}

impl PoolName {
    /// The pool `target` itself.
    pub fn pool(target: PoolTarget) -> Self {
        Self {
            target,
            member: None,
        }
    }
}

impl fmt::Display for PoolTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant => f.write_str("tenant"),
            Self::Group(g) => write!(f, "group:{g}"),
            Self::Owner(o) => write!(f, "owner:{o}"),
            Self::EachOwner => f.write_str("owner:*"),
            Self::Key(k) => write!(f, "key:{k}"),
        }
    }
}

impl fmt::Display for PoolMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(k) => write!(f, "key:{k}"),
            Self::Owner(o) => write!(f, "owner:{o}"),
        }
    }
}

impl fmt::Display for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            None => self.target.fmt(f),
            Some(m) => write!(f, "{}@{m}", self.target),
        }
    }
}

fn bad() -> Error {
    Error::invalid(
        "pool name",
        "expected tenant, group:<name>, owner:<name>, owner:*, key:<id>, optionally followed by @key:<id> or @owner:<name>",
    )
}

fn label(s: &str) -> Result<String> {
    if s.is_empty() || s.contains(['@', '*']) {
        return Err(bad());
    }
    crate::manage::validate::label("pool name", s)?;
    Ok(s.to_owned())
}

fn key_id(s: &str) -> Result<KeyId> {
    s.parse::<KeyId>().map_err(|_| bad())
}

impl FromStr for PoolTarget {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "tenant" => Ok(Self::Tenant),
            Some(("group", g)) => label(g).map(Self::Group),
            Some(("owner", "*")) => Ok(Self::EachOwner),
            Some(("owner", o)) => label(o).map(Self::Owner),
            Some(("key", k)) => key_id(k).map(Self::Key),
            _ => Err(bad()),
        }
    }
}

impl FromStr for PoolMember {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            Some(("key", k)) => key_id(k).map(Self::Key),
            Some(("owner", o)) => label(o).map(Self::Owner),
            _ => Err(bad()),
        }
    }
}

impl FromStr for PoolName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        // Owner and group names may not hold '@', so the last one separates the member.
        let (target, member) = match s.rsplit_once('@') {
            Some((t, m)) => (t, Some(m.parse()?)),
            None => (s, None),
        };
        let target: PoolTarget = target.parse()?;
        if matches!(target, PoolTarget::Key(_)) && member.is_some() {
            return Err(Error::invalid(
                "pool name",
                "a key's credits have no overrides: change them directly",
            ));
        }
        Ok(Self { target, member })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let k = KeyId::new();
        for s in [
            "tenant".to_owned(),
            "group:free".to_owned(),
            "owner:acme".to_owned(),
            "owner:*".to_owned(),
            format!("key:{k}"),
            format!("group:free@key:{k}"),
            "owner:*@owner:acme".to_owned(),
            "tenant@owner:acme".to_owned(),
        ] {
            let n: PoolName = s.parse().unwrap();
            assert_eq!(n.to_string(), s);
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for s in [
            "",
            "tenant:x",
            "group:",
            "owner:a@b",
            "owner:**",
            "key:nope",
            "team:x",
            "tenant@group:x",
            "key:0190b0b0-0000-7000-8000-000000000000@owner:a",
        ] {
            assert!(s.parse::<PoolName>().is_err(), "{s:?}");
        }
    }
}
