//! The verifier's side of threat detection ([`crate::threat`]): the network block checked at
//! the start of a verification, the per-network counts on refusal paths, the per-key network
//! sketch on admission, and acting on what the detectors found.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use super::Verifier;
use super::context::RequestContext;
use super::failures::{FailSubject, client_net};
use super::rejection::{Rejection, RejectionKind};
use crate::audit::SYSTEM_ACTOR;
use crate::ids::TenantScope;
use crate::manage::{Change, KeyManager};
use crate::threat::keys::KeyWatch;
use crate::threat::networks::{Crossed, NetworkWatch};
use crate::threat::sketch::NetworkHasher;
use crate::threat::tenants::TenantPolicies;
use crate::threat::{Detector, NetworkAction, Response, SharedThreatCounts, Threat, ThreatPolicy};

/// What a verifier runs of the detectors: only the parts a policy turns on exist.
#[derive(Debug)]
pub(crate) struct Threats {
    policy: ThreatPolicy,
    networks: Option<NetworkWatch>,
    pub(crate) keys: Option<KeyWatch>,
    /// Set when the network-spread detector is on: admissions then sketch their network.
    pub(crate) sketch: Option<NetworkHasher>,
    /// The tenants' own settings for the per-key detectors, once a manager with a settings
    /// store is built.
    pub(crate) tenants: TenantPolicies,
    /// Where the network detectors' counts are added up across instances, if anywhere.
    shared: std::sync::OnceLock<Arc<dyn SharedThreatCounts>>,
}

impl Threats {
    /// `None` when no detector is on. `sketch_seed` keys the network sketch: a secret every
    /// instance derives alike, so their sketches merge.
    pub(crate) fn new(policy: ThreatPolicy, sketch_seed: u64) -> Option<Self> {
        if !policy.any() {
            return None;
        }
        let network_side = policy.credential_stuffing.is_some() || policy.revoked_key_use.is_some();
        Some(Self {
            policy,
            networks: network_side.then(|| NetworkWatch::new(policy)),
            keys: policy.watches_keys().then(|| KeyWatch::new(policy)),
            sketch: policy
                .network_spread
                .map(|d| NetworkHasher::new(d.ipv4_prefix, d.ipv6_prefix, sketch_seed)),
            tenants: TenantPolicies::default(),
            shared: std::sync::OnceLock::new(),
        })
    }

    /// Shares the network detectors' counts and the network sketches through `shared` from now
    /// on (the first set stays).
    pub(crate) fn share_counts(&self, shared: Arc<dyn SharedThreatCounts>) {
        if self.shared.set(shared).is_ok()
            && let Some(n) = &self.networks
        {
            n.gather();
        }
    }

    fn network_action(&self, detector: Detector) -> NetworkAction {
        match detector {
            Detector::CredentialStuffing => self.policy.credential_stuffing.map(|d| d.action),
            Detector::RevokedKeyUse => self.policy.revoked_key_use.map(|d| d.action),
            _ => None,
        }
        .unwrap_or(NetworkAction::Observe)
    }
}

impl Verifier {
    /// The answer to a request from a network a detector blocked; `None` (one atomic load)
    /// while no block is active.
    #[inline]
    pub(super) fn network_refused(
        &self,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> Option<Rejection> {
        let wait = self
            .inner
            .failures
            .network_blocked(ctx.client_ip, now_us / 1000)?;
        Some(Rejection::new(RejectionKind::TooManyFailures).retry_after(wait))
    }

    /// Refuses every request from `network` until `until`, as a detector's block does (see
    /// [`crate::threat`]), and reports nothing: for blocks another instance made and shared
    /// (`apikey_redis::RedisThreatShare`). A longer block already there stays. The network is
    /// counted under this verifier's failed-auth prefixes (an address in a /32 or /64).
    pub fn block_network(&self, network: ipnet::IpNet, until: chrono::DateTime<chrono::Utc>) {
        let now_ms = self.inner.clock.now().timestamp_millis();
        let until_ms = until.timestamp_millis();
        if until_ms > now_ms {
            self.inner
                .failures
                .block_network(network.addr(), now_ms, until_ms);
        }
    }

    /// A failed verification of `subject`: one more failing id for credential stuffing when it
    /// is new in the window.
    #[cold]
    pub(super) fn failing_id(&self, subject: FailSubject, ctx: &RequestContext<'_>, now_us: i64) {
        let id = foldhash::fast::FixedState::default().hash_one(subject);
        self.count_network(Detector::CredentialStuffing, Some(id), ctx, now_us);
    }

    /// A revoked or expired key presented (past its grace).
    #[cold]
    pub(super) fn dead_key_used(&self, ctx: &RequestContext<'_>, now_us: i64) {
        self.count_network(Detector::RevokedKeyUse, None, ctx, now_us);
    }

    fn count_network(
        &self,
        detector: Detector,
        distinct: Option<u64>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) {
        let inner = &*self.inner;
        let Some(threats) = &inner.threats else {
            return;
        };
        let (Some(watch), Some(ip)) = (&threats.networks, ctx.client_ip) else {
            return;
        };
        let Some(net) = client_net(Some(ip), inner.failures.policy()) else {
            return;
        };
        let now_ms = now_us / 1000;
        let Some(crossed) = watch.count(detector, net, distinct, now_ms) else {
            return;
        };
        let threat = self.react(detector, net, crossed, now_ms);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let events = Arc::clone(&inner.events);
            rt.spawn(async move { events.emit(&threat.event()).await });
        }
    }

    /// A network detector fired: blocks where its policy says so; the finding to report.
    fn react(
        &self,
        detector: Detector,
        net: ipnet::IpNet,
        crossed: Crossed,
        now_ms: i64,
    ) -> Threat {
        let inner = &*self.inner;
        let action = inner
            .threats
            .as_ref()
            .map_or(NetworkAction::Observe, |t| t.network_action(detector));
        let response = match action {
            NetworkAction::Block(d) => {
                let until_ms = now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(0));
                // The network's first address: counted under the same network.
                inner.failures.block_network(net.addr(), now_ms, until_ms);
                Response::Blocked {
                    until: chrono::DateTime::from_timestamp_millis(until_ms).unwrap_or_default(),
                }
            }
            _ => Response::Observed,
        };
        let Crossed {
            count,
            threshold,
            window,
        } = crossed;
        tracing::warn!(detector = detector.as_str(), network = %net, count, ?response, "threat detected");
        Threat {
            detector,
            key: None,
            network: Some(net),
            observed: count.into(),
            threshold: threshold.into(),
            baseline: None,
            window,
            response,
            at: inner.clock.now(),
        }
    }

    /// Adds what the network detectors counted since the last flush to the shared counts, and
    /// acts on every shared window now past its threshold (see [`crate::threat`]). A failure
    /// drops this flush's share (the local counts still judge).
    pub(super) async fn share_network_counts(&self) {
        let Some(threats) = self.inner.threats.as_ref() else {
            return;
        };
        let (Some(watch), Some(shared)) = (&threats.networks, threats.shared.get()) else {
            return;
        };
        let tallies = watch.take_tallies();
        if tallies.is_empty() {
            return;
        }
        let totals = match tokio::time::timeout(SHARE_TIMEOUT, shared.add(&tallies)).await {
            Ok(Ok(t)) if t.len() == tallies.len() => t,
            outcome => {
                static LOG: crate::log_throttle::LogThrottle =
                    crate::log_throttle::LogThrottle::new(Duration::from_secs(60));
                if let Some(suppressed) = LOG.allow_monotonic() {
                    let error = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        Ok(Ok(_)) => "a total missing".to_owned(),
                        Err(_) => "timed out".to_owned(),
                    };
                    tracing::warn!(%error, suppressed, "threat counts not shared; this instance judges its own");
                }
                return;
            }
        };
        let now_ms = self.inner.clock.now().timestamp_millis();
        for (tally, total) in tallies.iter().zip(totals) {
            if let Some(crossed) = watch.shared_crossed(tally, total, now_ms) {
                let threat = self.react(tally.detector, tally.network, crossed, now_ms);
                self.inner.events.emit(&threat.event()).await;
            }
        }
    }

    /// Judges the keys the last flush counted, each by its tenant's policy, and acts on what
    /// the per-key detectors found: suspends where the policy says so, then reports each (with
    /// what was done).
    pub(super) async fn act_on_key_threats(&self) {
        let Some(threats) = self.inner.threats.as_ref() else {
            return;
        };
        let Some(watch) = &threats.keys else {
            return;
        };
        if let (Some(shared), Some(d)) = (threats.shared.get(), threats.policy.network_spread) {
            merge_sketches(watch, shared.as_ref(), d.window).await;
        }
        if threats.policy.rate_surge.is_some() {
            self.seed_baselines(watch).await;
        }
        let tenants = watch.unjudged_tenants();
        let now_ms = self.inner.clock.now().timestamp_millis();
        let policies = threats
            .tenants
            .resolve(&threats.policy, tenants, now_ms)
            .await;
        let found = watch.judge(|t| policies.get(&t.cloned()).copied().unwrap_or(threats.policy));
        for mut threat in found {
            if threat.response == Response::Suspended && !self.suspend_for(&threat).await {
                threat.response = Response::Observed;
            }
            tracing::warn!(
                detector = threat.detector.as_str(),
                key = ?threat.key.as_ref().map(|k| k.0),
                observed = threat.observed,
                response = ?threat.response,
                "threat detected"
            );
            self.inner.events.emit(&threat.event()).await;
        }
    }

    /// Suspends the threat's key as the system actor; whether it is now suspended by us.
    async fn suspend_for(&self, threat: &Threat) -> bool {
        let Some((key, tenant)) = threat.key.clone() else {
            return false;
        };
        let audit = self.inner.audit.get().cloned();
        let manager = KeyManager::new(self, None, audit, None, None, None);
        let scope = tenant.map_or(TenantScope::All, TenantScope::Tenant);
        let change = Change::new()
            .with_actor(Some(SYSTEM_ACTOR.to_owned()))
            .with_reason(Some(format!(
                "threat: {} ({} observed, threshold {})",
                threat.detector.as_str(),
                threat.observed,
                threat.threshold
            )));
        match tokio::time::timeout(SUSPEND_TIMEOUT, manager.suspend(&scope, key, change)).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                // Already suspended or revoked is not a failure to report loudly.
                tracing::warn!(%key, error = %e, "threat detected but the key was not suspended");
                false
            }
            Err(_) => {
                tracing::warn!(%key, "threat detected but suspending the key timed out");
                false
            }
        }
    }
}

impl Verifier {
    /// Reads the rate-surge baseline of keys this process has just started seeing from the usage
    /// analytics (their hour buckets of the last day), [`SEEDS_PER_FLUSH`] at a time, so a
    /// restart does not leave the detector blind for an hour. The analytics sum every instance,
    /// so behind a load balancer the baseline is the whole key's while the rate judged is this
    /// instance's share: a surge then has to be that much larger to fire (never the reverse).
    async fn seed_baselines(&self, watch: &KeyWatch) {
        let Some(analytics) = self.inner.store.analytics() else {
            return;
        };
        let now = self.inner.clock.now();
        let now_ms = now.timestamp_millis();
        let hour = crate::analytics::Resolution::Hour.bucket(now);
        let range = crate::analytics::UsageRange {
            since: hour - chrono::TimeDelta::hours(24),
            until: hour,
        };
        for key in watch.unseeded(SEEDS_PER_FLUSH) {
            let query = crate::analytics::SeriesQuery {
                subject: crate::analytics::UsageSubject::Key(key),
                resolution: crate::analytics::Resolution::Hour,
                range,
            };
            match analytics.usage_series(&TenantScope::All, &query).await {
                Ok(points) => {
                    let hours: Vec<(i64, u64)> = points
                        .iter()
                        .map(|p| (p.bucket.timestamp_millis(), p.counts.requests()))
                        .collect();
                    watch.seed(key, now_ms, &hours);
                }
                Err(e) => {
                    // Tried again at the next flush; the rest wait too.
                    tracing::debug!(%key, error = %e, "rate baseline not read from the usage analytics");
                    return;
                }
            }
        }
    }
}

/// How many keys' baselines one flush reads from the usage analytics (one query each).
const SEEDS_PER_FLUSH: usize = 64;

/// Merges the sketches the last flush counted into the shared windows, and keeps what all
/// instances saw for the judgement; a failure leaves this instance's own sketches judging.
async fn merge_sketches(watch: &KeyWatch, shared: &dyn SharedThreatCounts, window: Duration) {
    let sketches = watch.sketches_to_share(window);
    if sketches.is_empty() {
        return;
    }
    match tokio::time::timeout(SHARE_TIMEOUT, shared.merge_sketches(&sketches)).await {
        Ok(Ok(merged)) if merged.len() == sketches.len() => watch.set_shared(&sketches, &merged),
        _ => {
            static LOG: crate::log_throttle::LogThrottle =
                crate::log_throttle::LogThrottle::new(Duration::from_secs(60));
            if let Some(suppressed) = LOG.allow_monotonic() {
                tracing::warn!(
                    suppressed,
                    "network sketches not shared; this instance judges its own"
                );
            }
        }
    }
}

/// How long a flush waits for one suspension.
const SUSPEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a flush waits for the shared counts.
const SHARE_TIMEOUT: Duration = Duration::from_secs(2);
