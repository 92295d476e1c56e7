//! [`ViewDoc`]: a key's [public view](apikey_core::KeyView) as embedded in an audit event's
//! `before` and `after`.
//!
//! The field names and value layout are [`KeyDoc`](crate::doc::KeyDoc)'s (binary UUIDs, BSON
//! dates, `Int64` counters, `metadata` as JSON text) without `hash` and `legacy_lookup`, the only
//! fields derived from the secret. Events written before audit v2 embedded whole key documents;
//! unknown fields are ignored on read, so such a document reads as a view too, and
//! [`migrate_v2`](crate::migrate_v2) removes the two secret-derived fields from the stored ones.

use apikey_core::limit::{EndpointLimit, Quota, Rate};
use apikey_core::signing::SigningMode;
use apikey_core::{Error, IpRules, KeyState, KeyView, LookupId, Metadata, ScopeSet, TenantId};
use bson::{DateTime as BsonDate, Uuid as BsonUuid};
use serde::{Deserialize, Serialize};

use crate::doc::{chrono, date, i64_of, key_id, u64_of, uuid};

/// A key view as a document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ViewDoc {
    #[serde(rename = "_id")]
    id: BsonUuid,
    tenant_id: Option<TenantId>,
    lookup_id: LookupId,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signing: Option<SigningMode>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    canary: bool,
}

impl ViewDoc {
    pub(crate) fn from_view(v: &KeyView) -> Self {
        Self {
            id: uuid(*v.id.as_uuid()),
            tenant_id: v.tenant_id.clone(),
            lookup_id: v.lookup_id,
            name: v.name.clone(),
            description: v.description.clone(),
            owner: v.owner.clone(),
            group: v.group.clone(),
            environment: v.environment.clone(),
            tags: v.tags.clone(),
            aliases: v.aliases.clone(),
            scopes: v.scopes.clone(),
            state: v.state,
            state_reason: v.state_reason.clone(),
            state_changed_at: v.state_changed_at.map(date),
            approved_by: v.approved_by.clone(),
            not_before: v.not_before.map(date),
            expires_at: v.expires_at.map(date),
            ip_rules: v.ip_rules.clone(),
            rate_limit: v.rate_limit,
            endpoint_limits: v.endpoint_limits.clone(),
            quota: v.quota,
            metadata: v.metadata.to_json(),
            rotated_from: v.rotated_from.map(|k| uuid(*k.as_uuid())),
            rotated_to: v.rotated_to.map(|k| uuid(*k.as_uuid())),
            grace_until: v.grace_until.map(date),
            lineage_id: uuid(*v.lineage_id.as_uuid()),
            template: v.template.clone(),
            created_by: v.created_by.clone(),
            created_at: date(v.created_at),
            updated_at: date(v.updated_at),
            last_used_at: v.last_used_at.map(date),
            usage_count: i64_of(v.usage_count),
            version: i64_of(v.version),
            signing: v.signing,
            canary: v.canary,
        }
    }

    pub(crate) fn into_view(self) -> Result<KeyView, Error> {
        Ok(KeyView {
            id: key_id(self.id),
            tenant_id: self.tenant_id,
            lookup_id: self.lookup_id,
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
            signing: self.signing,
            canary: self.canary,
        })
    }
}
