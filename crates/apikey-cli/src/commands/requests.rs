//! `apikey requests`: the request log, newest first, filtered by key, network, route, outcome
//! and time, a page at a time (the cursor of the next page is printed under a full page).

use apikey_core::request_log::{OutcomeFilter, RequestCursor, RequestFilter, RequestRecord};
use serde::Serialize;

use crate::cli_requests::RequestsArgs;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

#[derive(Serialize)]
struct Page<'a> {
    requests: &'a [RequestRecord],
    /// The `--before` value of the next page, when this one was full.
    next: Option<String>,
}

fn outcome(text: &str) -> OutcomeFilter {
    match text {
        "admitted" => OutcomeFilter::Admitted,
        "rejected" | "refused" => OutcomeFilter::Rejected,
        other => OutcomeFilter::Exactly(other.to_owned()),
    }
}

pub(crate) async fn run(ctx: &Ctx, a: RequestsArgs) -> Result<Exit, CliError> {
    let key = match &a.key {
        Some(k) => Some(ctx.key_id(k).await?),
        None => None,
    };
    let before = a
        .before
        .as_deref()
        .map(RequestCursor::decode)
        .transpose()
        .map_err(|e| CliError::usage(format!("--before: {}", e.message())))?;
    let filter = RequestFilter {
        key,
        network: a.ip,
        route: a.route,
        outcome: a.outcome.as_deref().map(outcome),
        since: a.since,
        until: a.until,
        before,
        limit: a.limit,
    };
    filter
        .validate()
        .map_err(|e| CliError::usage(e.message().to_owned()))?;
    let got = ctx.db.request_log().requests(&ctx.tenant, &filter).await?;
    let next = (got.len() == a.limit as usize)
        .then(|| got.last().map(|r| RequestCursor::after(r).encode()))
        .flatten();
    if ctx.json {
        printed(ctx.out.json(&Page {
            requests: &got,
            next,
        }))?;
        return Ok(Exit::Ok);
    }
    if got.is_empty() {
        printed(ctx.out.line(
            "no requests match (the request log is off unless a tenant's settings turn it on)",
        ))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&[
        "TIME",
        "KEY",
        "CLIENT",
        "METHOD",
        "PATH",
        "STATUS",
        "OUTCOME",
        "MS",
        "REQUEST ID",
    ]);
    for r in &got {
        table.push(vec![
            time(r.at),
            r.key_id.map_or_else(|| "-".to_owned(), |k| k.to_string()),
            r.client_ip
                .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
            r.method.clone(),
            r.path.clone(),
            r.status.to_string(),
            r.outcome.clone(),
            format!("{:.1}", r.latency_us as f64 / 1000.0),
            r.request_id.clone(),
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    if let Some(next) = next {
        eprintln!("more: apikey requests … --before {next}");
    }
    Ok(Exit::Ok)
}
