//! Canary keys in the verifier: a trip answers exactly as an unknown id (same kind, counted as a
//! failure the same way), a guessed secret under the canary's public lookup id is an ordinary
//! wrong secret that reports nothing, a trip is reported once per incident window, and with
//! `CanaryPolicy::SuspendOwnerKeys` the owner's active keys are suspended by the system actor.

use std::sync::Arc;

use apikey_core::event::CollectingSink;
use apikey_core::{
    ApiKeys, CanaryPolicy, Credential, KeyEventKind, KeyState, ManualClock, NewKey, RejectionKind,
    RequestContext, TenantScope, VerifierConfig,
};
use apikey_memory::MemoryStore;

fn keys(policy: CanaryPolicy, clock: &ManualClock, events: Arc<CollectingSink>) -> ApiKeys {
    ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .clock(Arc::new(clock.clone()))
        .events(events)
        .config(VerifierConfig {
            canary: policy,
            ..VerifierConfig::default()
        })
        .build()
        .unwrap()
}

fn trips(events: &CollectingSink) -> usize {
    events
        .events()
        .iter()
        .filter(|e| matches!(e.kind, KeyEventKind::CanaryTripped { .. }))
        .count()
}

/// Same lookup id, another secret, valid checksum (a 12-character id after the prefix, a
/// 6-character checksum).
fn forge_secret(token: &str, prefix_len: usize) -> String {
    let mut body = token.as_bytes()[..token.len() - 6].to_vec();
    let i = prefix_len + 12;
    body[i] = if body[i] == b'A' { b'B' } else { b'A' };
    let mut sum = [0u8; 6];
    apikey_core::token::base62::encode_fixed(u64::from(crc32fast::hash(&body)), &mut sum);
    body.extend_from_slice(&sum);
    String::from_utf8(body).unwrap()
}

async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_trip_is_an_unknown_key_reported_once_per_incident() {
    let clock = ManualClock::new(chrono::Utc::now());
    let events = Arc::new(CollectingSink::default());
    let keys = keys(CanaryPolicy::Report, &clock, Arc::clone(&events));
    let canary = keys
        .manager()
        .create(NewKey::new("planted").canary())
        .await
        .unwrap();
    let token = canary.token.expose().to_owned();
    let ctx = RequestContext::new().client_ip(Some("203.0.113.9".parse().unwrap()));
    for _ in 0..3 {
        let r = keys
            .verifier()
            .verify(Credential::new(&token), &ctx.user_agent(Some("trufflehog")))
            .await
            .unwrap_err();
        assert_eq!(r.kind(), RejectionKind::Unknown);
        assert!(
            r.key_id().is_none(),
            "nothing about the key leaks into the rejection"
        );
    }
    settle().await;
    assert_eq!(trips(&events), 1);
    let trip = events
        .events()
        .into_iter()
        .find(|e| matches!(e.kind, KeyEventKind::CanaryTripped { .. }))
        .unwrap();
    assert_eq!(
        trip.kind,
        KeyEventKind::CanaryTripped {
            client_ip: Some("203.0.113.9".parse().unwrap()),
            user_agent: Some("trufflehog".into()),
            route: None,
        }
    );

    // A guessed secret under the public lookup id (valid checksum): a wrong secret, no trip.
    let guessed = forge_secret(&token, keys.verifier().token_format().prefix().len());
    let r = keys
        .verifier()
        .verify(Credential::new(&guessed), &ctx)
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::WrongSecret);
    settle().await;
    assert_eq!(trips(&events), 1);

    // After the incident window, a new incident.
    clock.advance(chrono::Duration::from_std(apikey_core::CANARY_INCIDENT).unwrap());
    let _ = keys.verifier().verify(Credential::new(&token), &ctx).await;
    settle().await;
    assert_eq!(trips(&events), 2);
}

#[tokio::test]
async fn the_suspend_policy_suspends_the_owners_active_keys() {
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = keys(CanaryPolicy::SuspendOwnerKeys, &clock, Arc::default());
    let m = keys.manager();
    let canary = m
        .create(NewKey::new("planted").owner("team-a").canary())
        .await
        .unwrap();
    let mine = m.create(NewKey::new("a1").owner("team-a")).await.unwrap();
    let other = m.create(NewKey::new("b1").owner("team-b")).await.unwrap();
    let _ = keys
        .verifier()
        .verify(
            Credential::new(canary.token.expose()),
            &RequestContext::new(),
        )
        .await;
    let mut state = KeyState::Active;
    for _ in 0..1000 {
        tokio::task::yield_now().await;
        state = m
            .get(&TenantScope::All, mine.record.id)
            .await
            .unwrap()
            .state;
        if state == KeyState::Suspended {
            break;
        }
    }
    assert_eq!(state, KeyState::Suspended);
    let suspended = m.get(&TenantScope::All, mine.record.id).await.unwrap();
    assert_eq!(
        suspended.state_reason.as_deref(),
        Some(format!("canary key {} tripped", canary.record.id).as_str())
    );
    assert_eq!(
        m.get(&TenantScope::All, other.record.id)
            .await
            .unwrap()
            .state,
        KeyState::Active,
        "another owner's keys are untouched"
    );
}
