//! Export and import of key records (JSON), for backups and moving keys between stores.
//!
//! An export carries each record whole, stored hash included, so an import into another store keeps
//! every key working — provided the importing deployment has the same peppers. Treat an export file
//! like a database dump. Tokens are never part of it (they are never stored).

use serde::{Deserialize, Serialize};

use crate::audit::EventType;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{KeyId, TenantScope};
use crate::manage::{Change, KeyManager};
use crate::record::KeyRecord;
use crate::store::{KeyFilter, MAX_PAGE_SIZE};

/// The export format version this crate writes and reads.
pub const EXPORT_FORMAT: u32 = 1;

/// A set of exported keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// Format version ([`EXPORT_FORMAT`]).
    pub format: u32,
    /// The records.
    pub keys: Vec<KeyRecord>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Keys inserted.
    pub imported: Vec<KeyId>,
    /// Keys skipped because their id or lookup id already exists.
    pub skipped: Vec<KeyId>,
    /// Imported legacy keys (nest-api-key-auth) whose 8-character legacy prefix is now shared by
    /// more keys than the verifier hashes per request
    /// ([`VerifierConfig::max_legacy_candidates`](crate::VerifierConfig::max_legacy_candidates)):
    /// some of them may never verify. Re-issue them, or raise that limit.
    pub crowded_legacy: Vec<KeyId>,
}

impl KeyManager {
    /// Every key in `tenant` matching `filter` (all pages).
    pub async fn export(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Export> {
        let mut filter = KeyFilter {
            limit: MAX_PAGE_SIZE,
            ..filter.clone()
        };
        let mut keys = Vec::new();
        loop {
            let page = self.query(tenant, &filter).await?;
            keys.extend(page.items);
            match page.next {
                Some(cursor) => filter.after = Some(cursor),
                None => break,
            }
        }
        Ok(Export {
            format: EXPORT_FORMAT,
            keys,
        })
    }

    /// Inserts exported keys, each with an `Imported` audit event. Keys whose id or lookup id exists
    /// already are skipped, not overwritten. With a tenant scope, every key must belong to it.
    /// The whole file is validated before anything is written.
    ///
    /// Imports bypass the tenant settings: they restore keys that existed (in their recorded
    /// states), so neither the key-count limits nor `approval_required` apply.
    pub async fn import(
        &self,
        tenant: &TenantScope,
        export: Export,
        change: Change,
    ) -> Result<ImportReport> {
        change.validate()?;
        if export.format != EXPORT_FORMAT {
            return Err(Error::invalid(
                "format",
                format_args!("expected {EXPORT_FORMAT}, found {}", export.format),
            ));
        }
        for (i, r) in export.keys.iter().enumerate() {
            validate_record(r).map_err(|e| Error::invalid(&format!("keys[{i}]"), e.message()))?;
            if !tenant.admits(r.tenant_id.as_ref()) {
                return Err(Error::invalid(
                    &format!("keys[{i}]"),
                    "belongs to another tenant",
                ));
            }
        }
        let who = Change {
            reason: change.reason.or_else(|| Some("import".into())),
            actor: change.actor,
        };
        let mut report = ImportReport::default();
        let mut prefixes: Vec<(String, KeyId)> = export
            .keys
            .iter()
            .filter_map(|r| Some((String::from(r.legacy_lookup.clone()?), r.id)))
            .collect();
        for record in export.keys {
            let event = self.audit_event(None, Some(&record), EventType::Imported, &who);
            match self.inner.store.insert(&record, &event).await {
                Ok(()) => {
                    if let Err(e) = self.invalidate(&record).await {
                        tracing::warn!(error = %e, key = %record.id, "could not clear the shared cache for an imported key");
                    }
                    report.imported.push(record.id);
                }
                Err(e) if e.kind() == ErrorKind::Conflict => report.skipped.push(record.id),
                Err(e) => return Err(e),
            }
        }
        prefixes.retain(|(_, id)| report.imported.contains(id));
        report.crowded_legacy = self.crowded_legacy(prefixes).await?;
        Ok(report)
    }

    /// Which of `imported` (legacy prefix, key) share their prefix with more keys than the
    /// verifier tries per request.
    async fn crowded_legacy(&self, mut imported: Vec<(String, KeyId)>) -> Result<Vec<KeyId>> {
        let Some(legacy) = self.inner.store.legacy() else {
            return Ok(Vec::new());
        };
        imported.sort_unstable();
        let mut crowded = Vec::new();
        let mut i = 0;
        while i < imported.len() {
            let prefix = imported[i].0.clone();
            let end = imported[i..]
                .iter()
                .position(|(p, _)| *p != prefix)
                .map_or(imported.len(), |n| i + n);
            let sharing = legacy.find_by_legacy_lookup(&prefix).await?.len();
            if sharing > self.inner.config.max_legacy_candidates {
                crowded.extend(imported[i..end].iter().map(|(_, id)| *id));
            }
            i = end;
        }
        Ok(crowded)
    }
}

fn validate_record(r: &KeyRecord) -> Result<()> {
    use crate::manage::validate as v;
    v::name(&r.name)?;
    if r.version == 0 {
        return Err(Error::invalid("version", "must be at least 1"));
    }
    if r.tags.len() > v::MAX_TAGS || r.aliases.len() > v::MAX_TAGS {
        return Err(Error::invalid(
            "tags",
            format_args!("at most {}", v::MAX_TAGS),
        ));
    }
    r.ip_rules.validate()?;
    if let Some(rate) = &r.rate_limit {
        rate.validate()?;
    }
    crate::manage::new_key::validate_endpoint_limits(&r.endpoint_limits)?;
    if let Some(q) = &r.quota {
        q.validate()?;
    }
    Ok(())
}
