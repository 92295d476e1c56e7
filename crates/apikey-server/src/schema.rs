//! The document's constraints for fields the service validates, so that what the schema admits
//! is what the service accepts (the contract test generates requests from them).
//!
//! The rules are core's (`Scope::new`, `TenantId::new`, `manage::validate`); each pattern here
//! says the same in ECMA-262. What a schema cannot say (an expiry in the past, a key's state) is
//! answered 422 and documented on the operation.

use utoipa::openapi::{RefOr, Schema};

/// `resource:action`: two parts of `[A-Za-z0-9_.-]`, the action may be `*`; at most 128 bytes.
pub(crate) const SCOPE: &str = r"^[A-Za-z0-9_.\-]+:([A-Za-z0-9_.\-]+|\*)$";
/// Not blank and no control characters (names, owners, groups, tags).
pub(crate) const LABEL: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// No control characters (reasons).
pub(crate) const LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// No control characters but new lines and tabs (descriptions).
pub(crate) const TEXT: &str = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$";
/// A tenant id.
pub(crate) const TENANT: &str = r"^[A-Za-z0-9_.:\-]{1,64}$";

fn from(v: serde_json::Value) -> RefOr<Schema> {
    serde_json::from_value(v).expect("a valid schema")
}

fn nullable(v: &serde_json::Value) -> RefOr<Schema> {
    from(serde_json::json!({ "oneOf": [v, { "type": "null" }] }))
}

fn scope() -> serde_json::Value {
    serde_json::json!({ "type": "string", "pattern": SCOPE, "maxLength": apikey_core::scope::MAX_SCOPE_LEN })
}

/// An audit event type.
pub(crate) fn event_type() -> RefOr<Schema> {
    let names: Vec<&str> = apikey_core::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    from(serde_json::json!({ "type": "string", "enum": names }))
}

/// A list of event types (webhook subscriptions).
pub(crate) fn event_types() -> RefOr<Schema> {
    let names: Vec<&str> = apikey_core::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    from(serde_json::json!({ "type": "array", "items": { "type": "string", "enum": names } }))
}

/// A list of admin scopes.
pub(crate) fn admin_scopes() -> RefOr<Schema> {
    from(serde_json::json!({
        "type": "array",
        "items": { "type": "string", "enum": crate::admin::ADMIN_SCOPES },
    }))
}

/// A list of scopes.
pub(crate) fn scopes() -> RefOr<Schema> {
    from(serde_json::json!({ "type": "array", "items": scope() }))
}

fn label() -> serde_json::Value {
    serde_json::json!({
        "type": "string",
        "pattern": LABEL,
        "maxLength": apikey_core::manage::MAX_LABEL_LEN,
    })
}

/// A key's name.
pub(crate) fn name() -> RefOr<Schema> {
    from(serde_json::json!({
        "type": "string",
        "pattern": LABEL,
        "minLength": 1,
        "maxLength": apikey_core::manage::MAX_NAME_LEN,
    }))
}

/// An optional owner or group.
pub(crate) fn optional_label() -> RefOr<Schema> {
    nullable(&label())
}

/// Tags.
pub(crate) fn tags() -> RefOr<Schema> {
    from(serde_json::json!({
        "type": "array",
        "items": label(),
        "maxItems": apikey_core::manage::MAX_TAGS,
    }))
}

/// An optional description.
pub(crate) fn description() -> RefOr<Schema> {
    nullable(&serde_json::json!({
        "type": "string",
        "pattern": TEXT,
        "maxLength": apikey_core::manage::MAX_DESCRIPTION_LEN,
    }))
}

/// An optional reason.
pub(crate) fn reason() -> RefOr<Schema> {
    nullable(&serde_json::json!({
        "type": "string",
        "pattern": LINE,
        "maxLength": apikey_core::manage::MAX_DESCRIPTION_LEN,
    }))
}

/// An optional tenant id.
pub(crate) fn tenant() -> RefOr<Schema> {
    nullable(&serde_json::json!({ "type": "string", "pattern": TENANT }))
}

/// An optional IP address.
pub(crate) fn ip() -> RefOr<Schema> {
    from(serde_json::json!({ "oneOf": [
        { "type": "string", "format": "ipv4" },
        { "type": "string", "format": "ipv6" },
        { "type": "null" },
    ] }))
}

/// An optional instant (RFC 3339).
pub(crate) fn instant() -> RefOr<Schema> {
    nullable(&serde_json::json!({ "type": "string", "format": "date-time" }))
}

/// A whole number that JSON may spell `106` or `106.0`.
pub(crate) fn whole_required<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error as _;
    whole(d)?.ok_or_else(|| D::Error::custom("a whole number is required"))
}

/// An optional whole number that JSON may spell `106` or `106.0` (JSON Schema's `integer` admits
/// both; serde's integers only the first).
pub(crate) fn whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 18_446_744_073_709_551_616.0)
            // Checked above: a non-negative whole number below 2^64, which `as` keeps exactly.
            .map(|f| f as u64)
    });
    whole
        .and_then(|w| T::try_from(w).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format_args!("{n} is not a whole number in range")))
}

/// An optional nested body that must be a JSON object: serde's derive also takes an array of
/// the fields in order, which the published schema does not admit (schemathesis sends one).
pub(crate) fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v @ serde_json::Value::Object(_)) => serde_json::from_value(v)
            .map(Some)
            .map_err(D::Error::custom),
        Some(_) => Err(D::Error::custom("expected an object")),
    }
}
