//! Builders for valid [`KeyRecord`]s and their matching [`AuditEvent`]s, for the suites and for
//! anyone writing their own store tests.
//!
//! Every timestamp is truncated to whole milliseconds (the precision every backend stores), so a
//! record built here reads back equal from any conforming store.

use std::time::Duration;

use apikey_core::clock::truncate_ms;
use apikey_core::hash::PepperId;
use apikey_core::limit::{EndpointLimit, Quota, QuotaPeriod, Rate};
use apikey_core::record::LegacyPrefix;
use apikey_core::signing::{KeySigning, Protection, SigningMode};
use apikey_core::{
    AuditEvent, EventType, IpRules, KeyId, KeyRecord, KeyState, LookupId, Metadata, ScopeSet,
    StoredHash, TenantId,
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;

/// 2030-01-15 12:00:00 UTC: the instant [`ManualClock::fixed`](apikey_core::ManualClock::fixed)
/// starts at, far from any calendar edge. Suites build their data around it.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 15, 12, 0, 0)
        .single()
        .expect("valid date")
}

/// `base_time() + ms` milliseconds.
pub fn at_ms(ms: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::milliseconds(ms)
}

/// A tenant id; panics on an invalid one (fixtures only use valid names).
pub fn tenant(id: &str) -> TenantId {
    TenantId::new(id).expect("fixture tenant ids are valid")
}

/// A dummy HMAC-SHA-256 hash under pepper `p1` (never verified by the suites).
pub fn dummy_hash(fill: u8) -> StoredHash {
    StoredHash::HmacSha256 {
        pepper: PepperId::new("p1").expect("valid pepper id"),
        digest: [fill; 32],
    }
}

/// A minimal valid record: a fresh [`KeyId`] (its own lineage) and [`LookupId`], active, version 1,
/// created and updated at `created_at` (truncated to milliseconds), every optional field empty.
pub fn record(tenant: Option<&TenantId>, created_at: DateTime<Utc>) -> KeyRecord {
    let id = KeyId::new();
    let created_at = truncate_ms(created_at);
    KeyRecord {
        id,
        tenant_id: tenant.cloned(),
        lookup_id: LookupId::generate(),
        legacy_lookup: None,
        hash: dummy_hash(7),
        name: "test key".to_owned(),
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
        created_at,
        updated_at: created_at,
        last_used_at: None,
        usage_count: 0,
        version: 1,
        protection: Default::default(),
    }
}

/// A record with **every** field populated with a non-default value: tags and aliases with unicode
/// and mixed case, wildcard scopes, IPv4 and IPv6 allow/deny networks, a rate, two endpoint limits,
/// a monthly quota, nested unicode metadata, rotation links, a legacy lookup, and every timestamp
/// set with a non-zero millisecond part.
pub fn full_record(tenant: Option<&TenantId>, created_at: DateTime<Utc>) -> KeyRecord {
    let base = record(tenant, created_at);
    let t = base.created_at;
    let ms = TimeDelta::milliseconds;
    let rate = |n, per_ms, burst| {
        Rate::with_burst(n, Duration::from_millis(per_ms), burst).expect("valid fixture rate")
    };
    let metadata = Metadata::from_value(json!({
        "region": "eu-west-1",
        "emoji": "🔑 clé ключ 鍵",
        "rtl": "مرحبا",
        "combining": "e\u{301}",
        "quotes": "it's \"quoted\" \\ back\\slash",
        "nested": { "list": [1, 2.5, null, true, "x"], "empty": {}, "n": -7 },
    }))
    .expect("valid fixture metadata");
    KeyRecord {
        legacy_lookup: Some(LegacyPrefix::new("a1b2c3d4").expect("valid legacy prefix")),
        hash: dummy_hash(0xA5),
        name: "Billing service — prod 🔑".to_owned(),
        description: Some("Used by the nightly invoice run.\nSecond line; ünïcødé.".to_owned()),
        owner: Some("team-billing".to_owned()),
        group: Some("finance".to_owned()),
        environment: Some("production".to_owned()),
        tags: sorted(vec!["Prod", "eu-west", "ünïcødé", "billing"]),
        // Aliases are unique per tenant: each full record gets its own.
        aliases: sorted(vec![
            &format!("billing-primary-{}", base.id),
            &format!("billing-🔑-{}", base.id),
        ]),
        scopes: ScopeSet::parse(["invoices:read", "invoices:write", "customers:*"])
            .expect("valid fixture scopes"),
        state: KeyState::Suspended,
        state_reason: Some("suspicious traffic from 203.0.113.7".to_owned()),
        state_changed_at: Some(t + ms(2_500)),
        approved_by: Some("ops@example.com".to_owned()),
        not_before: Some(t - ms(86_400_000 + 1)),
        expires_at: Some(t + ms(365 * 86_400_000 + 999)),
        ip_rules: IpRules::parse(
            ["10.0.0.0/8", "192.0.2.17/32", "2001:db8::/32"],
            ["10.9.0.0/16", "2001:db8:dead::/48"],
        )
        .expect("valid fixture ip rules"),
        rate_limit: Some(rate(100, 1_000, 150)),
        endpoint_limits: vec![
            EndpointLimit::new("POST /invoices", rate(10, 60_000, 10)),
            EndpointLimit::new("GET /invoices/{id}", rate(50, 1_000, 5)),
        ],
        quota: Some(Quota {
            limit: 1_000_000,
            period: QuotaPeriod::Month,
        }),
        metadata,
        rotated_from: Some(KeyId::new()),
        rotated_to: Some(KeyId::new()),
        grace_until: Some(t + ms(7 * 86_400_000 + 1)),
        lineage_id: KeyId::new(),
        template: Some("service-default".to_owned()),
        created_by: Some("alice@example.com".to_owned()),
        updated_at: t + ms(1_001),
        last_used_at: Some(t + ms(3_123)),
        usage_count: 42,
        version: 3,
        // Every backend must keep what a key carries besides its token; the sealed value is
        // opaque to stores (it opens only in the secret box).
        protection: Protection {
            signing: Some(KeySigning {
                mode: SigningMode::Required,
                sealed: "sb1.k1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBB".to_owned(),
                previous: Some("sb1.k1.CCCCCCCCCCCCCCCC.DDDDDDDDDDDDDDDDDDDDDDDD".to_owned()),
                previous_until: Some(t + ms(3_600_000)),
                issued_at: t + ms(500),
            }),
            canary: true,
        },
        ..base
    }
}

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort_unstable();
    v.into_iter().map(str::to_owned).collect()
}

/// `record` as a management change would leave it: `version + 1` and `updated_at = at`
/// (truncated to milliseconds). Change the fields you need on the result.
pub fn next_version(record: &KeyRecord, at: DateTime<Utc>) -> KeyRecord {
    KeyRecord {
        version: record.version + 1,
        updated_at: truncate_ms(at),
        ..record.clone()
    }
}

/// An audit event for a change from `before` to `after` (at least one must be given): a fresh
/// UUIDv7 id, the key and tenant of the record, its version after the change (the deleted record's
/// own version for a deletion) and `at` truncated to milliseconds.
pub fn event(
    event_type: EventType,
    before: Option<&KeyRecord>,
    after: Option<&KeyRecord>,
    at: DateTime<Utc>,
) -> AuditEvent {
    AuditEvent::key_change(event_type, before, after, at)
        .expect("an audit event needs a record before or after")
        .by(Some("testkit".to_owned()), None)
}

/// The `Created` event that goes with inserting `record` (at its `created_at`).
pub fn created(record: &KeyRecord) -> AuditEvent {
    event(EventType::Created, None, Some(record), record.created_at)
}

/// The `Updated` event for replacing `before` with `after` (at `after.updated_at`).
pub fn updated(before: &KeyRecord, after: &KeyRecord) -> AuditEvent {
    event(
        EventType::Updated,
        Some(before),
        Some(after),
        after.updated_at,
    )
}

/// The `Deleted` event for erasing `record` at `at`.
pub fn deleted(record: &KeyRecord, at: DateTime<Utc>) -> AuditEvent {
    event(EventType::Deleted, Some(record), None, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikey_core::KeyView;

    #[test]
    fn full_record_is_valid_and_fully_populated() {
        let r = full_record(Some(&tenant("t")), base_time());
        assert!(r.tags.windows(2).all(|w| w[0] <= w[1]));
        assert!(
            r.ip_rules
                .allow()
                .iter()
                .any(|n| n.to_string().contains(':'))
        );
        assert!(
            r.ip_rules
                .allow()
                .iter()
                .any(|n| n.to_string().contains('.'))
        );
        assert_eq!(r.created_at, truncate_ms(r.created_at));
        assert_ne!(r.lineage_id, r.id);
        let json = serde_json::to_string(&r).expect("serializes");
        let back: KeyRecord = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, r);
    }

    #[test]
    fn events_describe_their_record() {
        let r = record(None, at_ms(1));
        let e = created(&r);
        assert_eq!((e.key_id(), e.version, e.at), (Some(r.id), 1, r.created_at));
        let r2 = next_version(&r, at_ms(5));
        let u = updated(&r, &r2);
        assert_eq!(u.version, 2);
        assert_eq!(u.before.as_deref(), Some(&KeyView::from(&r)));
        let d = deleted(&r2, at_ms(9));
        assert!(d.after.is_none());
        assert_eq!(d.at, at_ms(9));
    }
}
