//! The public view of a key: what may leave the process about it.
//!
//! Audit records, key events, webhooks, exports of the log and the management service carry a
//! [`KeyView`], never a [`KeyRecord`]. The view is the record without the stored hash, the
//! legacy prefix — the only fields derived from the secret — and the sealed signing secret (only
//! its mode shows), and nothing here can be turned back
//! into either. A record gains a field: the view gains it in the same change, or the field stays
//! private, by decision rather than by accident (the test below names every field).
//!
//! The field names are the record's, so an audit row written before the view existed (a whole
//! record) reads as a view: serde skips the two private fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{KeyId, LookupId, TenantId};
use crate::ip::IpRules;
use crate::limit::{EndpointLimit, Quota, Rate};
use crate::metadata::Metadata;
use crate::record::KeyRecord;
use crate::scope::ScopeSet;
use crate::signing::SigningMode;
use crate::state::KeyState;

/// A key's public fields (see the [module docs](self)). Built with `KeyView::from(&record)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyView {
    /// Stable private id.
    pub id: KeyId,
    /// The tenant that owns the key.
    pub tenant_id: Option<TenantId>,
    /// Public lookup id.
    pub lookup_id: LookupId,
    /// Human-readable name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Owner identifier.
    pub owner: Option<String>,
    /// Group.
    pub group: Option<String>,
    /// Deployment environment.
    pub environment: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Stored lifecycle state.
    pub state: KeyState,
    /// Why the key was revoked, suspended or rejected.
    pub state_reason: Option<String>,
    /// When the state last changed.
    pub state_changed_at: Option<DateTime<Utc>>,
    /// Who approved or rejected it.
    pub approved_by: Option<String>,
    /// Not usable before this instant.
    pub not_before: Option<DateTime<Utc>>,
    /// Not usable after this instant.
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed and denied client networks.
    pub ip_rules: IpRules,
    /// The key's own rate.
    pub rate_limit: Option<Rate>,
    /// Rates per endpoint.
    pub endpoint_limits: Vec<EndpointLimit>,
    /// Calendar quota.
    pub quota: Option<Quota>,
    /// Free-form JSON.
    pub metadata: Metadata,
    /// The key this one was rotated or cloned from.
    pub rotated_from: Option<KeyId>,
    /// The key that replaced this one.
    pub rotated_to: Option<KeyId>,
    /// After a rotation, the old key works until this instant.
    pub grace_until: Option<DateTime<Utc>>,
    /// The first key of the rotation lineage.
    pub lineage_id: KeyId,
    /// The template the key was created from.
    pub template: Option<String>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last management change.
    pub updated_at: DateTime<Utc>,
    /// Last successful verification (coarse).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Successful verifications recorded.
    pub usage_count: u64,
    /// Version after the change.
    pub version: u64,
    /// How the key uses request signatures, if it has a signing secret (the secret itself is
    /// private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningMode>,
    /// Whether the key is a canary.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

impl From<&KeyRecord> for KeyView {
    fn from(r: &KeyRecord) -> Self {
        // Destructured, so a new record field fails to compile here until it is placed.
        let KeyRecord {
            id,
            tenant_id,
            lookup_id,
            legacy_lookup: _,
            hash: _,
            name,
            description,
            owner,
            group,
            environment,
            tags,
            aliases,
            scopes,
            state,
            state_reason,
            state_changed_at,
            approved_by,
            not_before,
            expires_at,
            ip_rules,
            rate_limit,
            endpoint_limits,
            quota,
            metadata,
            rotated_from,
            rotated_to,
            grace_until,
            lineage_id,
            template,
            created_by,
            created_at,
            updated_at,
            last_used_at,
            usage_count,
            version,
            protection,
        } = r;
        Self {
            id: *id,
            tenant_id: tenant_id.clone(),
            lookup_id: *lookup_id,
            name: name.clone(),
            description: description.clone(),
            owner: owner.clone(),
            group: group.clone(),
            environment: environment.clone(),
            tags: tags.clone(),
            aliases: aliases.clone(),
            scopes: scopes.clone(),
            state: *state,
            state_reason: state_reason.clone(),
            state_changed_at: *state_changed_at,
            approved_by: approved_by.clone(),
            not_before: *not_before,
            expires_at: *expires_at,
            ip_rules: ip_rules.clone(),
            rate_limit: *rate_limit,
            endpoint_limits: endpoint_limits.clone(),
            quota: *quota,
            metadata: metadata.clone(),
            rotated_from: *rotated_from,
            rotated_to: *rotated_to,
            grace_until: *grace_until,
            lineage_id: *lineage_id,
            template: template.clone(),
            created_by: created_by.clone(),
            created_at: *created_at,
            updated_at: *updated_at,
            last_used_at: *last_used_at,
            usage_count: *usage_count,
            version: *version,
            signing: protection.signing_mode(),
            canary: protection.canary,
        }
    }
}

impl From<KeyRecord> for KeyView {
    fn from(r: KeyRecord) -> Self {
        Self::from(&r)
    }
}
