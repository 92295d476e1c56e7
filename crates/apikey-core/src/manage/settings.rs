//! Tenant settings on the [`KeyManager`]: reading and writing them, and the checks
//! [`create_as`](KeyManager::create_as) makes with them.

use super::{Change, KeyManager};
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::TenantId;
use crate::store::KeyFilter;
use crate::tenant::{
    self, KeyLimit, KeyLimitReached, StoredSettings, TenantSettings, TenantSettingsStore,
};

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

    /// Refuses a new key of `owner` in `tenant` when a key-count limit of `settings` is reached.
    /// A count and then an insert: two creations racing past the same count both succeed.
    pub(super) async fn check_limits(
        &self,
        settings: &TenantSettings,
        tenant: Option<&TenantId>,
        owner: Option<&str>,
    ) -> Result<()> {
        let counted = KeyFilter {
            states: settings.counted_states.clone(),
            ..KeyFilter::default()
        };
        if let Some(max) = settings.max_keys_per_tenant {
            let count = self.inner.store.count(tenant, &counted).await?;
            if count >= u64::from(max) {
                return Err(KeyLimitReached {
                    limit: KeyLimit::PerTenant(tenant.cloned()),
                    max,
                    count,
                }
                .into_error());
            }
        }
        if let (Some(max), Some(owner)) = (settings.max_keys_per_owner, owner) {
            let by_owner = KeyFilter {
                owner: Some(owner.to_owned()),
                ..counted
            };
            let count = self.inner.store.count(tenant, &by_owner).await?;
            if count >= u64::from(max) {
                return Err(KeyLimitReached {
                    limit: KeyLimit::PerOwner(tenant.cloned(), owner.to_owned()),
                    max,
                    count,
                }
                .into_error());
            }
        }
        Ok(())
    }
}
