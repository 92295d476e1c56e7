//! A key's requests over the last fortnight as a bar chart (admitted and refused stacked), drawn
//! as inline SVG: no script, nothing fetched. The counts come from the usage analytics (day
//! buckets, every verification counted) when the service has them, else from the request log
//! (what its tenant's settings log).

use axum::Json;
use axum::extract::{Query, State};
use chrono::{Duration, NaiveDate, Utc};
use maud::{Markup, html};

use super::session::Operator;
use crate::AppState;

const DAYS: i64 = 14;
/// Pages of the request log read at most (1,000 records each).
const MAX_PAGES: usize = 20;

/// Where the counts came from, for the chart's caption.
#[derive(Clone, Copy)]
enum Source {
    Analytics,
    RequestLog { capped: bool },
}

/// The chart, or a line saying why there is none.
pub(crate) async fn chart(st: &AppState, op: &Operator, id: &str) -> Markup {
    if !op.can("usage:read") {
        return html! { p.hint { "Usage needs an admin key with usage:read." } };
    }
    let since = Utc::now() - Duration::days(DAYS - 1);
    let first = since.date_naive();
    if st.analytics.is_some() {
        return match from_analytics(st, op, id, first).await {
            Some(days) => draw(first, &days, Source::Analytics),
            None => html! { p.hint { "The usage analytics could not be read; try again." } },
        };
    }
    let mut days = vec![(0u64, 0u64); DAYS as usize];
    let mut before = None;
    let mut capped = false;
    for page in 0..MAX_PAGES {
        let q = crate::requests::RequestQuery {
            key: Some(id.to_owned()),
            route: None,
            outcome: None,
            since: Some(first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
            until: None,
            limit: Some(1000),
            before: before.take(),
        };
        let got =
            crate::requests::requests(State(st.clone()), super::keys::verified(op), Ok(Query(q)))
                .await;
        let Ok(Json(p)) = got else {
            return html! { p.hint { "This service keeps neither usage analytics nor a request log, so there is no usage to show." } };
        };
        for r in &p.items {
            let day = r["at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.date_naive());
            if let Some(i) = day.and_then(|d| index(first, d)) {
                if r["outcome"] == "admitted" {
                    days[i].0 += 1;
                } else {
                    days[i].1 += 1;
                }
            }
        }
        match p.next {
            Some(n) => before = Some(n),
            None => break,
        }
        capped = page + 1 == MAX_PAGES;
    }
    draw(first, &days, Source::RequestLog { capped })
}

/// The key's day buckets through `GET /v1/usage` (same scopes and tenancy as the API).
async fn from_analytics(
    st: &AppState,
    op: &Operator,
    id: &str,
    first: NaiveDate,
) -> Option<Vec<(u64, u64)>> {
    let since = first.and_hms_opt(0, 0, 0)?.and_utc();
    let q = crate::usage::UsageQuery {
        key: Some(id.to_owned()),
        owner: None,
        group: None,
        since: Some(since),
        until: Some(since + Duration::days(DAYS)),
        resolution: Some(crate::usage::Width::Day),
    };
    let Json(series) =
        crate::usage::series(State(st.clone()), super::keys::verified(op), Ok(Query(q)))
            .await
            .ok()?;
    let mut days = vec![(0u64, 0u64); DAYS as usize];
    for p in &series.points {
        if let Some(i) = index(first, p.bucket.date_naive()) {
            let c = &p.counts;
            days[i] = (
                c.success,
                c.scope + c.ip + c.state + c.rate_limited + c.quota + c.unavailable,
            );
        }
    }
    Some(days)
}

fn index(first: NaiveDate, day: NaiveDate) -> Option<usize> {
    usize::try_from((day - first).num_days())
        .ok()
        .filter(|i| *i < DAYS as usize)
}

fn draw(first: NaiveDate, days: &[(u64, u64)], source: Source) -> Markup {
    let total: u64 = days.iter().map(|(a, r)| a + r).sum();
    let max = days.iter().map(|(a, r)| a + r).max().unwrap_or(0).max(1);
    let (w, h, top, bottom) = (700.0_f64, 170.0_f64, 18.0_f64, 22.0_f64);
    let slot = w / days.len() as f64;
    let bar = slot * 0.62;
    let scale = |n: u64| (n as f64) / (max as f64) * (h - top - bottom);
    html! {
        @if total == 0 {
            @match source {
                Source::Analytics => p.hint { "No requests for this key in the last " (DAYS) " days." },
                Source::RequestLog { .. } => p.hint { "No requests recorded for this key in the last " (DAYS) " days (the request log keeps what its tenant's settings log)." },
            }
        } @else {
            svg.chart viewBox={"0 0 " (w) " " (h)} role="img" aria-label={"Requests per day over the last " (DAYS) " days: " (total) " in all"} {
                text x="0" y="12" { "max " (max) " / day" }
                @for (i, (admitted, refused)) in days.iter().enumerate() {
                    @let x = i as f64 * slot + (slot - bar) / 2.0;
                    @let ha = scale(*admitted);
                    @let hr = scale(*refused);
                    rect.bar x=(x) y=(h - bottom - ha) width=(bar) height=(ha) {
                        title { (admitted) " admitted" }
                    }
                    rect.refused x=(x) y=(h - bottom - ha - hr) width=(bar) height=(hr) {
                        title { (refused) " refused" }
                    }
                    text x=(x + bar / 2.0) y=(h - 6.0) text-anchor="middle" {
                        ((first + Duration::days(i as i64)).format("%d"))
                    }
                }
            }
            div.legend {
                span { span.swatch {} "admitted" }
                span { span.swatch.refused {} "refused" }
                span {
                    (total) " requests in " (DAYS) " days"
                    @match source {
                        Source::Analytics => " (usage analytics)",
                        Source::RequestLog { capped: true } => " (request log; the first 20,000 counted)",
                        Source::RequestLog { capped: false } => " (request log)",
                    }
                }
            }
        }
    }
}
