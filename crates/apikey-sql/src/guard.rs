//! Input every database can store identically, checked before any statement runs, so a value
//! is either stored verbatim on every backend or refused with `InvalidInput` on every backend.
//!
//! - No NUL characters in text or metadata: PostgreSQL cannot store them in `TEXT` or `JSONB`,
//!   and a record that only some databases accept would not survive a move between them.
//! - Compared, indexed labels (owner, group, environment, tags, aliases) fit an index entry:
//!   at most [`MAX_INDEXED_BYTES`] bytes, well above the 200 characters the manager allows.
//! - Counters fit the signed 64-bit columns.

use apikey_core::{AuditEvent, Error, KeyRecord, KeyView, Metadata, Result};
use serde_json::Value as Json;

/// Longest owner, group, environment, tag or alias, in bytes (MySQL columns are `VARBINARY(1024)`;
/// PostgreSQL B-tree entries stop near 2.7 kB).
pub const MAX_INDEXED_BYTES: usize = 1024;

fn no_nul(field: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// A compared, indexed label: no NUL, at most [`MAX_INDEXED_BYTES`].
pub fn label(field: &str, s: &str) -> Result<()> {
    no_nul(field, s)?;
    if s.len() > MAX_INDEXED_BYTES {
        return Err(Error::invalid(
            field,
            format_args!("at most {MAX_INDEXED_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn json_no_nul(field: &str, v: &Json) -> Result<()> {
    match v {
        Json::String(s) => no_nul(field, s),
        Json::Array(items) => items.iter().try_for_each(|i| json_no_nul(field, i)),
        Json::Object(map) => map.iter().try_for_each(|(k, v)| {
            no_nul(field, k)?;
            json_no_nul(field, v)
        }),
        _ => Ok(()),
    }
}

fn metadata(m: &Metadata) -> Result<()> {
    m.as_map().iter().try_for_each(|(k, v)| {
        no_nul("metadata", k)?;
        json_no_nul("metadata", v)
    })
}

/// Stored text that is neither compared nor indexed (a URL, a sealed secret, a webhook body):
/// no NUL, any length.
pub fn text(field: &str, s: &str) -> Result<()> {
    no_nul(field, s)
}

/// A counter or version as a signed 64-bit column value.
pub fn to_i64(field: &str, n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid(field, "exceeds the largest storable value"))
}

/// Checks every field of `r` that reaches a text, JSON or integer column.
pub fn record(r: &KeyRecord) -> Result<()> {
    // The hash and legacy prefix are library-made (hex, base64): only the public fields carry
    // caller text.
    view(&KeyView::from(r))
}

/// Checks every field of a key's public view (the record's caller-supplied fields, and what an
/// audit snapshot stores).
pub fn view(r: &KeyView) -> Result<()> {
    no_nul("name", &r.name)?;
    for (field, v) in [
        ("description", &r.description),
        ("state reason", &r.state_reason),
        ("approved by", &r.approved_by),
        ("template", &r.template),
        ("created by", &r.created_by),
    ] {
        v.as_deref().map_or(Ok(()), |s| no_nul(field, s))?;
    }
    for (field, v) in [
        ("owner", &r.owner),
        ("group", &r.group),
        ("environment", &r.environment),
    ] {
        v.as_deref().map_or(Ok(()), |s| label(field, s))?;
    }
    r.tags.iter().try_for_each(|t| label("tag", t))?;
    r.aliases.iter().try_for_each(|a| label("alias", a))?;
    r.endpoint_limits
        .iter()
        .try_for_each(|l| no_nul("endpoint limit", l.endpoint.as_str()))?;
    metadata(&r.metadata)?;
    to_i64("usage count", r.usage_count)?;
    to_i64("version", r.version)?;
    Ok(())
}

/// Checks an audit event and the records it carries.
pub fn event(e: &AuditEvent) -> Result<()> {
    e.actor.as_deref().map_or(Ok(()), |s| no_nul("actor", s))?;
    e.reason
        .as_deref()
        .map_or(Ok(()), |s| no_nul("reason", s))?;
    to_i64("event version", e.version)?;
    if let Some(subject) = &e.subject {
        label("event subject", &subject.id())?;
    }
    e.data
        .as_ref()
        .map_or(Ok(()), |d| json_no_nul("event data", d))?;
    e.before.as_deref().map_or(Ok(()), view)?;
    e.after.as_deref().map_or(Ok(()), view)
}

/// Checks a job name and a lease holder id, which are compared, indexed labels like tags.
pub fn lease(job: &str, holder: &str) -> Result<()> {
    label("job", job)?;
    label("lease holder", holder)
}

/// Whether a filter value can match anything stored: text with NUL never can (it is refused on
/// write), so such a filter answers an empty page without asking the database.
pub fn storable(s: &str) -> bool {
    !s.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikey_core::ErrorKind;
    use serde_json::json;

    #[test]
    fn nul_anywhere_in_metadata_is_refused() {
        let m = Metadata::from_value(json!({"a": {"b": ["x\u{0}y"]}})).unwrap();
        assert_eq!(metadata(&m).unwrap_err().kind(), ErrorKind::InvalidInput);
        let m = Metadata::from_value(json!({"k\u{0}": 1})).unwrap();
        assert!(metadata(&m).is_err());
        let m = Metadata::from_value(json!({"quote'\\%_": ["ok", 1, null]})).unwrap();
        assert!(metadata(&m).is_ok());
    }

    #[test]
    fn labels_are_capped_and_counters_fit_i64() {
        assert!(label("tag", &"a".repeat(MAX_INDEXED_BYTES)).is_ok());
        assert!(label("tag", &"a".repeat(MAX_INDEXED_BYTES + 1)).is_err());
        assert!(to_i64("version", u64::MAX).is_err());
        assert_eq!(to_i64("version", 7).unwrap(), 7);
        assert!(!storable("a\0b"));
    }
}
