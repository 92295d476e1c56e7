//! Signing secrets through the manager: issued with a key ([`NewKey::signing`]), added or
//! changed later, rotated with a grace period, carried across a key rotation. The secret is
//! returned once and stored only sealed ([`crate::signing`]).

use std::time::Duration;

use super::{Change, KeyManager};
use crate::audit::EventType;
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{KeyId, TenantScope};
use crate::record::KeyRecord;
use crate::secret_box::SecretBox;
use crate::signing::{KeySigning, Protection, SigningMode, SigningSecret, open, seal};

impl KeyManager {
    /// The secret box signing secrets are sealed with, if one is wired.
    pub fn signing_box(&self) -> Option<&SecretBox> {
        self.secret_box.as_ref()
    }

    fn secret_box(&self) -> Result<&SecretBox> {
        self.secret_box.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "request signing needs a secret box: set APIKEY_KEK (ApiKeysBuilder::secret_box)",
            )
        })
    }

    /// A fresh signing secret for key `id`, sealed, in `mode`.
    pub(crate) fn issue_signing(
        &self,
        id: KeyId,
        mode: SigningMode,
    ) -> Result<(KeySigning, SigningSecret)> {
        let secret = SigningSecret::generate()?;
        let signing = KeySigning {
            mode,
            sealed: seal(self.secret_box()?, id, &secret)?,
            previous: None,
            previous_until: None,
            issued_at: truncate_ms(self.inner.clock.now()),
        };
        Ok((signing, secret))
    }

    /// The protection of a key that replaces `old` under the id `new_id` (a rotation): the same
    /// signing secret, re-sealed for the new id so clients keep signing with it; canary status
    /// carried.
    pub(crate) fn carry_protection(&self, old: &KeyRecord, new_id: KeyId) -> Result<Protection> {
        let signing = match &old.protection.signing {
            None => None,
            Some(s) => {
                let sbox = self.secret_box()?;
                let secret = open(sbox, old.id, &s.sealed)?;
                Some(KeySigning {
                    mode: s.mode,
                    sealed: seal(sbox, new_id, &secret)?,
                    previous: None,
                    previous_until: None,
                    issued_at: s.issued_at,
                })
            }
        };
        Ok(Protection {
            signing,
            canary: old.protection.canary,
        })
    }

    /// Sets key `id`'s signing mode. A key without a signing secret gets one, returned here once;
    /// a key that has one keeps it (`None`).
    pub async fn set_signing(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        mode: SigningMode,
        change: Change,
    ) -> Result<(KeyRecord, Option<SigningSecret>)> {
        let mut issued = None;
        let record = self
            .modify_with_data(
                tenant,
                id,
                EventType::Updated,
                &change,
                KeyEventKind::Updated,
                serde_json::json!({ "signing": mode.as_str() }),
                |r| {
                    match &mut r.protection.signing {
                        Some(s) => s.mode = mode,
                        None => {
                            let (signing, secret) = self.issue_signing(r.id, mode)?;
                            r.protection.signing = Some(signing);
                            issued = Some(secret);
                        }
                    }
                    Ok(())
                },
            )
            .await?;
        Ok((record, issued))
    }

    /// Removes key `id`'s signing secret: it is used with its token alone again.
    pub async fn remove_signing(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        self.modify_with_data(
            tenant,
            id,
            EventType::Updated,
            &change,
            KeyEventKind::Updated,
            serde_json::json!({ "signing": "removed" }),
            |r| {
                if r.protection.signing.take().is_none() {
                    return Err(Error::invalid("signing", "the key has no signing secret"));
                }
                Ok(())
            },
        )
        .await
    }

    /// Replaces key `id`'s signing secret; the previous one keeps verifying for `grace` (zero:
    /// not at all), so clients can switch without failed requests. Returns the new secret once.
    pub async fn rotate_signing(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        grace: Duration,
        change: Change,
    ) -> Result<(KeyRecord, SigningSecret)> {
        let grace = chrono::Duration::from_std(grace)
            .map_err(|_| Error::invalid("grace", "is too long"))?;
        let mut issued = None;
        let record = self
            .modify_with_data(
                tenant,
                id,
                EventType::Updated,
                &change,
                KeyEventKind::Updated,
                serde_json::json!({ "signing": "rotated" }),
                |r| {
                    let Some(old) = r.protection.signing.take() else {
                        return Err(Error::invalid("signing", "the key has no signing secret"));
                    };
                    let (mut signing, secret) = self.issue_signing(r.id, old.mode)?;
                    if grace > chrono::Duration::zero() {
                        signing.previous = Some(old.sealed);
                        signing.previous_until = Some(signing.issued_at + grace);
                    }
                    r.protection.signing = Some(signing);
                    issued = Some(secret);
                    Ok(())
                },
            )
            .await?;
        let secret = issued.ok_or_else(|| Error::invalid("signing", "no secret was issued"))?;
        Ok((record, secret))
    }
}
