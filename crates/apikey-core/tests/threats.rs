//! Threat detection that acts: each detector driven by its attack on an injected clock, with
//! the block or suspension and the `threat.detected` event asserted, and a false-positive case
//! for each (normal traffic that looks a little like the attack is never acted on).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::audit::{AuditFilter, EventType, ThreatLog};
use apikey_core::event::{CollectingSink, FanOut};
use apikey_core::threat::{
    CredentialStuffing, Detector, KeyAction, NetworkAction, NetworkSpread, RateSurge, Response,
    RevokedKeyUse, ThreatPolicy,
};
use apikey_core::{
    ApiKeys, AuditStore, Change, Credential, KeyEventKind, KeyId, KeyState, ManualClock, NewKey,
    RejectionKind, RequestContext, TenantScope, VerifierConfig,
};
use apikey_memory::MemoryStore;
use chrono::{DateTime, Utc};

struct Fx {
    keys: ApiKeys,
    store: MemoryStore,
    clock: ManualClock,
    events: Arc<CollectingSink>,
}

fn start() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

fn fx(threats: ThreatPolicy) -> Fx {
    fx_with(VerifierConfig {
        threats,
        ..VerifierConfig::default()
    })
}

fn fx_with(config: VerifierConfig) -> Fx {
    let store = MemoryStore::new();
    let clock = ManualClock::new(start());
    let events = Arc::new(CollectingSink::default());
    let sinks = FanOut(vec![
        events.clone(),
        Arc::new(ThreatLog::new(Arc::new(store.clone()))),
    ]);
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .random_peppers_keys_die_at_exit()
        .clock(Arc::new(clock.clone()))
        .audit(Arc::new(store.clone()))
        .events(Arc::new(sinks))
        .config(config)
        .build()
        .unwrap();
    Fx {
        keys,
        store,
        clock,
        events,
    }
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

impl Fx {
    async fn token(&self, name: &str) -> (KeyId, String) {
        let k = self.keys.manager().create(NewKey::new(name)).await.unwrap();
        (k.record.id, k.token.expose().to_owned())
    }

    async fn verify(&self, token: &str, from: Option<IpAddr>) -> Result<(), RejectionKind> {
        let ctx = RequestContext::new().client_ip(from);
        self.keys
            .verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map(|_| ())
            .map_err(|r| r.kind())
    }

    /// The detections reported so far: detector, network, observed, response.
    fn detections(&self) -> Vec<(Detector, Option<String>, u64, Response)> {
        self.events
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                KeyEventKind::ThreatDetected {
                    detector,
                    network,
                    observed,
                    response,
                    ..
                } => Some((*detector, network.clone(), *observed, *response)),
                _ => None,
            })
            .collect()
    }

    async fn audited(&self) -> Vec<serde_json::Value> {
        let filter = AuditFilter {
            types: vec![EventType::ThreatDetected],
            limit: 100,
            ..AuditFilter::default()
        };
        self.store
            .query(&TenantScope::All, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.data.unwrap())
            .collect()
    }

    async fn state(&self, id: KeyId) -> KeyState {
        self.keys
            .manager()
            .get(&TenantScope::All, id)
            .await
            .unwrap()
            .state
    }

    fn minute(&self) {
        self.clock.advance(chrono::TimeDelta::seconds(60));
    }
}

/// A token of the same format with another lookup id (`n` picks which), unknown to the store.
fn unknown_id(token: &str, prefix_len: usize, n: usize) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut body = token.as_bytes()[..token.len() - 6].to_vec();
    body[prefix_len] = B62[n % 62];
    body[prefix_len + 1] = B62[(n / 62) % 62];
    body[prefix_len + 2] = b'z';
    let mut sum = [0u8; 6];
    apikey_core::token::base62::encode_fixed(u64::from(crc32fast::hash(&body)), &mut sum);
    body.extend_from_slice(&sum);
    String::from_utf8(body).unwrap()
}

fn stuffing(distinct_ids: u32) -> ThreatPolicy {
    ThreatPolicy {
        credential_stuffing: Some(CredentialStuffing {
            distinct_ids,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(3600)),
        }),
        ..ThreatPolicy::default()
    }
}

#[tokio::test]
async fn credential_stuffing_blocks_the_network_and_nothing_else() {
    let f = fx(stuffing(10));
    let (_, token) = f.token("victim").await;
    let prefix = f.keys.verifier().token_format().prefix().len();
    let attacker = ip("203.0.113.66");
    for n in 0..9 {
        assert_eq!(
            f.verify(&unknown_id(&token, prefix, n), attacker).await,
            Err(RejectionKind::Unknown)
        );
    }
    assert_eq!(
        f.verify(&token, attacker).await,
        Ok(()),
        "nine ids: no block"
    );
    assert!(f.detections().is_empty());

    f.verify(&unknown_id(&token, prefix, 9), attacker)
        .await
        .unwrap_err();
    settle().await;
    let blocked = f
        .keys
        .verifier()
        .verify(
            Credential::new(&token),
            &RequestContext::new().client_ip(attacker),
        )
        .await
        .unwrap_err();
    assert_eq!(blocked.kind(), RejectionKind::TooManyFailures);
    assert_eq!(
        blocked.retry_after_duration(),
        Some(Duration::from_secs(3600)),
        "a valid key from the network is refused for the block's hour"
    );
    assert_eq!(
        f.verify(&token, ip("203.0.113.67")).await,
        Ok(()),
        "the neighbouring address is another network"
    );
    let until = start() + chrono::TimeDelta::hours(1);
    assert_eq!(
        f.detections(),
        [(
            Detector::CredentialStuffing,
            Some("203.0.113.66/32".to_owned()),
            10,
            Response::Blocked { until }
        )]
    );
    let audited = f.audited().await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["detector"], "credential_stuffing");
    assert_eq!(audited[0]["response"]["action"], "blocked");

    f.clock.advance(chrono::TimeDelta::seconds(3600));
    assert_eq!(f.verify(&token, attacker).await, Ok(()), "the block ended");
}

#[tokio::test]
async fn one_client_retrying_its_wrong_key_and_a_busy_network_are_not_stuffing() {
    let f = fx(stuffing(10));
    let (_, token) = f.token("user").await;
    let prefix = f.keys.verifier().token_format().prefix().len();
    let office = ip("198.51.100.20");
    // One client with a typo in its key, retrying for ten minutes: one id.
    let typo = unknown_id(&token, prefix, 1);
    for _ in 0..10 {
        for _ in 0..5 {
            let _ = f.verify(&typo, office).await;
        }
        f.minute();
    }
    // Then a busy office whose users mistype now and then: nine ids a window, window after window.
    for window in 0..3 {
        for n in 0..9 {
            let _ = f
                .verify(&unknown_id(&token, prefix, 100 + window * 9 + n), office)
                .await;
        }
        f.clock.advance(chrono::TimeDelta::seconds(601));
    }
    settle().await;
    assert!(f.detections().is_empty(), "{:?}", f.detections());
    assert_eq!(f.verify(&token, office).await, Ok(()));
}

fn revoked_use(uses: u32) -> ThreatPolicy {
    ThreatPolicy {
        revoked_key_use: Some(RevokedKeyUse {
            uses,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(1800)),
        }),
        ..ThreatPolicy::default()
    }
}

#[tokio::test]
async fn a_revoked_key_used_again_and_again_blocks_its_network() {
    let f = fx(revoked_use(5));
    let (dead, dead_token) = f.token("leaked").await;
    let (_, live_token) = f.token("other").await;
    f.keys
        .manager()
        .revoke(&TenantScope::All, dead, Change::new())
        .await
        .unwrap();
    let from = ip("2001:db8:5:6::7");
    for _ in 0..4 {
        assert_eq!(
            f.verify(&dead_token, from).await,
            Err(RejectionKind::Revoked)
        );
    }
    assert_eq!(f.verify(&live_token, from).await, Ok(()));
    assert_eq!(
        f.verify(&dead_token, from).await,
        Err(RejectionKind::Revoked)
    );
    settle().await;
    assert_eq!(
        f.verify(&live_token, ip("2001:db8:5:6:ffff::1")).await,
        Err(RejectionKind::TooManyFailures),
        "the whole /64 is blocked, for every key"
    );
    assert_eq!(f.verify(&live_token, ip("2001:db8:5:7::1")).await, Ok(()));
    let d = f.detections();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, Detector::RevokedKeyUse);
    assert_eq!(d[0].1.as_deref(), Some("2001:db8:5:6::/64"));
    assert_eq!(d[0].2, 5);
    assert_eq!(f.audited().await.len(), 1);
}

#[tokio::test]
async fn occasional_dead_key_use_and_a_key_in_its_grace_are_not_blocked() {
    let f = fx_with(VerifierConfig {
        threats: revoked_use(5),
        expiry_grace: Duration::from_secs(86_400),
        ..VerifierConfig::default()
    });
    let (dead, dead_token) = f.token("forgotten in a cron job").await;
    f.keys
        .manager()
        .revoke(&TenantScope::All, dead, Change::new())
        .await
        .unwrap();
    let expiring = f
        .keys
        .manager()
        .create(NewKey::new("expiring").expires_at(start() + chrono::TimeDelta::minutes(1)))
        .await
        .unwrap();
    let expiring_token = expiring.token.expose().to_owned();
    let from = ip("192.0.2.44");
    // A forgotten job tries its revoked key four times every ten minutes, for an hour.
    for _ in 0..6 {
        for _ in 0..4 {
            assert_eq!(
                f.verify(&dead_token, from).await,
                Err(RejectionKind::Revoked)
            );
        }
        f.clock.advance(chrono::TimeDelta::seconds(601));
    }
    // Past its expiry but within the grace period, a key works and counts as nothing.
    for _ in 0..20 {
        assert_eq!(f.verify(&expiring_token, from).await, Ok(()));
    }
    settle().await;
    assert!(f.detections().is_empty(), "{:?}", f.detections());
}

fn spread(networks: u32, action: KeyAction) -> ThreatPolicy {
    ThreatPolicy {
        network_spread: Some(NetworkSpread {
            networks,
            window: Duration::from_secs(3600),
            action,
            ..NetworkSpread::default()
        }),
        ..ThreatPolicy::default()
    }
}

#[tokio::test]
async fn a_key_used_from_many_networks_is_suspended() {
    let f = fx(spread(10, KeyAction::Suspend));
    let (id, token) = f.token("leaked to a forum").await;
    let (other, other_token) = f.token("well kept").await;
    for minute in 0..10u8 {
        for n in 0..3u8 {
            let net = minute * 3 + n;
            assert_eq!(
                f.verify(&token, ip(&format!("100.{net}.7.1"))).await,
                Ok(())
            );
        }
        assert_eq!(f.verify(&other_token, ip("198.51.100.1")).await, Ok(()));
        f.keys.verifier().flush_usage().await.unwrap();
        f.minute();
        if f.state(id).await == KeyState::Suspended {
            break;
        }
    }
    assert_eq!(f.state(id).await, KeyState::Suspended);
    assert_eq!(
        f.verify(&token, ip("100.1.7.1")).await,
        Err(RejectionKind::Suspended)
    );
    assert_eq!(f.state(other).await, KeyState::Active);
    let d = f.detections();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, Detector::NetworkSpread);
    assert_eq!(d[0].3, Response::Suspended);
    assert!(d[0].2 >= 10);
    let history = f
        .store
        .query(&TenantScope::All, &AuditFilter::key(id))
        .await
        .unwrap();
    let suspended = history
        .iter()
        .find(|e| e.event_type == EventType::Suspended)
        .expect("the suspension is an audited change");
    assert_eq!(suspended.actor.as_deref(), Some("system"));
    assert!(
        suspended
            .reason
            .as_deref()
            .unwrap()
            .starts_with("threat: network_spread"),
        "{:?}",
        suspended.reason
    );
    assert_eq!(f.audited().await.len(), 1);
}

#[tokio::test]
async fn a_key_used_by_one_office_and_two_servers_is_not_a_spread() {
    let f = fx(spread(10, KeyAction::Suspend));
    let (id, token) = f.token("busy").await;
    for minute in 0..180u32 {
        // Many addresses, three networks: one /24 of laptops and two servers.
        let host = minute % 250;
        for from in [
            format!("203.0.113.{host}"),
            "192.0.2.10".into(),
            "192.0.2.200".into(),
        ] {
            assert_eq!(f.verify(&token, ip(&from)).await, Ok(()));
        }
        f.keys.verifier().flush_usage().await.unwrap();
        f.minute();
    }
    assert!(f.detections().is_empty(), "{:?}", f.detections());
    assert_eq!(f.state(id).await, KeyState::Active);
}

fn surge(action: KeyAction) -> ThreatPolicy {
    ThreatPolicy {
        rate_surge: Some(RateSurge {
            factor: 10,
            min_per_minute: 50,
            window: Duration::from_secs(300),
            min_history: Duration::from_secs(3600),
            action,
        }),
        ..ThreatPolicy::default()
    }
}

impl Fx {
    /// `per_minute(m)` requests in each of `minutes` minutes, flushed each minute.
    async fn traffic(&self, token: &str, minutes: u32, per_minute: impl Fn(u32) -> u32) {
        for m in 0..minutes {
            for _ in 0..per_minute(m) {
                self.verify(token, ip("198.51.100.9")).await.unwrap();
            }
            self.keys.verifier().flush_usage().await.unwrap();
            self.minute();
        }
    }
}

#[tokio::test]
async fn a_rate_far_above_the_keys_baseline_is_reported() {
    let f = fx(surge(KeyAction::Observe));
    let (id, token) = f.token("steady").await;
    f.traffic(&token, 120, |_| 10).await;
    assert!(f.detections().is_empty());
    f.traffic(&token, 3, |_| 300).await;
    let d = f.detections();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, Detector::RateSurge);
    assert_eq!(d[0].3, Response::Observed);
    assert!(d[0].2 >= 100, "{d:?}");
    let audited = f.audited().await;
    assert_eq!(audited[0]["baseline"], 10);
    assert_eq!(f.state(id).await, KeyState::Active, "observe only");
}

#[tokio::test]
async fn a_restarted_verifier_reads_the_keys_baseline_from_the_usage_analytics() {
    use apikey_core::analytics::{AnalyticsStore, UsageCounts, UsageRow};
    use apikey_core::store::UsageBatchId;

    let f = fx(surge(KeyAction::Observe));
    let (id, token) = f.token("steady before the restart").await;
    // What the processes before this one counted: 10 a minute in each of the last three hours.
    for (seq, h) in (1..=3).enumerate() {
        let row = UsageRow {
            key_id: Some(id),
            tenant_id: None,
            counts: UsageCounts {
                success: 600,
                ..UsageCounts::default()
            },
        };
        let batch = UsageBatchId {
            flusher: uuid::Uuid::nil(),
            seq: seq as u64 + 1,
            at: start() - chrono::TimeDelta::hours(h),
        };
        assert!(f.store.add_usage(batch, &[row]).await.unwrap());
    }
    // Without that history this process would not judge the key for an hour.
    f.traffic(&token, 3, |_| 300).await;
    let d = f.detections();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, Detector::RateSurge);
    assert_eq!(f.audited().await[0]["baseline"], 10);
}

#[tokio::test]
async fn a_surge_with_suspend_suspends_the_key() {
    let f = fx(surge(KeyAction::Suspend));
    let (id, token) = f.token("drained").await;
    f.traffic(&token, 90, |_| 5).await;
    for _ in 0..3 {
        for _ in 0..200 {
            let _ = f.verify(&token, ip("198.51.100.9")).await;
        }
        f.keys.verifier().flush_usage().await.unwrap();
        f.minute();
    }
    assert_eq!(f.state(id).await, KeyState::Suspended);
    assert_eq!(f.detections()[0].3, Response::Suspended);
}

#[tokio::test]
async fn new_keys_daily_peaks_and_growth_are_not_surges() {
    let f = fx(surge(KeyAction::Suspend));
    let (fresh, fresh_token) = f.token("launched today").await;
    let (steady, steady_token) = f.token("steady with peaks").await;
    // A new key starts at full speed: no history, so no judgement.
    f.traffic(&fresh_token, 30, |_| 300).await;
    // A key whose traffic varies threefold minute to minute and doubles over three hours.
    f.traffic(&steady_token, 180, |m| {
        let base = 20 + m / 9;
        [base, base * 3, base / 2][(m % 3) as usize]
    })
    .await;
    assert!(f.detections().is_empty(), "{:?}", f.detections());
    assert_eq!(f.state(fresh).await, KeyState::Active);
    assert_eq!(f.state(steady).await, KeyState::Active);
}

#[tokio::test]
async fn the_recommended_policy_builds_and_a_bad_one_is_refused() {
    let _ = fx(ThreatPolicy::recommended());
    let err = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .config(VerifierConfig {
            threats: ThreatPolicy {
                rate_surge: Some(RateSurge {
                    factor: 1,
                    ..RateSurge::default()
                }),
                ..ThreatPolicy::default()
            },
            ..VerifierConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("rate_surge.factor"), "{err}");
}
