//! The webhook documents: [`SubscriptionDoc`] in `<prefix>webhook_subscriptions` and
//! [`DeliveryDoc`] in `<prefix>webhook_deliveries`, with their conversions from and to the core
//! types.
//!
//! The layout follows the key documents (see [`doc`](crate::doc)): ids (`_id`,
//! `subscription_id`, `event_id`) are BSON binary subtype 4 UUIDs, so binary order is UUID order
//! and `(…, _id)` sorts break ties like the SQL stores' `id`; instants are BSON dates
//! (milliseconds); `version` and `attempts` are `Int64`, `last_status` an `Int32`; `tenant_id`
//! is the tenant id or null; `state` is the stored name (`pending`, `delivered`, `failed`);
//! `events` is the filter's array of type names (empty: every type); the sealed secrets are the
//! strings given, verbatim. A subscription document has no `Debug`: it holds the sealed secrets.

use apikey_core::webhook::{Delivery, DeliveryState, EventFilter, Subscription, SubscriptionId};
use apikey_core::{Error, Result, TenantId};
use bson::{DateTime as BsonDate, Document, Uuid as BsonUuid};
use serde::{Deserialize, Serialize};

use crate::doc::{chrono, date, u64_of, uuid};
use crate::error;

fn plain(u: BsonUuid) -> uuid::Uuid {
    uuid::Uuid::from_bytes(u.bytes())
}

fn corrupt(what: &'static str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::backend(format!("decode webhook delivery: {what}"), e)
}

/// A subscription as stored. Field names are the [`Subscription`]'s, except `_id`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SubscriptionDoc {
    #[serde(rename = "_id")]
    id: BsonUuid,
    tenant_id: Option<TenantId>,
    url: String,
    events: EventFilter,
    enabled: bool,
    allow_http: bool,
    allow_private_network: bool,
    description: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<BsonDate>,
    created_at: BsonDate,
    updated_at: BsonDate,
    version: i64,
}

impl SubscriptionDoc {
    /// `s` as stored, at `version` (the store sets it: 1 on insert, expected + 1 on update).
    pub(crate) fn from_subscription(s: &Subscription, version: i64) -> Self {
        Self {
            id: uuid(s.id.0),
            tenant_id: s.tenant_id.clone(),
            url: s.url.clone(),
            events: s.events.clone(),
            enabled: s.enabled,
            allow_http: s.allow_http,
            allow_private_network: s.allow_private_network,
            description: s.description.clone(),
            secret: s.secret.clone(),
            previous_secret: s.previous_secret.clone(),
            previous_until: s.previous_until.map(date),
            created_at: date(s.created_at),
            updated_at: date(s.updated_at),
            version,
        }
    }

    fn into_subscription(self) -> Subscription {
        Subscription {
            id: SubscriptionId(plain(self.id)),
            tenant_id: self.tenant_id,
            url: self.url,
            events: self.events,
            enabled: self.enabled,
            allow_http: self.allow_http,
            allow_private_network: self.allow_private_network,
            description: self.description,
            secret: self.secret,
            previous_secret: self.previous_secret,
            previous_until: self.previous_until.map(chrono),
            created_at: chrono(self.created_at),
            updated_at: chrono(self.updated_at),
            version: u64_of(self.version),
        }
    }

    /// The document; fails only on values BSON cannot hold (the message names no value).
    pub(crate) fn to_document(&self) -> Result<Document> {
        bson::to_document(self).map_err(|e| error::bson("encode webhook subscription", e))
    }

    /// A stored subscription as the core type; anything malformed is `Backend`.
    pub(crate) fn decode(doc: Document) -> Result<Subscription> {
        bson::from_document::<Self>(doc)
            .map(Self::into_subscription)
            .map_err(|e| error::bson("decode webhook subscription", e))
    }
}

/// A delivery as stored. Field names are the [`Delivery`]'s, except `_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeliveryDoc {
    #[serde(rename = "_id")]
    id: BsonUuid,
    subscription_id: BsonUuid,
    tenant_id: Option<TenantId>,
    event_id: BsonUuid,
    event_type: String,
    payload: String,
    state: DeliveryState,
    attempts: i64,
    created_at: BsonDate,
    next_attempt_at: Option<BsonDate>,
    give_up_at: BsonDate,
    last_attempt_at: Option<BsonDate>,
    last_status: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<BsonDate>,
}

impl DeliveryDoc {
    pub(crate) fn from_delivery(d: &Delivery) -> Self {
        Self {
            id: uuid(d.id),
            subscription_id: uuid(d.subscription_id.0),
            tenant_id: d.tenant_id.clone(),
            event_id: uuid(d.event_id),
            event_type: d.event_type.clone(),
            payload: d.payload.clone(),
            state: d.state,
            attempts: i64::from(d.attempts),
            created_at: date(d.created_at),
            next_attempt_at: d.next_attempt_at.map(date),
            give_up_at: date(d.give_up_at),
            last_attempt_at: d.last_attempt_at.map(date),
            last_status: d.last_status.map(i32::from),
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at.map(date),
        }
    }

    fn into_delivery(self) -> Result<Delivery> {
        let last_status = self
            .last_status
            .map(|s| u16::try_from(s).map_err(|e| corrupt("last_status", e)))
            .transpose()?;
        Ok(Delivery {
            id: plain(self.id),
            subscription_id: SubscriptionId(plain(self.subscription_id)),
            tenant_id: self.tenant_id,
            event_id: plain(self.event_id),
            event_type: self.event_type,
            payload: self.payload,
            state: self.state,
            attempts: u32::try_from(self.attempts).map_err(|e| corrupt("attempts", e))?,
            created_at: chrono(self.created_at),
            next_attempt_at: self.next_attempt_at.map(chrono),
            give_up_at: chrono(self.give_up_at),
            last_attempt_at: self.last_attempt_at.map(chrono),
            last_status,
            last_error: self.last_error,
            delivered_at: self.delivered_at.map(chrono),
        })
    }

    pub(crate) fn to_document(&self) -> Result<Document> {
        bson::to_document(self).map_err(|e| error::bson("encode webhook delivery", e))
    }

    /// A stored delivery as the core type; anything malformed is `Backend`.
    pub(crate) fn decode(doc: Document) -> Result<Delivery> {
        bson::from_document::<Self>(doc)
            .map_err(|e| error::bson("decode webhook delivery", e))?
            .into_delivery()
    }
}

/// The attempt fields of `d` as a `$set` (what [`record_attempt`] writes, and nothing else).
///
/// [`record_attempt`]: apikey_core::webhook::WebhookStore::record_attempt
pub(crate) fn attempt_fields(d: &Delivery) -> Result<Document> {
    let full = DeliveryDoc::from_delivery(d).to_document()?;
    let mut set = Document::new();
    for field in [
        "state",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status",
        "last_error",
        "delivered_at",
    ] {
        let value = full
            .get(field)
            .cloned()
            .ok_or_else(|| error::bson("encode webhook attempt", "field missing"))?;
        set.insert(field, value);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use apikey_core::ErrorKind;
    use apikey_core::webhook::AttemptOutcome;
    use apikey_testkit::webhooks::{at, delivery, subscription};
    use bson::Bson;
    use bson::spec::BinarySubtype;

    use super::*;

    fn is_uuid(v: Option<&Bson>) -> bool {
        matches!(v, Some(Bson::Binary(b)) if b.subtype == BinarySubtype::Uuid)
    }

    #[test]
    fn subscriptions_round_trip_typed() {
        let s = subscription(Some("acme"), 3);
        let doc = SubscriptionDoc::from_subscription(&s, 1)
            .to_document()
            .unwrap();
        assert!(is_uuid(doc.get("_id")), "{:?}", doc.get("_id"));
        for f in ["previous_until", "created_at", "updated_at"] {
            assert!(matches!(doc.get(f), Some(Bson::DateTime(_))), "{f}");
        }
        assert!(matches!(doc.get("version"), Some(Bson::Int64(1))));
        assert!(matches!(doc.get("events"), Some(Bson::Array(_))));
        assert_eq!(doc.get_str("secret").unwrap(), s.secret, "sealed, verbatim");
        assert_eq!(SubscriptionDoc::decode(doc).unwrap(), s);

        let mut bare = subscription(None, 0);
        bare.previous_secret = None;
        bare.previous_until = None;
        bare.description = None;
        let doc = SubscriptionDoc::from_subscription(&bare, 1)
            .to_document()
            .unwrap();
        assert_eq!(doc.get("tenant_id"), Some(&Bson::Null));
        assert_eq!(SubscriptionDoc::decode(doc).unwrap(), bare);
    }

    #[test]
    fn deliveries_round_trip_typed() {
        let s = subscription(Some("acme"), 0);
        let mut d = delivery(&s, 5);
        let doc = DeliveryDoc::from_delivery(&d).to_document().unwrap();
        for f in ["_id", "subscription_id", "event_id"] {
            assert!(is_uuid(doc.get(f)), "{f}");
        }
        assert_eq!(doc.get_str("state").unwrap(), "pending");
        assert!(matches!(
            doc.get("next_attempt_at"),
            Some(Bson::DateTime(_))
        ));
        assert_eq!(DeliveryDoc::decode(doc).unwrap(), d);
        d.record(at(9), &AttemptOutcome::answered(503), Some(at(99)));
        let doc = DeliveryDoc::from_delivery(&d).to_document().unwrap();
        assert!(matches!(doc.get("last_status"), Some(Bson::Int32(503))));
        assert!(matches!(doc.get("attempts"), Some(Bson::Int64(1))));
        assert_eq!(DeliveryDoc::decode(doc).unwrap(), d);

        let set = attempt_fields(&d).unwrap();
        let keys: Vec<&str> = set.keys().map(String::as_str).collect();
        assert!(
            !keys.contains(&"payload") && !keys.contains(&"_id"),
            "{keys:?}"
        );
        assert_eq!(keys.len(), 7, "{keys:?}");
    }

    #[test]
    fn malformed_deliveries_are_backend_errors() {
        let s = subscription(Some("acme"), 0);
        let good = DeliveryDoc::from_delivery(&delivery(&s, 0))
            .to_document()
            .unwrap();
        for (field, value) in [
            ("state", Bson::from("exploded")),
            ("attempts", Bson::Int64(-1)),
            ("last_status", Bson::Int32(70_000)),
            ("_id", Bson::from("not a uuid")),
        ] {
            let mut bad = good.clone();
            bad.insert(field, value);
            let err = DeliveryDoc::decode(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Backend, "{field}");
        }
    }
}
