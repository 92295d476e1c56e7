//! The typed documents: [`KeyDoc`] (a key record as stored) and [`EventDoc`] (an audit event,
//! embedding the key's public view as a [`ViewDoc`]), with their conversions from and to the core
//! types.
//!
//! Layout choices, documented in the crate README:
//! - ids (`_id`, `lineage_id`, `rotated_from`/`rotated_to`, event `_id` and `key_id`) are BSON
//!   binary subtype 4 UUIDs: 16 bytes, and binary order equals the UUID order the keyset
//!   pagination relies on;
//! - timestamps are BSON dates (milliseconds since the epoch, the precision of the workspace);
//! - counters (`version`, `usage_count`) are `Int64`;
//! - `metadata` is stored as its JSON text: its keys are arbitrary user strings (`$where`, dotted
//!   names, NUL) that BSON field names cannot all carry and that update operators would treat
//!   specially, and no filter reads inside it;
//! - the nested value types (hash, scopes, IP rules, limits, quota, state) use their serde form.

use apikey_core::audit::ChainLink;
use apikey_core::limit::{EndpointLimit, Quota, Rate};
use apikey_core::record::LegacyPrefix;
use apikey_core::signing::Protection;
use apikey_core::{
    AuditEvent, Error, EventSubject, EventType, IpRules, KeyId, KeyRecord, KeyState, KeyView,
    LookupId, Metadata, ScopeSet, StoredHash, TenantId,
};
use bson::{DateTime as BsonDate, Document, Uuid as BsonUuid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error;
use crate::view_doc::ViewDoc;

/// A UUID as stored (binary subtype 4).
pub(crate) fn uuid(u: uuid::Uuid) -> BsonUuid {
    BsonUuid::from_bytes(u.into_bytes())
}

pub(crate) fn key_id(u: BsonUuid) -> KeyId {
    KeyId::from_uuid(uuid::Uuid::from_bytes(u.bytes()))
}

/// A timestamp as stored (a BSON date, milliseconds).
pub(crate) fn date(t: DateTime<Utc>) -> BsonDate {
    BsonDate::from_chrono(t)
}

pub(crate) fn chrono(t: BsonDate) -> DateTime<Utc> {
    t.to_chrono()
}

pub(crate) fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn u64_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A key record as a document. Field names are the record's, except `_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyDoc {
    #[serde(rename = "_id")]
    id: BsonUuid,
    tenant_id: Option<TenantId>,
    lookup_id: LookupId,
    /// Stored as null when absent, so an update that clears it overwrites the old prefix.
    #[serde(default)]
    legacy_lookup: Option<LegacyPrefix>,
    hash: StoredHash,
    name: String,
    description: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    environment: Option<String>,
    tags: Vec<String>,
    aliases: Vec<String>,
    scopes: ScopeSet,
    state: KeyState,
    state_reason: Option<String>,
    state_changed_at: Option<BsonDate>,
    approved_by: Option<String>,
    not_before: Option<BsonDate>,
    expires_at: Option<BsonDate>,
    ip_rules: IpRules,
    rate_limit: Option<Rate>,
    endpoint_limits: Vec<EndpointLimit>,
    quota: Option<Quota>,
    metadata: String,
    rotated_from: Option<BsonUuid>,
    rotated_to: Option<BsonUuid>,
    grace_until: Option<BsonDate>,
    lineage_id: BsonUuid,
    template: Option<String>,
    created_by: Option<String>,
    created_at: BsonDate,
    updated_at: BsonDate,
    last_used_at: Option<BsonDate>,
    usage_count: i64,
    version: i64,
    /// Signing (its secret sealed) and canary status; null when the key has neither, so an
    /// update that clears them overwrites the old value. Documents from before it read as none.
    #[serde(default)]
    protection: Option<Protection>,
}

impl KeyDoc {
    pub(crate) fn from_record(r: &KeyRecord) -> Self {
        Self {
            id: uuid(*r.id.as_uuid()),
            tenant_id: r.tenant_id.clone(),
            lookup_id: r.lookup_id,
            legacy_lookup: r.legacy_lookup.clone(),
            hash: r.hash.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            owner: r.owner.clone(),
            group: r.group.clone(),
            environment: r.environment.clone(),
            tags: r.tags.clone(),
            aliases: r.aliases.clone(),
            scopes: r.scopes.clone(),
            state: r.state,
            state_reason: r.state_reason.clone(),
            state_changed_at: r.state_changed_at.map(date),
            approved_by: r.approved_by.clone(),
            not_before: r.not_before.map(date),
            expires_at: r.expires_at.map(date),
            ip_rules: r.ip_rules.clone(),
            rate_limit: r.rate_limit,
            endpoint_limits: r.endpoint_limits.clone(),
            quota: r.quota,
            metadata: r.metadata.to_json(),
            rotated_from: r.rotated_from.map(|k| uuid(*k.as_uuid())),
            rotated_to: r.rotated_to.map(|k| uuid(*k.as_uuid())),
            grace_until: r.grace_until.map(date),
            lineage_id: uuid(*r.lineage_id.as_uuid()),
            template: r.template.clone(),
            created_by: r.created_by.clone(),
            created_at: date(r.created_at),
            updated_at: date(r.updated_at),
            last_used_at: r.last_used_at.map(date),
            usage_count: i64_of(r.usage_count),
            version: i64_of(r.version),
            protection: (!r.protection.is_none()).then(|| r.protection.clone()),
        }
    }

    pub(crate) fn into_record(self) -> Result<KeyRecord, Error> {
        Ok(KeyRecord {
            id: key_id(self.id),
            tenant_id: self.tenant_id,
            lookup_id: self.lookup_id,
            legacy_lookup: self.legacy_lookup,
            hash: self.hash,
            name: self.name,
            description: self.description,
            owner: self.owner,
            group: self.group,
            environment: self.environment,
            tags: self.tags,
            aliases: self.aliases,
            scopes: self.scopes,
            state: self.state,
            state_reason: self.state_reason,
            state_changed_at: self.state_changed_at.map(chrono),
            approved_by: self.approved_by,
            not_before: self.not_before.map(chrono),
            expires_at: self.expires_at.map(chrono),
            ip_rules: self.ip_rules,
            rate_limit: self.rate_limit,
            endpoint_limits: self.endpoint_limits,
            quota: self.quota,
            metadata: Metadata::from_json(&self.metadata)?,
            rotated_from: self.rotated_from.map(key_id),
            rotated_to: self.rotated_to.map(key_id),
            grace_until: self.grace_until.map(chrono),
            lineage_id: key_id(self.lineage_id),
            template: self.template,
            created_by: self.created_by,
            created_at: chrono(self.created_at),
            updated_at: chrono(self.updated_at),
            last_used_at: self.last_used_at.map(chrono),
            usage_count: u64_of(self.usage_count),
            version: u64_of(self.version),
            protection: self.protection.unwrap_or_default(),
        })
    }

    /// The document; fails only on values BSON cannot hold.
    pub(crate) fn to_document(&self) -> Result<Document, Error> {
        bson::to_document(self).map_err(|e| error::bson("encode key", e))
    }

    /// Reads a stored key document (extra bookkeeping fields are ignored).
    pub(crate) fn record_from(doc: Document) -> Result<KeyRecord, Error> {
        bson::from_document::<Self>(doc)
            .map_err(|e| error::bson("decode key", e))?
            .into_record()
    }
}

/// An audit event as a document, in the audit collection and in a key's `pending_events`.
///
/// The subject is two strings (`subject_kind`, `subject_id`) so a filter reads either; `key_id`
/// (binary UUID) is set only when the subject is a key, so the `(key_id, at, _id)` index serves a
/// key's history as it did before audit v2. `position` is absent while the event is pending and
/// set when it is settled (see [`positions`](crate::positions)). `data` is JSON text (see
/// [`data_text`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventDoc {
    #[serde(rename = "_id")]
    pub(crate) id: BsonUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) position: Option<i64>,
    event_type: String,
    subject_kind: Option<String>,
    subject_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key_id: Option<BsonUuid>,
    tenant_id: Option<TenantId>,
    actor: Option<String>,
    reason: Option<String>,
    at: BsonDate,
    version: i64,
    before: Option<ViewDoc>,
    after: Option<ViewDoc>,
    #[serde(default)]
    data: Option<String>,
    /// The chain link as its JSON text (see `apikey_core::audit::chain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chain: Option<String>,
}

/// `data` as stored: its JSON text. BSON cannot hold every JSON value — an integer above
/// `i64::MAX` has no BSON type, an object key with NUL is not a valid BSON field name, and keys
/// starting with `$` or holding dots are refused or treated specially by some servers — and no
/// filter reads inside `data`, so it is kept as text like `metadata`. The crate enables
/// `serde_json/float_roundtrip` so every float reads back bit-for-bit.
fn data_text(v: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| error::bson("encode event data", e))
}

fn malformed(what: &str) -> Error {
    Error::backend(
        format!("decode audit event: {what}"),
        "malformed stored event",
    )
}

/// An embedded view as the core type; bad stored metadata is the store's fault, so `Backend`.
fn view(v: ViewDoc) -> Result<Box<KeyView>, Error> {
    v.into_view()
        .map(Box::new)
        .map_err(|e| Error::backend("decode audit event: key view", e))
}

impl EventDoc {
    pub(crate) fn from_event(e: &AuditEvent) -> Result<Self, Error> {
        Ok(Self {
            id: uuid(e.id),
            position: e.position.map(i64_of),
            event_type: e.event_type.as_str().to_owned(),
            subject_kind: e.subject.as_ref().map(|s| s.kind().to_owned()),
            subject_id: e.subject.as_ref().map(EventSubject::id),
            key_id: e.key_id().map(|k| uuid(*k.as_uuid())),
            tenant_id: e.tenant_id.clone(),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
            at: date(e.at),
            version: i64_of(e.version),
            before: e.before.as_deref().map(ViewDoc::from_view),
            after: e.after.as_deref().map(ViewDoc::from_view),
            data: e.data.as_ref().map(data_text).transpose()?,
            chain: e.chain.as_ref().map(ChainLink::to_text),
        })
    }

    pub(crate) fn into_event(self) -> Result<AuditEvent, Error> {
        let event_type: EventType = self
            .event_type
            .parse()
            .map_err(|_| malformed("unknown event type"))?;
        let subject = match (self.subject_kind, self.subject_id) {
            (None, None) => None,
            (Some(kind), Some(id)) => {
                Some(EventSubject::parse(&kind, &id).map_err(|_| malformed("bad subject"))?)
            }
            _ => return Err(malformed("subject kind without id or id without kind")),
        };
        let position = match self.position {
            None => None,
            Some(p) => Some(u64::try_from(p).map_err(|_| malformed("negative position"))?),
        };
        let data = match self.data {
            None => None,
            Some(text) => {
                Some(serde_json::from_str(&text).map_err(|e| error::bson("decode event data", e))?)
            }
        };
        Ok(AuditEvent {
            id: uuid::Uuid::from_bytes(self.id.bytes()),
            position,
            event_type,
            subject,
            tenant_id: self.tenant_id,
            actor: self.actor,
            reason: self.reason,
            at: chrono(self.at),
            version: u64_of(self.version),
            before: self.before.map(view).transpose()?,
            after: self.after.map(view).transpose()?,
            data,
            chain: self
                .chain
                .map(|t| ChainLink::from_text(&t))
                .transpose()
                .map_err(|_| malformed("bad chain link"))?,
        })
    }

    pub(crate) fn to_document(&self) -> Result<Document, Error> {
        bson::to_document(self).map_err(|e| error::bson("encode audit event", e))
    }

    /// Reads a stored event; one written before audit v2 is upgraded first (see
    /// [`migrate_v2::upgrade`](crate::migrate_v2::upgrade)).
    pub(crate) fn from_document(doc: Document) -> Result<Self, Error> {
        let doc = crate::migrate_v2::upgrade(doc)?;
        bson::from_document(doc).map_err(|e| error::bson("decode audit event", e))
    }

    /// A stored event as the core type.
    pub(crate) fn decode(doc: Document) -> Result<AuditEvent, Error> {
        Self::from_document(doc)?.into_event()
    }
}

#[cfg(test)]
mod tests {
    use apikey_core::TenantId;
    use apikey_testkit::fixtures::{base_time, created, full_record, updated};
    use serde_json::json;

    use super::*;

    #[test]
    fn records_and_events_round_trip_through_bson() {
        let r = full_record(None, base_time());
        let doc = KeyDoc::from_record(&r).to_document().unwrap();
        assert!(
            matches!(doc.get("_id"), Some(bson::Bson::Binary(b)) if b.subtype == bson::spec::BinarySubtype::Uuid)
        );
        assert!(matches!(
            doc.get("created_at"),
            Some(bson::Bson::DateTime(_))
        ));
        assert_eq!(KeyDoc::record_from(doc).unwrap(), r);
        let mut next = r.clone();
        next.version += 1;
        next.name = "renamed".into();
        for mut e in [created(&r), updated(&r, &next)] {
            let doc = EventDoc::from_event(&e).unwrap().to_document().unwrap();
            assert!(doc.get("hash").is_none() && !format!("{doc:?}").contains("legacy_lookup"));
            assert_eq!(doc.get_str("event_type").unwrap(), e.event_type.as_str());
            assert_eq!(doc.get_str("subject_kind").unwrap(), "key");
            assert!(doc.get("key_id").is_some());
            assert_eq!(EventDoc::decode(doc.clone()).unwrap(), e);
            let mut positioned = doc;
            positioned.insert("position", 7_i64);
            e.position = Some(7);
            assert_eq!(EventDoc::decode(positioned).unwrap(), e);
        }
    }

    #[test]
    fn system_event_data_reads_back_equal() {
        let data = json!({
            "big": u64::MAX,
            "neg": i64::MIN,
            "float": 0.1 + 0.2,
            "tiny": 5e-324,
            "text": "ünï 🔑 \u{0} \"q\"",
            "$where": {"a.b": [1, null, true, 1.5]},
            "nul\u{0}key": 1,
        });
        let e = AuditEvent::system(
            EventType::QuotaThreshold,
            Some(EventSubject::Owner("team «ops»".into())),
            Some(TenantId::new("acme").unwrap()),
            base_time(),
            Some(data),
            &["x"],
        );
        let doc = EventDoc::from_event(&e).unwrap().to_document().unwrap();
        assert!(doc.get("key_id").is_none(), "only key subjects set key_id");
        assert_eq!(EventDoc::decode(doc).unwrap(), e);
        let none = AuditEvent::system(EventType::AuthFailures, None, None, base_time(), None, &[]);
        let doc = EventDoc::from_event(&none).unwrap().to_document().unwrap();
        assert_eq!(EventDoc::decode(doc).unwrap(), none);
    }

    #[test]
    fn malformed_stored_events_are_backend_errors() {
        let e = created(&full_record(None, base_time()));
        let good = EventDoc::from_event(&e).unwrap().to_document().unwrap();
        for (field, value) in [
            ("event_type", bson::Bson::from("key.exploded")),
            ("subject_kind", bson::Bson::from("planet")),
            ("subject_id", bson::Bson::Null),
            ("position", bson::Bson::Int64(-1)),
            ("data", bson::Bson::from("{not json")),
        ] {
            let mut bad = good.clone();
            bad.insert(field, value);
            let err = EventDoc::decode(bad).unwrap_err();
            assert_eq!(err.kind(), apikey_core::ErrorKind::Backend, "{field}");
        }
    }
}
