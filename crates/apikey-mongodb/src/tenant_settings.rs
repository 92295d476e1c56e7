//! The [`TenantSettingsStore`] implementation of [`MongoStore`]: one document per tenant in
//! `<prefix>tenant_settings`, written by compare-and-set on `version` together with its audit
//! event, the way key changes are (see [`journal`](crate::journal)).
//!
//! A document is `{_id, settings, version, updated_at, pending_events}`:
//!
//! - `_id` is the tenant id, or [`DEFAULT_ROW`] (`""`) for the default row. Tenant ids are 1 to 64
//!   characters, so the empty string is never one: the same choice as the SQL stores'
//!   `tenant_key`.
//! - `settings` is a BSON document in the serde form of [`TenantSettings`]. BSON carries every
//!   field exactly: the field names are fixed ASCII (not user strings, unlike key `metadata`), the
//!   values are booleans, `u32`s (stored as `Int64`, which holds every `u32`), state names and a
//!   nested document. Fields missing from an older document read as their defaults; fields a
//!   newer version wrote are dropped on read (see [`TenantSettings`]).
//! - `version` (`Int64`, 1 for the first write) and `updated_at` (a BSON date: the event's
//!   instant).
//!
//! [`put`](TenantSettingsStore::put) is one single-document write (step 1): an insert at version
//! 1 when version 0 is expected (a duplicate `_id` is `Conflict`), else an update filtered on
//! `_id` and the expected `version` that sets the new settings and pushes the event onto
//! `pending_events`. A write that matches nothing is `Conflict`, and nothing was written. The event
//! is then settled into the audit log like a key change's; [`MongoStore::repair`] settles what a
//! crash left pending here too.

use apikey_core::tenant::{StoredSettings, TenantSettings, TenantSettingsStore};
use apikey_core::{AuditEvent, Error, Result, TenantId};
use async_trait::async_trait;
use bson::{Bson, DateTime as BsonDate, Document, doc};
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::doc::{EventDoc, chrono as to_chrono, date};
use crate::error;
use crate::store::MongoStore;

/// The `_id` of the default row (keys without a tenant, and every tenant without a row).
pub(crate) const DEFAULT_ROW: &str = "";

/// The `_id` of `tenant`'s document.
pub(crate) fn row_id(tenant: Option<&TenantId>) -> &str {
    tenant.map_or(DEFAULT_ROW, TenantId::as_str)
}

/// `settings` as stored.
fn encode(settings: &TenantSettings) -> Result<Document> {
    bson::to_document(settings).map_err(|e| Error::invalid("tenant settings", e))
}

/// What [`get`](TenantSettingsStore::get) reads of a settings document.
#[derive(Deserialize)]
struct SettingsDoc {
    settings: Document,
    version: i64,
    updated_at: BsonDate,
}

/// A stored settings document as [`StoredSettings`]; anything malformed is `Backend`.
fn decode(doc: Document) -> Result<StoredSettings> {
    let stored: SettingsDoc =
        bson::from_document(doc).map_err(|e| error::bson("read tenant settings", e))?;
    let settings = bson::from_document(stored.settings)
        .map_err(|e| error::bson("read tenant settings: settings", e))?;
    let version = u64::try_from(stored.version)
        .map_err(|e| Error::backend("read tenant settings: negative version", e))?;
    Ok(StoredSettings {
        settings,
        version,
        updated_at: to_chrono(stored.updated_at),
    })
}

fn stale(tenant: Option<&TenantId>, expected: u64) -> Error {
    let whose = tenant.map_or_else(|| "the default row".to_owned(), |t| format!("tenant {t}"));
    Error::stale(format_args!(
        "settings of {whose} (expected version {expected})"
    ))
}

impl MongoStore {
    /// Put, step 1: the compare-and-set write of the settings with `event` pending, in one
    /// single-document write. Returns the new version. Kept apart from
    /// [`put`](TenantSettingsStore::put) so tests can stop after it, as a crash would.
    pub(crate) async fn put_settings_step(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        let id = row_id(tenant);
        let pending = EventDoc::from_event(event)?.to_document()?;
        let settings = encode(settings)?;
        if expected_version == 0 {
            let doc = doc! {
                "_id": id,
                "settings": settings,
                "version": 1_i64,
                "updated_at": date(event.at),
                "pending_events": [pending],
            };
            return match self.settings.insert_one(doc).await {
                Ok(_) => Ok(1),
                // The row exists already: a first write raced us, or the caller's 0 is stale.
                Err(e) if error::is_duplicate_key(&e) => Err(stale(tenant, 0).with_source(e)),
                Err(e) => Err(error::driver("write tenant settings", e)),
            };
        }
        // `version` is an Int64: a version past `i64::MAX` is never stored, and one at it has no
        // successor to store. Both are refused as stale, before anything is sent.
        let (Ok(expected), Ok(next)) = (
            i64::try_from(expected_version),
            i64::try_from(expected_version.saturating_add(1)),
        ) else {
            return Err(stale(tenant, expected_version));
        };
        let result = self
            .settings
            .update_one(
                doc! { "_id": { "$eq": id }, "version": { "$eq": expected } },
                doc! {
                    "$set": {
                        "settings": settings,
                        "version": next,
                        "updated_at": date(event.at),
                    },
                    "$push": { "pending_events": pending },
                },
            )
            .await
            .map_err(|e| error::driver("write tenant settings", e))?;
        // No match: another version is stored, or no row at all (a version with no row is no
        // version). Either way the caller's version is stale, and nothing was written.
        if result.matched_count == 1 {
            Ok(expected_version + 1)
        } else {
            Err(stale(tenant, expected_version))
        }
    }
}

#[async_trait]
impl TenantSettingsStore for MongoStore {
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        self.settings
            .find_one(doc! { "_id": { "$eq": row_id(tenant) } })
            .projection(doc! { "settings": 1, "version": 1, "updated_at": 1 })
            .await
            .map_err(|e| error::driver("read tenant settings", e))?
            .map(decode)
            .transpose()
    }

    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        let version = self
            .put_settings_step(tenant, expected_version, settings, event)
            .await?;
        // Committed with its event: settling is the journal's job from here (a failure is logged
        // and left to the next repair, as for keys).
        self.settle_in(&self.settings, &Bson::from(row_id(tenant)))
            .await;
        Ok(version)
    }

    async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
        let docs: Vec<Document> = self
            .settings
            .find(doc! {})
            .projection(doc! { "_id": 1, "settings": 1, "version": 1, "updated_at": 1 })
            .await
            .map_err(|e| error::driver("list tenant settings", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("list tenant settings", e))?;
        docs.into_iter()
            .map(|mut d| {
                let id = match d.remove("_id") {
                    Some(Bson::String(id)) => id,
                    _ => {
                        return Err(Error::backend(
                            "list tenant settings",
                            "a row without a string _id",
                        ));
                    }
                };
                let tenant = if id == DEFAULT_ROW {
                    None
                } else {
                    Some(TenantId::new(id)?)
                };
                Ok((tenant, decode(d)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use apikey_core::ErrorKind;
    use apikey_core::request_log::{RequestLogMode, RequestLogSettings};
    use apikey_core::tenant::Retention;
    use apikey_core::{KeyState, TenantSettings};
    use chrono::TimeZone;

    use super::*;

    fn every_field_set() -> TenantSettings {
        TenantSettings {
            approval_required: true,
            max_keys_per_tenant: Some(u32::MAX),
            max_keys_per_owner: Some(0),
            counted_states: vec![KeyState::Revoked, KeyState::Pending],
            retention: Retention {
                audit_days: Some(400),
                usage_days: Some(800),
            },
            request_log: RequestLogSettings {
                mode: RequestLogMode::Sampled { one_in: 7 },
                retention_days: 90,
                keys: [(apikey_core::KeyId::new(), RequestLogMode::Full)].into(),
            },
            threats: apikey_core::threat::TenantThreats {
                rate_surge: Some(apikey_core::threat::KeyDetectorSetting {
                    action: apikey_core::threat::TenantThreatAction::Observe,
                    threshold: Some(20),
                }),
                ..apikey_core::threat::TenantThreats::default()
            },
        }
    }

    fn stored(settings: Document) -> Document {
        doc! {
            "_id": "acme",
            "settings": settings,
            "version": 3_i64,
            "updated_at": date(chrono::Utc.timestamp_millis_opt(1_700_000_000_007).unwrap()),
            "pending_events": [],
        }
    }

    #[test]
    fn every_field_round_trips_through_bson() {
        for s in [every_field_set(), TenantSettings::default()] {
            let back = decode(stored(encode(&s).unwrap())).unwrap();
            assert_eq!(back.settings, s);
            assert_eq!(back.version, 3);
            assert_eq!(back.updated_at.timestamp_millis(), 1_700_000_000_007);
        }
    }

    #[test]
    fn missing_fields_read_as_defaults_and_unknown_ones_are_dropped() {
        let back = decode(stored(doc! { "approval_required": true, "later": 1 })).unwrap();
        assert_eq!(
            back.settings,
            TenantSettings {
                approval_required: true,
                ..TenantSettings::default()
            }
        );
    }

    #[test]
    fn malformed_documents_are_backend_errors_naming_the_step() {
        let mut bad = stored(encode(&every_field_set()).unwrap());
        bad.insert("version", -1_i64);
        let e = decode(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(e.message().contains("read tenant settings"), "{e}");
        let e = decode(stored(doc! { "counted_states": "active" })).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(e.message().contains("read tenant settings"), "{e}");
    }

    #[test]
    fn the_default_row_is_no_tenant_id() {
        assert_eq!(row_id(None), "");
        assert!(TenantId::new("").is_err());
        assert_eq!(row_id(Some(&TenantId::new("a").unwrap())), "a");
    }
}
