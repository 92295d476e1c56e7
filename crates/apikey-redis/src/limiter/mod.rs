//! [`RedisLimiter`]: the shared [`RateLimiter`]. One `EVALSHA` per decision checks the key's GCRA
//! rate, the endpoint's GCRA rate and the lineage's calendar quota together and commits all or
//! nothing, so every instance of a service counts against the same budget.

mod batch;
mod breaker;
mod fallback;
mod lease;
mod shared;
mod verdict;

pub use breaker::RedisLimiterStats;
pub use lease::{LEASE_BURST_DIVISOR, LEASE_QUOTA_DIVISOR, LeaseConfig};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::{CreditAdjust, CreditBalance, PoolCharge, SharedCharge};
use apikey_core::limit::{FailurePolicy, QuotaWindow, quota_window};
use apikey_core::log_throttle::LogThrottle;
use apikey_core::{Clock, Decision, Error, LimitPolicy, RateLimiter, Result, Subject, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;

use self::batch::{Batcher, Call};
use self::breaker::{Admit, Breaker, Counters};
use self::lease::{Leases, Plan, Refund};
use self::verdict::{Observed, decide};
use crate::conn::RedisConnection;
use crate::error::{from_redis, timed_out};
use crate::keys::KeyPrefix;

/// The decision script (see `decide.lua`).
pub(crate) const SCRIPT: &str = include_str!("decide.lua");

/// Quota counters live this long past their window's reset, then Redis drops them.
pub(crate) const QUOTA_MARGIN_MS: i64 = 3_600_000;

/// Default time budget of one Redis call.
pub const DEFAULT_CALL_BUDGET: Duration = Duration::from_millis(100);

/// While Redis is unreachable, the limiter warns at most once per this interval, with the count of
/// the decisions it fell back on in between (all of them are in `stats().fallbacks`).
pub const OUTAGE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A [`RateLimiter`] on Redis (single node or cluster).
///
/// Time: built with [`with_clock`](Self::with_clock) it passes that clock's "now" to the script
/// (tests, a `ManualClock`); otherwise the script reads Redis `TIME`, so every instance's rates
/// follow one clock. Quota windows are calendar periods computed in Rust by
/// [`quota_window`](apikey_core::limit::quota_window) — the code the in-process limiter uses — from
/// the same clock, or from the local system clock in `TIME` mode: quota boundaries follow the
/// application clock, rates follow Redis time.
///
/// Failure: each call has a time budget ([`with_call_budget`](Self::with_call_budget)) and goes
/// through a circuit breaker; when Redis cannot answer, the [`FailurePolicy`] decides (see
/// [`with_failure_policy`](Self::with_failure_policy)).
///
/// Leases: by default every decision is one `EVALSHA` and exact. [`with_leases`](Self::with_leases)
/// opts into local leases — budget charged to Redis up front and handed out in process by
/// [`check_now`](RateLimiter::check_now) without a round trip — trading possible under-admission
/// (bounded by instances × lease size) for far fewer round trips; see [`LeaseConfig`].
pub struct RedisLimiter {
    conn: RedisConnection,
    script: Arc<Script>,
    shared_script: Arc<Script>,
    credits_script: Arc<Script>,
    settle_script: Arc<Script>,
    prefix: KeyPrefix,
    clock: Option<Arc<dyn Clock>>,
    policy: FailurePolicy,
    local: Option<Arc<dyn RateLimiter>>,
    budget: Duration,
    breaker: Breaker,
    counters: Arc<Counters>,
    /// Exact decisions on a single node go through here (see `batch.rs`); `None` on Cluster.
    batcher: Option<Batcher>,
    leases: Option<Leases>,
    outage_log: LogThrottle,
    breaker_log: LogThrottle,
}

impl RedisLimiter {
    /// A limiter on `conn` with prefix `apikey`, Redis time, [`FailurePolicy::FailClosed`], a
    /// [`DEFAULT_CALL_BUDGET`] per call, and a breaker that opens after 5 consecutive failures
    /// for 1 s.
    pub fn new(conn: RedisConnection) -> Self {
        let counters = Arc::new(Counters::default());
        Self {
            conn,
            script: Arc::new(Script::new(SCRIPT)),
            shared_script: Arc::new(Script::new(shared::SHARED_SCRIPT)),
            credits_script: Arc::new(Script::new(shared::CREDITS_SCRIPT)),
            settle_script: Arc::new(Script::new(shared::SETTLE_SCRIPT)),
            prefix: KeyPrefix::default(),
            clock: None,
            policy: FailurePolicy::FailClosed,
            local: None,
            budget: DEFAULT_CALL_BUDGET,
            breaker: Breaker::new(5, Duration::from_secs(1)),
            counters,
            batcher: None,
            leases: None,
            outage_log: LogThrottle::new(OUTAGE_LOG_INTERVAL),
            breaker_log: LogThrottle::new(OUTAGE_LOG_INTERVAL),
        }
    }

    /// The time log throttling reads: the injected clock, or the system's.
    fn log_time(&self) -> DateTime<Utc> {
        self.clock.as_ref().map_or_else(Utc::now, |c| c.now())
    }

    /// Takes "now" from `clock` and passes it to the script instead of reading Redis `TIME`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Prefixes every key with `prefix` (several deployments, or tests, on one Redis).
    #[must_use]
    pub fn with_prefix(mut self, prefix: KeyPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// What to do when Redis cannot answer within the budget: `FailClosed` or `FailOpen`. For
    /// `LocalFallback`, which needs a limiter to fall back to, use
    /// [`with_local_fallback`](Self::with_local_fallback).
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Result<Self> {
        if let FailurePolicy::LocalFallback { .. } = policy {
            return Err(Error::invalid(
                "failure policy",
                "LocalFallback needs the limiter to fall back to: use with_local_fallback(share, limiter)",
            ));
        }
        self.policy = policy;
        self.local = None;
        Ok(self)
    }

    /// When Redis cannot answer, decide in `local` (any in-process [`RateLimiter`], for example
    /// `apikey_memory::MemoryLimiter` on the same clock) with `share` of each rate (`0 < share <=
    /// 1`, so N instances together stay near the real limit); a quota fails closed instead (a
    /// share of a monthly quota means nothing). Taking the limiter rather than building one keeps
    /// this crate free of any other backend.
    pub fn with_local_fallback(mut self, share: f64, local: Arc<dyn RateLimiter>) -> Result<Self> {
        if !(share > 0.0 && share <= 1.0) {
            return Err(Error::invalid("failure policy", "share must be in (0, 1]"));
        }
        self.policy = FailurePolicy::LocalFallback { share };
        self.local = Some(local);
        Ok(self)
    }

    /// Turns on local leases (see [`LeaseConfig`]): a live lease answers
    /// [`check_now`](RateLimiter::check_now) (and [`check`](RateLimiter::check)) in process, and a
    /// miss takes a new lease in the one `EVALSHA` the decision costs anyway. An invalid `config`
    /// is refused with an `InvalidInput` error and changes nothing. Calling it again replaces the
    /// lease table (outstanding leases are forgotten, which only under-admits).
    ///
    /// In lease mode the `remaining` of the reported tightest limit is approximate: what Redis
    /// reported after the lease was granted, plus the units this instance still holds. Units held
    /// by other instances are counted as spent.
    pub fn with_leases(mut self, config: LeaseConfig) -> Result<Self> {
        config.validate()?;
        self.leases = Some(Leases::new(config));
        Ok(self)
    }

    /// The lease settings, if lease mode is on.
    pub fn lease_config(&self) -> Option<&LeaseConfig> {
        self.leases.as_ref().map(Leases::config)
    }

    /// Whether exact decisions that arrive while calls are in flight are sent together, several
    /// per script call (default: off, one `EVALSHA` per decision; Cluster always sends one call
    /// per decision, since one script's keys must share a slot). Each decision is still decided
    /// atomically in Redis, in arrival order.
    ///
    /// Measured on loopback (`cargo bench -p apikey-redis --bench limiter`, same run):
    /// 10× fewer calls, but 0.76× the decisions per second of one call each, because there the
    /// bound is Redis's own time per decision, not the round trip. Turn it on when the round
    /// trip dominates (Redis on another host) or calls are the scarce resource. Under an outage,
    /// a decision whose time budget ran out while it waited behind a stuck call is never sent.
    #[must_use]
    pub fn with_batching(mut self, on: bool) -> Self {
        self.batcher = if on && !self.conn.is_cluster() {
            Some(Batcher::new(self.conn.clone(), Arc::clone(&self.counters)))
        } else {
            None
        };
        self
    }

    /// How long one Redis call may take before the failure policy answers instead.
    #[must_use]
    pub fn with_call_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Opens the breaker after `failures` consecutive failed calls, for `cooldown`.
    #[must_use]
    pub fn with_breaker(mut self, failures: u32, cooldown: Duration) -> Self {
        self.breaker = Breaker::new(failures, cooldown);
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisLimiterStats {
        self.counters.snapshot(self.breaker.is_open())
    }

    /// The key prefix.
    pub fn prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// The application clock.
    fn app_now(&self) -> DateTime<Utc> {
        self.clock.as_ref().map_or_else(Utc::now, |c| c.now())
    }

    /// One decision in Redis: one `EVALSHA` (the script is loaded on `NOSCRIPT` and retried).
    /// With `lease`, `cost` is the lease size asked for: the script refunds `lease.refund` first
    /// and, if `cost` is refused, decides for `lease.fallback` instead. Returns the decision and
    /// the cost it was made for.
    async fn decide_in_redis(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        app_now: DateTime<Utc>,
        window: Option<&QuotaWindow>,
        lease: Option<(Refund, u32)>,
    ) -> Result<(Decision, u32)> {
        let app_now_us = app_now.timestamp_micros();
        let (lineage, key) = (subject.lineage, subject.key);
        let p = &self.prefix;
        let quota_key = match (policy.quota, window) {
            (Some(q), Some(w)) => p.quota(lineage, q.period, w.id),
            _ => p.quota(lineage, apikey_core::QuotaPeriod::Day, 0),
        };
        let quota_ttl_ms = window.map_or(0, |w| {
            (w.reset_at.timestamp_micros() - app_now_us) / 1000 + QUOTA_MARGIN_MS
        });
        if lease.is_none()
            && let Some(batcher) = &self.batcher
        {
            let now_arg = self
                .clock
                .as_ref()
                .map_or(String::new(), |_| app_now_us.to_string());
            let call = Call {
                keys: [
                    p.rate(lineage, key),
                    p.endpoint(lineage, key, subject.endpoint.unwrap_or("")),
                    quota_key,
                ],
                args: [
                    now_arg,
                    cost.to_string(),
                    policy.rate.map_or(0, |r| r.interval_us()).to_string(),
                    policy.rate.map_or(0, |r| r.burst).to_string(),
                    policy.endpoint.map_or(0, |r| r.interval_us()).to_string(),
                    policy.endpoint.map_or(0, |r| r.burst).to_string(),
                    policy.quota.map_or(0, |q| q.limit).to_string(),
                    quota_ttl_ms.max(1).to_string(),
                ],
            };
            let reply = batcher.decide(call).await?;
            return self.observe(policy, window, reply, app_now_us, cost);
        }
        Counters::bump(&self.counters.round_trips);
        let mut call = self.script.prepare_invoke();
        call.key(p.rate(lineage, key))
            .key(p.endpoint(lineage, key, subject.endpoint.unwrap_or("")))
            .key(quota_key);
        self.own_args(&mut call, app_now_us, cost, policy);
        call.arg(quota_ttl_ms.max(1));
        let mut conn = self.conn.clone();
        let failed = |e| from_redis("redis limiter call failed", e);
        let (reply, decided) = if let Some((refund, fallback)) = lease {
            call.arg(refund.rate_us)
                .arg(refund.endpoint_us)
                .arg(refund.quota)
                .arg(fallback);
            let r: (i64, i64, Option<i64>, Option<i64>, i64, u32) =
                call.invoke_async(&mut conn).await.map_err(failed)?;
            ((r.0, r.1, r.2, r.3, r.4), r.5)
        } else {
            let r: (i64, i64, Option<i64>, Option<i64>, i64) =
                call.invoke_async(&mut conn).await.map_err(failed)?;
            (r, cost)
        };
        self.observe(policy, window, reply, app_now_us, decided)
    }

    /// The arguments both decision scripts start with: "now" (empty: the script reads Redis
    /// `TIME`), the cost, and the key's own rate, endpoint rate and quota limit.
    pub(crate) fn own_args(
        &self,
        call: &mut redis::ScriptInvocation<'_>,
        app_now_us: i64,
        cost: u32,
        policy: &LimitPolicy,
    ) {
        call.arg(
            self.clock
                .as_ref()
                .map_or(String::new(), |_| app_now_us.to_string()),
        )
        .arg(cost)
        .arg(policy.rate.map_or(0, |r| r.interval_us()))
        .arg(policy.rate.map_or(0, |r| r.burst))
        .arg(policy.endpoint.map_or(0, |r| r.interval_us()))
        .arg(policy.endpoint.map_or(0, |r| r.burst))
        .arg(policy.quota.map_or(0, |q| q.limit));
    }

    /// The decision a script reply means, checked against core's GCRA.
    fn observe(
        &self,
        policy: &LimitPolicy,
        window: Option<&QuotaWindow>,
        reply: batch::Reply,
        app_now_us: i64,
        decided: u32,
    ) -> Result<(Decision, u32)> {
        let observed = Observed {
            admitted: reply.0 == 1,
            now_us: reply.1,
            rate_tat: reply.2,
            endpoint_tat: reply.3,
            quota_used: u64::try_from(reply.4).unwrap_or(0),
        };
        decide(policy, window, &observed, app_now_us, decided)
            .map(|d| (d, decided))
            .ok_or_else(|| {
                Error::new(
                    apikey_core::ErrorKind::Backend,
                    "the redis limiter script and the core GCRA disagree",
                )
            })
    }

    /// One decision through Redis: a new lease in lease mode, an exact decision otherwise.
    async fn decide_once(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        app_now: DateTime<Utc>,
    ) -> Result<Decision> {
        let window = policy.quota.map(|q| quota_window(q.period, app_now));
        let Some(leases) = &self.leases else {
            return self
                .decide_in_redis(subject, policy, cost, app_now, window.as_ref(), None)
                .await
                .map(|(d, _)| d);
        };
        let now_us = app_now.timestamp_micros();
        let plan: Plan = leases.plan(subject, policy, cost, now_us, window.as_ref());
        let fallback = if plan.units > cost { cost } else { 0 };
        // If this call fails, the refund in it is forgotten rather than restored: the script
        // may have run (a budget overrun), and only forgetting can never over-admit.
        let (decision, granted) = self
            .decide_in_redis(
                subject,
                policy,
                plan.units,
                app_now,
                window.as_ref(),
                Some((plan.refund, fallback)),
            )
            .await?;
        // A refusal is always the exact verdict for `cost` (the script fell back to it).
        Ok(leases.install(subject, policy, &plan, granted, decision))
    }
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("conn", &self.conn)
            .field("prefix", &self.prefix)
            .field("redis_time", &self.clock.is_none())
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .field("leases", &self.leases)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Result<Decision> {
        if policy.is_empty() {
            return Ok(Decision::Allowed {
                tightest: None,
                quota: None,
            });
        }
        fallback::validate(policy)?;
        let app_now = self.app_now();
        if let Some(leases) = &self.leases
            && let Some(decision) = leases.take(subject, policy, cost, app_now.timestamp_micros())
        {
            return Ok(decision);
        }
        let admit = self.breaker.admit();
        if admit == Admit::Skip {
            return self.fall_back(subject, policy, cost, None).await;
        }
        let outcome = match tokio::time::timeout(
            self.budget,
            self.decide_once(subject, policy, cost, app_now),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(timed_out("redis limiter call exceeded its time budget")),
        };
        match outcome {
            Ok(decision) => {
                self.breaker.success();
                Counters::bump(&self.counters.decisions);
                Ok(decision)
            }
            Err(e) if e.kind() == apikey_core::ErrorKind::Unavailable => {
                Counters::bump(&self.counters.errors);
                if self.breaker.failure(admit == Admit::Probe) {
                    Counters::bump(&self.counters.breaker_opens);
                    // The breaker re-opens after every failed probe of a long outage.
                    if let Some(suppressed) = self.breaker_log.allow(self.log_time()) {
                        tracing::warn!(error = %e, policy = ?self.policy, suppressed, "redis limiter breaker opened");
                    }
                }
                self.fall_back(subject, policy, cost, Some(e)).await
            }
            Err(e) => {
                Counters::bump(&self.counters.errors);
                Err(e)
            }
        }
    }

    /// In lease mode: `cost` units from a live lease for this subject and policy, without I/O,
    /// lock or allocation; `None` (use [`check`](RateLimiter::check)) otherwise.
    fn check_now(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Option<Result<Decision>> {
        let leases = self.leases.as_ref()?;
        if policy.is_empty() {
            return Some(Ok(Decision::Allowed {
                tightest: None,
                quota: None,
            }));
        }
        leases
            .take(subject, policy, cost, self.app_now().timestamp_micros())
            .map(Ok)
    }

    /// A charge with pools is one exact `EVALSHA` of the shared script (no lease, no batch, no
    /// fallback: it fails closed when Redis cannot answer); one without goes through
    /// [`check`](RateLimiter::check).
    async fn check_shared(&self, charge: &SharedCharge<'_>) -> Result<Decision> {
        if charge.is_plain() {
            return self
                .check(&charge.subject, &charge.policy, charge.cost)
                .await;
        }
        self.decide_shared(charge).await
    }

    async fn credits(&self, tenant: Option<&TenantId>, pool: &PoolCharge) -> Result<CreditBalance> {
        self.credit_call(tenant, pool, None).await
    }

    async fn adjust_credits(
        &self,
        tenant: Option<&TenantId>,
        pool: &PoolCharge,
        adjust: CreditAdjust,
    ) -> Result<CreditBalance> {
        self.credit_call(tenant, pool, Some(adjust)).await
    }

    async fn settle(
        &self,
        tenant: Option<&TenantId>,
        pools: &[PoolCharge],
        id: uuid::Uuid,
        actual: u64,
    ) -> Result<apikey_core::limit::Settlement> {
        self.settle_call(tenant, pools, id, actual).await
    }
}
