//! `apikey audit list` and `apikey audit stats`: the audit log read by people — filtered (key,
//! owner, actor, type, time), paged by (time, id), and counted per day, type and actor.
//! `verify` and `checkpoint` are in `audit_verify`.

use std::collections::BTreeMap;

use apikey_core::{AuditEvent, AuditFilter, EventSubject};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::cli_audit::{AuditCommand, AuditListArgs, AuditStatsArgs};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

pub(crate) async fn run(ctx: &Ctx, c: AuditCommand) -> Result<Exit, CliError> {
    match c {
        AuditCommand::List(a) => list(ctx, a).await,
        AuditCommand::Stats(a) => stats(ctx, a).await,
        AuditCommand::Verify => super::audit_verify::verify(ctx).await,
        AuditCommand::Checkpoint => super::audit_verify::checkpoint(ctx).await,
    }
}

#[derive(Serialize)]
struct Page<'a> {
    events: &'a [AuditEvent],
    /// The `--after` value of the next page, when this one was full.
    next: Option<String>,
}

/// `<RFC 3339 time>~<event id>`: the (at, id) the next page starts after.
fn encode(e: &AuditEvent) -> String {
    format!("{}~{}", e.at.to_rfc3339(), e.id)
}

fn decode(s: &str) -> Result<(DateTime<Utc>, Uuid), CliError> {
    let bad = || {
        CliError::usage(format!(
            "--after: {s:?} is not a cursor this command printed"
        ))
    };
    let (at, id) = s.split_once('~').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    let id = id.parse::<Uuid>().map_err(|_| bad())?;
    Ok((at.with_timezone(&Utc), id))
}

fn check_range(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Result<(), CliError> {
    match (since, until) {
        (Some(s), Some(u)) if s >= u => Err(CliError::usage("--since must be before --until")),
        _ => Ok(()),
    }
}

async fn list(ctx: &Ctx, a: AuditListArgs) -> Result<Exit, CliError> {
    check_range(a.since, a.until)?;
    let subject = match (&a.key, &a.owner) {
        (Some(k), _) => Some(EventSubject::Key(ctx.key_id(k).await?)),
        (None, Some(o)) => Some(EventSubject::Owner(o.clone())),
        (None, None) => None,
    };
    let filter = AuditFilter {
        subject,
        types: a.types,
        actor: a.actor,
        from: a.since,
        to: a.until,
        after: a.after.as_deref().map(decode).transpose()?,
        limit: a.limit,
    };
    let got = ctx.db.audit_store().query(&ctx.tenant, &filter).await?;
    let next = (got.len() == a.limit as usize)
        .then(|| got.last().map(encode))
        .flatten();
    if ctx.json {
        printed(ctx.out.json(&Page { events: &got, next }))?;
        return Ok(Exit::Ok);
    }
    if got.is_empty() {
        printed(ctx.out.line("no events match"))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["TIME", "TYPE", "SUBJECT", "ACTOR", "REASON"]);
    for e in &got {
        table.push(vec![
            time(e.at),
            e.event_type.as_str().to_owned(),
            e.subject
                .as_ref()
                .map_or_else(|| "-".to_owned(), |s| format!("{}:{}", s.kind(), s.id())),
            e.actor.clone().unwrap_or_else(|| "-".into()),
            e.reason.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    if let Some(next) = next {
        eprintln!("more: apikey audit list … --after {next}");
    }
    Ok(Exit::Ok)
}

/// One row of `audit stats`.
#[derive(Serialize)]
struct Count {
    day: String,
    event_type: String,
    actor: String,
    events: u64,
}

async fn stats(ctx: &Ctx, a: AuditStatsArgs) -> Result<Exit, CliError> {
    let until = a.until.unwrap_or_else(|| ctx.now());
    let since = a
        .since
        .unwrap_or_else(|| until - chrono::Duration::days(30));
    check_range(Some(since), Some(until))?;
    let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut filter = AuditFilter {
        from: Some(since),
        to: Some(until),
        limit: 1000,
        ..AuditFilter::default()
    };
    let store = ctx.db.audit_store();
    loop {
        let page = store.query(&ctx.tenant, &filter).await?;
        for e in &page {
            let key = (
                e.at.format("%Y-%m-%d").to_string(),
                e.event_type.as_str().to_owned(),
                e.actor.clone().unwrap_or_else(|| "-".into()),
            );
            *counts.entry(key).or_default() += 1;
        }
        if page.len() < 1000 {
            break;
        }
        filter.after = page.last().map(|e| (e.at, e.id));
    }
    let rows: Vec<Count> = counts
        .into_iter()
        .map(|((day, event_type, actor), events)| Count {
            day,
            event_type,
            actor,
            events,
        })
        .collect();
    if ctx.json {
        printed(ctx.out.json(&rows))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["DAY", "TYPE", "ACTOR", "EVENTS"]);
    for r in &rows {
        table.push(vec![
            r.day.clone(),
            r.event_type.clone(),
            r.actor.clone(),
            r.events.to_string(),
        ]);
    }
    if !rows.is_empty() {
        printed(ctx.out.text(&table.render()))?;
    }
    let total: u64 = rows.iter().map(|r| r.events).sum();
    printed(ctx.out.line(&format!(
        "{total} events from {} to {}",
        time(since),
        time(until)
    )))?;
    Ok(Exit::Ok)
}
