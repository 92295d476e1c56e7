//! Network threat counts added up across instances ([`SharedThreatCounts`]): an attack spread
//! over two instances, short of the threshold on each, is blocked once their flushes add up;
//! the same traffic without sharing is not; a shared store that fails leaves the local counts
//! judging; a key used from networks spread over two instances is suspended once their sketches
//! merge. The Redis implementation runs the same flows in `apikey-redis`'s tests.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::event::CollectingSink;
use apikey_core::threat::{
    CredentialStuffing, Detector, KeyAction, KeySketch, NetworkAction, NetworkSpread, NetworkTally,
    Response, RevokedKeyUse, SharedThreatCounts, ThreatPolicy,
};
use apikey_core::{
    ApiKeys, Change, Credential, Error, KeyEventKind, KeyId, KeyState, ManualClock, NewKey,
    Peppers, RejectionKind, RequestContext, Result, TenantScope, VerifierConfig,
};
use apikey_memory::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// Exact shared counts in memory, for two verifiers in one process.
#[derive(Debug, Default)]
struct Counts {
    windows: Mutex<HashMap<String, (u64, HashSet<u64>)>>,
    sketches: Mutex<HashMap<(KeyId, DateTime<Utc>), u64>>,
    calls: Mutex<u32>,
    down: Mutex<bool>,
}

#[async_trait]
impl SharedThreatCounts for Counts {
    async fn add(&self, tallies: &[NetworkTally]) -> Result<Vec<u64>> {
        *self.calls.lock() += 1;
        if *self.down.lock() {
            return Err(Error::unavailable("the shared counts are down"));
        }
        let mut w = self.windows.lock();
        Ok(tallies
            .iter()
            .map(|t| {
                let k = format!("{:?} {} {}", t.detector, t.network, t.window_start);
                let (events, ids) = w.entry(k).or_default();
                *events += t.events;
                ids.extend(&t.distinct);
                *events + u64::try_from(ids.len()).unwrap()
            })
            .collect())
    }

    async fn merge_sketches(&self, sketches: &[KeySketch]) -> Result<Vec<u64>> {
        *self.calls.lock() += 1;
        if *self.down.lock() {
            return Err(Error::unavailable("the shared counts are down"));
        }
        let mut w = self.sketches.lock();
        Ok(sketches
            .iter()
            .map(|s| {
                let bits = w.entry((s.key, s.window_start)).or_default();
                *bits |= s.sketch;
                *bits
            })
            .collect())
    }
}

fn policy() -> ThreatPolicy {
    ThreatPolicy {
        credential_stuffing: Some(CredentialStuffing {
            distinct_ids: 10,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(3600)),
        }),
        revoked_key_use: Some(RevokedKeyUse {
            uses: 6,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(3600)),
        }),
        ..ThreatPolicy::default()
    }
}

struct Instance {
    keys: ApiKeys,
    events: Arc<CollectingSink>,
}

fn instance(store: &MemoryStore, clock: &ManualClock, shared: Option<Arc<Counts>>) -> Instance {
    let events = Arc::new(CollectingSink::default());
    let mut b = ApiKeys::builder(Arc::new(store.clone()))
        .random_peppers_keys_die_at_exit()
        .clock(Arc::new(clock.clone()))
        .events(events.clone())
        .config(VerifierConfig {
            threats: policy(),
            ..VerifierConfig::default()
        });
    if let Some(s) = shared {
        b = b.threat_counts(s);
    }
    Instance {
        keys: b.build().unwrap(),
        events,
    }
}

fn clock() -> ManualClock {
    // Early in a 10-minute window, so the attack stays inside one.
    ManualClock::new("2026-11-02T00:00:30Z".parse().unwrap())
}

fn attacker() -> Option<IpAddr> {
    Some("203.0.113.66".parse().unwrap())
}

impl Instance {
    async fn verify(&self, token: &str) -> std::result::Result<(), RejectionKind> {
        let ctx = RequestContext::new().client_ip(attacker());
        self.keys
            .verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map(|_| ())
            .map_err(|r| r.kind())
    }

    /// One more well-formed token no store holds, from the attacker: how it is answered.
    async fn probe(&self) -> std::result::Result<(), RejectionKind> {
        let (_, token) = self.keys.verifier().token_format().generate();
        self.verify(token.expose()).await
    }

    /// `n` well-formed tokens with lookup ids no store holds.
    async fn stuff(&self, n: usize) {
        let format = self.keys.verifier().token_format();
        for _ in 0..n {
            let (_, token) = format.generate();
            assert_eq!(
                self.verify(token.expose()).await,
                Err(RejectionKind::Unknown)
            );
        }
    }

    fn detections(&self) -> Vec<(Detector, u64, bool)> {
        self.events
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                KeyEventKind::ThreatDetected {
                    detector,
                    observed,
                    response,
                    ..
                } => Some((
                    *detector,
                    *observed,
                    matches!(response, Response::Blocked { .. }),
                )),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn stuffing_spread_over_two_instances_is_blocked_once_their_counts_add_up() {
    let (store, clock) = (MemoryStore::new(), clock());
    let shared = Arc::new(Counts::default());
    let a = instance(&store, &clock, Some(shared.clone()));
    let b = instance(&store, &clock, Some(shared.clone()));
    // Six ids on each: short of ten on either; twelve together.
    a.stuff(6).await;
    b.stuff(6).await;
    a.keys.verifier().flush_usage().await.unwrap();
    assert!(a.detections().is_empty(), "six so far");
    b.keys.verifier().flush_usage().await.unwrap();
    assert_eq!(b.detections(), [(Detector::CredentialStuffing, 12, true)]);
    assert_eq!(
        b.probe().await,
        Err(RejectionKind::TooManyFailures),
        "b blocks the network"
    );
    // A learns the total with its next share (the block itself reaches it through
    // `RedisThreatShare` where Redis is used), and reports that window once.
    a.stuff(1).await;
    a.keys.verifier().flush_usage().await.unwrap();
    assert_eq!(a.detections(), [(Detector::CredentialStuffing, 13, true)]);
    assert_eq!(a.probe().await, Err(RejectionKind::TooManyFailures));
    a.keys.verifier().flush_usage().await.unwrap();
    assert_eq!(a.detections().len(), 1, "once per window");
}

#[tokio::test]
async fn revoked_key_use_adds_up_across_instances() {
    let (store, clock) = (MemoryStore::new(), clock());
    let shared = Arc::new(Counts::default());
    let a = instance(&store, &clock, Some(shared.clone()));
    let b = instance(&store, &clock, Some(shared.clone()));
    let k = a
        .keys
        .manager()
        .create(NewKey::new("leaked"))
        .await
        .unwrap();
    let token = k.token.expose().to_owned();
    a.keys
        .manager()
        .revoke(&TenantScope::All, k.record.id, Change::by("ops"))
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(a.verify(&token).await, Err(RejectionKind::Revoked));
    }
    a.keys.verifier().flush_usage().await.unwrap();
    // B cannot check A's peppers, so its dead-key uses come from a key of its own.
    let k = b.keys.manager().create(NewKey::new("old")).await.unwrap();
    let mine = k.token.expose().to_owned();
    b.keys
        .manager()
        .revoke(&TenantScope::All, k.record.id, Change::by("ops"))
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(b.verify(&mine).await, Err(RejectionKind::Revoked));
    }
    b.keys.verifier().flush_usage().await.unwrap();
    assert_eq!(b.detections(), [(Detector::RevokedKeyUse, 6, true)]);
}

#[tokio::test]
async fn without_sharing_each_instance_judges_its_own_share() {
    let (store, clock) = (MemoryStore::new(), clock());
    let a = instance(&store, &clock, None);
    let b = instance(&store, &clock, None);
    a.stuff(6).await;
    b.stuff(6).await;
    a.keys.verifier().flush_usage().await.unwrap();
    b.keys.verifier().flush_usage().await.unwrap();
    assert!(a.detections().is_empty() && b.detections().is_empty());
    assert_eq!(b.probe().await, Err(RejectionKind::Unknown));
}

#[tokio::test]
async fn a_failing_shared_store_leaves_the_local_counts_judging() {
    let (store, clock) = (MemoryStore::new(), clock());
    let shared = Arc::new(Counts::default());
    *shared.down.lock() = true;
    let a = instance(&store, &clock, Some(shared.clone()));
    a.stuff(6).await;
    a.keys.verifier().flush_usage().await.unwrap();
    assert_eq!(*shared.calls.lock(), 1, "the share was tried");
    assert!(a.detections().is_empty());
    // Locally, ten ids still fire.
    a.stuff(4).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(a.detections(), [(Detector::CredentialStuffing, 10, true)]);
    assert_eq!(a.probe().await, Err(RejectionKind::TooManyFailures));
}

/// Two instances with the same peppers (so the same token, and the same sketch bits), watching
/// for one key used from eleven networks within an hour.
fn spread_instance(
    store: &MemoryStore,
    clock: &ManualClock,
    shared: Option<Arc<Counts>>,
) -> ApiKeys {
    let mut b = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::single("p1", [7u8; 32]).unwrap())
        .clock(Arc::new(clock.clone()))
        .config(VerifierConfig {
            threats: ThreatPolicy {
                network_spread: Some(NetworkSpread {
                    networks: 11,
                    window: Duration::from_secs(3600),
                    action: KeyAction::Suspend,
                    ..NetworkSpread::default()
                }),
                ..ThreatPolicy::default()
            },
            ..VerifierConfig::default()
        });
    if let Some(s) = shared {
        b = b.threat_counts(s);
    }
    b.build().unwrap()
}

/// Seven networks through each instance: short of eleven on either, fourteen together.
async fn spread_over(a: &ApiKeys, b: &ApiKeys) -> KeyId {
    let k = a.manager().create(NewKey::new("leaked")).await.unwrap();
    let token = k.token.expose().to_owned();
    for (keys, first) in [(a, 0u8), (b, 100u8)] {
        for n in first..first + 7 {
            let ctx = RequestContext::new().client_ip(Some([100, n, 9, 1].into()));
            keys.verifier()
                .verify(Credential::new(&token), &ctx)
                .await
                .unwrap();
        }
    }
    a.verifier().flush_usage().await.unwrap();
    b.verifier().flush_usage().await.unwrap();
    k.record.id
}

async fn state(keys: &ApiKeys, id: KeyId) -> KeyState {
    keys.manager()
        .get(&TenantScope::All, id)
        .await
        .unwrap()
        .state
}

#[tokio::test]
async fn a_key_used_from_networks_spread_over_two_instances_is_suspended() {
    let (store, clock) = (MemoryStore::new(), clock());
    let shared = Arc::new(Counts::default());
    let a = spread_instance(&store, &clock, Some(shared.clone()));
    let b = spread_instance(&store, &clock, Some(shared.clone()));
    let id = spread_over(&a, &b).await;
    assert_eq!(state(&b, id).await, KeyState::Suspended);
}

#[tokio::test]
async fn without_shared_sketches_each_instance_sees_its_share_of_the_networks() {
    let (store, clock) = (MemoryStore::new(), clock());
    let a = spread_instance(&store, &clock, None);
    let b = spread_instance(&store, &clock, None);
    let id = spread_over(&a, &b).await;
    assert_eq!(state(&b, id).await, KeyState::Active);
}
