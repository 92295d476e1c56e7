//! Credits and pools through the manager: a key's own credit plan (a catalog entry
//! `key:<lineage>`, so it follows the key through rotations), balances read, topped up and set in
//! the limiter with a `credits.adjusted` audit event.

use serde_json::json;
use uuid::Uuid;

use super::{Change, KeyManager};
use crate::audit::{AuditEvent, EventSubject, EventType};
use crate::catalog::{CatalogKind, Preset, StoredPreset};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{KeyId, TenantId, TenantScope};
use crate::limit::{
    CreditAdjust, CreditBalance, CreditPlan, PoolCharge, PoolKind, PoolLimits, RateLimiter,
};
use crate::pool::{PoolName, PoolTarget};

impl KeyManager {
    fn limiter(&self) -> Result<&dyn RateLimiter> {
        self.inner.limiter.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "credits live in the rate limiter: wire one with ApiKeysBuilder::limiter",
            )
        })
    }

    /// Gives key `id` its own credits (`None` removes them), counted for its whole rotation
    /// lineage. The plan is stored in the catalog as pool `key:<lineage>`; the balance starts at
    /// the plan's initial amount the first time it is charged and is not reset by a later plan
    /// change (use [`adjust_key_credits`](Self::adjust_key_credits)).
    ///
    /// Set credits before the key's token is handed out: a verifier reads a key's pools when it
    /// caches the key, and reads them again for a key changed after its copy was made (so a key
    /// created with credits is charged from its first request); for a key already cached on
    /// other instances the change applies within two cache lifetimes.
    pub async fn set_key_credits(
        &self,
        scope: &TenantScope,
        id: KeyId,
        plan: Option<CreditPlan>,
        change: Change,
    ) -> Result<Option<StoredPreset>> {
        let record = self.get(scope, id).await?;
        let tenant = record.tenant_id.as_ref();
        let name = PoolTarget::Key(record.lineage_id).to_string();
        let stored = self
            .catalog_store()?
            .get_preset(tenant, CatalogKind::Pool, &name)
            .await?;
        let version = stored.as_ref().map_or(0, |s| s.version);
        let saved = match plan {
            Some(plan) => {
                let limits = PoolLimits {
                    credits: Some(plan),
                    ..PoolLimits::default()
                };
                let preset = Preset::pool(name, limits);
                Some(self.save_preset(tenant, preset, version, change).await?)
            }
            None if stored.is_some() => {
                self.remove_preset(tenant, CatalogKind::Pool, &name, change)
                    .await?;
                None
            }
            None => None,
        };
        self.pools_changed(tenant);
        self.invalidate(&record).await?;
        Ok(saved)
    }

    /// The credit balance of key `id` (refills applied); `NotFound` when it has no credits.
    pub async fn key_credits(&self, scope: &TenantScope, id: KeyId) -> Result<CreditBalance> {
        let (tenant, pool) = self.key_pool(scope, id).await?;
        self.limiter()?.credits(tenant.as_ref(), &pool).await
    }

    /// Tops up or sets key `id`'s credits, with a `credits.adjusted` audit event.
    pub async fn adjust_key_credits(
        &self,
        scope: &TenantScope,
        id: KeyId,
        adjust: CreditAdjust,
        change: Change,
    ) -> Result<CreditBalance> {
        let (tenant, pool) = self.key_pool(scope, id).await?;
        self.adjust(tenant.as_ref(), &pool, adjust, change, Some(id))
            .await
    }

    /// The credit balance of pool `name` (`owner:acme`, `group:free`, `tenant`) of `tenant`.
    pub async fn pool_credits(
        &self,
        tenant: Option<&TenantId>,
        name: &str,
    ) -> Result<CreditBalance> {
        let pool = self.credit_pool(tenant, name).await?;
        self.limiter()?.credits(tenant, &pool).await
    }

    /// Tops up or sets the credits of pool `name` of `tenant`, with a `credits.adjusted` event.
    pub async fn adjust_pool_credits(
        &self,
        tenant: Option<&TenantId>,
        name: &str,
        adjust: CreditAdjust,
        change: Change,
    ) -> Result<CreditBalance> {
        let pool = self.credit_pool(tenant, name).await?;
        self.adjust(tenant, &pool, adjust, change, None).await
    }

    /// Forgets this process's copy of `tenant`'s pools, so the next key it caches reads them.
    fn pools_changed(&self, tenant: Option<&TenantId>) {
        if let Some(book) = &self.inner.pools {
            book.forget(tenant);
        }
    }

    async fn key_pool(
        &self,
        scope: &TenantScope,
        id: KeyId,
    ) -> Result<(Option<TenantId>, PoolCharge)> {
        let record = self.get(scope, id).await?;
        let name = PoolTarget::Key(record.lineage_id).to_string();
        let pool = self
            .credit_pool(record.tenant_id.as_ref(), &name)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::not_found(format_args!("credits of key {id}")),
                _ => e,
            })?;
        Ok((record.tenant_id, pool))
    }

    /// The pool `name` (no override) as a charge, when it holds credits. An owner without a pool
    /// of their own takes `owner:*`'s plan under their own counter.
    async fn credit_pool(&self, tenant: Option<&TenantId>, name: &str) -> Result<PoolCharge> {
        let parsed: PoolName = name.parse()?;
        if parsed.member.is_some() || parsed.target == PoolTarget::EachOwner {
            return Err(Error::invalid(
                "pool",
                "credits belong to a pool (owner:<name>, group:<name>, tenant, key:<id>)",
            ));
        }
        let catalog = self.catalog_store()?;
        let mut preset = catalog.get_preset(tenant, CatalogKind::Pool, name).await?;
        if preset.is_none() && matches!(parsed.target, PoolTarget::Owner(_)) {
            preset = catalog
                .get_preset(tenant, CatalogKind::Pool, "owner:*")
                .await?;
        }
        let plan = preset
            .and_then(|p| p.preset.pool)
            .and_then(|l| l.credits)
            .ok_or_else(|| Error::not_found(format_args!("credits of pool {name}")))?;
        let limits = PoolLimits {
            credits: Some(plan),
            ..PoolLimits::default()
        };
        let kind = parsed.target.kind();
        debug_assert!(kind != PoolKind::Key || name.starts_with("key:"));
        Ok(PoolCharge::new(tenant, kind, name, limits))
    }

    async fn adjust(
        &self,
        tenant: Option<&TenantId>,
        pool: &PoolCharge,
        adjust: CreditAdjust,
        change: Change,
        key: Option<KeyId>,
    ) -> Result<CreditBalance> {
        change.validate()?;
        let balance = self.limiter()?.adjust_credits(tenant, pool, adjust).await?;
        if let Some(audit) = &self.audit {
            let subject = match key {
                Some(id) => Some(EventSubject::Key(id)),
                None => tenant.cloned().map(EventSubject::Tenant),
            };
            let id = Uuid::now_v7().to_string();
            let event = AuditEvent::system(
                EventType::CreditsAdjusted,
                subject,
                tenant.cloned(),
                self.inner.clock.now(),
                Some(json!({
                    "pool": &*pool.name,
                    "adjust": adjust,
                    "balance": balance.balance,
                })),
                &[&id],
            )
            .by(change.actor, change.reason);
            // The balance has changed; an audit log that cannot take the record says so, and
            // the caller sees the error rather than an unrecorded adjustment passing silently.
            audit.append(&event).await?;
        }
        Ok(balance)
    }
}
