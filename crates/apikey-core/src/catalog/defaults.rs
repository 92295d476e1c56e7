//! [`Preset`]: a named set of [`KeyDefaults`], and how the defaults fill a [`NewKey`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ip::IpRules;
use crate::limit::{EndpointLimit, Quota, Rate};
use crate::manage::NewKey;
use crate::metadata::Metadata;
use crate::scope::ScopeSet;

/// The longest relative expiry a preset may give (ten years).
pub const MAX_PRESET_EXPIRY_DAYS: u32 = 3_650;

/// Which list of the catalog a preset belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogKind {
    /// Named defaults chosen per creation (`NewKey::template`).
    Template,
    /// A group keys belong to (`NewKey::group`), with defaults for its new members.
    Group,
    /// A rotation policy, named by its target (see [`PolicyTarget`](super::PolicyTarget)).
    Policy,
    /// A shared limit pool, a key's credits or an override, named by what it applies to (see
    /// [`PoolName`](crate::pool::PoolName)).
    Pool,
}

impl CatalogKind {
    /// The stored name: `template` or `group`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Template => "template",
            Self::Group => "group",
            Self::Policy => "policy",
            Self::Pool => "pool",
        }
    }
}

impl fmt::Display for CatalogKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CatalogKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "template" => Ok(Self::Template),
            "group" => Ok(Self::Group),
            "policy" => Ok(Self::Policy),
            "pool" => Ok(Self::Pool),
            _ => Err(Error::invalid(
                "catalog kind",
                "must be template, group, policy or pool",
            )),
        }
    }
}

/// Defaults for a new key. Every field is optional; an empty list or `None` gives nothing.
///
/// Stored as a JSON document whose fields all default, so later fields need no migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyDefaults {
    /// Scopes, when the caller gives none.
    pub scopes: ScopeSet,
    /// Rate, when the caller gives none.
    pub rate_limit: Option<Rate>,
    /// Endpoint rates, when the caller gives none.
    pub endpoint_limits: Vec<EndpointLimit>,
    /// Quota, when the caller gives none.
    pub quota: Option<Quota>,
    /// Expiry this many days after creation, when the caller gives no expiry.
    pub expires_in_days: Option<u32>,
    /// Network rules, when the caller gives none.
    pub ip_rules: IpRules,
    /// Environment, when the caller gives none.
    pub environment: Option<String>,
    /// Tags, when the caller gives none.
    pub tags: Vec<String>,
    /// Metadata, when the caller gives none.
    pub metadata: Metadata,
    /// New keys start pending approval (a preset can ask for approval, never skip it).
    pub require_approval: bool,
}

/// A named preset: a template or a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// Template or group.
    pub kind: CatalogKind,
    /// Its name, unique per kind and tenant.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The defaults it gives.
    #[serde(default)]
    pub defaults: KeyDefaults,
    /// For a [`Policy`](CatalogKind::Policy): the rotation it asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<super::RotationPolicy>,
    /// For a [`Pool`](CatalogKind::Pool): its numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<crate::limit::PoolLimits>,
}

impl Preset {
    /// A preset with no defaults.
    pub fn new(kind: CatalogKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
            description: None,
            defaults: KeyDefaults::default(),
            rotation: None,
            pool: None,
        }
    }

    /// A pool preset: `name` as [`PoolName`](crate::pool::PoolName) reads it, with `limits`.
    pub fn pool(name: impl Into<String>, limits: crate::limit::PoolLimits) -> Self {
        Self {
            pool: Some(limits),
            ..Self::new(CatalogKind::Pool, name)
        }
    }

    /// Checks every field; the error names the first bad one. Nothing is written when this fails.
    pub fn validate(&mut self) -> Result<()> {
        use crate::manage::validate as v;
        v::label(self.kind.as_str(), &self.name)?;
        match (self.kind, &self.rotation) {
            (CatalogKind::Policy, Some(r)) => {
                r.validate()?;
                self.name.parse::<super::PolicyTarget>()?;
            }
            (CatalogKind::Policy, None) => {
                return Err(Error::invalid("rotation", "a policy needs its rotation"));
            }
            (_, Some(_)) => {
                return Err(Error::invalid("rotation", "only a policy has a rotation"));
            }
            (_, None) => {}
        }
        match (self.kind, &self.pool) {
            (CatalogKind::Pool, Some(limits)) => {
                let name: crate::pool::PoolName = self.name.parse()?;
                limits.validate()?;
                if limits.is_empty() {
                    return Err(Error::invalid("pool", "needs a rate, a quota or credits"));
                }
                if matches!(name.target, crate::pool::PoolTarget::Key(_))
                    && (limits.rate.is_some() || limits.quota.is_some())
                {
                    return Err(Error::invalid(
                        "pool",
                        "a key's own pool holds credits only: its rate and quota are the key's",
                    ));
                }
                if name.member.is_some() && limits.credits.is_some() {
                    return Err(Error::invalid(
                        "pool",
                        "an override changes a rate or a quota: credits are the pool's",
                    ));
                }
            }
            (CatalogKind::Pool, None) => {
                return Err(Error::invalid("pool", "a pool needs its limits"));
            }
            (_, Some(_)) => {
                return Err(Error::invalid("pool", "only a pool has pool limits"));
            }
            (_, None) => {}
        }
        if let Some(d) = &self.description {
            v::text("description", d, v::MAX_DESCRIPTION_LEN)?;
        }
        let d = &mut self.defaults;
        if let Some(e) = &d.environment {
            v::label("environment", e)?;
        }
        d.tags = v::labels("tags", std::mem::take(&mut d.tags))?;
        d.ip_rules.validate()?;
        if let Some(r) = &d.rate_limit {
            r.validate()?;
        }
        crate::manage::new_key::validate_endpoint_limits(&d.endpoint_limits)?;
        if let Some(q) = &d.quota {
            q.validate()?;
        }
        if let Some(days) = d.expires_in_days
            && !(1..=MAX_PRESET_EXPIRY_DAYS).contains(&days)
        {
            return Err(Error::invalid(
                "expires_in_days",
                format_args!("must be 1..={MAX_PRESET_EXPIRY_DAYS}"),
            ));
        }
        Ok(())
    }
}

impl KeyDefaults {
    /// Fills every field of `new` that the caller left unset (empty or `None`) from these
    /// defaults; `now` anchors a relative expiry.
    pub fn fill(&self, new: &mut NewKey, now: DateTime<Utc>) {
        if new.scopes.is_empty() {
            new.scopes.clone_from(&self.scopes);
        }
        if new.rate_limit.is_none() {
            new.rate_limit = self.rate_limit;
        }
        if new.endpoint_limits.is_empty() {
            new.endpoint_limits.clone_from(&self.endpoint_limits);
        }
        if new.quota.is_none() {
            new.quota = self.quota;
        }
        if new.expires_at.is_none()
            && let Some(days) = self.expires_in_days
        {
            new.expires_at = Some(now + TimeDelta::days(i64::from(days)));
        }
        if new.ip_rules.is_empty() {
            new.ip_rules.clone_from(&self.ip_rules);
        }
        if new.environment.is_none() {
            new.environment.clone_from(&self.environment);
        }
        if new.tags.is_empty() {
            new.tags.clone_from(&self.tags);
        }
        if new.metadata.is_empty() {
            new.metadata.clone_from(&self.metadata);
        }
        new.require_approval |= self.require_approval;
    }
}
