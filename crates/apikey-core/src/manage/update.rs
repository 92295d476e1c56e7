//! Changes to a key's descriptive and policy fields (not its lifecycle state).

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::ip::IpRules;
use crate::limit::{EndpointLimit, Quota, Rate};
use crate::metadata::Metadata;
use crate::record::KeyRecord;
use crate::scope::ScopeSet;

/// Fields to change; `None` leaves a field as it is. For optional fields, `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<Option<String>>,
    /// New owner.
    pub owner: Option<Option<String>>,
    /// New group.
    pub group: Option<Option<String>>,
    /// New environment.
    pub environment: Option<Option<String>>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New aliases.
    pub aliases: Option<Vec<String>>,
    /// New scopes.
    pub scopes: Option<ScopeSet>,
    /// New expiry.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New network rules.
    pub ip_rules: Option<IpRules>,
    /// New rate.
    pub rate_limit: Option<Option<Rate>>,
    /// New endpoint rates.
    pub endpoint_limits: Option<Vec<EndpointLimit>>,
    /// New quota.
    pub quota: Option<Option<Quota>>,
    /// New metadata.
    pub metadata: Option<Metadata>,
}

impl KeyUpdate {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks every field against the rules of a key, without a key: what
    /// [`KeyManager::update`](super::KeyManager::update) would refuse whatever the key (an empty
    /// update, an invalid label, an expiry not after `now`, …). A bulk change checks this before
    /// it selects anything, so a bad update is refused even when no key matches.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the first bad field.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<()> {
        use crate::manage::validate as v;
        if self.is_empty() {
            return Err(Error::invalid("update", "nothing to change"));
        }
        if let Some(n) = &self.name {
            v::name(n)?;
        }
        if let Some(Some(d)) = &self.description {
            v::text("description", d, v::MAX_DESCRIPTION_LEN)?;
        }
        for (field, value) in [
            ("owner", &self.owner),
            ("group", &self.group),
            ("environment", &self.environment),
        ] {
            if let Some(Some(s)) = value {
                v::label(field, s)?;
            }
        }
        if let Some(t) = &self.tags {
            v::labels("tags", t.clone())?;
        }
        if let Some(a) = &self.aliases {
            v::labels("aliases", a.clone())?
                .iter()
                .try_for_each(|a| crate::manage::organise::validate_alias(a))?;
        }
        if let Some(Some(e)) = self.expires_at
            && e <= now
        {
            return Err(Error::invalid("expires_at", "must be in the future"));
        }
        if let Some(ip) = &self.ip_rules {
            ip.validate()?;
        }
        if let Some(Some(rate)) = &self.rate_limit {
            rate.validate()?;
        }
        if let Some(l) = &self.endpoint_limits {
            crate::manage::new_key::validate_endpoint_limits(l)?;
        }
        if let Some(Some(q)) = &self.quota {
            q.validate()?;
        }
        Ok(())
    }

    /// Validates and applies to `r`.
    pub(crate) fn apply(&self, r: &mut KeyRecord, now: DateTime<Utc>) -> Result<()> {
        self.validate(now)?;
        if let Some(n) = &self.name {
            r.name.clone_from(n);
        }
        if let Some(d) = &self.description {
            r.description.clone_from(d);
        }
        for (value, slot) in [
            (&self.owner, &mut r.owner),
            (&self.group, &mut r.group),
            (&self.environment, &mut r.environment),
        ] {
            if let Some(value) = value {
                slot.clone_from(value);
            }
        }
        if let Some(t) = &self.tags {
            r.tags = crate::manage::validate::labels("tags", t.clone())?;
        }
        if let Some(a) = &self.aliases {
            r.aliases = crate::manage::validate::labels("aliases", a.clone())?;
        }
        if let Some(s) = &self.scopes {
            r.scopes.clone_from(s);
        }
        if let Some(e) = self.expires_at {
            r.expires_at = e;
        }
        if let Some(ip) = &self.ip_rules {
            r.ip_rules.clone_from(ip);
        }
        if let Some(rate) = self.rate_limit {
            r.rate_limit = rate;
        }
        if let Some(l) = &self.endpoint_limits {
            r.endpoint_limits.clone_from(l);
        }
        if let Some(q) = self.quota {
            r.quota = q;
        }
        if let Some(m) = &self.metadata {
            r.metadata.clone_from(m);
        }
        Ok(())
    }
}
