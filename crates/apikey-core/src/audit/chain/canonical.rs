//! The bytes an event's hash covers, and the salted commitments that stand in them for personal
//! fields.
//!
//! The canonical form is the event's JSON with its position and chain link left out, object
//! members sorted by key, `null` members left out, and numbers written one way (an integral number
//! as an integer, any other as the shortest float), so the form computed when the event is written
//! is the form computed from what a database hands back: JSONB reorders members, and JSONB,
//! MySQL's JSON and BSON each rewrite numbers in their own way. Each personal field present is replaced by
//! `HMAC-SHA-256(salt, path ‖ 0 ‖ canonical value)`: erasing the value and the salt later leaves
//! the commitment, so the hash, and every link after it, still verify.

use hmac::{Hmac, Mac};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use super::link::{ChainHash, ChainLink, Salt};
use crate::audit::AuditEvent;
use crate::error::{Error, Result};

/// The paths of the personal fields of an event, as [`PERSONAL_FIELDS`](crate::compliance::PERSONAL_FIELDS)
/// lists them, where an event holds them: who and why, a system event's payload, and the
/// identifying fields of the key views before and after.
pub const PERSONAL_PATHS: &[&str] = &[
    "actor",
    "reason",
    "data",
    "before.owner",
    "before.name",
    "before.description",
    "before.metadata",
    "before.created_by",
    "before.approved_by",
    "before.state_reason",
    "after.owner",
    "after.name",
    "after.description",
    "after.metadata",
    "after.created_by",
    "after.approved_by",
    "after.state_reason",
];

const DOMAIN: &[u8] = b"apikey.audit.chain.v1";

/// Seals `event` as the successor of `prev`: a fresh salt, its commitments and its hash.
pub fn seal(event: &mut AuditEvent, prev: ChainHash) -> Result<()> {
    event.chain = None;
    let salt = Salt::random();
    let hash = link_hash(event, prev, Commit::Salt(&salt))?;
    event.chain = Some(ChainLink {
        prev,
        hash,
        salt: Some(salt),
        erased: Default::default(),
    });
    Ok(())
}

/// The hash `event` should carry given what it holds now: its values under its salt, or the
/// stored commitments of the fields it had erased. `None` for an event without a link.
pub fn recompute(event: &AuditEvent) -> Result<Option<ChainHash>> {
    let Some(link) = &event.chain else {
        return Ok(None);
    };
    let commit = match &link.salt {
        Some(salt) if link.erased.is_empty() => Commit::Salt(salt),
        None => Commit::Erased(&link.erased),
        Some(_) => {
            return Err(Error::invalid(
                "audit chain link",
                "holds both a salt and erased commitments",
            ));
        }
    };
    link_hash(event, link.prev, commit).map(Some)
}

/// What a checkpoint records of `event`: its chain hash recomputed, or, for an event without a
/// link (written before chaining), the hash of its canonical form with its values as they are.
pub fn digest(event: &AuditEvent) -> Result<ChainHash> {
    match recompute(event)? {
        Some(h) => Ok(h),
        None => link_hash(event, ChainHash::GENESIS, Commit::Raw),
    }
}

/// Erases `event`'s personal fields: each present one is replaced by its commitment in the link,
/// its value blanked (`None`, an empty name, empty metadata) and the salt dropped. The event's
/// hash is unchanged, so its chain still verifies. An event without a salt (unsealed, or erased
/// already) is refused.
pub fn erase(event: &mut AuditEvent) -> Result<()> {
    let Some(salt) = event.chain.as_ref().and_then(|l| l.salt.clone()) else {
        return Err(Error::invalid(
            "audit event",
            "has no salt to erase under: unchained, or erased already",
        ));
    };
    let mut json = to_json(event)?;
    let mut erased = std::collections::BTreeMap::new();
    for path in PERSONAL_PATHS {
        if let Some(v) = lookup(&mut json, path).filter(|v| !v.is_null()) {
            erased.insert((*path).to_owned(), commitment(&salt, path, v));
        }
    }
    event.actor = None;
    event.reason = None;
    event.data = None;
    for view in [event.before.as_deref_mut(), event.after.as_deref_mut()]
        .into_iter()
        .flatten()
    {
        view.owner = None;
        view.name = String::new();
        view.description = None;
        view.metadata = crate::metadata::Metadata::new();
        view.created_by = None;
        view.approved_by = None;
        view.state_reason = None;
    }
    let link = event.chain.as_mut().expect("checked above");
    link.salt = None;
    link.erased = erased;
    Ok(())
}

#[derive(Clone, Copy)]
enum Commit<'a> {
    Raw,
    Salt(&'a Salt),
    Erased(&'a std::collections::BTreeMap<String, ChainHash>),
}

fn link_hash(event: &AuditEvent, prev: ChainHash, commit: Commit<'_>) -> Result<ChainHash> {
    let mut json = to_json(event)?;
    for path in PERSONAL_PATHS {
        let Some(slot) = lookup(&mut json, path) else {
            continue;
        };
        let replaced = match &commit {
            Commit::Salt(salt) if !slot.is_null() => Some(commitment(salt, path, slot)),
            Commit::Salt(_) | Commit::Raw => None,
            // Only a blanked field stands for its commitment: a value written back into an
            // erased event is hashed as itself, and so caught.
            Commit::Erased(map) if is_blank(slot) => map.get(*path).copied(),
            Commit::Erased(_) => None,
        };
        if let Some(c) = replaced {
            *slot = Value::String(format!("c:{c}"));
        }
    }
    let bytes = serde_json::to_vec(&canonical_numbers(json))
        .map_err(|e| Error::invalid("audit event", e))?;
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev.0);
    h.update(bytes);
    Ok(ChainHash(h.finalize().into()))
}

/// What [`erase`] leaves in a field: nothing, an empty name, empty metadata.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn to_json(event: &AuditEvent) -> Result<Value> {
    let mut json = serde_json::to_value(event).map_err(|e| Error::invalid("audit event", e))?;
    if let Value::Object(map) = &mut json {
        map.remove("position");
        map.remove("chain");
    }
    Ok(json)
}

fn lookup<'a>(json: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.')
        .try_fold(json, |v, part| v.as_object_mut()?.get_mut(part))
}

fn commitment(salt: &Salt, path: &str, value: &Value) -> ChainHash {
    let mut mac = Hmac::<Sha256>::new_from_slice(&salt.0).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(&[0]);
    mac.update(
        &serde_json::to_vec(&canonical_numbers(value.clone()))
            .expect("a JSON value always serializes"),
    );
    ChainHash(mac.finalize().into_bytes().into())
}

/// Sorts object members by key, writes every number one way — integral ones (within `i64`/`u64`) as integers, others as the
/// shortest float: `1.0`, `1` and `1e0` are the same number to every database — and leaves out
/// object members that are `null`, so an optional field a later version adds to the key view
/// does not change the form of events written before it.
fn canonical_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => Value::Number(canonical_number(&n)),
        Value::Array(a) => Value::Array(a.into_iter().map(canonical_numbers).collect()),
        Value::Object(m) => {
            let mut members: Vec<(String, Value)> = m
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, canonical_numbers(v)))
                .collect();
            // Sorted here: with serde_json's `preserve_order` (which another crate in the build
            // may turn on) a map keeps the order a database handed the members back in.
            members.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(members.into_iter().collect::<Map<_, _>>())
        }
        other => other,
    }
}

fn canonical_number(n: &Number) -> Number {
    if n.is_u64() || n.is_i64() {
        return n.clone();
    }
    let f = n.as_f64().unwrap_or(0.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    if f.fract() == 0.0 && f.abs() < 9.0e18 {
        return Number::from(f as i64);
    }
    Number::from_f64(f).unwrap_or_else(|| n.clone())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::audit::{EventSubject, EventType};
    use crate::ids::KeyId;

    fn event() -> AuditEvent {
        let mut e = AuditEvent::system(
            EventType::Transferred,
            Some(EventSubject::Key(KeyId::new())),
            None,
            Utc::now(),
            Some(json!({ "from": "alice", "to": "bob", "ratio": 0.5 })),
            &["t"],
        )
        .by(Some("admin".into()), Some("handover".into()));
        seal(&mut e, ChainHash::GENESIS).unwrap();
        e
    }

    #[test]
    fn erasure_blanks_personal_fields_and_keeps_the_hash() {
        let mut e = event();
        let hash = e.chain.as_ref().unwrap().hash;
        assert_eq!(recompute(&e).unwrap(), Some(hash));
        erase(&mut e).unwrap();
        assert_eq!(
            (e.actor.as_deref(), e.reason.as_deref(), &e.data),
            (None, None, &None)
        );
        let link = e.chain.as_ref().unwrap();
        assert!(link.salt.is_none());
        assert_eq!(
            link.erased.keys().map(String::as_str).collect::<Vec<_>>(),
            ["actor", "data", "reason"]
        );
        assert_eq!(
            recompute(&e).unwrap(),
            Some(hash),
            "the chain still verifies"
        );
        // Erasing twice is refused; putting a value back is caught.
        assert!(erase(&mut e.clone()).is_err());
        e.actor = Some("mallory".into());
        assert_ne!(recompute(&e).unwrap(), Some(hash));
    }

    #[test]
    fn every_field_is_covered() {
        let e = event();
        let hash = e.chain.as_ref().unwrap().hash;
        let mut changed = e.clone();
        changed.reason = Some("handover!".into());
        assert_ne!(recompute(&changed).unwrap(), Some(hash));
        let mut changed = e.clone();
        changed.at += chrono::TimeDelta::milliseconds(1);
        assert_ne!(recompute(&changed).unwrap(), Some(hash));
        let mut changed = e.clone();
        changed.data = Some(json!({ "from": "alice", "to": "bob", "ratio": 0.25 }));
        assert_ne!(recompute(&changed).unwrap(), Some(hash));
        let mut changed = e;
        changed.chain.as_mut().unwrap().prev = ChainHash([1; 32]);
        assert_ne!(recompute(&changed).unwrap(), Some(hash));
    }

    #[test]
    fn numbers_and_member_order_are_written_one_way() {
        let a = canonical_numbers(json!({ "b": 1.0, "a": [1e16, 0.1, null], "c": null }));
        let b = canonical_numbers(json!({ "a": [10_000_000_000_000_000_u64, 0.1, null], "b": 1 }));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"a":[10000000000000000,0.1,null],"b":1}"#
        );
    }

    #[test]
    fn commitments_depend_on_salt_path_and_value() {
        let s = Salt([1; 16]);
        let v = json!("alice");
        let c = commitment(&s, "actor", &v);
        assert_ne!(c, commitment(&Salt([2; 16]), "actor", &v));
        assert_ne!(c, commitment(&s, "reason", &v));
        assert_ne!(c, commitment(&s, "actor", &json!("alicf")));
    }
}
