//! `apikey jobs list` and `apikey jobs run [NAME]`: the scheduler's one pass, for cron. The jobs
//! claim their periods under leases in the same database the services share, so a cron entry on
//! every host (or next to running services) still runs each period once.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::jobs::builtin::{AuditRetention, ExpiryConfig, ExpiryMonitor, RotationJob};
use apikey_core::jobs::{JobReport, JobStatus, RunStatus, Scheduler};
use apikey_core::{ErrorKind, SystemClock};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::cli::{JobsArgs, JobsCommand};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::Table;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const HOUR: Duration = Duration::from_secs(60 * 60);

pub(crate) async fn run(ctx: &Ctx, args: JobsArgs) -> Result<Exit, CliError> {
    let scheduler = scheduler(ctx, &args)?;
    match args.command {
        JobsCommand::List => list(ctx, &scheduler).await,
        JobsCommand::Run { name } => run_due(ctx, &scheduler, name.as_deref()).await,
    }
}

/// The jobs that exist today, on the command's database and the system clock.
fn scheduler(ctx: &Ctx, args: &JobsArgs) -> Result<Scheduler, CliError> {
    let clock = Arc::new(SystemClock);
    let keep = DAY * args.audit_retention_days;
    // Each tenant's `retention.audit_days` applies to its events; --audit-retention-days to
    // the rest when the default row sets none.
    let retention = AuditRetention::new(ctx.db.audit_store(), clock.clone(), keep)?
        .with_tenant_settings(ctx.db.tenant_settings());
    let expiry = ExpiryMonitor::new(
        ctx.keys.manager(),
        ctx.db.audit_store(),
        ExpiryConfig {
            thresholds_days: args.expiry_thresholds.clone(),
            ..ExpiryConfig::default()
        },
    )?;
    // Without --token-sink-dir a policy in `rotate` mode fails the run with a message saying
    // so; `notify` policies work either way.
    let sink = args
        .token_sink_dir
        .clone()
        .map(|dir| std::sync::Arc::new(super::token_sink::DirSink::new(dir)) as _);
    let rotation = RotationJob::new(ctx.keys.manager().clone(), ctx.db.audit_store(), sink, HOUR);
    // Finished webhook deliveries; needs no KEK (nothing is signed or opened).
    let deliveries = apikey_webhooks::DeliveryRetention::new(
        ctx.db.webhook_store(),
        clock.clone(),
        apikey_webhooks::DEFAULT_DELIVERY_RETENTION,
    )?;
    // Request-log records past the expiry their tenant's retention gave them.
    let requests =
        apikey_core::request_log::RequestLogRetention::new(ctx.db.request_log(), clock.clone());
    let days = |i: usize| {
        chrono::TimeDelta::days(i64::from(
            args.usage_retention_days.get(i).copied().unwrap_or(1),
        ))
    };
    let usage = apikey_core::analytics::UsageRetentionJob::new(
        ctx.db.analytics(),
        clock.clone(),
        apikey_core::analytics::UsageRetention {
            minutes: days(0),
            hours: days(1),
            days: days(2),
        },
    )
    .map_err(|e| CliError::usage(format!("--usage-retention-days: {}", e.message())))?
    // Each tenant's `retention.usage_days` by the same plan as the audit retention.
    .with_tenant_settings(ctx.db.tenant_settings());
    let mut builder = Scheduler::builder(ctx.db.lease_store(), clock.clone())
        .job(retention)
        .job(expiry)
        .job(rotation)
        .job(deliveries)
        .job(requests)
        .job(usage);
    // Checkpoints seal their MAC keys under the KEK: made beside a SQLite file (as webhooks do);
    // elsewhere only with APIKEY_KEK, and without it the chain is checked for consistency only.
    match crate::kek::load(&ctx.target, true) {
        Ok(keks) => {
            builder = builder.job(apikey_core::audit::chain::AuditCheckpointJob::new(
                ctx.db.audit_store(),
                clock,
                apikey_core::secret_box::SecretBox::new(keks),
            ));
        }
        Err(e) => eprintln!("audit.checkpoint is not scheduled: {e}"),
    }
    Ok(builder.build()?)
}

async fn list(ctx: &Ctx, scheduler: &Scheduler) -> Result<Exit, CliError> {
    let jobs = scheduler.status().await?;
    // After the status, so a job it found due (next run = its "now") reads as due here too.
    let now = ctx.now();
    if ctx.json {
        let rows: Vec<Value> = jobs.iter().map(|j| status_json(j, now)).collect();
        printed(ctx.out.json(&rows))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&[
        "JOB",
        "PERIOD",
        "LAST DONE",
        "LAST RUN",
        "LAST ERROR",
        "HOLDER",
        "LEASE UNTIL",
        "NEXT RUN",
    ]);
    for j in &jobs {
        let state = j.state.as_ref();
        let live = state.and_then(|s| live_lease(s.holder.as_deref(), s.lease_until, now));
        table.push(vec![
            j.job.clone(),
            humantime::format_duration(j.every).to_string(),
            state
                .and_then(|s| s.last_period)
                .map_or_else(|| "-".to_owned(), |p| p.to_string()),
            time(state.and_then(|s| s.last_run_at)),
            state
                .and_then(|s| s.last_error.clone())
                .unwrap_or_else(|| "-".to_owned()),
            live.map_or_else(|| "-".to_owned(), |(h, _)| h.to_owned()),
            time(live.map(|(_, u)| u)),
            if j.is_due(now) {
                "now (due)".to_owned()
            } else {
                time(Some(j.next_run))
            },
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    Ok(Exit::Ok)
}

async fn run_due(ctx: &Ctx, scheduler: &Scheduler, name: Option<&str>) -> Result<Exit, CliError> {
    let lines = match name {
        Some(name) => vec![scheduler.run_job_now(name).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                CliError::new(Exit::NotFound, format!("no job named {name:?}"))
                    .hint("run `apikey jobs list` to see the jobs")
            } else {
                CliError::from(e)
            }
        })?],
        None => scheduler.tick().await.jobs,
    };
    let failed = lines.iter().any(|l| l.status.is_failure());
    if ctx.json {
        let rows: Vec<Value> = lines.iter().map(report_json).collect();
        printed(ctx.out.json(&rows))?;
    } else {
        let mut table = Table::with_header(&["JOB", "PERIOD", "RESULT"]);
        for l in &lines {
            table.push(vec![
                l.job.clone(),
                l.period.to_string(),
                l.status.to_string(),
            ]);
        }
        printed(ctx.out.text(&table.render()))?;
    }
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}

/// The holder and end of a lease, if it is still live: a lease past its end is as good as
/// released (the next claim takes it over), so it is not shown as holding anything.
fn live_lease(
    holder: Option<&str>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<(&str, DateTime<Utc>)> {
    match (holder, until) {
        (Some(h), Some(u)) if u > now => Some((h, u)),
        _ => None,
    }
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

fn status_json(j: &JobStatus, now: DateTime<Utc>) -> Value {
    let state = j.state.as_ref();
    let live = state.and_then(|s| live_lease(s.holder.as_deref(), s.lease_until, now));
    json!({
        "job": j.job,
        "period_seconds": j.every.as_secs(),
        "current_period": j.period,
        "last_period": state.and_then(|s| s.last_period),
        "last_run_at": state.and_then(|s| s.last_run_at),
        "last_error": state.and_then(|s| s.last_error.clone()),
        "holder": live.map(|(h, _)| h),
        "lease_until": live.map(|(_, u)| u),
        "next_run": j.next_run,
        "due": j.is_due(now),
    })
}

fn report_json(l: &JobReport) -> Value {
    let (status, holder, until, error) = match &l.status {
        RunStatus::Ran => ("ran", None, None, None),
        RunStatus::Done => ("done", None, None, None),
        RunStatus::Held { holder, until } => ("held", holder.clone(), *until, None),
        RunStatus::Failed(message) => ("failed", None, None, Some(message.clone())),
        RunStatus::Lost => ("lost", None, None, None),
        RunStatus::Error(e) => ("error", None, None, Some(e.to_string())),
    };
    json!({
        "job": l.job,
        "period": l.period,
        "status": status,
        "holder": holder,
        "lease_until": until,
        "error": error,
    })
}
