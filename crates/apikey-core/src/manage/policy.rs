//! Rotation policies on the [`KeyManager`]: setting, listing and removing them, finding the one
//! that applies to a key, and abandoning a rotation whose new token could not be delivered.

use std::collections::HashMap;

use super::{Change, CreatedKey, KeyManager};
use crate::audit::EventType;
use crate::catalog::{CatalogKind, PolicyTarget, Preset, RotationPolicy, StoredPreset};
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{TenantId, TenantScope};
use crate::record::KeyRecord;

/// The policies of one tenant, by target.
pub(crate) type TenantPolicies = HashMap<PolicyTarget, RotationPolicy>;

impl KeyManager {
    /// Sets the rotation policy of `target` in `tenant` (replacing the one it has), with a
    /// `policy.saved` event. A key target must be a key of the tenant.
    pub async fn set_policy(
        &self,
        tenant: Option<&TenantId>,
        target: &PolicyTarget,
        policy: RotationPolicy,
        change: Change,
    ) -> Result<StoredPreset> {
        if let PolicyTarget::Key(id) = target {
            let scope = tenant.map_or(TenantScope::All, |t| TenantScope::Tenant(t.clone()));
            let key = self.get(&scope, *id).await?;
            if key.tenant_id.as_ref() != tenant {
                return Err(Error::not_found(format_args!("key {id}")));
            }
        }
        let name = target.to_string();
        let version = match self.preset(tenant, CatalogKind::Policy, &name).await {
            Ok(p) => p.version,
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let mut preset = Preset::new(CatalogKind::Policy, name);
        preset.rotation = Some(policy);
        self.save_preset(tenant, preset, version, change).await
    }

    /// Removes the policy of `target`; none is [`NotFound`](ErrorKind::NotFound).
    pub async fn remove_policy(
        &self,
        tenant: Option<&TenantId>,
        target: &PolicyTarget,
        change: Change,
    ) -> Result<()> {
        self.remove_preset(tenant, CatalogKind::Policy, &target.to_string(), change)
            .await
    }

    /// Every policy of `tenant`, by target.
    pub async fn policies(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(PolicyTarget, RotationPolicy)>> {
        Ok(self.tenant_policies(tenant).await?.into_iter().collect())
    }

    pub(crate) async fn tenant_policies(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<TenantPolicies> {
        let mut out = TenantPolicies::new();
        for p in self.presets(tenant, CatalogKind::Policy).await? {
            // A row another version wrote that this one cannot read is skipped, not fatal: the
            // others still apply.
            if let (Ok(target), Some(rotation)) = (p.preset.name.parse(), p.preset.rotation) {
                out.insert(target, rotation);
            }
        }
        Ok(out)
    }

    /// Undoes a committed rotation whose new token reached no one: the new key is erased (with
    /// its `key.deleted` event) and the old one loses its successor and grace, so the next run
    /// rotates it again. Returns `cause`.
    pub(crate) async fn abandon_rotation(&self, created: &CreatedKey, cause: Error) -> Error {
        let new = &created.record;
        let Some(old_id) = new.rotated_from else {
            return cause;
        };
        let scope = TenantScope::All;
        let mut event = self.audit_event(
            Some(new),
            None,
            EventType::Deleted,
            &Change::by(crate::audit::SYSTEM_ACTOR),
        );
        if let Err(e) = self.link(&mut event).await {
            tracing::warn!(error = %e, key = %new.id, "could not link the erasure of an undelivered rotation's key; written unlinked");
        }
        if let Err(e) = self.inner.store.delete(&scope, new.id, &event).await {
            tracing::error!(error = %e, key = %new.id, "could not erase an undelivered rotation's key");
            return cause;
        }
        let who = Change::by(crate::audit::SYSTEM_ACTOR)
            .because("rotation abandoned: the new token could not be delivered");
        let undone = self
            .modify(
                &scope,
                old_id,
                EventType::Updated,
                &who,
                KeyEventKind::Updated,
                |r: &mut KeyRecord| {
                    if r.rotated_to == Some(new.id) {
                        r.rotated_to = None;
                        r.grace_until = None;
                    }
                    Ok(())
                },
            )
            .await;
        if let Err(e) = undone {
            tracing::error!(error = %e, key = %old_id, "could not clear an abandoned rotation");
        }
        cause
    }
}
