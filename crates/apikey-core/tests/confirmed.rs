//! Confirmed changes: the manager commits the change, then asks its confirmer about the key's
//! lookup id at the version it committed; without a confirmer nothing changes. Also the verifier's
//! cache trust: past the deadline a listener sets, a cached key is read again from the store.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::{
    Change, Clock, Confirmation, Confirmer, Credential, ErrorKind, Instance, KeyState, LookupId,
    NewKey, RequestContext, Result, TenantScope,
};
use async_trait::async_trait;
use chrono::DateTime;
use common::{Probe, fixture, fixture_with};

/// Records what it was asked; answers with one instance acknowledged, or `missing` when set.
#[derive(Debug, Default)]
struct Recorder {
    asked: Mutex<Vec<(LookupId, u64, Duration)>>,
    missing: bool,
    unreachable: bool,
}

#[async_trait]
impl Confirmer for Recorder {
    async fn confirm(
        &self,
        lookup: &LookupId,
        version: u64,
        timeout: Duration,
    ) -> Result<Confirmation> {
        self.asked.lock().unwrap().push((*lookup, version, timeout));
        if self.unreachable {
            return Err(apikey_core::Error::unavailable("registry is down"));
        }
        let i = Instance::new("i-1", None, DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH);
        Ok(if self.missing {
            Confirmation::new(vec![], vec![], vec![i], timeout)
        } else {
            Confirmation::new(vec![i], vec![], vec![], Duration::ZERO)
        })
    }
}

#[tokio::test]
async fn revoke_confirmed_asks_about_the_committed_version() {
    let recorder = Arc::new(Recorder::default());
    let f = fixture_with(Probe::new(), |b| b.confirmer(recorder.clone()));
    let m = f.keys.manager();
    let k = m.create(NewKey::new("a")).await.unwrap();
    let done = m
        .revoke_confirmed(
            &TenantScope::All,
            k.record.id,
            Change::new().because("leaked"),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(done.value.state, KeyState::Revoked);
    assert!(done.confirmation.is_complete());
    let asked = recorder.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![(
            k.record.lookup_id,
            done.value.version,
            Duration::from_secs(3)
        )]
    );
    assert!(done.value.version > k.record.version);
}

#[tokio::test]
async fn an_unconfirmed_change_is_committed_and_names_who_did_not_answer() {
    let recorder = Arc::new(Recorder {
        missing: true,
        ..Recorder::default()
    });
    let f = fixture_with(Probe::new(), |b| b.confirmer(recorder.clone()));
    let m = f.keys.manager();
    let k = m.create(NewKey::new("a")).await.unwrap();
    let done = m
        .suspend_confirmed(
            &TenantScope::All,
            k.record.id,
            Change::new(),
            Duration::from_millis(10),
        )
        .await
        .unwrap();
    assert!(!done.confirmation.is_complete());
    assert_eq!(done.confirmation.missing[0].id, "i-1");
    let stored = m.get(&TenantScope::All, k.record.id).await.unwrap();
    assert_eq!(stored.state, KeyState::Suspended, "committed regardless");
}

#[tokio::test]
async fn rotate_confirmed_asks_about_the_old_key_and_leaves_it_no_grace() {
    let recorder = Arc::new(Recorder::default());
    let f = fixture_with(Probe::new(), |b| b.confirmer(recorder.clone()));
    let m = f.keys.manager();
    let k = m.create(NewKey::new("a")).await.unwrap();
    let done = m
        .rotate_confirmed(
            &TenantScope::All,
            k.record.id,
            Change::new(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    let old = m.get(&TenantScope::All, k.record.id).await.unwrap();
    assert_eq!(old.rotated_to, Some(done.value.record.id));
    let asked = recorder.asked.lock().unwrap().clone();
    assert_eq!(asked[0].0, k.record.lookup_id);
    assert_eq!(asked[0].1, old.version);
    let v = f.keys.verifier();
    assert!(
        v.verify(Credential::new(k.token.expose()), &RequestContext::new())
            .await
            .is_err(),
        "no grace: the old token stops at once"
    );
    assert!(
        v.verify(
            Credential::new(done.value.token.expose()),
            &RequestContext::new()
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn without_a_confirmer_it_is_a_configuration_error_and_nothing_changes() {
    let f = fixture();
    let m = f.keys.manager();
    let k = m.create(NewKey::new("a")).await.unwrap();
    let err = m
        .revoke_confirmed(
            &TenantScope::All,
            k.record.id,
            Change::new(),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("confirmer"), "{err}");
    let stored = m.get(&TenantScope::All, k.record.id).await.unwrap();
    assert_eq!(stored.state, KeyState::Active);
}

#[tokio::test]
async fn past_the_trust_deadline_a_cached_key_is_read_from_the_store_again() {
    let f = fixture();
    let m = f.keys.manager();
    let v = f.keys.verifier();
    let k = m.create(NewKey::new("a")).await.unwrap();
    let ctx = RequestContext::new();
    assert_eq!(v.cache_trusted_until(), None);
    v.verify(Credential::new(k.token.expose()), &ctx)
        .await
        .unwrap();
    let reads = f.store.finds();
    v.verify(Credential::new(k.token.expose()), &ctx)
        .await
        .unwrap();
    assert_eq!(f.store.finds(), reads, "a hit while trusted");

    let deadline = f.clock.now() + chrono::Duration::seconds(3);
    v.trust_cache_until(deadline);
    assert_eq!(v.cache_trusted_until(), Some(deadline));
    f.clock.advance(chrono::Duration::seconds(3));
    v.verify(Credential::new(k.token.expose()), &ctx)
        .await
        .unwrap();
    assert_eq!(
        f.store.finds(),
        reads + 1,
        "past the deadline the cache is not answered from"
    );
}

#[tokio::test]
async fn a_confirmation_that_cannot_be_asked_leaves_the_change_and_says_not_propagated() {
    let recorder = Arc::new(Recorder {
        unreachable: true,
        ..Recorder::default()
    });
    let f = fixture_with(Probe::new(), |b| b.confirmer(recorder.clone()));
    let m = f.keys.manager();
    let k = m.create(NewKey::new("a")).await.unwrap();
    let err = m
        .revoke_confirmed(
            &TenantScope::All,
            k.record.id,
            Change::new(),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotPropagated);
    let stored = m.get(&TenantScope::All, k.record.id).await.unwrap();
    assert_eq!(stored.state, KeyState::Revoked);

    // A rotation never loses its new token: the failure rides on the created key.
    let k = m.create(NewKey::new("b")).await.unwrap();
    let done = m
        .rotate_confirmed(
            &TenantScope::All,
            k.record.id,
            Change::new(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(!done.confirmation.is_complete());
    assert!(!done.confirmation.asked);
    assert_eq!(
        done.value
            .not_propagated
            .as_ref()
            .map(apikey_core::Error::kind),
        Some(ErrorKind::NotPropagated)
    );
    assert!(
        f.keys
            .verifier()
            .verify(
                Credential::new(done.value.token.expose()),
                &RequestContext::new()
            )
            .await
            .is_ok()
    );
}
