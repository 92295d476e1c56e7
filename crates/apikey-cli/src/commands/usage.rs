//! `apikey usage`: a key's (an owner's, a group's, the tenant's) requests by outcome over time,
//! as a sparkline and totals, or the keys ranked by requests or rejections.

use apikey_core::analytics::{
    self, KeyUsage, Outcome, Resolution, SeriesQuery, TopQuery, UsageCounts, UsagePoint,
    UsageRange, UsageSubject,
};
use apikey_core::{KeyFilter, TenantScope};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::cli_usage::UsageArgs;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

#[derive(Serialize)]
struct Series<'a> {
    subject: String,
    resolution: Resolution,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    total: UsageCounts,
    /// Refused before a key was known (only for the whole of an unscoped store).
    unattributed: Option<UsageCounts>,
    points: &'a [UsagePoint],
}

#[derive(Serialize)]
struct Top<'a> {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    keys: &'a [KeyUsage],
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per bucket, scaled to the busiest; an empty bucket is a space.
pub(crate) fn sparkline(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v == 0 || max == 0 {
                ' '
            } else {
                let i = (u128::from(v) * 8).div_ceil(u128::from(max)) - 1;
                BARS[usize::try_from(i).unwrap_or(7).min(7)]
            }
        })
        .collect()
}

fn range(ctx: &Ctx, a: &UsageArgs) -> Result<(UsageRange, Resolution), CliError> {
    let until = a.until.unwrap_or_else(|| ctx.now());
    let since = a.since.unwrap_or(until - TimeDelta::hours(24));
    let range = UsageRange { since, until };
    let resolution = a
        .resolution
        .unwrap_or_else(|| Resolution::for_span(until - since));
    range
        .validate(resolution)
        .map_err(|e| CliError::usage(e.message().to_owned()))?;
    if since > ctx.now() {
        return Err(CliError::usage("--since is in the future"));
    }
    Ok((range, resolution))
}

pub(crate) async fn run(ctx: &Ctx, a: UsageArgs) -> Result<Exit, CliError> {
    let (range, resolution) = range(ctx, &a)?;
    let store = ctx.db.analytics();
    if let Some(limit) = a.top {
        let query = TopQuery {
            by: a.by,
            resolution,
            range,
            limit,
        };
        let keys = store.top_keys(&ctx.tenant, &query).await?;
        return print_top(ctx, &range, &keys);
    }
    let (subject, label) = match (&a.id, &a.owner, &a.group) {
        (Some(id), _, _) => {
            let id = ctx.key_id(id).await?;
            (UsageSubject::Key(id), format!("key {id}"))
        }
        (_, Some(owner), _) => {
            let filter = KeyFilter {
                owner: Some(owner.clone()),
                ..KeyFilter::default()
            };
            let keys = analytics::keys_matching(ctx.keys.manager(), &ctx.tenant, filter).await?;
            (keys, format!("owner {owner}"))
        }
        (_, _, Some(group)) => {
            let filter = KeyFilter {
                group: Some(group.clone()),
                ..KeyFilter::default()
            };
            let keys = analytics::keys_matching(ctx.keys.manager(), &ctx.tenant, filter).await?;
            (keys, format!("group {group}"))
        }
        _ => (UsageSubject::Scope, "every key".to_owned()),
    };
    let whole = subject == UsageSubject::Scope && ctx.tenant == TenantScope::All;
    let query = SeriesQuery {
        subject,
        resolution,
        range,
    };
    let points = store.usage_series(&ctx.tenant, &query).await?;
    let unattributed = if whole {
        let q = SeriesQuery {
            subject: UsageSubject::Unattributed,
            ..query.clone()
        };
        Some(analytics::total(
            &store.usage_series(&ctx.tenant, &q).await?,
        ))
    } else {
        None
    };
    let series = Series {
        subject: label,
        resolution,
        since: range.since,
        until: range.until,
        total: analytics::total(&points),
        unattributed,
        points: &points,
    };
    if ctx.json {
        printed(ctx.out.json(&series))?;
        return Ok(Exit::Ok);
    }
    print_series(ctx, &series, &range)
}

/// Most characters of a sparkline: adjacent buckets are summed to fit a terminal.
const SPARK_WIDTH: usize = 60;

/// `values` summed in runs, so that at most [`SPARK_WIDTH`] remain.
fn squeezed(values: &[u64]) -> Vec<u64> {
    let run = values.len().div_ceil(SPARK_WIDTH).max(1);
    values
        .chunks(run)
        .map(|c| c.iter().fold(0u64, |a, b| a.saturating_add(*b)))
        .collect()
}

fn print_series(ctx: &Ctx, s: &Series<'_>, range: &UsageRange) -> Result<Exit, CliError> {
    let all = analytics::filled(s.points, range, s.resolution);
    let requests = squeezed(&all.iter().map(|p| p.counts.requests()).collect::<Vec<_>>());
    let refused = squeezed(&all.iter().map(|p| p.counts.rejected()).collect::<Vec<_>>());
    let t = &s.total;
    let mut out = format!(
        "{}, by {} from {} to {}\n",
        s.subject,
        s.resolution.as_str(),
        time(s.since),
        time(s.until),
    );
    out.push_str(&format!(
        "requests  {}  {}\n",
        sparkline(&requests),
        t.requests()
    ));
    out.push_str(&format!(
        "refused   {}  {}\n",
        sparkline(&refused),
        t.rejected()
    ));
    let why: Vec<String> = Outcome::ALL
        .into_iter()
        .filter(|o| *o != Outcome::Success && t.get(*o) > 0)
        .map(|o| format!("{} {}", o.as_str(), t.get(o)))
        .collect();
    out.push_str(&format!(
        "admitted {} (cost {}); refused {}{}",
        t.success,
        t.cost,
        t.rejected(),
        if why.is_empty() {
            String::new()
        } else {
            format!(": {}", why.join(", "))
        }
    ));
    if let Some(u) = &s.unattributed
        && u.requests() > 0
    {
        out.push_str(&format!(
            "\nrefused before a key was known (malformed or unknown tokens): {}",
            u.requests()
        ));
    }
    if t.requests() == 0 {
        out.push_str("\nno requests in this range (usage is written by the verifiers' flush, every 10 s by default)");
    }
    printed(ctx.out.line(&out))?;
    Ok(Exit::Ok)
}

fn print_top(ctx: &Ctx, range: &UsageRange, keys: &[KeyUsage]) -> Result<Exit, CliError> {
    if ctx.json {
        printed(ctx.out.json(&Top {
            since: range.since,
            until: range.until,
            keys,
        }))?;
        return Ok(Exit::Ok);
    }
    if keys.is_empty() {
        printed(ctx.out.line("no key made a request in this range"))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["KEY", "REQUESTS", "ADMITTED", "REFUSED", "COST"]);
    for k in keys {
        table.push(vec![
            k.key_id.to_string(),
            k.counts.requests().to_string(),
            k.counts.success.to_string(),
            k.counts.rejected().to_string(),
            k.counts.cost.to_string(),
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn long_series_are_summed_to_fit_a_terminal() {
        let week = vec![1u64; 168];
        let s = super::squeezed(&week);
        assert!(s.len() <= super::SPARK_WIDTH);
        assert_eq!(s.iter().sum::<u64>(), 168);
        assert_eq!(super::squeezed(&[1, 2, 3]), [1, 2, 3]);
    }

    #[test]
    fn sparklines_scale_to_the_busiest_bucket() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
        assert_eq!(sparkline(&[u64::MAX, 1]), "█▁");
    }
}
