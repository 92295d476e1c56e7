//! One source row becomes one [`KeyRecord`], or a reason it cannot: nothing is guessed silently,
//! and what does not carry over is said in the row's notes.

use apikey_core::ip::IpRules;
use apikey_core::manage::{MAX_DESCRIPTION_LEN, MAX_LABEL_LEN, MAX_NAME_LEN, MAX_TAGS};
use apikey_core::record::LegacyPrefix;
use apikey_core::{
    KeyId, KeyRecord, KeyState, LookupId, Metadata, Quota, QuotaPeriod, Rate, ScopeSet, StoredHash,
    TenantId,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::row::NestRow;

/// Where the source row's id is kept in the imported key's metadata.
pub const NEST_ID_KEY: &str = "nest_id";
/// Where an expiration grace the record cannot hold is kept, in milliseconds.
pub const NEST_GRACE_KEY: &str = "nest_expiration_grace_ms";

/// A row ready to import, and what did not carry over.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The key.
    pub record: KeyRecord,
    /// What the record could not hold, one sentence each.
    pub notes: Vec<String>,
}

/// The key id a source row gets: a UUIDv8 from SHA-256 of the tenant and the source id, so the
/// same row imported again has the same id and the import skips it rather than duplicating it.
pub fn key_id_for(source_id: &str, tenant: Option<&TenantId>) -> KeyId {
    let mut h = Sha256::new();
    h.update(b"apikey-nest/v1\0");
    h.update(tenant.map_or("", TenantId::as_str).as_bytes());
    h.update(b"\0");
    h.update(source_id.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    KeyId::from_uuid(Uuid::new_v8(bytes))
}

/// Maps `row` to a key of `tenant`, or says why it cannot be imported (the reason never holds the
/// hash or the prefix).
pub fn map_row(row: &NestRow, tenant: Option<&TenantId>) -> Result<Mapped, String> {
    if row.id.trim().is_empty() {
        return Err("no id".into());
    }
    let mut notes = Vec::new();
    let id = key_id_for(&row.id, tenant);
    let created_at = match row.created_at.or(row.updated_at) {
        Some(t) => ms(t),
        None => {
            notes.push("no createdAt: the import time is used".into());
            ms(Utc::now())
        }
    };
    let (state, state_changed_at, state_reason, expires_at) = lifecycle(row, &mut notes)?;
    let mut metadata = metadata(row, &mut notes)?;
    metadata.insert(NEST_ID_KEY.into(), Value::String(row.id.clone()));
    let record = KeyRecord {
        id,
        tenant_id: tenant.cloned(),
        lookup_id: LookupId::generate(),
        legacy_lookup: Some(prefix(row)?),
        hash: hash(row)?,
        name: name(row)?,
        description: text(
            "description",
            row.description.as_deref(),
            MAX_DESCRIPTION_LEN,
        )?,
        owner: text("owner", row.owner.as_deref(), MAX_LABEL_LEN)?,
        group: None,
        environment: text("environment", row.environment.as_deref(), MAX_LABEL_LEN)?,
        tags: tags(row.tags.as_deref().unwrap_or_default())?,
        aliases: Vec::new(),
        scopes: ScopeSet::parse(row.scopes.iter().flatten().map(|s| s.trim()))
            .map_err(|e| format!("scopes: {}", e.message()))?,
        state,
        state_reason,
        state_changed_at,
        approved_by: None,
        not_before: None,
        expires_at,
        ip_rules: IpRules::parse(
            row.ip_whitelist.iter().flatten(),
            row.ip_blacklist.iter().flatten(),
        )
        .map_err(|e| format!("IP lists: {}", e.message()))?,
        rate_limit: rate(row, &mut notes)?,
        endpoint_limits: Vec::new(),
        quota: quota(row, &mut notes)?,
        metadata: Metadata::from_value(Value::Object(metadata))
            .map_err(|e| e.message().to_owned())?,
        rotated_from: None,
        rotated_to: None,
        grace_until: None,
        lineage_id: id,
        template: None,
        created_by: None,
        created_at,
        updated_at: row.updated_at.map_or(created_at, ms),
        last_used_at: row.last_used_at.map(ms),
        usage_count: 0,
        version: 1,
        protection: Default::default(),
    };
    Ok(Mapped { record, notes })
}

/// To the workspace's precision, so a stored key reads back equal.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

fn prefix(row: &NestRow) -> Result<LegacyPrefix, String> {
    let p = row.key_prefix.as_ref().ok_or("no keyPrefix")?;
    LegacyPrefix::new(&p.0).map_err(|_| "keyPrefix is not 8 hexadecimal characters".to_owned())
}

fn hash(row: &NestRow) -> Result<StoredHash, String> {
    let h = &row.hashed_key.as_ref().ok_or("no hashedKey")?.0;
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| h.starts_with(p)) && h.len() == 60 {
        return Ok(StoredHash::Bcrypt(h.clone()));
    }
    if h.starts_with("$argon2id$") {
        return Ok(StoredHash::Argon2id(h.clone()));
    }
    // Name the scheme when the string declares a short one, and nothing else of the hash.
    let kind = h
        .strip_prefix('$')
        .and_then(|r| r.split_once('$'))
        .map(|(k, _)| k)
        .filter(|k| !k.is_empty() && k.len() <= 12 && k.bytes().all(|b| b.is_ascii_alphanumeric()));
    Err(match kind {
        Some(k) => format!("hashedKey is a {k:?} hash; only bcrypt and argon2id are supported"),
        None => "hashedKey is not a bcrypt or argon2id hash".into(),
    })
}

fn name(row: &NestRow) -> Result<String, String> {
    let name = row.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err("name is empty".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("name is over {MAX_NAME_LEN} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("name has control characters".into());
    }
    Ok(name.to_owned())
}

/// An optional label: blank is none; too long or with control characters (other than a
/// description's line breaks and tabs) fails the row.
fn text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(format!("{field} is over {max} characters"));
    }
    let multiline = field == "description";
    if v.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(format!("{field} has control characters"));
    }
    Ok(Some(v.to_owned()))
}

fn tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut tags = Vec::with_capacity(raw.len());
    for t in raw {
        if let Some(t) = text("tag", Some(t), MAX_LABEL_LEN)? {
            tags.push(t);
        }
    }
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return Err(format!("more than {MAX_TAGS} tags"));
    }
    Ok(tags)
}

type Lifecycle = (
    KeyState,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<DateTime<Utc>>,
);

/// State, when it changed, why, and the expiry. `expired` is not a stored state here: the key
/// stays active and its expiry (enforced by the clock) keeps refusing it.
fn lifecycle(row: &NestRow, notes: &mut Vec<String>) -> Result<Lifecycle, String> {
    let declared = row.state.as_deref().map(|s| s.trim().to_ascii_lowercase());
    let mut expires_at = row.expires_at.map(ms);
    // A revocation time wins over any state: a revoked key must not come back to life.
    if let Some(at) = row.revoked_at {
        if declared.as_deref().is_some_and(|s| s != "revoked") {
            notes.push("revokedAt is set, so the key is revoked whatever its state".into());
        }
        return Ok((
            KeyState::Revoked,
            Some(ms(at)),
            row.revocation_reason.clone(),
            expires_at,
        ));
    }
    let state = match declared.as_deref() {
        None | Some("active") => KeyState::Active,
        Some("pending") => KeyState::Pending,
        Some("suspended") => KeyState::Suspended,
        Some("revoked") => KeyState::Revoked,
        Some("expired") => {
            if expires_at.is_none() {
                notes.push("state expired without expiresAt: it expires at updatedAt".into());
                expires_at = Some(ms(row
                    .updated_at
                    .or(row.created_at)
                    .unwrap_or(DateTime::UNIX_EPOCH)));
            }
            KeyState::Active
        }
        Some(_) => {
            return Err("state is not pending, active, suspended, expired or revoked".into());
        }
    };
    let changed = match state {
        KeyState::Suspended => row.suspended_at,
        KeyState::Active => row.approved_at,
        KeyState::Pending | KeyState::Revoked => None,
    }
    .map(ms);
    let reason = (state == KeyState::Revoked)
        .then(|| row.revocation_reason.clone())
        .flatten();
    Ok((state, changed, reason, expires_at))
}

fn metadata(row: &NestRow, notes: &mut Vec<String>) -> Result<Map<String, Value>, String> {
    let mut map = match row.metadata.clone() {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        // Kept rather than dropped; our metadata must be an object.
        Some(other) => Map::from_iter([("nest_metadata".to_owned(), other)]),
    };
    if map.contains_key(NEST_ID_KEY) {
        return Err(format!(
            "metadata already has {NEST_ID_KEY:?}, where the source id goes"
        ));
    }
    if let Some(g) = row.expiration_grace_period_ms.filter(|g| *g > 0) {
        // The record has no per-key expiry grace; the verifier's applies to every key.
        notes.push(format!(
            "expiration grace of {g} ms not enforced per key (kept in metadata.{NEST_GRACE_KEY})"
        ));
        map.insert(NEST_GRACE_KEY.into(), Value::from(g));
    }
    Ok(map)
}

fn rate(row: &NestRow, notes: &mut Vec<String>) -> Result<Option<Rate>, String> {
    match (row.rate_limit_max, row.rate_limit_window_ms) {
        (None, None) => Ok(None),
        (Some(max), Some(window)) => {
            let requests = u32::try_from(max).map_err(|_| "rateLimitMax out of range")?;
            let rate = Rate {
                requests,
                per_ms: u64::try_from(window).map_err(|_| "rateLimitWindowMs is negative")?,
                burst: requests,
            };
            rate.validate()
                .map_err(|e| format!("rate limit: {}", e.message()))?;
            Ok(Some(rate))
        }
        _ => {
            notes.push("rateLimitMax and rateLimitWindowMs not both set: no rate limit".into());
            Ok(None)
        }
    }
}

fn quota(row: &NestRow, notes: &mut Vec<String>) -> Result<Option<Quota>, String> {
    let (Some(max), Some(period)) = (row.quota_max, row.quota_period.as_deref()) else {
        if row.quota_max.is_some() {
            notes.push("quotaMax without quotaPeriod: no quota".into());
        }
        return Ok(None);
    };
    let period = match period.trim().to_ascii_lowercase().as_str() {
        "daily" | "day" => QuotaPeriod::Day,
        "monthly" | "month" => QuotaPeriod::Month,
        "yearly" | "year" => QuotaPeriod::Year,
        _ => return Err("quotaPeriod is not daily, monthly or yearly".into()),
    };
    let quota = Quota {
        limit: u64::try_from(max).map_err(|_| "quotaMax is negative")?,
        period,
    };
    quota
        .validate()
        .map_err(|e| format!("quota: {}", e.message()))?;
    if let Some(used) = row.quota_used.filter(|u| *u > 0) {
        notes.push(format!(
            "{used} requests already counted this period are not carried: counting restarts"
        ));
    }
    Ok(Some(quota))
}
