//! Upgrading a stored hash after a successful verification (legacy, slow hasher, retired pepper).
//! It runs in the background and is a normal versioned update with its own audit event; losing a
//! race with a management change is harmless (the next verification tries again).

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::audit::{AuditEvent, EventType};
use crate::error::ErrorKind;
use crate::ids::TenantScope;
use crate::record::KeyRecord;
use crate::verify::Verifier;

pub(crate) fn spawn(verifier: Verifier, record: Arc<KeyRecord>, secret: &str) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let secret = Zeroizing::new(secret.to_owned());
    rt.spawn(async move {
        let inner = &verifier.inner;
        let mut after = KeyRecord::clone(&record);
        after.hash = inner
            .hasher
            .hash(&secret)
            .await
            .unwrap_or_else(|_| inner.hasher.hash_hmac(&secret));
        after.version = record.version + 1;
        let mut event = AuditEvent::key_change(
            EventType::Rehashed,
            Some(&record),
            Some(&after),
            inner.clock.now(),
        )
        .expect("a rehash has both records")
        .by(
            None,
            Some(format!(
                "{} -> {}",
                record.hash.algorithm(),
                after.hash.algorithm()
            )),
        );
        let audit = inner.audit.get().map(|a| a.as_ref());
        if let Err(e) = crate::audit::chain::link_key_change(audit, &mut event).await {
            tracing::warn!(error = %e, key = %record.id, "could not link a re-hash into the key's audit chain");
            return;
        }
        match inner
            .store
            .update(&TenantScope::All, record.version, &after, &event)
            .await
        {
            Ok(()) => {
                tracing::info!(key = %record.id, to = after.hash.algorithm(), "re-hashed key")
            }
            Err(e) if e.kind() == ErrorKind::Conflict => {}
            Err(e) => tracing::warn!(error = %e, key = %record.id, "could not re-hash key"),
        }
    });
}
