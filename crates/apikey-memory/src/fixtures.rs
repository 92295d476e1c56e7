//! Test fixtures shared by the unit tests: plain records and events without any hashing.

use apikey_core::{
    AuditEvent, EventType, IpRules, KeyId, KeyRecord, KeyState, LookupId, Metadata, ScopeSet,
    StoredHash, TenantId,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A fixed instant far from calendar edges.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 15, 12, 0, 0).unwrap()
}

/// An active record created `secs` after [`t0`], optionally in `tenant`.
pub(crate) fn record(tenant: Option<&str>, secs: i64) -> KeyRecord {
    let id = KeyId::new();
    let created = t0() + Duration::seconds(secs);
    KeyRecord {
        id,
        tenant_id: tenant.map(|t| TenantId::new(t).unwrap()),
        lookup_id: LookupId::generate(),
        legacy_lookup: None,
        hash: StoredHash::Bcrypt("$2b$04$fixturefixturefixturefixturefixtu".into()),
        name: "fixture".into(),
        description: None,
        owner: None,
        group: None,
        environment: None,
        tags: Vec::new(),
        aliases: Vec::new(),
        scopes: ScopeSet::new(),
        state: KeyState::Active,
        state_reason: None,
        state_changed_at: None,
        approved_by: None,
        not_before: None,
        expires_at: None,
        ip_rules: IpRules::default(),
        rate_limit: None,
        endpoint_limits: Vec::new(),
        quota: None,
        metadata: Metadata::new(),
        rotated_from: None,
        rotated_to: None,
        grace_until: None,
        lineage_id: id,
        template: None,
        created_by: None,
        created_at: created,
        updated_at: created,
        last_used_at: None,
        usage_count: 0,
        version: 1,
        protection: Default::default(),
    }
}

/// An audit event for `record` at `at`, recording it as the state after the change.
pub(crate) fn event(record: &KeyRecord, event_type: EventType, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent::key_change(event_type, None, Some(record), at).unwrap()
}
