//! A change committed in the store whose invalidation could not reach the shared cache is never
//! reported as plain success: lifecycle calls return `NotPropagated`, a rotation returns its new
//! token with the error beside it.

mod common;

use apikey_core::Change;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apikey_core::{
    Cache, CachedRecord, ErrorKind, KeyRecord, KeyState, LookupId, NewKey, Result, TenantScope,
};
use async_trait::async_trait;
use common::{Probe, fixture_with};

/// A shared cache whose invalidations fail while `down` is set.
#[derive(Debug, Default)]
struct Flaky {
    down: AtomicBool,
}

#[async_trait]
impl Cache for Flaky {
    async fn get(&self, _: &LookupId) -> Result<Option<CachedRecord>> {
        Ok(None)
    }
    async fn put(&self, _: &KeyRecord, _: Duration) -> Result<()> {
        Ok(())
    }
    async fn invalidate(&self, _: &LookupId, _: u64, _: Duration) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(apikey_core::Error::unavailable("cache is down"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_committed_change_that_was_not_propagated_says_so() {
    let cache = Arc::new(Flaky::default());
    let f = fixture_with(Probe::new(), |b| b.shared_cache(cache.clone()));
    let m = f.keys.manager();
    let a = m.create(NewKey::new("a")).await.unwrap();
    let b = m.create(NewKey::new("b")).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);

    let err = m
        .revoke(
            &TenantScope::All,
            a.record.id,
            Change::new().because("leaked"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotPropagated);
    assert!(err.to_string().contains("other instances"), "{err}");
    let stored = m.get(&TenantScope::All, a.record.id).await.unwrap();
    assert_eq!(
        stored.state,
        KeyState::Revoked,
        "the revocation is committed"
    );

    let rotated = m
        .rotate(
            &TenantScope::All,
            b.record.id,
            chrono::Duration::zero(),
            Change::new(),
        )
        .await
        .expect("the new token is returned");
    assert_eq!(
        rotated
            .not_propagated
            .as_ref()
            .map(apikey_core::Error::kind),
        Some(ErrorKind::NotPropagated)
    );
    let old = m.get(&TenantScope::All, b.record.id).await.unwrap();
    assert_eq!(old.rotated_to, Some(rotated.record.id));

    cache.down.store(false, Ordering::SeqCst);
    m.suspend(&TenantScope::All, rotated.record.id, Change::new())
        .await
        .expect("propagated: plain success");
}
