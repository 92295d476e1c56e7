//! The typed documents: [`KeyDoc`] (a key record as stored, and as embedded in events) and
//! [`EventDoc`] (an audit event), with their conversions from and to the core types.
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

use apikey_core::limit::{EndpointLimit, Quota, Rate};
use apikey_core::record::LegacyPrefix;
use apikey_core::{
    AuditEvent, Error, EventType, IpRules, KeyId, KeyRecord, KeyState, LookupId, Metadata,
    ScopeSet, StoredHash, TenantId,
};
use bson::{DateTime as BsonDate, Document, Uuid as BsonUuid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error;

/// A UUID as stored (binary subtype 4).
pub(crate) fn uuid(u: uuid::Uuid) -> BsonUuid {
    BsonUuid::from_bytes(u.into_bytes())
}

fn key_id(u: BsonUuid) -> KeyId {
    KeyId::from_uuid(uuid::Uuid::from_bytes(u.bytes()))
}

/// A timestamp as stored (a BSON date, milliseconds).
pub(crate) fn date(t: DateTime<Utc>) -> BsonDate {
    BsonDate::from_chrono(t)
}

fn chrono(t: BsonDate) -> DateTime<Utc> {
    t.to_chrono()
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u64_of(n: i64) -> u64 {
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventDoc {
    #[serde(rename = "_id")]
    pub(crate) id: BsonUuid,
    pub(crate) key_id: BsonUuid,
    tenant_id: Option<TenantId>,
    action: EventType,
    actor: Option<String>,
    reason: Option<String>,
    at: BsonDate,
    version: i64,
    before: Option<KeyDoc>,
    after: Option<KeyDoc>,
}

impl EventDoc {
    pub(crate) fn from_event(e: &AuditEvent) -> Self {
        Self {
            id: uuid(e.id),
            key_id: uuid(*e.key_id.as_uuid()),
            tenant_id: e.tenant_id.clone(),
            action: e.action,
            actor: e.actor.clone(),
            reason: e.reason.clone(),
            at: date(e.at),
            version: i64_of(e.version),
            before: e.before.as_deref().map(KeyDoc::from_record),
            after: e.after.as_deref().map(KeyDoc::from_record),
        }
    }

    pub(crate) fn into_event(self) -> Result<AuditEvent, Error> {
        Ok(AuditEvent {
            id: uuid::Uuid::from_bytes(self.id.bytes()),
            key_id: key_id(self.key_id),
            tenant_id: self.tenant_id,
            action: self.action,
            actor: self.actor,
            reason: self.reason,
            at: chrono(self.at),
            version: u64_of(self.version),
            before: self
                .before
                .map(KeyDoc::into_record)
                .transpose()?
                .map(Box::new),
            after: self
                .after
                .map(KeyDoc::into_record)
                .transpose()?
                .map(Box::new),
        })
    }

    pub(crate) fn to_document(&self) -> Result<Document, Error> {
        bson::to_document(self).map_err(|e| error::bson("encode audit event", e))
    }

    pub(crate) fn from_document(doc: Document) -> Result<Self, Error> {
        bson::from_document(doc).map_err(|e| error::bson("decode audit event", e))
    }
}

#[cfg(test)]
mod tests {
    use apikey_testkit::fixtures::{base_time, created, full_record};

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
        let e = created(&r);
        let doc = EventDoc::from_event(&e).to_document().unwrap();
        assert_eq!(
            EventDoc::from_document(doc).unwrap().into_event().unwrap(),
            e
        );
    }
}
