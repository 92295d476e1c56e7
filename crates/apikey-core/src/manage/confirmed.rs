//! Changes that wait until every running instance has applied them (see [`crate::confirm`]).

use std::time::Duration;

use chrono::Duration as Span;

use crate::confirm::{Confirmed, Confirmer};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{KeyId, TenantScope};
use crate::manage::{Change, CreatedKey, KeyManager};
use crate::record::KeyRecord;

impl KeyManager {
    /// [`revoke`](Self::revoke), then waits up to `timeout` until every live instance has applied
    /// the revocation (see [`Confirmer`]). The revocation is committed whatever the confirmation
    /// says: an incomplete [`Confirmation`](crate::confirm::Confirmation) names the instances that
    /// may still accept the key, and repeating the call only waits again.
    ///
    /// Without a confirmer ([`ApiKeysBuilder::confirmer`](crate::ApiKeysBuilder::confirmer)) it
    /// is a [`Config`](ErrorKind::Config) error and nothing is changed.
    pub async fn revoke_confirmed(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
        timeout: Duration,
    ) -> Result<Confirmed<KeyRecord>> {
        let confirmer = self.confirmer()?;
        let record = self.revoke(tenant, id, change).await?;
        confirm(confirmer, record, timeout).await
    }

    /// [`suspend`](Self::suspend), confirmed like [`revoke_confirmed`](Self::revoke_confirmed).
    pub async fn suspend_confirmed(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
        timeout: Duration,
    ) -> Result<Confirmed<KeyRecord>> {
        let confirmer = self.confirmer()?;
        let record = self.suspend(tenant, id, change).await?;
        confirm(confirmer, record, timeout).await
    }

    /// [`rotate`](Self::rotate) with no grace period, confirmed like
    /// [`revoke_confirmed`](Self::revoke_confirmed): once it returns complete, no instance
    /// accepts the old key. The new key's token is in the returned value.
    pub async fn rotate_confirmed(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
        timeout: Duration,
    ) -> Result<Confirmed<CreatedKey>> {
        let confirmer = self.confirmer()?;
        let created = self.rotate(tenant, id, Span::zero(), change).await?;
        if let Some(e) = created.not_propagated {
            return Err(e);
        }
        // The old key's version after the rotation (or a later one: confirming that is as good).
        let old = self.get(tenant, id).await?;
        let confirmation = confirmer
            .confirm(&old.lookup_id, old.version, timeout)
            .await?;
        Ok(Confirmed::new(created, confirmation))
    }

    fn confirmer(&self) -> Result<&dyn Confirmer> {
        self.confirmer.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "confirmed changes need a confirmer (ApiKeysBuilder::confirmer, for example apikey-redis's RedisConfirmer)",
            )
        })
    }
}

async fn confirm(
    confirmer: &dyn Confirmer,
    record: KeyRecord,
    timeout: Duration,
) -> Result<Confirmed<KeyRecord>> {
    let confirmation = confirmer
        .confirm(&record.lookup_id, record.version, timeout)
        .await?;
    Ok(Confirmed::new(record, confirmation))
}
