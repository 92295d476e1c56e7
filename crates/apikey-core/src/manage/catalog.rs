//! Templates and groups on the [`KeyManager`]: saving, reading and removing presets, and filling
//! a new key from its template and group.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Change, KeyManager, NewKey};
use crate::catalog::{CatalogKind, CatalogStore, KeyDefaults, Preset, StoredPreset, preset_event};
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::TenantId;

impl KeyManager {
    pub(super) fn catalog_store(&self) -> Result<&dyn CatalogStore> {
        self.catalog.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "no catalog of templates and groups: wire one with ApiKeysBuilder::catalog",
            )
        })
    }

    /// Creates or replaces a template or group of `tenant` if it is at `expected_version` (0: it
    /// must not exist yet), with its audit event. An invalid preset is refused naming the field,
    /// a stale version is [`Conflict`](ErrorKind::Conflict); either way nothing is written.
    pub async fn save_preset(
        &self,
        tenant: Option<&TenantId>,
        mut preset: Preset,
        expected_version: u64,
        change: Change,
    ) -> Result<StoredPreset> {
        preset.validate()?;
        change.validate()?;
        let store = self.catalog_store()?;
        let new_version = expected_version
            .checked_add(1)
            .ok_or_else(|| Error::invalid("expected_version", "out of range"))?;
        let now = truncate_ms(self.inner.clock.now());
        let event = preset_event(
            tenant,
            preset.kind,
            &preset.name,
            Some((&preset, new_version)),
            now,
            change.actor,
            change.reason,
        )?;
        let version = store
            .put_preset(tenant, &preset, expected_version, &event)
            .await?;
        if preset.kind == CatalogKind::Pool
            && let Some(book) = &self.inner.pools
        {
            book.forget(tenant);
        }
        Ok(StoredPreset {
            tenant: tenant.cloned(),
            preset,
            version,
            updated_at: now,
        })
    }

    /// The template or group `name` of `tenant`; [`NotFound`](ErrorKind::NotFound) naming it.
    pub async fn preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<StoredPreset> {
        self.catalog_store()?
            .get_preset(tenant, kind, name)
            .await?
            .ok_or_else(|| Error::not_found(format_args!("{kind} {name:?}")))
    }

    /// Every template or group of `tenant`, by name.
    pub async fn presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>> {
        self.catalog_store()?.list_presets(tenant, kind).await
    }

    /// Removes a template or group (its keys keep their labels); an unknown one is
    /// [`NotFound`](ErrorKind::NotFound).
    pub async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        change: Change,
    ) -> Result<()> {
        change.validate()?;
        let now = truncate_ms(self.inner.clock.now());
        let event = preset_event(tenant, kind, name, None, now, change.actor, change.reason)?;
        if self
            .catalog_store()?
            .remove_preset(tenant, kind, name, &event)
            .await?
        {
            if kind == CatalogKind::Pool
                && let Some(book) = &self.inner.pools
            {
                book.forget(tenant);
            }
            Ok(())
        } else {
            Err(Error::not_found(format_args!("{kind} {name:?}")))
        }
    }

    /// Fills `new` from its template, then its group, reading each preset once per `cache`
    /// (a bulk creation shares one). Without a catalog a template is refused (nothing to read it
    /// from) and a group stays a free label.
    pub(crate) async fn apply_presets(
        &self,
        new: &mut NewKey,
        now: DateTime<Utc>,
        cache: &mut PresetCache,
    ) -> Result<()> {
        let Some(store) = self.catalog.as_deref() else {
            if let Some(t) = &new.template {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "template {t:?} given, but no catalog is wired (ApiKeysBuilder::catalog)"
                    ),
                ));
            }
            return Ok(());
        };
        let tenant = new.tenant.clone();
        for (kind, name) in [
            (CatalogKind::Template, new.template.clone()),
            (CatalogKind::Group, new.group.clone()),
        ] {
            let Some(name) = name else { continue };
            let key = (tenant.clone(), kind, name);
            let defaults = match cache.0.get(&key) {
                Some(d) => d,
                None => {
                    let stored = store
                        .get_preset(tenant.as_ref(), kind, &key.2)
                        .await?
                        .ok_or_else(|| {
                            crate::catalog::UnknownPreset {
                                kind,
                                name: key.2.clone(),
                            }
                            .into_error()
                        })?;
                    cache.0.entry(key).or_insert(stored.preset.defaults)
                }
            };
            defaults.fill(new, now);
        }
        Ok(())
    }
}

/// Presets already read, by (tenant, kind, name): one read per preset for a whole bulk creation.
#[derive(Default)]
pub(crate) struct PresetCache(HashMap<(Option<TenantId>, CatalogKind, String), KeyDefaults>);
