//! The [`CatalogStore`] implementation of [`MongoStore`]: templates, groups and rotation policies,
//! one document per (tenant, kind, name) in `<prefix>catalog`, written by compare-and-set on
//! `version` together with its audit event, the way key changes are (see
//! [`journal`](crate::journal)).
//!
//! A document is `{_id, tenant, kind, name, preset, version, updated_at, pending_events,
//! deleting}`:
//!
//! - `_id` is an `ObjectId` (the driver's); `(tenant, kind, name)` is unique by index. `tenant`
//!   is the tenant id, or `""` for the keys without one (tenant ids are never empty: the choice of
//!   [`tenant_settings`](crate::tenant_settings) and of the SQL stores). `kind` is the stored
//!   name of the [`CatalogKind`] (`template`, `group`, `policy`); names compare byte for byte.
//! - `preset` is the [`Preset`] as JSON text, like a key's `metadata`: its key defaults carry
//!   metadata with arbitrary user keys that BSON field names cannot all hold.
//! - `version` (`Int64`, 1 for the first write) and `updated_at` (the event's instant).
//!
//! A save is one single-document write that also pushes its event onto `pending_events`: an
//! insert when version 0 is expected (a duplicate is `Conflict`), else a `findOneAndUpdate`
//! filtered on `(tenant, kind, name, version)`; no match is `Conflict`, and nothing was written.
//! A removal marks the document `deleting` with its event pending (readers stop seeing it), and
//! settling the event removes it, exactly as for a key. [`MongoStore::repair`] settles what a
//! crash left pending here too.

use apikey_core::catalog::{CatalogKind, CatalogStore, Preset, StoredPreset};
use apikey_core::{AuditEvent, Error, Result, TenantId};
use async_trait::async_trait;
use bson::{Bson, DateTime as BsonDate, Document, doc};
use futures_util::TryStreamExt;
use mongodb::options::ReturnDocument;
use serde::Deserialize;

use crate::doc::{EventDoc, chrono as to_chrono, date};
use crate::error;
use crate::store::MongoStore;
use crate::tenant_settings::row_id;

/// The filter of one live preset.
fn one(tenant: Option<&TenantId>, kind: CatalogKind, name: &str) -> Document {
    let mut d = all(tenant, kind);
    d.insert("name", doc! { "$eq": name });
    d
}

/// The filter of every live preset of `kind` in `tenant`.
fn all(tenant: Option<&TenantId>, kind: CatalogKind) -> Document {
    doc! {
        "tenant": { "$eq": row_id(tenant) },
        "kind": { "$eq": kind.as_str() },
        "deleting": { "$eq": false },
    }
}

/// What a read takes of a catalog document.
#[derive(Deserialize)]
struct PresetDoc {
    tenant: String,
    preset: String,
    version: i64,
    updated_at: BsonDate,
}

fn decode(doc: Document) -> Result<StoredPreset> {
    let stored: PresetDoc =
        bson::from_document(doc).map_err(|e| error::bson("read catalog preset", e))?;
    let preset = serde_json::from_str(&stored.preset)
        .map_err(|e| Error::backend("read catalog preset: corrupt preset JSON", e))?;
    let version = u64::try_from(stored.version)
        .map_err(|e| Error::backend("read catalog preset: negative version", e))?;
    let tenant = if stored.tenant.is_empty() {
        None
    } else {
        Some(
            TenantId::new(stored.tenant)
                .map_err(|e| Error::backend("read catalog preset: corrupt tenant", e))?,
        )
    };
    Ok(StoredPreset {
        tenant,
        preset,
        version,
        updated_at: to_chrono(stored.updated_at),
    })
}

fn fields() -> Document {
    doc! { "tenant": 1, "preset": 1, "version": 1, "updated_at": 1 }
}

fn stale(kind: CatalogKind, name: &str, expected: u64) -> Error {
    Error::stale(format_args!(
        "{kind} {name:?} (expected version {expected})"
    ))
}

impl MongoStore {
    /// Put, step 1: the compare-and-set write with `event` pending, in one single-document
    /// write. Returns the written document's `_id` and the new version. Kept apart from
    /// [`put_preset`](CatalogStore::put_preset) so tests can stop after it, as a crash would.
    pub(crate) async fn put_preset_step(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<(Bson, u64)> {
        let (kind, name) = (preset.kind, preset.name.as_str());
        let pending = EventDoc::from_event(event)?.to_document()?;
        let json = serde_json::to_string(preset).map_err(|e| Error::invalid("preset", e))?;
        if expected_version == 0 {
            let doc = doc! {
                "tenant": row_id(tenant),
                "kind": kind.as_str(),
                "name": name,
                "preset": json,
                "version": 1_i64,
                "updated_at": date(event.at),
                "pending_events": [pending],
                "deleting": false,
            };
            return match self.catalog.insert_one(doc.clone()).await {
                Ok(r) => Ok((r.inserted_id, 1)),
                Err(e) if error::is_duplicate_key(&e) => {
                    // A removal a crash interrupted still holds the name: finish it, try once more.
                    if self.finish_marked_preset(tenant, kind, name).await? {
                        let r = self.catalog.insert_one(doc).await.map_err(|e| {
                            if error::is_duplicate_key(&e) {
                                stale(kind, name, 0).with_source(e)
                            } else {
                                error::driver("write catalog preset", e)
                            }
                        })?;
                        return Ok((r.inserted_id, 1));
                    }
                    Err(stale(kind, name, 0).with_source(e))
                }
                Err(e) => Err(error::driver("write catalog preset", e)),
            };
        }
        // `version` is an Int64: past `i64::MAX` nothing is stored, so such a version is stale.
        let (Ok(expected), Ok(next)) = (
            i64::try_from(expected_version),
            i64::try_from(expected_version.saturating_add(1)),
        ) else {
            return Err(stale(kind, name, expected_version));
        };
        let mut filter = one(tenant, kind, name);
        filter.insert("version", doc! { "$eq": expected });
        let written = self
            .catalog
            .find_one_and_update(
                filter,
                doc! {
                    "$set": { "preset": json, "version": next, "updated_at": date(event.at) },
                    "$push": { "pending_events": pending },
                },
            )
            .projection(doc! { "_id": 1 })
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| error::driver("write catalog preset", e))?;
        match written.and_then(|d| d.get("_id").cloned()) {
            Some(id) => Ok((id, expected_version + 1)),
            None => Err(stale(kind, name, expected_version)),
        }
    }

    /// Remove, step 1: marks the preset `deleting` with `event` pending; its `_id`, or `None`
    /// when there is no such preset.
    pub(crate) async fn mark_preset_step(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<Option<Bson>> {
        let pending = EventDoc::from_event(event)?.to_document()?;
        let marked = self
            .catalog
            .find_one_and_update(
                one(tenant, kind, name),
                doc! { "$set": { "deleting": true }, "$push": { "pending_events": pending } },
            )
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| error::driver("remove catalog preset", e))?;
        Ok(marked.and_then(|d| d.get("_id").cloned()))
    }

    /// Finishes an interrupted removal of this preset, if there is one; whether there was.
    async fn finish_marked_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<bool> {
        let mut filter = one(tenant, kind, name);
        filter.insert("deleting", doc! { "$eq": true });
        let marked = self
            .catalog
            .find_one(filter)
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| error::driver("write catalog preset", e))?;
        let Some(id) = marked.and_then(|d| d.get("_id").cloned()) else {
            return Ok(false);
        };
        self.repair_catalog_doc(&id).await?;
        Ok(true)
    }

    async fn repair_catalog_doc(&self, id: &Bson) -> Result<()> {
        let coll = self.catalog.clone();
        self.repair_doc(&coll, id).await.map(|_| ())
    }
}

#[async_trait]
impl CatalogStore for MongoStore {
    async fn get_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<Option<StoredPreset>> {
        self.catalog
            .find_one(one(tenant, kind, name))
            .projection(fields())
            .await
            .map_err(|e| error::driver("read catalog preset", e))?
            .map(decode)
            .transpose()
    }

    async fn list_presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>> {
        let docs: Vec<Document> = self
            .catalog
            .find(all(tenant, kind))
            .projection(fields())
            .await
            .map_err(|e| error::driver("list catalog presets", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("list catalog presets", e))?;
        let mut presets = docs.into_iter().map(decode).collect::<Result<Vec<_>>>()?;
        // By name in byte order, whatever the server's collation.
        presets.sort_by(|a, b| a.preset.name.cmp(&b.preset.name));
        Ok(presets)
    }

    async fn put_preset(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<u64> {
        let (id, version) = self
            .put_preset_step(tenant, preset, expected_version, event)
            .await?;
        // Committed with its event: settling is the journal's job from here.
        self.settle_in(&self.catalog, &id).await;
        Ok(version)
    }

    async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool> {
        match self.mark_preset_step(tenant, kind, name, event).await? {
            Some(id) => {
                self.settle_in(&self.catalog, &id).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_document_decodes_with_its_tenant() {
        let p = Preset::new(CatalogKind::Group, "ops");
        let d = doc! {
            "tenant": "",
            "preset": serde_json::to_string(&p).unwrap(),
            "version": crate::doc::i64_of(4),
            "updated_at": BsonDate::from_millis(1_700_000_000_007),
        };
        let s = decode(d.clone()).unwrap();
        assert_eq!((s.tenant, s.preset, s.version), (None, p, 4));
        let mut d = d;
        d.insert("tenant", "acme");
        assert_eq!(decode(d).unwrap().tenant.unwrap().as_str(), "acme");
    }

    #[test]
    fn corrupt_documents_are_backend_errors() {
        let d = doc! {
            "tenant": "", "preset": "{", "version": 1_i64,
            "updated_at": BsonDate::from_millis(0),
        };
        assert_eq!(
            decode(d).unwrap_err().kind(),
            apikey_core::ErrorKind::Backend
        );
    }
}
