//! [`RedisLimiter`]'s shared decisions: a key's own limits and its pools in one `EVALSHA` of
//! `shared.lua`, every key under its tenant's pool tag (one slot on Cluster); and credit balances
//! read or adjusted with `credits.lua`.
//!
//! Pools and credits are decided exactly: no leases, no batching, no fallback. When Redis cannot
//! answer (or the breaker is open) a shared decision fails closed whatever the failure policy,
//! as quotas do: a share of a pool or of a balance means nothing.

use apikey_core::limit::{
    CreditAdjust, CreditBalance, CreditPlan, CreditWindow, LimitKind, LimitStatus, PoolCharge,
    QuotaWindow, RefillMode, Settlement, SharedCharge, Tally, Verdict, credit_verdict,
    quota_verdict, quota_window, rate_verdict,
};
use apikey_core::{Decision, Error, ErrorKind, Result, TenantId};
use chrono::{DateTime, Utc};
use redis::Value;

use super::breaker::{Admit, Counters};
use super::{QUOTA_MARGIN_MS, RedisLimiter};
use crate::error::{from_redis, timed_out};
use crate::keys::KeyPrefix;

/// The shared decision script (see `shared.lua`).
pub(crate) const SHARED_SCRIPT: &str = include_str!("shared.lua");
/// The credit balance script (see `credits.lua`).
pub(crate) const CREDITS_SCRIPT: &str = include_str!("credits.lua");
/// The reservation settle script (see `settle.lua`).
pub(crate) const SETTLE_SCRIPT: &str = include_str!("settle.lua");

/// A key is charged against at most one pool of each kind.
const MAX_POOLS: usize = 4;

/// A credit plan as the scripts take it.
struct CreditArgs {
    mode: u8,
    initial: u64,
    window: Option<CreditWindow>,
    amount: u64,
}

impl CreditArgs {
    fn of(plan: Option<&CreditPlan>, now: DateTime<Utc>) -> Self {
        let Some(plan) = plan else {
            return Self {
                mode: 0,
                initial: 0,
                window: None,
                amount: 0,
            };
        };
        let mode = match plan.refill.as_ref().map(|r| r.mode) {
            None => 1,
            Some(RefillMode::To) => 2,
            Some(RefillMode::By) => 3,
        };
        Self {
            mode,
            initial: plan.initial,
            window: plan.window(now),
            amount: plan.refill.as_ref().map_or(0, |r| r.amount),
        }
    }

    fn window_id(&self) -> i64 {
        self.window.map_or(0, |w| w.id)
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Int(n) => Some(*n),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn tat(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Nil => None,
        other => int(Some(other)),
    }
}

fn malformed() -> Error {
    Error::new(
        ErrorKind::Backend,
        "the redis shared-limit script answered in an unexpected shape",
    )
}

fn with_kind<T>(v: Verdict<T>, kind: LimitKind) -> Verdict<T> {
    match v {
        Ok((s, t)) => Ok((LimitStatus { kind, ..s }, t)),
        Err((s, w)) => Err((LimitStatus { kind, ..s }, w)),
    }
}

fn ttl_ms(w: &QuotaWindow, now_us: i64) -> i64 {
    ((w.reset_at.timestamp_micros() - now_us) / 1000 + QUOTA_MARGIN_MS).max(1)
}

impl RedisLimiter {
    /// One shared decision, exact, failing closed when Redis cannot answer.
    pub(super) async fn decide_shared(&self, charge: &SharedCharge<'_>) -> Result<Decision> {
        if charge.pools.len() > MAX_POOLS {
            return Err(Error::invalid("pools", "at most four pools per decision"));
        }
        super::fallback::validate(&charge.policy)?;
        for p in charge.pools {
            p.limits.validate()?;
        }
        let admit = self.breaker.admit();
        if admit == Admit::Skip {
            Counters::bump(&self.counters.fallbacks);
            return Err(Error::unavailable(
                "redis limiter breaker open: pools and credits fail closed",
            ));
        }
        let outcome = match tokio::time::timeout(self.budget, self.shared_call(charge)).await {
            Ok(r) => r,
            Err(_) => Err(timed_out("redis limiter call exceeded its time budget")),
        };
        match &outcome {
            Ok(_) => {
                self.breaker.success();
                Counters::bump(&self.counters.decisions);
            }
            Err(e) => {
                Counters::bump(&self.counters.errors);
                if e.kind() == ErrorKind::Unavailable && self.breaker.failure(admit == Admit::Probe)
                {
                    Counters::bump(&self.counters.breaker_opens);
                }
            }
        }
        outcome
    }

    async fn shared_call(&self, charge: &SharedCharge<'_>) -> Result<Decision> {
        let app_now = self.app_now();
        let app_now_us = app_now.timestamp_micros();
        let (p, subject, policy, cost) =
            (&self.prefix, &charge.subject, &charge.policy, charge.cost);
        let root = KeyPrefix::pool_root(charge.tenant);
        let own_window = policy.quota.map(|q| quota_window(q.period, app_now));
        let mut call = self.shared_script.prepare_invoke();
        call.key(p.tagged_rate(&root, subject.key))
            .key(p.tagged_endpoint(&root, subject.key, subject.endpoint.unwrap_or("")))
            .key(match (policy.quota, &own_window) {
                (Some(q), Some(w)) => p.pooled_quota(&root, subject.lineage, q.period, w.id),
                _ => p.pooled_quota(&root, subject.lineage, apikey_core::QuotaPeriod::Day, 0),
            });
        self.own_args(&mut call, app_now_us, cost, policy);
        call.arg(own_window.as_ref().map_or(1, |w| ttl_ms(w, app_now_us)))
            .arg(charge.pools.len());
        let mut pool_windows = Vec::with_capacity(charge.pools.len());
        for pool in charge.pools {
            let l = &pool.limits;
            let qw = l.quota.map(|q| quota_window(q.period, app_now));
            let credits = CreditArgs::of(l.credits.as_ref(), app_now);
            let quota_what = match (l.quota, &qw) {
                (Some(q), Some(w)) => format!("quota:{}:{}", q.period, w.id),
                _ => "quota:none".to_owned(),
            };
            call.key(p.pool(&root, &pool.name, "rate"))
                .key(p.pool(&root, &pool.name, &quota_what))
                .key(p.pool(&root, &pool.name, "credits"))
                .arg(l.rate.map_or(0, |r| r.interval_us()))
                .arg(l.rate.map_or(0, |r| r.burst))
                .arg(l.quota.map_or(0, |q| q.limit))
                .arg(qw.as_ref().map_or(1, |w| ttl_ms(w, app_now_us)))
                .arg(credits.mode)
                .arg(credits.initial)
                .arg(credits.window_id())
                .arg(credits.amount);
            pool_windows.push((qw, credits.window));
        }
        match charge.reserve {
            Some(r) => {
                call.key(self.prefix.pool(&root, &r.id.to_string(), "reservation"))
                    .arg(r.id.to_string())
                    .arg(r.estimate)
                    .arg(i64::try_from(r.ttl.as_millis()).unwrap_or(i64::MAX).max(1));
            }
            None => {
                call.arg("").arg(0).arg(1);
            }
        }
        Counters::bump(&self.counters.round_trips);
        let mut conn = self.conn.clone();
        let reply: Vec<Value> = call
            .invoke_async(&mut conn)
            .await
            .map_err(|e| from_redis("redis limiter call failed", e))?;
        if reply.len() != 5 + 3 * charge.pools.len() {
            return Err(malformed());
        }
        let admitted = int(reply.first()).ok_or_else(malformed)? == 1;
        let now = int(reply.get(1)).ok_or_else(malformed)?;

        // Every status, remaining count and wait from core's arithmetic, as in process.
        let mut tally = Tally::default();
        if let Some(r) = policy.rate {
            tally.note(&rate_verdict(
                LimitKind::Rate,
                &r,
                tat(reply.get(2)),
                now,
                cost,
            ));
        }
        if let Some(r) = policy.endpoint {
            tally.note(&rate_verdict(
                LimitKind::Endpoint,
                &r,
                tat(reply.get(3)),
                now,
                cost,
            ));
        }
        if let (Some(q), Some(w)) = (policy.quota, &own_window) {
            let used = u64::try_from(int(reply.get(4)).ok_or_else(malformed)?).unwrap_or(0);
            let (start, reset) = (w.start.timestamp_micros(), w.reset_at.timestamp_micros());
            tally.note(&quota_verdict(&q, start, reset, used, app_now_us, cost));
        }
        for (i, (pool, (qw, cw))) in charge.pools.iter().zip(&pool_windows).enumerate() {
            let at = 5 + 3 * i;
            let l = &pool.limits;
            if let Some(r) = l.rate {
                let kind = LimitKind::PoolRate(pool.kind);
                tally.note(&rate_verdict(kind, &r, tat(reply.get(at)), now, cost));
            }
            if let (Some(q), Some(w)) = (l.quota, qw) {
                let used =
                    u64::try_from(int(reply.get(at + 1)).ok_or_else(malformed)?).unwrap_or(0);
                let (start, reset) = (w.start.timestamp_micros(), w.reset_at.timestamp_micros());
                let v = quota_verdict(&q, start, reset, used, app_now_us, cost);
                tally.note(&with_kind(v, LimitKind::PoolQuota(pool.kind)));
            }
            if let Some(plan) = &l.credits {
                let balance =
                    u64::try_from(int(reply.get(at + 2)).ok_or_else(malformed)?).unwrap_or(0);
                tally.note(&credit_verdict(
                    pool.kind,
                    plan,
                    balance,
                    cw.as_ref(),
                    app_now_us,
                    charge.credit_cost(),
                ));
            }
        }
        if tally.admitted() != admitted {
            return Err(Error::new(
                ErrorKind::Backend,
                "the redis shared-limit script and the core arithmetic disagree",
            ));
        }
        Ok(tally.decision())
    }

    /// Settles reservation `id` against the credit pools among `pools`, once.
    pub(super) async fn settle_call(
        &self,
        tenant: Option<&TenantId>,
        pools: &[PoolCharge],
        id: uuid::Uuid,
        actual: u64,
    ) -> Result<Settlement> {
        if actual > apikey_core::limit::MAX_CREDITS {
            return Err(Error::invalid("actual", "at most 10^15"));
        }
        let now = self.app_now();
        let root = KeyPrefix::pool_root(tenant);
        let mut call = self.settle_script.prepare_invoke();
        call.key(self.prefix.pool(&root, &id.to_string(), "reservation"))
            .arg(actual)
            .arg(
                self.clock
                    .as_ref()
                    .map_or(String::new(), |_| now.timestamp_micros().to_string()),
            );
        for pool in pools {
            let Some(plan) = pool.limits.credits.as_ref() else {
                continue;
            };
            let args = CreditArgs::of(Some(plan), now);
            call.key(self.prefix.pool(&root, &pool.name, "credits"))
                .arg(args.mode)
                .arg(args.initial)
                .arg(args.window_id())
                .arg(args.amount);
        }
        let mut conn = self.conn.clone();
        let budget = self.budget.max(std::time::Duration::from_secs(1));
        let reply: Vec<Value> = tokio::time::timeout(budget, call.invoke_async(&mut conn))
            .await
            .map_err(|_| timed_out("redis settle call exceeded its time budget"))?
            .map_err(|e| from_redis("redis settle call failed", e))?;
        let charged = u64::try_from(int(reply.get(1)).ok_or_else(malformed)?).unwrap_or(0);
        match int(reply.first()) {
            Some(0) => Ok(Settlement::Expired),
            Some(1) => Ok(Settlement::Settled { charged }),
            Some(2) => Ok(Settlement::AlreadySettled { charged }),
            _ => Err(malformed()),
        }
    }

    /// Reads (`None`) or adjusts the credits of `pool`, refills applied, in one script call.
    pub(super) async fn credit_call(
        &self,
        tenant: Option<&TenantId>,
        pool: &PoolCharge,
        adjust: Option<CreditAdjust>,
    ) -> Result<CreditBalance> {
        let plan = pool.credit_plan()?;
        if let Some(a) = adjust {
            // Refuses a value out of range before anything is sent.
            a.apply(0)?;
        }
        let now = self.app_now();
        let args = CreditArgs::of(Some(plan), now);
        let (op, value) = match adjust {
            None => (0, 0),
            Some(CreditAdjust::TopUp(n)) => (1, n),
            Some(CreditAdjust::Set(n)) => (2, n),
        };
        let root = KeyPrefix::pool_root(tenant);
        let mut call = self.credits_script.prepare_invoke();
        call.key(self.prefix.pool(&root, &pool.name, "credits"))
            .arg(args.mode)
            .arg(args.initial)
            .arg(args.window_id())
            .arg(args.amount)
            .arg(op)
            .arg(value);
        let mut conn = self.conn.clone();
        let budget = self.budget.max(std::time::Duration::from_secs(1));
        let reply: Value = tokio::time::timeout(budget, call.invoke_async(&mut conn))
            .await
            .map_err(|_| timed_out("redis credits call exceeded its time budget"))?
            .map_err(|e| {
                // The script's own refusal (nothing written), told apart by its message.
                if e.to_string().contains("at most 10^15") {
                    Error::invalid("credits", "a balance is at most 10^15")
                } else {
                    from_redis("redis credits call failed", e)
                }
            })?;
        let balance = u64::try_from(int(Some(&reply)).ok_or_else(malformed)?).unwrap_or(0);
        Ok(CreditBalance {
            balance,
            next_refill: args.window.map(|w| w.next),
        })
    }
}
