//! One key as the library stored it, whatever the database: the readers fill it, the mapping
//! turns it into a record.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// A stored `hashedKey`. Kept apart so no `Debug`, error or log line can show it.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedKey(pub(crate) String);

impl HashedKey {
    /// Wraps a stored hash (for callers building rows themselves).
    pub fn new(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }
}

impl fmt::Debug for HashedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedKey(<redacted>)")
    }
}

/// A row (or document) of the library's `api_keys`, with every column any shape has; what the
/// source lacks is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)] // the fields are the library's columns, in snake case
pub struct NestRow {
    pub id: String,
    pub name: Option<String>,
    /// Part of the token: `Debug` hides it (see [`LegacyPrefix`](apikey_core::record::LegacyPrefix)).
    pub key_prefix: Option<Prefix>,
    pub hashed_key: Option<HashedKey>,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub quota_reset_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub state: Option<String>,
    pub expiration_grace_period_ms: Option<i64>,
    pub ip_whitelist: Option<Vec<String>>,
    pub ip_blacklist: Option<Vec<String>>,
    pub rate_limit_max: Option<i64>,
    pub rate_limit_window_ms: Option<i64>,
    pub quota_max: Option<i64>,
    pub quota_period: Option<String>,
    pub quota_used: Option<i64>,
    pub metadata: Option<Value>,
    pub tags: Option<Vec<String>>,
    pub owner: Option<String>,
    pub environment: Option<String>,
    pub description: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A stored `keyPrefix`: the token's first 8 characters, so as secret as the token's 32 bits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Prefix(pub(crate) String);

impl Prefix {
    /// Wraps a stored prefix (for callers building rows themselves).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self(prefix.into())
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prefix(<redacted>)")
    }
}

/// A source's row, read column by column. Each getter answers `Ok(None)` for a column the source
/// lacks or holds NULL, and `Err` (naming the problem, never the value) for one it cannot decode.
pub(crate) trait Columns {
    fn text(&self, col: &str) -> Result<Option<String>, String>;
    fn list(&self, col: &str) -> Result<Option<Vec<String>>, String>;
    fn time(&self, col: &str) -> Result<Option<DateTime<Utc>>, String>;
    fn int(&self, col: &str) -> Result<Option<i64>, String>;
    fn json(&self, col: &str) -> Result<Option<Value>, String>;
}

/// A row failed before mapping: its id (if it could be read) and why.
pub(crate) struct Unreadable {
    pub(crate) id: String,
    pub(crate) reason: String,
}

impl NestRow {
    /// Reads every known column; the first undecodable one makes the row unreadable.
    pub(crate) fn read(c: &impl Columns) -> Result<Self, Unreadable> {
        let id = match c.text("id") {
            Ok(Some(id)) => id,
            Ok(None) => {
                return Err(Unreadable {
                    id: String::new(),
                    reason: "no id".into(),
                });
            }
            Err(e) => {
                return Err(Unreadable {
                    id: String::new(),
                    reason: format!("id: {e}"),
                });
            }
        };
        Self::read_rest(id.clone(), c).map_err(|reason| Unreadable { id, reason })
    }

    fn read_rest(id: String, c: &impl Columns) -> Result<Self, String> {
        let at = |col: &str| c.time(col).map_err(|e| format!("{col}: {e}"));
        let text = |col: &str| c.text(col).map_err(|e| format!("{col}: {e}"));
        let list = |col: &str| c.list(col).map_err(|e| format!("{col}: {e}"));
        let int = |col: &str| c.int(col).map_err(|e| format!("{col}: {e}"));
        Ok(Self {
            id,
            name: text("name")?,
            key_prefix: text("keyPrefix")?.map(Prefix),
            // Decoding errors name types only, so this cannot echo the hash.
            hashed_key: text("hashedKey")?.map(HashedKey),
            scopes: list("scopes")?,
            expires_at: at("expiresAt")?,
            revoked_at: at("revokedAt")?,
            suspended_at: at("suspendedAt")?,
            approved_at: at("approvedAt")?,
            last_used_at: at("lastUsedAt")?,
            quota_reset_at: at("quotaResetAt")?,
            revocation_reason: text("revocationReason")?,
            state: text("state")?,
            expiration_grace_period_ms: int("expirationGracePeriodMs")?,
            ip_whitelist: list("ipWhitelist")?,
            ip_blacklist: list("ipBlacklist")?,
            rate_limit_max: int("rateLimitMax")?,
            rate_limit_window_ms: int("rateLimitWindowMs")?,
            quota_max: int("quotaMax")?,
            quota_period: text("quotaPeriod")?,
            quota_used: int("quotaUsed")?,
            metadata: c.json("metadata").map_err(|e| format!("metadata: {e}"))?,
            tags: list("tags")?,
            owner: text("owner")?,
            environment: text("environment")?,
            description: text("description")?,
            created_at: at("createdAt")?,
            updated_at: at("updatedAt")?,
        })
    }
}

/// A list kept as text: a JSON array (Prisma lists mapped to `Json` on MySQL/SQLite), or a comma
/// list (TypeORM's `simple-array`, which neither quotes nor escapes). Blank items are dropped.
pub(crate) fn list_from_text(s: &str) -> Result<Vec<String>, String> {
    let t = s.trim();
    if t.starts_with('[') {
        let v: Vec<String> =
            serde_json::from_str(t).map_err(|_| "not a JSON array of strings".to_owned())?;
        return Ok(v);
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A time kept as text: RFC 3339, or the `YYYY-MM-DD HH:MM:SS[.fff]` SQLite and MySQL write,
/// taken as UTC (what the library's ORMs write).
pub(crate) fn time_from_text(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    Err("not a timestamp".into())
}

/// A time kept as a number: milliseconds since the epoch (Prisma on SQLite), or seconds when too
/// small to be milliseconds of this era.
pub(crate) fn time_from_number(n: i64) -> Result<DateTime<Utc>, String> {
    let ms = if n.abs() < 100_000_000_000 {
        n.saturating_mul(1000)
    } else {
        n
    };
    DateTime::from_timestamp_millis(ms).ok_or_else(|| "timestamp out of range".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_text_are_json_or_comma_separated() {
        assert_eq!(
            list_from_text(r#"["a:read","b:write"]"#).unwrap(),
            ["a:read", "b:write"]
        );
        assert_eq!(
            list_from_text("a:read,b:write").unwrap(),
            ["a:read", "b:write"]
        );
        assert!(list_from_text("").unwrap().is_empty());
        assert!(list_from_text("[1,2]").is_err());
    }

    #[test]
    fn times_in_text_or_numbers() {
        let t = time_from_text("2025-03-01 12:00:00.250").unwrap();
        assert_eq!(t.timestamp_millis(), 1_740_830_400_250);
        assert_eq!(time_from_text("2025-03-01T12:00:00.250Z").unwrap(), t);
        assert_eq!(time_from_number(1_740_830_400_250).unwrap(), t);
        assert!(time_from_text("yesterday").is_err());
    }

    #[test]
    fn debug_shows_no_secret_material() {
        let row = NestRow {
            key_prefix: Some(Prefix("3f2a9c0d".into())),
            hashed_key: Some(HashedKey("$2b$10$abcdefghijklmnopqrstuv".into())),
            ..NestRow::default()
        };
        let shown = format!("{row:?}");
        assert!(!shown.contains("3f2a9c0d") && !shown.contains("$2b$"));
    }
}
