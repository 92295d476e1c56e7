//! A webhook subscription: where a tenant's events go, which of them, and the sealed secrets
//! they are signed with.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::payload::PING;
use crate::audit::EventType;
use crate::error::{Error, Result};
use crate::ids::TenantId;

/// The id of a [`Subscription`]: a UUIDv7, shown plain so it pastes into any tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriptionId(pub Uuid);

impl SubscriptionId {
    /// A fresh id, ordered by creation time.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SubscriptionId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| Error::invalid("subscription id", "is not a UUID"))
    }
}

/// Which event types a subscription receives: all of them, or the listed ones (validated
/// against [`EventType::ALL`], so a typo is an error at subscription time, not silence).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    /// Every event type.
    pub fn all() -> Self {
        Self(Vec::new())
    }

    /// Only `types` (dotted names such as `key.revoked`); `InvalidInput` naming an unknown one.
    /// An empty list means every type.
    pub fn only<I, S>(types: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names = Vec::new();
        for t in types {
            let t = t.as_ref().trim();
            if t.is_empty() {
                continue;
            }
            let parsed = EventType::from_str(t).map_err(|_| {
                Error::invalid(
                    "webhook events",
                    format_args!(
                        "unknown event type {t:?}; `apikey webhooks create --help` lists them"
                    ),
                )
            })?;
            names.push(parsed.as_str().to_owned());
        }
        names.sort();
        names.dedup();
        Ok(Self(names))
    }

    /// Whether an event of type `name` is delivered (a `ping` always is).
    pub fn admits(&self, name: &str) -> bool {
        name == PING || self.0.is_empty() || self.0.iter().any(|t| t == name)
    }

    /// The listed types; empty for every type.
    pub fn types(&self) -> &[String] {
        &self.0
    }
}

/// Where a tenant's events go. The signing secrets are kept sealed (`sb1.…`, see
/// [`SecretBox`](crate::secret_box::SecretBox)) under the [binding](Self::binding) of this
/// subscription, so a store never holds one in the clear and a value copied to another row does
/// not open.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// The tenant whose events it receives (and who alone sees it); `None` for the events that
    /// belong to no tenant.
    pub tenant_id: Option<TenantId>,
    /// The target URL (checked by `apikey-webhooks` when the subscription is made and again at
    /// every delivery).
    pub url: String,
    /// Which events.
    pub events: EventFilter,
    /// Whether events are delivered; a disabled subscription enqueues nothing.
    pub enabled: bool,
    /// Whether `http://` is allowed (HTTPS otherwise).
    pub allow_http: bool,
    /// Whether loopback, private and link-local addresses are allowed (local development and
    /// tests); refused otherwise.
    pub allow_private_network: bool,
    /// A note for people.
    pub description: Option<String>,
    /// The current signing secret, sealed.
    pub secret: String,
    /// The secret before the last rotation, sealed, still signing alongside the current one until
    /// [`previous_until`](Self::previous_until).
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs too.
    pub previous_until: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Increases with every change (compare-and-set); 1 when created.
    pub version: u64,
}

impl Subscription {
    /// The secret-box owner of this subscription's secrets (see [`SIGNING_PURPOSE`](super::SIGNING_PURPOSE)).
    pub fn binding_owner(id: SubscriptionId) -> String {
        format!("webhook_subscription:{id}")
    }

    /// Whether an event of `tenant` and type `name` goes to this subscription: same tenant,
    /// enabled, admitted by the filter.
    pub fn wants(&self, tenant: Option<&TenantId>, name: &str) -> bool {
        self.enabled && self.tenant_id.as_ref() == tenant && self.events.admits(name)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("allow_http", &self.allow_http)
            .field("allow_private_network", &self.allow_private_network)
            .field("secret", &"<sealed>")
            .field(
                "previous_secret",
                &self.previous_secret.as_ref().map(|_| "<sealed>"),
            )
            .field("previous_until", &self.previous_until)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_validate_and_admit() {
        let f = EventFilter::only(["key.revoked", " key.created", "key.revoked", ""]).unwrap();
        assert_eq!(f.types(), ["key.created", "key.revoked"]);
        assert!(f.admits("key.revoked"));
        assert!(f.admits(PING));
        assert!(!f.admits("key.updated"));
        assert!(EventFilter::all().admits("key.updated"));
        let err = EventFilter::only(["key.revokd"]).unwrap_err();
        assert!(err.to_string().contains("key.revokd"), "{err}");
    }

    #[test]
    fn ids_parse() {
        let id = SubscriptionId::generate();
        assert_eq!(id.to_string().parse::<SubscriptionId>().unwrap(), id);
        assert!("nope".parse::<SubscriptionId>().is_err());
    }
}
