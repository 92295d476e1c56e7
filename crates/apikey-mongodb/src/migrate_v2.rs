//! Audit log v2 for data written before it: the `init` migration and the upgrade of one event.
//!
//! Before v2 an event document had `action` (`created`, `updated`, …), a binary `key_id`, no
//! subject and no position, and embedded whole key documents — with `hash` and maybe
//! `legacy_lookup` — as `before`/`after`. [`upgrade`] turns such a document into the v2 layout:
//! `event_type` is the dotted name (`key.<action>`), the subject is kind `key` with the key id,
//! `key_id` stays (the history index reads it), and the two secret-derived fields leave
//! `before`/`after`. It is applied to every pending event when it is settled, and to every
//! document read, so a straggler (written by an old instance during a rolling upgrade) still
//! reads correctly.
//!
//! [`MongoStore::migrate_audit_v2`], run by `init`, rewrites the stored documents in two passes:
//! first the layout (one conditional update per old document, so two instances running it at once
//! apply each rewrite once), then positions for documents without one, taken from the counter in
//! `(at, _id)` order, each `$set` conditional on the position still being absent (an instance that
//! loses the race burns the value it took: a hole, see [`positions`](crate::positions)). Both
//! passes find nothing on a database already migrated, so it runs at every start rather than
//! being recorded once: an old instance still writing during a rolling upgrade is caught up by
//! the next start.

use apikey_core::{Error, EventType, KeyId, Result};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;

use crate::doc::{i64_of, key_id};
use crate::error;
use crate::store::MongoStore;

/// The fields of an embedded key document derived from the secret.
const SECRET_FIELDS: [&str; 2] = ["hash", "legacy_lookup"];

fn malformed(what: &'static str) -> Error {
    Error::backend(
        format!("upgrade pre-v2 audit event: {what}"),
        "malformed stored event",
    )
}

/// The v2 fields of a pre-v2 event: `(event_type, key id)`, or `None` if `doc` is already v2.
fn legacy_fields(doc: &Document) -> Result<Option<(EventType, KeyId)>> {
    if doc.contains_key("event_type") {
        return Ok(None);
    }
    let action = doc
        .get_str("action")
        .map_err(|_| malformed("neither event_type nor action"))?;
    // Pre-v2 names were the key-change types without their `key.` prefix.
    let event_type: EventType = format!("key.{action}")
        .parse()
        .map_err(|_| malformed("unknown action"))?;
    if !event_type.is_key_change() {
        return Err(malformed("action is not a key change"));
    }
    let key = match doc.get("key_id") {
        Some(Bson::Binary(b)) if b.subtype == bson::spec::BinarySubtype::Uuid => {
            let bytes: [u8; 16] = b
                .bytes
                .as_slice()
                .try_into()
                .map_err(|_| malformed("key_id is not 16 bytes"))?;
            key_id(bson::Uuid::from_bytes(bytes))
        }
        _ => return Err(malformed("key_id is not a UUID")),
    };
    Ok(Some((event_type, key)))
}

/// `doc` in the v2 layout (unchanged if it already is; see the module docs). Never adds a
/// position.
pub(crate) fn upgrade(mut doc: Document) -> Result<Document> {
    let Some((event_type, key)) = legacy_fields(&doc)? else {
        return Ok(doc);
    };
    doc.remove("action");
    doc.insert("event_type", event_type.as_str());
    doc.insert("subject_kind", "key");
    doc.insert("subject_id", key.to_string());
    for side in ["before", "after"] {
        if let Some(Bson::Document(view)) = doc.get_mut(side) {
            for field in SECRET_FIELDS {
                view.remove(field);
            }
        }
    }
    Ok(doc)
}

/// The update that rewrites a stored pre-v2 event in place, or `None` if it is v2 already.
fn upgrade_update(doc: &Document) -> Result<Option<Document>> {
    let Some((event_type, key)) = legacy_fields(doc)? else {
        return Ok(None);
    };
    let mut unset = doc! { "action": "" };
    for side in ["before", "after"] {
        if let Some(Bson::Document(view)) = doc.get(side) {
            for field in SECRET_FIELDS {
                if view.contains_key(field) {
                    unset.insert(format!("{side}.{field}"), "");
                }
            }
        }
    }
    Ok(Some(doc! {
        "$set": {
            "event_type": event_type.as_str(),
            "subject_kind": "key",
            "subject_id": key.to_string(),
        },
        "$unset": unset,
    }))
}

impl MongoStore {
    /// Rewrites pre-v2 audit documents and gives positions to those without; returns how many
    /// documents each pass changed. Idempotent (see the module docs).
    pub(crate) async fn migrate_audit_v2(&self) -> Result<(u64, u64)> {
        let mut rewritten = 0;
        let mut old = self
            .audit
            .find(doc! { "event_type": { "$exists": false } })
            .await
            .map_err(|e| error::driver("find pre-v2 audit events", e))?;
        while let Some(doc) = old
            .try_next()
            .await
            .map_err(|e| error::driver("find pre-v2 audit events", e))?
        {
            let (Some(update), Some(id)) = (upgrade_update(&doc)?, doc.get("_id")) else {
                continue;
            };
            let result = self
                .audit
                .update_one(
                    doc! { "_id": { "$eq": id.clone() }, "event_type": { "$exists": false } },
                    update,
                )
                .await
                .map_err(|e| error::driver("rewrite pre-v2 audit event", e))?;
            rewritten += result.modified_count;
        }

        let mut positioned = 0;
        let mut unpositioned = self
            .audit
            .find(doc! { "position": { "$exists": false } })
            .sort(doc! { "at": 1, "_id": 1 })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| error::driver("find audit events without position", e))?;
        while let Some(doc) = unpositioned
            .try_next()
            .await
            .map_err(|e| error::driver("find audit events without position", e))?
        {
            let Some(id) = doc.get("_id") else {
                continue;
            };
            let position = self.next_position().await?;
            let result = self
                .audit
                .update_one(
                    doc! { "_id": { "$eq": id.clone() }, "position": { "$exists": false } },
                    doc! { "$set": { "position": i64_of(position) } },
                )
                .await
                .map_err(|e| error::driver("position pre-v2 audit event", e))?;
            positioned += result.modified_count;
        }
        if rewritten + positioned > 0 {
            tracing::info!(
                rewritten,
                positioned,
                "audit events migrated to audit log v2"
            );
        }
        Ok((rewritten, positioned))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use apikey_testkit::fixtures::{base_time, full_record, updated};

    use super::*;
    use crate::doc::{EventDoc, KeyDoc, date, uuid};

    /// A pre-v2 event document exactly as the old `EventDoc` serialised it.
    pub(crate) fn old_event(
        action: &str,
        with_legacy: bool,
    ) -> (Document, apikey_core::AuditEvent) {
        let mut r = full_record(None, base_time());
        // Events from before audit v2 predate protection (signing, canaries) too.
        r.protection = Default::default();
        if with_legacy {
            r.legacy_lookup = Some(apikey_core::record::LegacyPrefix::new("c0ffee97").unwrap());
        }
        let mut next = r.clone();
        next.version += 1;
        next.name = "renamed".into();
        let v2 = updated(&r, &next);
        let old = doc! {
            "_id": uuid(v2.id),
            "key_id": uuid(*r.id.as_uuid()),
            "tenant_id": Bson::Null,
            "action": action,
            "actor": v2.actor.clone(),
            "reason": v2.reason.clone(),
            "at": date(v2.at),
            "version": i64_of(v2.version),
            "before": KeyDoc::from_record(&r).to_document().unwrap(),
            "after": KeyDoc::from_record(&next).to_document().unwrap(),
        };
        (old, v2)
    }

    #[test]
    fn pre_v2_documents_upgrade_to_the_v2_event() {
        let (old, v2) = old_event("updated", true);
        assert!(format!("{old:?}").contains("c0ffee97"));
        let up = upgrade(old.clone()).unwrap();
        assert!(!format!("{up:?}").contains("c0ffee97"));
        assert!(!format!("{up:?}").contains("\"hash\""));
        assert_eq!(EventDoc::decode(up.clone()).unwrap(), v2);
        assert_eq!(upgrade(up.clone()).unwrap(), up, "v2 stays as it is");
        let update = upgrade_update(&old).unwrap().expect("an update");
        let unset = update.get_document("$unset").unwrap();
        for f in [
            "action",
            "before.hash",
            "after.hash",
            "before.legacy_lookup",
        ] {
            assert!(unset.contains_key(f), "{f}: {update}");
        }
        assert_eq!(upgrade_update(&up).unwrap(), None);
        for bad in ["exploded", "expiring"] {
            let (old, _) = old_event(bad, false);
            assert!(upgrade(old).is_err(), "{bad}");
        }
    }
}
