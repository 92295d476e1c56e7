//! Read, map, and hand the keys to [`KeyManager::import`]: the one step the command line runs.

use std::collections::HashMap;

use apikey_core::manage::{EXPORT_FORMAT, Export};
use apikey_core::{Change, ErrorKind, KeyId, KeyManager, TenantId, TenantScope};

use crate::error::NestError;
use crate::map::map_row;
use crate::read::NestSource;
use crate::report::{ImportedRow, NestReport, RowFailure};

/// How to import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NestOptions {
    /// Read and map, report what would happen, write nothing.
    pub dry_run: bool,
    /// The tenant every imported key belongs to (none: keys without a tenant).
    pub tenant: Option<TenantId>,
    /// Who runs the import, for the audit events.
    pub actor: Option<String>,
}

impl NestOptions {
    /// A real import of keys without a tenant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only report what would happen.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Import into `tenant`.
    #[must_use]
    pub fn tenant(mut self, tenant: Option<TenantId>) -> Self {
        self.tenant = tenant;
        self
    }

    /// Record `actor` on the audit events.
    #[must_use]
    pub fn actor(mut self, actor: Option<String>) -> Self {
        self.actor = actor;
        self
    }
}

/// Imports every key the nest-api-key-auth source at `source_url` holds into `manager`'s store.
///
/// Each row becomes a key whose original token keeps working with a verifier built with
/// [`TokenFormat::with_legacy`](apikey_core::TokenFormat::with_legacy) (it is re-hashed on first
/// use), or is reported in [`NestReport::failed`] with its reason; bad rows never stop good ones.
/// Keys already imported (same source id and tenant) are skipped, so running it twice is safe.
pub async fn import_nest(
    manager: &KeyManager,
    source_url: &str,
    options: &NestOptions,
) -> Result<NestReport, NestError> {
    let read = NestSource::new(source_url)?.read().await?;
    let mut report = NestReport {
        shape: read.shape,
        dry_run: options.dry_run,
        imported: Vec::new(),
        skipped: Vec::new(),
        failed: read.unreadable,
        crowded_legacy: Vec::new(),
    };
    let tenant = options.tenant.as_ref();
    let scope = tenant.map_or(TenantScope::All, |t| TenantScope::Tenant(t.clone()));
    let mut rows: HashMap<KeyId, ImportedRow> = HashMap::new();
    let mut keys = Vec::new();
    for row in &read.rows {
        match map_row(row, tenant) {
            Ok(m) if rows.contains_key(&m.record.id) => report.failed.push(RowFailure {
                source_id: row.id.clone(),
                reason: "another row has the same id".into(),
            }),
            Ok(m) => {
                let entry = ImportedRow {
                    source_id: row.id.clone(),
                    key: m.record.id,
                    name: m.record.name.clone(),
                    notes: m.notes,
                };
                rows.insert(m.record.id, entry);
                keys.push(m.record);
            }
            Err(reason) => report.failed.push(RowFailure {
                source_id: row.id.clone(),
                reason,
            }),
        }
    }

    if options.dry_run {
        for key in &keys {
            let entry = rows.remove(&key.id).expect("every mapped key has its row");
            match manager.get(&scope, key.id).await {
                Ok(_) => report.skipped.push(entry),
                Err(e) if e.kind() == ErrorKind::NotFound => report.imported.push(entry),
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(report);
    }

    let change = Change::new()
        .with_actor(options.actor.clone())
        .because("import from nest-api-key-auth");
    let done = manager
        .import(
            &scope,
            Export {
                format: EXPORT_FORMAT,
                keys,
            },
            change,
        )
        .await?;
    report.imported = done
        .imported
        .iter()
        .filter_map(|id| rows.remove(id))
        .collect();
    report.skipped = done
        .skipped
        .iter()
        .filter_map(|id| rows.remove(id))
        .collect();
    report.crowded_legacy = done.crowded_legacy;
    Ok(report)
}
