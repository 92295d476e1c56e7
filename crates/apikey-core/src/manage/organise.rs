//! Finding a key by id or alias, managing aliases, cloning a key and moving it to another owner.

use super::catalog::PresetCache;
use super::{Change, CreatedKey, KeyManager, KeyUpdate};
use crate::audit::EventType;
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{KeyId, TenantScope};
use crate::record::KeyRecord;
use crate::state::KeyState;
use crate::store::KeyFilter;

impl KeyManager {
    /// The key named by `id_or_alias` in `tenant`: a key id (UUID), or an alias. Aliases are unique
    /// per tenant; over [`TenantScope::All`] one alias may name keys of several tenants, and then
    /// the call is refused as ambiguous rather than picking one. Unknown is
    /// [`NotFound`](ErrorKind::NotFound) naming what was asked.
    pub async fn resolve(&self, tenant: &TenantScope, id_or_alias: &str) -> Result<KeyRecord> {
        if let Ok(id) = id_or_alias.parse::<KeyId>() {
            return self.get(tenant, id).await;
        }
        let filter = KeyFilter {
            alias: Some(id_or_alias.to_owned()),
            limit: 2,
            ..KeyFilter::default()
        };
        let mut page = self.inner.store.query(tenant, &filter).await?;
        match page.items.len() {
            0 => Err(Error::not_found(format_args!(
                "no key with id or alias {id_or_alias:?}"
            ))),
            1 => Ok(page.items.remove(0)),
            _ => Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "alias {id_or_alias:?} names keys of several tenants; give the tenant or the key id"
                ),
            )),
        }
    }

    /// Adds `alias` to key `id`. An alias another key of the tenant holds is
    /// [`Conflict`](ErrorKind::Conflict) (checked by the store, atomically with the write); one that
    /// parses as a key id is refused, so ids and aliases never shadow each other.
    pub async fn add_alias(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        alias: &str,
        change: Change,
    ) -> Result<KeyRecord> {
        validate_alias(alias)?;
        let current = self.get(tenant, id).await?;
        if current.aliases.iter().any(|a| a == alias) {
            return Err(Error::invalid(
                "alias",
                format_args!("key {id} already has alias {alias:?}"),
            ));
        }
        let mut aliases = current.aliases;
        aliases.push(alias.to_owned());
        let update = KeyUpdate {
            aliases: Some(aliases),
            ..KeyUpdate::default()
        };
        self.update(tenant, id, update, change).await
    }

    /// Removes `alias` from key `id`; an alias the key does not have is
    /// [`NotFound`](ErrorKind::NotFound).
    pub async fn remove_alias(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        alias: &str,
        change: Change,
    ) -> Result<KeyRecord> {
        let current = self.get(tenant, id).await?;
        if !current.aliases.iter().any(|a| a == alias) {
            return Err(Error::not_found(format_args!(
                "alias {alias:?} on key {id}"
            )));
        }
        let aliases = current.aliases.into_iter().filter(|a| a != alias).collect();
        let update = KeyUpdate {
            aliases: Some(aliases),
            ..KeyUpdate::default()
        };
        self.update(tenant, id, update, change).await
    }

    /// A new key with the settings of key `id` (scopes, limits, rules, metadata, tags, owner,
    /// group, environment, expiry, tenant) and its own secret and lineage; named `name`, or the
    /// original's name. Aliases are not copied (they name one key), usage starts at zero, and the
    /// new key is active (pending when the tenant requires approval). The tenant's key-count
    /// limits apply; a revoked original is refused. Its creation event's `data` is
    /// `{"cloned_from": id}`.
    pub async fn clone_key(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        name: Option<String>,
        change: Change,
    ) -> Result<CreatedKey> {
        change.validate()?;
        let from = self.get(tenant, id).await?;
        if from.state == KeyState::Revoked {
            return Err(Error::wrong_state(format_args!(
                "key {id} is revoked; clone a key that is in use"
            )));
        }
        let settings = self.effective_settings(from.tenant_id.as_ref()).await?;
        let now = crate::clock::truncate_ms(self.inner.clock.now());
        let new = super::NewKey {
            name: name.unwrap_or_else(|| from.name.clone()),
            description: from.description.clone(),
            tenant: from.tenant_id.clone(),
            owner: from.owner.clone(),
            group: from.group.clone(),
            environment: from.environment.clone(),
            tags: from.tags.clone(),
            aliases: Vec::new(),
            scopes: from.scopes.clone(),
            not_before: from.not_before.filter(|t| *t > now),
            expires_at: from.expires_at,
            ip_rules: from.ip_rules.clone(),
            rate_limit: from.rate_limit,
            endpoint_limits: from.endpoint_limits.clone(),
            quota: from.quota,
            metadata: from.metadata.clone(),
            require_approval: false,
            // The settings are copied whole: filling them again from a template or group that has
            // changed since would not be a clone.
            template: None,
            // A clone signs with a secret of its own, and a canary's clone is a canary.
            signing: from.protection.signing_mode(),
            canary: from.protection.canary,
        };
        let mut prepared = self
            .prepare(new, &change, &settings, &mut PresetCache::default())
            .await?;
        prepared.record.template.clone_from(&from.template);
        prepared.data = Some(serde_json::json!({ "cloned_from": id }));
        let mut created = self
            .commit_new(from.tenant_id.as_ref(), vec![prepared], &settings, &change)
            .await?;
        Ok(created.remove(0))
    }

    /// Moves key `id` to `new_owner`, as a versioned change with a `key.transferred` event whose
    /// `data` names both owners (`from_owner`, `to_owner`), so each owner's feed sees it. The same
    /// owner is refused (`owner`), and so is a revoked key; the new owner's key-count limit
    /// applies (a count, then the write).
    pub async fn transfer(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        new_owner: &str,
        change: Change,
    ) -> Result<KeyRecord> {
        super::validate::label("owner", new_owner)?;
        change.validate()?;
        let current = self.get(tenant, id).await?;
        if current.owner.as_deref() == Some(new_owner) {
            return Err(Error::invalid(
                "owner",
                format_args!("key {id} already belongs to {new_owner:?}"),
            ));
        }
        if current.state == KeyState::Revoked {
            return Err(Error::wrong_state(format_args!(
                "key {id} is revoked; restore it before moving it"
            )));
        }
        let settings = self.effective_settings(current.tenant_id.as_ref()).await?;
        let mut moved = current.clone();
        moved.owner = Some(new_owner.to_owned());
        self.check_limits(&settings, current.tenant_id.as_ref(), &moved)
            .await?;
        let from_owner = current.owner.clone();
        let to = new_owner.to_owned();
        self.modify_with_data(
            tenant,
            id,
            EventType::Transferred,
            &change,
            KeyEventKind::Updated,
            serde_json::json!({ "from_owner": from_owner, "to_owner": new_owner }),
            |r| {
                if r.owner.as_deref() == Some(to.as_str()) {
                    return Err(Error::invalid(
                        "owner",
                        format_args!("key {id} already belongs to {to:?}"),
                    ));
                }
                r.owner = Some(to.clone());
                Ok(())
            },
        )
        .await
    }
}

/// An alias must be a valid label that is not a key id.
pub(crate) fn validate_alias(alias: &str) -> Result<()> {
    super::validate::label("alias", alias)?;
    if alias.parse::<KeyId>().is_ok() {
        return Err(Error::invalid(
            "alias",
            format_args!("{alias:?} is a key id; an alias must not look like one"),
        ));
    }
    Ok(())
}
