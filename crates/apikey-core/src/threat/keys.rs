//! The per-key detectors (network spread, rate surge), fed at each usage flush with what every
//! key's usage cell counted since the last one: requests and a sketch of client networks.
//!
//! Each key seen has a minute ring (an hour of requests and network sketches) and an hour ring
//! (a day of requests) — about 2 KiB — kept while the key was seen within the last 25 hours.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::finding::{Detector, Response, Threat};
use super::policy::{KeyAction, ThreatPolicy};
use super::shared::{KeySketch, NetworkTally};
use super::sketch::estimate;
use crate::ids::{KeyId, TenantId};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTES: usize = 60;
/// A day of whole hours and the current one.
const HOURS: usize = 25;
/// A key not seen for this long is forgotten (its baseline would be empty anyway).
const KEEP_MS: i64 = 25 * HOUR_MS;

/// What one key's usage cell counted since the last flush.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) key: KeyId,
    pub(crate) tenant: Option<TenantId>,
    pub(crate) requests: u64,
    pub(crate) sketch: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    at: i64,
    requests: u64,
    sketch: u64,
}

#[derive(Debug)]
struct Track {
    first_ms: i64,
    last_ms: i64,
    minutes: [Slot; MINUTES],
    hours: [Slot; HOURS],
    /// No new report of the detector before these times (one per window).
    quiet: [i64; 2],
    /// The key's sketch over every instance in a shared window: (start, end, bits).
    shared: (i64, i64, u64),
    /// Whether the whole hours before it was first seen were read from the usage analytics.
    seeded: bool,
}

impl Track {
    fn new(now_ms: i64) -> Self {
        Self {
            first_ms: now_ms,
            last_ms: now_ms,
            minutes: [Slot {
                at: i64::MIN,
                ..Slot::default()
            }; MINUTES],
            hours: [Slot {
                at: i64::MIN,
                ..Slot::default()
            }; HOURS],
            quiet: [i64::MIN; 2],
            shared: (0, 0, 0),
            seeded: false,
        }
    }

    /// The whole hours of the last day before this process saw the key, from the usage
    /// analytics: each hour's requests (an hour already counted here stays), and history from
    /// the first of them.
    fn seed(&mut self, now_ms: i64, hours: &[(i64, u64)]) {
        self.seeded = true;
        let hour = now_ms.div_euclid(HOUR_MS);
        let len = i64::try_from(HOURS).unwrap_or(1);
        for &(start_ms, requests) in hours {
            let at = start_ms.div_euclid(HOUR_MS);
            if at >= hour || at < hour - 24 {
                continue;
            }
            let slot = &mut self.hours[usize::try_from(at.rem_euclid(len)).unwrap_or(0)];
            if slot.at != at {
                *slot = Slot {
                    at,
                    requests,
                    sketch: 0,
                };
                self.first_ms = self.first_ms.min(at * HOUR_MS);
            }
        }
    }

    fn add(&mut self, now_ms: i64, requests: u64, sketch: u64) {
        self.last_ms = now_ms;
        for (ring, unit) in [
            (&mut self.minutes[..], MINUTE_MS),
            (&mut self.hours[..], HOUR_MS),
        ] {
            let at = now_ms.div_euclid(unit);
            let len = i64::try_from(ring.len()).unwrap_or(1);
            let slot = &mut ring[usize::try_from(at.rem_euclid(len)).unwrap_or(0)];
            if slot.at != at {
                *slot = Slot {
                    at,
                    requests: 0,
                    sketch: 0,
                };
            }
            slot.requests = slot.requests.saturating_add(requests);
            slot.sketch |= sketch;
        }
    }

    /// The minute slots within the last `window` (the current minute included).
    fn recent(&self, now_ms: i64, window: Duration) -> impl Iterator<Item = &Slot> {
        let now = now_ms.div_euclid(MINUTE_MS);
        let span = i64::try_from(window.as_secs() / 60).unwrap_or(1);
        self.minutes
            .iter()
            .filter(move |s| s.at <= now && s.at > now - span)
    }

    /// Requests per minute over the whole hours before the current one that this process saw
    /// the key for, or read from the usage analytics (up to 24), and how many minutes that
    /// covers.
    fn baseline(&self, now_ms: i64) -> (u64, i64) {
        let hour = now_ms.div_euclid(HOUR_MS);
        let from_ms = self.first_ms.max((hour - 24) * HOUR_MS);
        let covered = (hour * HOUR_MS - from_ms).max(0) / MINUTE_MS;
        let sum = self
            .hours
            .iter()
            .filter(|s| s.at < hour && s.at >= hour - 24)
            .map(|s| s.requests)
            .sum();
        (sum, covered)
    }
}

/// A key a flush counted, when, its tenant (whose policy judges it), and the network sketch it
/// counted.
type Unjudged = (DateTime<Utc>, KeyId, Option<TenantId>, u64);

#[derive(Debug)]
pub(crate) struct KeyWatch {
    policy: ThreatPolicy,
    tracks: Mutex<HashMap<KeyId, Box<Track>, foldhash::fast::RandomState>>,
    /// The keys the last flushes counted, and when, until they are judged.
    unjudged: Mutex<Vec<Unjudged>>,
}

impl KeyWatch {
    pub(crate) fn new(policy: ThreatPolicy) -> Self {
        Self {
            policy,
            tracks: Mutex::default(),
            unjudged: Mutex::default(),
        }
    }

    /// Adds one flush's observations; the keys in it wait for [`judge`](Self::judge).
    pub(crate) fn observe(&self, now: DateTime<Utc>, observations: &[Observation]) {
        let now_ms = now.timestamp_millis();
        let mut tracks = self.tracks.lock();
        if observations.iter().any(|o| !tracks.contains_key(&o.key))
            && tracks.len() >= self.policy.max_tracked
        {
            tracks.retain(|_, t| t.last_ms > now_ms - KEEP_MS);
        }
        let mut unjudged = self.unjudged.lock();
        for o in observations {
            if !tracks.contains_key(&o.key) && tracks.len() >= self.policy.max_tracked {
                continue;
            }
            tracks
                .entry(o.key)
                .or_insert_with(|| Box::new(Track::new(now_ms)))
                .add(now_ms, o.requests, o.sketch);
            unjudged.push((now, o.key, o.tenant.clone(), o.sketch));
        }
    }

    /// The tenants of the keys waiting to be judged.
    pub(crate) fn unjudged_tenants(&self) -> Vec<Option<TenantId>> {
        let mut t: Vec<_> = self
            .unjudged
            .lock()
            .iter()
            .map(|(_, _, t, _)| t.clone())
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// The network sketches counted since the last judgement, one per key, for the shared
    /// windows of `window`.
    pub(crate) fn sketches_to_share(&self, window: Duration) -> Vec<KeySketch> {
        let mut by_key: HashMap<KeyId, KeySketch, foldhash::fast::RandomState> = HashMap::default();
        for (now, key, _, sketch) in self.unjudged.lock().iter() {
            if *sketch == 0 {
                continue;
            }
            let (start, _) = NetworkTally::window_of(now.timestamp_millis(), window);
            let Some(window_start) = DateTime::from_timestamp_millis(start) else {
                continue;
            };
            by_key
                .entry(*key)
                .and_modify(|s| {
                    if s.window_start == window_start {
                        s.sketch |= sketch;
                    }
                })
                .or_insert(KeySketch {
                    key: *key,
                    window_start,
                    window,
                    sketch: *sketch,
                });
        }
        by_key.into_values().collect()
    }

    /// Up to `limit` keys whose history was not read from the usage analytics yet.
    pub(crate) fn unseeded(&self, limit: usize) -> Vec<KeyId> {
        self.tracks
            .lock()
            .iter()
            .filter(|(_, t)| !t.seeded)
            .take(limit)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Gives `key` its whole hours before this process saw it (`(hour start ms, requests)`).
    pub(crate) fn seed(&self, key: KeyId, now_ms: i64, hours: &[(i64, u64)]) {
        if let Some(t) = self.tracks.lock().get_mut(&key) {
            t.seed(now_ms, hours);
        }
    }

    /// What the instances together saw of each key's networks in its shared window.
    pub(crate) fn set_shared(&self, sketches: &[KeySketch], merged: &[u64]) {
        let mut tracks = self.tracks.lock();
        for (s, bits) in sketches.iter().zip(merged) {
            if let Some(t) = tracks.get_mut(&s.key) {
                let start = s.window_start.timestamp_millis();
                t.shared = (start, ms(s.window).saturating_add(start), *bits);
            }
        }
    }

    /// Judges every key observed since the last call, each by the policy of its tenant.
    pub(crate) fn judge(
        &self,
        policy_of: impl Fn(Option<&TenantId>) -> ThreatPolicy,
    ) -> Vec<Threat> {
        let unjudged = std::mem::take(&mut *self.unjudged.lock());
        let mut found = Vec::new();
        let mut tracks = self.tracks.lock();
        for (now, key, tenant, _) in unjudged {
            let Some(t) = tracks.get_mut(&key) else {
                continue;
            };
            let p = policy_of(tenant.as_ref());
            let who = (key, tenant);
            found.extend(Self::spread(&p, t, &who, now));
            found.extend(Self::surge(&p, t, &who, now));
        }
        found
    }

    fn spread(
        p: &ThreatPolicy,
        t: &mut Track,
        o: &(KeyId, Option<TenantId>),
        now: DateTime<Utc>,
    ) -> Option<Threat> {
        let d = p.network_spread?;
        let now_ms = now.timestamp_millis();
        if now_ms < t.quiet[0] {
            return None;
        }
        let (start, end, shared) = t.shared;
        let shared = if (start..end).contains(&now_ms) {
            shared
        } else {
            0
        };
        let sketch = t
            .recent(now_ms, d.window)
            .fold(shared, |s, slot| s | slot.sketch);
        let networks = estimate(sketch);
        if networks < d.networks {
            return None;
        }
        t.quiet[0] = now_ms.saturating_add(ms(d.window));
        Some(threat(
            Detector::NetworkSpread,
            o,
            (u64::from(networks), u64::from(d.networks), None),
            d.window,
            d.action,
            now,
        ))
    }

    fn surge(
        p: &ThreatPolicy,
        t: &mut Track,
        o: &(KeyId, Option<TenantId>),
        now: DateTime<Utc>,
    ) -> Option<Threat> {
        let d = p.rate_surge?;
        let now_ms = now.timestamp_millis();
        if now_ms < t.quiet[1] {
            return None;
        }
        let (sum, covered) = t.baseline(now_ms);
        if covered < i64::try_from(d.min_history.as_secs() / 60).unwrap_or(i64::MAX) {
            return None;
        }
        let span = d.window.as_secs() / 60;
        let recent: u64 = t.recent(now_ms, d.window).map(|s| s.requests).sum();
        let per_minute = recent / span.max(1);
        let covered = u64::try_from(covered).unwrap_or(1).max(1);
        // recent / span ≥ factor · sum / covered, without division's rounding.
        let above = u128::from(recent) * u128::from(covered)
            >= u128::from(d.factor) * u128::from(sum) * u128::from(span);
        if per_minute < d.min_per_minute || !above {
            return None;
        }
        t.quiet[1] = now_ms.saturating_add(ms(d.window));
        let baseline = sum / covered;
        Some(threat(
            Detector::RateSurge,
            o,
            (
                per_minute,
                (baseline.saturating_mul(u64::from(d.factor))).max(d.min_per_minute),
                Some(baseline),
            ),
            d.window,
            d.action,
            now,
        ))
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn threat(
    detector: Detector,
    o: &(KeyId, Option<TenantId>),
    (observed, threshold, baseline): (u64, u64, Option<u64>),
    window: Duration,
    action: KeyAction,
    at: DateTime<Utc>,
) -> Threat {
    Threat {
        detector,
        key: Some(o.clone()),
        network: None,
        observed,
        threshold,
        baseline,
        window,
        response: match action {
            KeyAction::Suspend => Response::Suspended,
            KeyAction::Observe => Response::Observed,
        },
        at,
    }
}
