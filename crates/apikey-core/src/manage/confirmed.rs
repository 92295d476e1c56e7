//! Changes that wait until every running instance has applied them (see [`crate::confirm`]).

use std::time::Duration;

use chrono::Duration as Span;

use crate::confirm::{Confirmation, Confirmed, Confirmer};
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
    /// is a [`Config`](ErrorKind::Config) error and nothing is changed. A confirmation that
    /// cannot be asked after the commit (the registry is unreachable) is a
    /// [`NotPropagated`](ErrorKind::NotPropagated) error: the change stands.
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
    /// accepts the old key. The new key's token is in the returned value, always: when the old
    /// key's change could not be propagated or the confirmation not asked, the value's
    /// `not_propagated` says why and the confirmation is [`not_asked`](crate::Confirmation::not_asked).
    pub async fn rotate_confirmed(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
        timeout: Duration,
    ) -> Result<Confirmed<CreatedKey>> {
        let confirmer = self.confirmer()?;
        let mut created = self.rotate(tenant, id, Span::zero(), change).await?;
        if created.not_propagated.is_some() {
            return Ok(Confirmed::new(created, Confirmation::not_asked()));
        }
        // The old key's version after the rotation (or a later one: confirming that is as good).
        let asked = match self.get(tenant, id).await {
            Ok(old) => confirmer
                .confirm(&old.lookup_id, old.version, timeout)
                .await
                .map_err(|e| not_confirmed(id, e)),
            Err(e) => Err(not_confirmed(id, e)),
        };
        Ok(match asked {
            Ok(confirmation) => Confirmed::new(created, confirmation),
            Err(e) => {
                created.not_propagated = Some(e);
                Confirmed::new(created, Confirmation::not_asked())
            }
        })
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
        .await
        .map_err(|e| not_confirmed(record.id, e))?;
    Ok(Confirmed::new(record, confirmation))
}

/// The change is committed; asking the instances failed.
fn not_confirmed(id: KeyId, e: Error) -> Error {
    Error::new(
        ErrorKind::NotPropagated,
        format!("key {id} was changed, but the running instances could not be asked to confirm it"),
    )
    .with_source(e)
}
