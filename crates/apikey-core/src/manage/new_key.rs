//! The parameters of a new key.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::ip::IpRules;
use crate::limit::{EndpointLimit, Quota, Rate};
use crate::metadata::Metadata;
use crate::scope::ScopeSet;

/// What to create. Built with chained setters; everything but the name is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewKey {
    /// Human-readable name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Tenant (multi-tenant deployments).
    pub tenant: Option<TenantId>,
    /// Owner.
    pub owner: Option<String>,
    /// Group or team.
    pub group: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Not usable before.
    pub not_before: Option<DateTime<Utc>>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Network rules.
    pub ip_rules: IpRules,
    /// The key's rate.
    pub rate_limit: Option<Rate>,
    /// Endpoint rates.
    pub endpoint_limits: Vec<EndpointLimit>,
    /// Quota.
    pub quota: Option<Quota>,
    /// Metadata.
    pub metadata: Metadata,
    /// Create in the pending state, to be approved before use.
    pub require_approval: bool,
    /// Template the key came from.
    pub template: Option<String>,
    /// Issue a request-signing secret used in this mode ([`CreatedKey::signing_secret`](super::CreatedKey)).
    pub signing: Option<crate::signing::SigningMode>,
    /// A canary: it never authorizes, and a use of its full secret is reported
    /// (`canary.tripped`).
    pub canary: bool,
}

impl NewKey {
    /// A key named `name` with no scopes and no limits.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Issues a request-signing secret with the key, used in `mode`.
    #[must_use]
    pub fn signing(mut self, mode: crate::signing::SigningMode) -> Self {
        self.signing = Some(mode);
        self
    }

    /// Makes the key a canary: planted where a leak would show, it never authorizes, and a
    /// request with its full secret is answered like an unknown key's and reported.
    #[must_use]
    pub fn canary(mut self) -> Self {
        self.canary = true;
        self
    }

    /// Parses and sets the scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scopes = ScopeSet::parse(scopes)?;
        Ok(self)
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Sets the tenant.
    #[must_use]
    pub fn tenant(mut self, t: TenantId) -> Self {
        self.tenant = Some(t);
        self
    }

    /// Sets the owner.
    #[must_use]
    pub fn owner(mut self, o: impl Into<String>) -> Self {
        self.owner = Some(o.into());
        self
    }

    /// Sets the group.
    #[must_use]
    pub fn group(mut self, g: impl Into<String>) -> Self {
        self.group = Some(g.into());
        self
    }

    /// Sets the environment.
    #[must_use]
    pub fn environment(mut self, e: impl Into<String>) -> Self {
        self.environment = Some(e.into());
        self
    }

    /// Sets the tags.
    #[must_use]
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the aliases.
    #[must_use]
    pub fn aliases<I: IntoIterator<Item = S>, S: Into<String>>(mut self, aliases: I) -> Self {
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the expiry.
    #[must_use]
    pub fn expires_at(mut self, t: DateTime<Utc>) -> Self {
        self.expires_at = Some(t);
        self
    }

    /// Sets the start of validity.
    #[must_use]
    pub fn not_before(mut self, t: DateTime<Utc>) -> Self {
        self.not_before = Some(t);
        self
    }

    /// Parses and sets the network rules.
    pub fn ip_rules<A, D>(mut self, allow: A, deny: D) -> Result<Self>
    where
        A: IntoIterator,
        A::Item: AsRef<str>,
        D: IntoIterator,
        D::Item: AsRef<str>,
    {
        self.ip_rules = IpRules::parse(allow, deny)?;
        Ok(self)
    }

    /// Sets the key's rate.
    #[must_use]
    pub fn rate_limit(mut self, r: Rate) -> Self {
        self.rate_limit = Some(r);
        self
    }

    /// Adds an endpoint rate; the endpoint is canonicalised ([`Endpoint`](crate::limit::Endpoint)).
    #[must_use]
    pub fn endpoint_limit(
        mut self,
        endpoint: impl Into<crate::limit::Endpoint>,
        rate: Rate,
    ) -> Self {
        self.endpoint_limits
            .push(EndpointLimit::new(endpoint, rate));
        self
    }

    /// Sets the quota.
    #[must_use]
    pub fn quota(mut self, q: Quota) -> Self {
        self.quota = Some(q);
        self
    }

    /// Sets the metadata.
    #[must_use]
    pub fn metadata(mut self, m: Metadata) -> Self {
        self.metadata = m;
        self
    }

    /// Creates the key pending approval.
    #[must_use]
    pub fn require_approval(mut self) -> Self {
        self.require_approval = true;
        self
    }

    /// Checks every field; `now` is used for the expiry checks.
    pub(crate) fn validate(&mut self, now: DateTime<Utc>) -> Result<()> {
        use crate::manage::validate as v;
        v::name(&self.name)?;
        if let Some(d) = &self.description {
            v::text("description", d, v::MAX_DESCRIPTION_LEN)?;
        }
        for (field, value) in [
            ("owner", &self.owner),
            ("group", &self.group),
            ("environment", &self.environment),
        ] {
            if let Some(s) = value {
                v::label(field, s)?;
            }
        }
        self.tags = v::labels("tags", std::mem::take(&mut self.tags))?;
        self.aliases = v::labels("aliases", std::mem::take(&mut self.aliases))?;
        self.aliases
            .iter()
            .try_for_each(|a| super::organise::validate_alias(a))?;
        if let Some(t) = self.expires_at
            && t <= now
        {
            return Err(Error::invalid("expires_at", "must be in the future"));
        }
        if let (Some(nb), Some(exp)) = (self.not_before, self.expires_at)
            && nb >= exp
        {
            return Err(Error::invalid("not_before", "must be before expires_at"));
        }
        self.ip_rules.validate()?;
        if let Some(r) = &self.rate_limit {
            r.validate()?;
        }
        validate_endpoint_limits(&self.endpoint_limits)?;
        if let Some(q) = &self.quota {
            q.validate()?;
        }
        Ok(())
    }
}

pub(crate) fn validate_endpoint_limits(limits: &[EndpointLimit]) -> Result<()> {
    use crate::manage::validate as v;
    if limits.len() > v::MAX_ENDPOINT_LIMITS {
        return Err(Error::invalid(
            "endpoint limits",
            format_args!("at most {}", v::MAX_ENDPOINT_LIMITS),
        ));
    }
    for (i, l) in limits.iter().enumerate() {
        // Endpoints are canonical by construction, so spellings of one endpoint collide here.
        v::label("endpoint", l.endpoint.as_str())?;
        l.rate.validate()?;
        if limits[..i].iter().any(|o| o.endpoint == l.endpoint) {
            return Err(Error::invalid(
                "endpoint limits",
                format_args!("{:?} given twice", l.endpoint),
            ));
        }
    }
    Ok(())
}
