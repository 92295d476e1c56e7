//! Tenant settings on the [`KeyManager`]: reading and writing them, and the checks
//! [`create_as`](KeyManager::create_as) makes with them.

use super::{Change, KeyManager};
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::TenantId;
use crate::store::KeyFilter;
use crate::tenant::{self, CountLimits, StoredSettings, TenantSettings, TenantSettingsStore};

impl KeyManager {
    fn settings_store(&self) -> Result<&dyn TenantSettingsStore> {
        self.settings.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "no tenant settings store: wire one with ApiKeysBuilder::tenant_settings",
            )
        })
    }

    /// The stored settings row of `tenant` (`None`: the default row), with the version that
    /// [`set_settings`](Self::set_settings) needs; `Ok(None)` when the row was never written.
    /// A [`Config`](ErrorKind::Config) error when no settings store is wired.
    pub async fn settings(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        self.settings_store()?.get(tenant).await
    }

    /// The settings that apply to `tenant` (see [`tenant::effective`]); the defaults when no
    /// settings store is wired.
    pub async fn effective_settings(&self, tenant: Option<&TenantId>) -> Result<TenantSettings> {
        match &self.settings {
            Some(store) => tenant::effective(store.as_ref(), tenant).await,
            None => Ok(TenantSettings::default()),
        }
    }

    /// Replaces the settings row of `tenant` (`None`: the default row) if it is at
    /// `expected_version` (0: it must not exist yet), recording `change`'s actor and reason in
    /// the audit event written with it. Invalid settings or a bad change are refused before
    /// anything is written; a stale version is [`Conflict`](ErrorKind::Conflict) (reload with
    /// [`settings`](Self::settings) and retry). Returns the row as stored.
    pub async fn set_settings(
        &self,
        tenant: Option<&TenantId>,
        settings: TenantSettings,
        expected_version: u64,
        change: Change,
    ) -> Result<StoredSettings> {
        settings.validate()?;
        change.validate()?;
        let store = self.settings_store()?;
        let new_version = expected_version
            .checked_add(1)
            .ok_or_else(|| Error::invalid("expected_version", "out of range"))?;
        let now = truncate_ms(self.inner.clock.now());
        let event = tenant::settings_event(
            tenant,
            new_version,
            &settings,
            now,
            change.actor,
            change.reason,
        )?;
        let version = store
            .put(tenant, expected_version, &settings, &event)
            .await?;
        Ok(StoredSettings {
            settings,
            version,
            updated_at: now,
        })
    }

    /// Refuses `record` when a key-count limit of `settings` is reached, for stores without the
    /// [`CheckedInsert`](crate::tenant::CheckedInsert) capability: a count and then an insert, so
    /// two creations racing past the same count both succeed.
    pub(super) async fn check_limits(
        &self,
        settings: &TenantSettings,
        tenant: Option<&TenantId>,
        record: &crate::record::KeyRecord,
    ) -> Result<()> {
        let limits = CountLimits::of(settings);
        if limits.is_unlimited() {
            return Ok(());
        }
        let counted = KeyFilter {
            states: settings.counted_states.clone(),
            ..KeyFilter::default()
        };
        let tenant_count = match limits.max_per_tenant {
            Some(_) => self.inner.store.count(tenant, &counted).await?,
            None => 0,
        };
        let mut owner_counts = Vec::new();
        for owner in limits.owners_to_count([record]) {
            let by_owner = KeyFilter {
                owner: Some(owner.clone()),
                ..counted.clone()
            };
            owner_counts.push((owner, self.inner.store.count(tenant, &by_owner).await?));
        }
        limits.check(tenant, [record], tenant_count, |o| {
            owner_counts
                .iter()
                .find(|(n, _)| n == o)
                .map_or(0, |(_, c)| *c)
        })
    }
}
