//! Per-tenant threat settings: a tenant's own row turns a per-key detector off for its keys,
//! makes it suspend where the verifier only reports, or moves its threshold; a tenant without
//! settings follows the verifier; a change is in force within a minute.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::event::CollectingSink;
use apikey_core::threat::{
    Detector, KeyAction, KeyDetectorSetting, NetworkSpread, Response, TenantThreatAction,
    TenantThreats, ThreatPolicy,
};
use apikey_core::{
    ApiKeys, Change, Credential, KeyEventKind, KeyId, KeyState, ManualClock, NewKey,
    RequestContext, TenantId, TenantScope, TenantSettings, VerifierConfig,
};
use apikey_memory::MemoryStore;

struct Fx {
    keys: ApiKeys,
    clock: ManualClock,
    events: Arc<CollectingSink>,
}

fn fx() -> Fx {
    let store = MemoryStore::new();
    let clock = ManualClock::new("2026-11-02T00:00:00Z".parse().unwrap());
    let events = Arc::new(CollectingSink::default());
    // The verifier reports a key seen from 20 networks in an hour.
    let threats = ThreatPolicy {
        network_spread: Some(NetworkSpread {
            networks: 20,
            window: Duration::from_secs(3600),
            action: KeyAction::Observe,
            ..NetworkSpread::default()
        }),
        ..ThreatPolicy::default()
    };
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .random_peppers_keys_die_at_exit()
        .clock(Arc::new(clock.clone()))
        .audit(Arc::new(store.clone()))
        .tenant_settings(Arc::new(store))
        .events(events.clone())
        .config(VerifierConfig {
            threats,
            ..VerifierConfig::default()
        })
        .build()
        .unwrap();
    Fx {
        keys,
        clock,
        events,
    }
}

fn spread(action: TenantThreatAction, threshold: Option<u32>) -> TenantSettings {
    TenantSettings {
        threats: TenantThreats {
            network_spread: Some(KeyDetectorSetting { action, threshold }),
            ..TenantThreats::default()
        },
        ..TenantSettings::default()
    }
}

impl Fx {
    async fn key(&self, tenant: Option<&TenantId>) -> (KeyId, String) {
        let mut new = NewKey::new("k");
        if let Some(t) = tenant {
            new = new.tenant(t.clone());
        }
        let k = self.keys.manager().create(new).await.unwrap();
        (k.record.id, k.token.expose().to_owned())
    }

    /// `token` used from `networks` different /24s (numbered from `first`), then a flush.
    async fn used_from(&self, token: &str, first: u8, networks: u8) {
        for n in first..first + networks {
            let from: IpAddr = format!("100.{n}.9.1").parse().unwrap();
            let ctx = RequestContext::new().client_ip(Some(from));
            self.keys
                .verifier()
                .verify(Credential::new(token), &ctx)
                .await
                .unwrap();
        }
        self.keys.verifier().flush_usage().await.unwrap();
        self.clock.advance(chrono::TimeDelta::seconds(60));
    }

    async fn state(&self, id: KeyId) -> KeyState {
        self.keys
            .manager()
            .get(&TenantScope::All, id)
            .await
            .unwrap()
            .state
    }

    /// Each detection: the key, and what was done.
    fn detections(&self) -> Vec<(KeyId, Response)> {
        self.events
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                KeyEventKind::ThreatDetected {
                    detector: Detector::NetworkSpread,
                    response,
                    ..
                } => Some((e.key_id?, *response)),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn each_tenant_judges_its_keys_by_its_own_settings() {
    let f = fx();
    let m = f.keys.manager();
    let strict = TenantId::new("strict").unwrap();
    let quiet = TenantId::new("quiet").unwrap();
    m.set_settings(
        Some(&strict),
        spread(TenantThreatAction::Suspend, Some(5)),
        0,
        Change::by("ops"),
    )
    .await
    .unwrap();
    m.set_settings(
        Some(&quiet),
        spread(TenantThreatAction::Off, None),
        0,
        Change::by("ops"),
    )
    .await
    .unwrap();
    let (strict_key, strict_token) = f.key(Some(&strict)).await;
    let (quiet_key, quiet_token) = f.key(Some(&quiet)).await;
    let (plain_key, plain_token) = f.key(None).await;

    // Eight networks each: past the strict tenant's 5, short of the verifier's 20.
    f.used_from(&strict_token, 0, 8).await;
    f.used_from(&quiet_token, 10, 8).await;
    f.used_from(&plain_token, 20, 8).await;
    assert_eq!(f.state(strict_key).await, KeyState::Suspended);
    assert_eq!(f.detections(), [(strict_key, Response::Suspended)]);

    // Thirty networks: the quiet tenant's key is still not judged; the plain key, by the
    // verifier's policy, is reported and keeps working.
    f.used_from(&quiet_token, 40, 30).await;
    f.used_from(&plain_token, 80, 30).await;
    assert_eq!(f.state(quiet_key).await, KeyState::Active);
    assert_eq!(f.state(plain_key).await, KeyState::Active);
    assert_eq!(
        f.detections(),
        [
            (strict_key, Response::Suspended),
            (plain_key, Response::Observed)
        ]
    );
}

#[tokio::test]
async fn a_changed_setting_is_in_force_within_a_minute() {
    let f = fx();
    let m = f.keys.manager();
    let t = TenantId::new("acme").unwrap();
    m.set_settings(
        Some(&t),
        spread(TenantThreatAction::Off, None),
        0,
        Change::by("ops"),
    )
    .await
    .unwrap();
    let (id, token) = f.key(Some(&t)).await;
    f.used_from(&token, 0, 25).await;
    assert!(f.detections().is_empty());

    // Turned to suspend past 3 networks; a minute later the next flush reads it.
    m.set_settings(
        Some(&t),
        spread(TenantThreatAction::Suspend, Some(3)),
        1,
        Change::by("ops"),
    )
    .await
    .unwrap();
    f.used_from(&token, 100, 1).await;
    assert_eq!(f.state(id).await, KeyState::Suspended);
    assert_eq!(f.detections(), [(id, Response::Suspended)]);
}
