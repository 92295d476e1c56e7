//! Local leases: budget charged to Redis up front for one subject under one policy, then handed
//! out in process without a round trip (see [`LeaseConfig`] for the contract).
//!
//! A lease is an immutable value in a lock-free map (`papaya`) plus one atomic unit counter. The
//! hot path ([`Leases::take`]) is a map read, a few comparisons and one compare-and-swap on that
//! counter: no lock, no allocation, no await. Units leave a lease only through that CAS or
//! through a `swap(0)` (refund or merge), so a unit is handed out, refunded or merged at most
//! once, never twice.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use apikey_core::limit::{LimitStatus, QuotaPeriod, QuotaWindow};
use apikey_core::{Decision, Error, KeyId, LimitPolicy, Result, Subject};

/// The rate cap: a lease holds at most `burst / 8` units of any rate in the policy.
pub const LEASE_BURST_DIVISOR: u32 = 8;
/// The quota cap: a lease holds at most `limit / 64` units of the policy's quota.
pub const LEASE_QUOTA_DIVISOR: u64 = 64;

/// Settings of the opt-in lease mode of [`RedisLimiter`](super::RedisLimiter)
/// (see [`with_leases`](super::RedisLimiter::with_leases)).
///
/// A lease is a number of units charged to Redis up front — in the one all-or-nothing script call
/// an exact decision makes anyway, across the key's rate, the endpoint's rate and the quota — for
/// one `(key, lineage, endpoint)` subject under one [`LimitPolicy`], then handed out by this
/// instance without asking Redis (`check_now`: no I/O, no lock, no allocation).
///
/// **What holds.** An instance never admits more than Redis granted it, so the total admitted
/// never exceeds the total charged: a quota is never exceeded, and neither is a rate over the
/// life of a key. A lease ends at `max_age` or at its quota window's reset, whichever is first.
///
/// **What it costs.** Under-admission: units held in a lease are charged but unused, so a subject
/// near its limit may be refused while part of its budget sits idle in leases — at most one
/// lease size per (instance, subject) sharing that limit (a key's rate and a lineage's quota are
/// shared by its endpoints and keys, each a subject of its own). Leftovers of expired or replaced
/// leases are refunded to Redis in the next call for the same subject (quota counter decremented
/// within the same window, rate TATs moved back but never before now); a leftover whose refund
/// call fails, or whose subject never comes back, is not refunded. And a timing shift: a rate unit
/// is charged when the lease is granted and may be handed out up to `max_age` later, so a short
/// sliding window can see up to one lease size per (instance, subject) more than `burst +
/// rate × window` — never more in total. The reported `remaining` is approximate (see
/// [`with_leases`](super::RedisLimiter::with_leases)).
///
/// **Sizing.** The lease size adapts per subject: it starts at 1 (exact), doubles each time a
/// lease was used up before `max_age`, halves when one expires with units left (or Redis could
/// only grant the request itself), and never exceeds `max_units`, `burst / 8` of any rate in the
/// policy ([`LEASE_BURST_DIVISOR`]) or `limit / 64` of its quota ([`LEASE_QUOTA_DIVISOR`]), nor goes
/// below 1. So a rate with a burst under 16 or a quota under 128 is always decided exactly, one
/// round trip per decision, as without leases; a refusal is always the exact verdict for the
/// request's cost, with its exact `Retry-After`.
///
/// **When to use it.** Hot keys whose per-request Redis round trip dominates the cost of a request,
/// with limits large enough that an idle lease (≤ `max_units`) per instance is an acceptable
/// error. Keep the default exact mode where every unit matters (small limits decide exactly
/// anyway) or where decisions must be exact under any interleaving of instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The largest lease, in units (`1..=1_000_000`). Default 64. Bounds the under-admission per
    /// instance and subject, and divides the Redis round trips of a hot subject by up to this.
    pub max_units: u32,
    /// How long a lease may serve before its leftover goes back (`1 ms..=60 s`). Default 250 ms.
    /// Also bounds how late a rate unit charged to Redis may be handed out (see the crate docs).
    /// Measured on the limiter's clock ([`with_clock`](super::RedisLimiter::with_clock)) or the
    /// system clock.
    pub max_age: Duration,
    /// How many subjects the lease table tracks before it drops expired and empty leases
    /// (`>= 1`). Default 100,000. A lease dropped with units left never refunds them (safe: the
    /// subject is only under-admitted until those units leak out of its rate, or the quota
    /// window ends).
    pub max_subjects: usize,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            max_units: 64,
            max_age: Duration::from_millis(250),
            max_subjects: 100_000,
        }
    }
}

impl LeaseConfig {
    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<()> {
        if !(1..=1_000_000).contains(&self.max_units) {
            return Err(Error::invalid(
                "lease config",
                "max_units must be 1..=1000000",
            ));
        }
        if !(Duration::from_millis(1)..=Duration::from_secs(60)).contains(&self.max_age) {
            return Err(Error::invalid(
                "lease config",
                "max_age must be 1 ms to 60 s",
            ));
        }
        if self.max_subjects == 0 {
            return Err(Error::invalid("lease config", "max_subjects must be >= 1"));
        }
        Ok(())
    }

    fn max_age_us(&self) -> i64 {
        i64::try_from(self.max_age.as_micros()).unwrap_or(i64::MAX)
    }

    /// The largest lease `policy` allows.
    fn cap(&self, policy: &LimitPolicy) -> u32 {
        let mut cap = self.max_units;
        for r in [policy.rate, policy.endpoint].into_iter().flatten() {
            cap = cap.min(r.burst / LEASE_BURST_DIVISOR);
        }
        if let Some(q) = policy.quota {
            cap = cap.min(u32::try_from(q.limit / LEASE_QUOTA_DIVISOR).unwrap_or(u32::MAX));
        }
        cap.max(1)
    }
}

/// The owned identity of a subject (map key).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubjectKey {
    key: KeyId,
    lineage: KeyId,
    endpoint: Option<Box<str>>,
}

impl Hash for SubjectKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        SubjectRef {
            key: self.key,
            lineage: self.lineage,
            endpoint: self.endpoint.as_deref(),
        }
        .hash(h);
    }
}

/// The borrowed identity the hot path looks up with (no allocation).
#[derive(Debug, Clone, Copy)]
struct SubjectRef<'a> {
    key: KeyId,
    lineage: KeyId,
    endpoint: Option<&'a str>,
}

impl Hash for SubjectRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.key.hash(h);
        self.lineage.hash(h);
        self.endpoint.hash(h);
    }
}

impl papaya::Equivalent<SubjectKey> for SubjectRef<'_> {
    fn equivalent(&self, k: &SubjectKey) -> bool {
        self.key == k.key && self.lineage == k.lineage && self.endpoint == k.endpoint.as_deref()
    }
}

impl<'a> From<&Subject<'a>> for SubjectRef<'a> {
    fn from(s: &Subject<'a>) -> Self {
        Self {
            key: s.key,
            lineage: s.lineage,
            endpoint: s.endpoint,
        }
    }
}

/// One lease. Everything but `units` is fixed when it is installed.
#[derive(Debug)]
struct Lease {
    policy: LimitPolicy,
    /// The quota window its units were charged to.
    window: Option<(QuotaPeriod, i64)>,
    /// App-clock microseconds after which it hands out nothing.
    expires_us: i64,
    /// The adaptive size this subject is at.
    size: u32,
    /// Units charged to Redis and not handed out yet.
    units: AtomicU64,
    /// The tightest limit as Redis reported it after the grant.
    tightest: Option<LimitStatus>,
}

/// What the script must refund before deciding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Refund {
    pub(crate) rate_us: i64,
    pub(crate) endpoint_us: i64,
    pub(crate) quota: u64,
}

/// One lease acquisition, prepared before the script call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// The adaptive size for this acquisition.
    size: u32,
    /// Units to ask Redis for (at least the cost).
    pub(crate) units: u32,
    pub(crate) refund: Refund,
    window: Option<(QuotaPeriod, i64)>,
    reset_us: Option<i64>,
    /// The request's cost and app-clock time.
    cost: u32,
    now_us: i64,
}

/// The lease table of one limiter.
pub(crate) struct Leases {
    config: LeaseConfig,
    map: papaya::HashMap<SubjectKey, Lease, foldhash::fast::RandomState>,
    /// Sweep when the table grows past this.
    sweep_at: AtomicUsize,
    sweeping: AtomicBool,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("config", &self.config)
            .field("subjects", &self.map.len())
            .finish_non_exhaustive()
    }
}

fn with_extra(t: Option<LimitStatus>, extra: u64) -> Option<LimitStatus> {
    t.map(|mut t| {
        t.remaining = t.remaining.saturating_add(extra);
        t
    })
}

impl Leases {
    pub(crate) fn new(config: LeaseConfig) -> Self {
        Self {
            config,
            map: papaya::HashMap::builder()
                .hasher(foldhash::fast::RandomState::default())
                .build(),
            sweep_at: AtomicUsize::new(config.max_subjects),
            sweeping: AtomicBool::new(false),
        }
    }

    pub(crate) fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// The hot path: `cost` units from a live lease for this subject and policy, or `None`.
    #[inline]
    pub(crate) fn take(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        now_us: i64,
    ) -> Option<Decision> {
        if cost == 0 {
            return None;
        }
        let map = self.map.pin();
        let lease = map.get(&SubjectRef::from(subject))?;
        if now_us >= lease.expires_us || lease.policy != *policy {
            return None;
        }
        let cost = u64::from(cost);
        let mut cur = lease.units.load(Ordering::Relaxed);
        loop {
            if cur < cost {
                return None;
            }
            match lease.units.compare_exchange_weak(
                cur,
                cur - cost,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
        // A local grant knows only its own lease, not the shared quota count: no threshold.
        Some(Decision::Allowed {
            tightest: with_extra(lease.tightest, cur - cost),
            quota: None,
        })
    }

    /// Prepares an acquisition: the adaptive size, and the leftover of an expired lease or one
    /// under another policy, taken out of it (so nobody else hands it out) to be refunded.
    pub(crate) fn plan(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        now_us: i64,
        window: Option<&QuotaWindow>,
    ) -> Plan {
        let window_id = policy.quota.zip(window).map(|(q, w)| (q.period, w.id));
        let map = self.map.pin();
        let current = map.get(&SubjectRef::from(subject));
        let mut refund = Refund::default();
        let size = match current {
            None => 1,
            Some(old) => {
                let expired = now_us >= old.expires_us;
                let same = old.policy == *policy;
                let mut left = 0;
                if expired || !same {
                    left = old.units.swap(0, Ordering::AcqRel);
                    refund = refund_of(old, left, window_id);
                }
                if !same {
                    1
                } else if expired && left > 0 {
                    old.size / 2
                } else {
                    old.size.saturating_mul(2)
                }
            }
        };
        let size = size.clamp(1, self.config.cap(policy));
        Plan {
            size,
            units: size.max(cost),
            refund,
            window: window_id,
            reset_us: window.map(|w| w.reset_at.timestamp_micros()),
            cost,
            now_us,
        }
    }

    /// Installs the lease `plan` obtained (`granted` units were charged for the request, or none
    /// if `decision` refused) and returns the decision to report.
    pub(crate) fn install(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        plan: &Plan,
        granted: u32,
        decision: Decision,
    ) -> Decision {
        let (cost, now_us) = (plan.cost, plan.now_us);
        let (left, tightest, quota) = match decision {
            // The quota count is this request's only when the acquisition charged just its cost;
            // a larger lease charged units no request has used yet.
            Decision::Allowed { tightest, quota } => (
                granted.saturating_sub(cost),
                tightest,
                quota.filter(|_| granted == cost),
            ),
            // Holds nothing, unless a concurrent grant is merged in: report the refusing limit.
            Decision::Limited { limit, .. } => (0, Some(limit), None),
        };
        // A grant cut back to the cost, or a refusal: the subject is near its limit, shrink.
        let size = if granted < plan.units || !decision.is_allowed() {
            (plan.size / 2).max(1)
        } else {
            plan.size
        };
        let expires_us = now_us
            .saturating_add(self.config.max_age_us())
            .min(plan.reset_us.unwrap_or(i64::MAX));
        let lease = Lease {
            policy: *policy,
            window: plan.window,
            expires_us,
            size,
            units: AtomicU64::new(u64::from(left)),
            tightest,
        };
        let map = self.map.pin();
        let key = SubjectKey {
            key: subject.key,
            lineage: subject.lineage,
            endpoint: subject.endpoint.map(Box::from),
        };
        let mut extra = u64::from(left);
        if let Some(old) = map.insert(key, lease) {
            // A concurrent acquisition installed first: merge what it has left (same policy and
            // quota window only; otherwise it is forgotten, which only under-admits).
            let moved = old.units.swap(0, Ordering::AcqRel);
            if moved > 0
                && old.policy == *policy
                && old.window == plan.window
                && let Some(total) = Self::deposit(&map, subject, policy, plan.window, moved)
            {
                extra = total;
            }
        }
        if map.len() > self.sweep_at.load(Ordering::Relaxed) {
            self.sweep(now_us);
        }
        match decision {
            Decision::Allowed { .. } => Decision::Allowed {
                tightest: with_extra(tightest, extra),
                quota,
            },
            limited @ Decision::Limited { .. } => limited,
        }
    }

    /// Adds `units` to the subject's current lease if it has this policy and window, and returns
    /// what it then holds. If that lease is replaced meanwhile, its replacer may already have
    /// swapped it out: so after adding, check it is still current, and if not take the units
    /// back out (whatever is there — a swap never duplicates) and try again on the new one.
    fn deposit<G: papaya::Guard>(
        map: &papaya::HashMapRef<'_, SubjectKey, Lease, foldhash::fast::RandomState, G>,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        window: Option<(QuotaPeriod, i64)>,
        mut units: u64,
    ) -> Option<u64> {
        loop {
            let cur = map.get(&SubjectRef::from(subject))?;
            if cur.policy != *policy || cur.window != window {
                return None;
            }
            let total = cur.units.fetch_add(units, Ordering::AcqRel) + units;
            match map.get(&SubjectRef::from(subject)) {
                Some(now) if std::ptr::eq(now, cur) => return Some(total),
                _ => {
                    units = cur.units.swap(0, Ordering::AcqRel);
                    if units == 0 {
                        return None;
                    }
                }
            }
        }
    }

    /// Drops expired leases, then empty ones, when the table is over its bound; the next sweep
    /// waits until it has grown by another eighth, so a table full of live leases is not swept
    /// on every insertion.
    fn sweep(&self, now_us: i64) {
        if self.sweeping.swap(true, Ordering::Acquire) {
            return;
        }
        let map = self.map.pin();
        map.retain(|_, l| now_us < l.expires_us);
        if map.len() > self.config.max_subjects {
            map.retain(|_, l| l.units.load(Ordering::Relaxed) > 0);
        }
        let max = self.config.max_subjects;
        self.sweep_at
            .store(max.max(map.len() + max / 8), Ordering::Relaxed);
        self.sweeping.store(false, Ordering::Release);
    }
}

/// The refund of `left` units of `old`, for a decision in quota window `window`.
fn refund_of(old: &Lease, left: u64, window: Option<(QuotaPeriod, i64)>) -> Refund {
    if left == 0 {
        return Refund::default();
    }
    let units = i64::try_from(left).unwrap_or(i64::MAX);
    Refund {
        rate_us: old
            .policy
            .rate
            .map_or(0, |r| r.interval_us().saturating_mul(units)),
        endpoint_us: old
            .policy
            .endpoint
            .map_or(0, |r| r.interval_us().saturating_mul(units)),
        // A counter of another window (or period) is not this lease's to decrement.
        quota: if old.window.is_some() && old.window == window {
            left
        } else {
            0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikey_core::{Quota, Rate};

    #[test]
    fn defaults_validate_and_bad_values_are_refused() {
        assert!(LeaseConfig::default().validate().is_ok());
        for bad in [
            LeaseConfig {
                max_units: 0,
                ..LeaseConfig::default()
            },
            LeaseConfig {
                max_age: Duration::ZERO,
                ..LeaseConfig::default()
            },
            LeaseConfig {
                max_age: Duration::from_secs(61),
                ..LeaseConfig::default()
            },
            LeaseConfig {
                max_subjects: 0,
                ..LeaseConfig::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn small_limits_cap_the_lease_at_one() {
        let c = LeaseConfig::default();
        let r = |burst| Some(Rate::with_burst(1000, Duration::from_secs(1), burst).unwrap());
        let p = |rate, quota| LimitPolicy {
            rate,
            endpoint: None,
            quota,
        };
        assert_eq!(c.cap(&p(r(8), None)), 1);
        assert_eq!(c.cap(&p(r(15), None)), 1);
        assert_eq!(c.cap(&p(r(16), None)), 2);
        assert_eq!(c.cap(&p(r(1_000_000), None)), 64);
        let q = |limit| {
            Some(Quota {
                limit,
                period: QuotaPeriod::Day,
            })
        };
        assert_eq!(c.cap(&p(None, q(100))), 1);
        assert_eq!(c.cap(&p(r(1_000_000), q(640))), 10);
    }

    #[test]
    fn a_hit_takes_units_without_going_negative() {
        let leases = Leases::new(LeaseConfig::default());
        let k = KeyId::new();
        let s = Subject {
            key: k,
            lineage: k,
            endpoint: Some("GET /x"),
        };
        let policy = LimitPolicy {
            rate: Some(Rate::new(1_000_000, Duration::from_secs(1)).unwrap()),
            ..LimitPolicy::default()
        };
        assert!(leases.take(&s, &policy, 1, 0).is_none());
        let plan = leases.plan(&s, &policy, 1, 0, None);
        assert_eq!(plan.units, 1);
        let status = LimitStatus {
            kind: apikey_core::limit::LimitKind::Rate,
            limit: 1_000_000,
            remaining: 10,
            reset_after: Duration::ZERO,
            window: Duration::from_secs(1),
        };
        let allowed = Decision::Allowed {
            tightest: Some(status),
            quota: None,
        };
        leases.install(&s, &policy, &plan, 1, allowed);
        // Used up before max_age: doubles.
        let plan = leases.plan(&s, &policy, 1, 0, None);
        assert_eq!(plan.units, 2);
        let d = leases.install(&s, &policy, &plan, 2, allowed);
        let Decision::Allowed {
            tightest: Some(t), ..
        } = d
        else {
            panic!()
        };
        assert_eq!(t.remaining, 11);
        let Some(Decision::Allowed {
            tightest: Some(t), ..
        }) = leases.take(&s, &policy, 1, 1)
        else {
            panic!()
        };
        assert_eq!(t.remaining, 10);
        assert!(leases.take(&s, &policy, 1, 1).is_none());
        // Another endpoint is another subject.
        let other = Subject {
            endpoint: None,
            ..s
        };
        assert!(leases.take(&other, &policy, 1, 1).is_none());
    }
}
