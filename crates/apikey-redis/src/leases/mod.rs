//! [`RedisLeases`]: the scheduler's job leases ([`LeaseStore`]) on Redis, for deployments whose
//! instances share a Redis but not a database, or that keep the scheduler's chatter off it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::clock::truncate_ms;
use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use apikey_core::{Error, ErrorKind, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;

use crate::conn::RedisConnection;
use crate::error::{from_redis, timed_out};
use crate::keys::KeyPrefix;

/// Default time budget of one lease call: generous, as a scheduler calls seldom and a spurious
/// `Unavailable` only delays a run.
const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// Shared by the scripts that compare periods.
const PERIOD_LUA: &str = include_str!("period.lua");

/// Job leases on Redis.
///
/// Each job is one hash (`<prefix>:{leases}:job:<name>`: holder, fence, lease end, last
/// completed period, last run, last error) and every name is in one set
/// (`<prefix>:{leases}:jobs`), all under one hash tag, so in a cluster each script touches one
/// slot. Claim, renew, finish and release are one Lua script each, so each is atomic: the
/// conditions of [`LeaseStore`] are checked and the writes made without another client in
/// between. Instants are the caller's `now` passed as an argument, never Redis `TIME`, and are
/// kept as integer milliseconds. Keys never expire: a job's history outlives its leases.
#[derive(Clone)]
pub struct RedisLeases {
    conn: RedisConnection,
    prefix: KeyPrefix,
    budget: Duration,
    claim: Arc<Script>,
    renew: Arc<Script>,
    finish: Arc<Script>,
    release: Arc<Script>,
}

impl RedisLeases {
    /// Leases on `conn` under the prefix `apikey`.
    pub fn new(conn: RedisConnection) -> Self {
        let with_periods = |script: &str| Arc::new(Script::new(&format!("{PERIOD_LUA}{script}")));
        Self {
            conn,
            prefix: KeyPrefix::default(),
            budget: DEFAULT_BUDGET,
            claim: with_periods(include_str!("claim.lua")),
            renew: Arc::new(Script::new(include_str!("renew.lua"))),
            finish: with_periods(include_str!("finish.lua")),
            release: Arc::new(Script::new(include_str!("release.lua"))),
        }
    }

    /// Prefixes the keys with `prefix` (one prefix per set of instances sharing their jobs).
    #[must_use]
    pub fn with_prefix(mut self, prefix: KeyPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// How long one call may take before it fails as `Unavailable`.
    #[must_use]
    pub fn with_call_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    async fn within<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.budget, fut).await {
            Ok(r) => r.map_err(|e| from_redis(what, e)),
            Err(_) => Err(timed_out(what)),
        }
    }

    /// Runs one of the scripts that act on a held lease: `true` if it was still the caller's.
    async fn on_lease(
        &self,
        script: &Script,
        lease: &Lease,
        args: &[String],
        what: &'static str,
    ) -> Result<bool> {
        let mut conn = self.conn.clone();
        let mut call = script.prepare_invoke();
        call.key(self.prefix.lease(&lease.job))
            .arg(lease.fence.to_string())
            .arg(lease.holder.as_str());
        for a in args {
            call.arg(a.as_str());
        }
        let held: i64 = self.within(what, call.invoke_async(&mut conn)).await?;
        Ok(held == 1)
    }
}

impl fmt::Debug for RedisLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLeases")
            .field("conn", &self.conn)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn ms(t: DateTime<Utc>) -> String {
    t.timestamp_millis().to_string()
}

fn corrupt(field: &'static str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("corrupt redis job lease: {field}"),
    )
}

fn parse_time(field: &'static str, v: Option<String>) -> Result<Option<DateTime<Utc>>> {
    v.map(|s| {
        s.parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| corrupt(field))
    })
    .transpose()
}

/// The fields of a job's hash, in the order `jobs` reads them.
type Fields = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn state(job: String, (fence, holder, until, period, run, error): Fields) -> Result<JobState> {
    Ok(JobState {
        job,
        last_period: period
            .map(|p| p.parse::<Period>().map_err(|_| corrupt("last period")))
            .transpose()?,
        last_run_at: parse_time("last run", run)?,
        last_error: error,
        holder,
        lease_until: parse_time("lease end", until)?,
        fence: fence
            .map(|f| f.parse::<u64>().map_err(|_| corrupt("fence")))
            .transpose()?
            .unwrap_or(0),
    })
}

#[async_trait]
impl LeaseStore for RedisLeases {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        let mut conn = self.conn.clone();
        let mut call = self.claim.prepare_invoke();
        call.key(self.prefix.lease(job))
            .key(self.prefix.lease_jobs())
            .arg(job)
            .arg(period.to_string())
            .arg(holder)
            .arg(ms(now))
            .arg(ms(until));
        let fence: Option<i64> = self
            .within("redis lease claim failed", call.invoke_async(&mut conn))
            .await?;
        fence
            .map(|f| {
                Ok(Lease {
                    job: job.to_owned(),
                    holder: holder.to_owned(),
                    fence: u64::try_from(f).map_err(|_| corrupt("fence"))?,
                    period,
                    until: truncate_ms(until),
                })
            })
            .transpose()
    }

    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        self.on_lease(
            &self.renew,
            lease,
            &[ms(until)],
            "redis lease renewal failed",
        )
        .await
    }

    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        let (ok, message) = match outcome {
            JobOutcome::Ok => ("1", ""),
            JobOutcome::Failed(message) => ("0", message.as_str()),
        };
        let args = [
            ms(at),
            ok.to_owned(),
            lease.period.to_string(),
            message.to_owned(),
        ];
        self.on_lease(&self.finish, lease, &args, "redis lease finish failed")
            .await
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        self.on_lease(&self.release, lease, &[], "redis lease release failed")
            .await
            .map(drop)
    }

    async fn jobs(&self) -> Result<Vec<JobState>> {
        let mut conn = self.conn.clone();
        let mut names: Vec<String> = self
            .within(
                "redis lease listing failed",
                redis::cmd("SMEMBERS")
                    .arg(self.prefix.lease_jobs())
                    .query_async(&mut conn),
            )
            .await?;
        // By name, byte order, as every store lists them (a set has no order).
        names.sort();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.cmd("HMGET")
                .arg(self.prefix.lease(name))
                .arg(&["f", "h", "u", "p", "r", "e"][..]);
        }
        let rows: Vec<Fields> = self
            .within("redis lease listing failed", pipe.query_async(&mut conn))
            .await?;
        names
            .into_iter()
            .zip(rows)
            .map(|(name, fields)| state(name, fields))
            .collect()
    }
}
