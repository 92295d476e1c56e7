//! Records for unit tests.

use chrono::Utc;

use crate::clock::truncate_ms;
use crate::hash::{PepperId, StoredHash};
use crate::ids::{KeyId, LookupId};
use crate::record::KeyRecord;
use crate::state::KeyState;

pub(crate) fn record_with_version(version: u64) -> KeyRecord {
    let id = KeyId::new();
    let now = truncate_ms(Utc::now());
    KeyRecord {
        id,
        tenant_id: None,
        lookup_id: LookupId::generate(),
        legacy_lookup: None,
        hash: StoredHash::HmacSha256 {
            pepper: PepperId::new("t").unwrap(),
            digest: [0; 32],
        },
        name: "test".into(),
        description: None,
        owner: None,
        group: None,
        environment: None,
        tags: vec![],
        aliases: vec![],
        scopes: Default::default(),
        state: KeyState::Active,
        state_reason: None,
        state_changed_at: None,
        approved_by: None,
        not_before: None,
        expires_at: None,
        ip_rules: Default::default(),
        rate_limit: None,
        endpoint_limits: vec![],
        quota: None,
        metadata: Default::default(),
        rotated_from: None,
        rotated_to: None,
        grace_until: None,
        lineage_id: id,
        template: None,
        created_by: None,
        created_at: now,
        updated_at: now,
        last_used_at: None,
        usage_count: 0,
        version,
        protection: Default::default(),
    }
}
