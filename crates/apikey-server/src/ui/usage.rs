//! A key's requests over the last fortnight, from the request log, as a bar chart (admitted and
//! refused stacked), drawn as inline SVG: no script, nothing fetched.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{Duration, NaiveDate, Utc};
use maud::{Markup, html};

use super::session::Operator;
use crate::AppState;

const DAYS: i64 = 14;
/// Pages of the request log read at most (1,000 records each).
const MAX_PAGES: usize = 20;

/// The chart, or a line saying why there is none.
pub(crate) async fn chart(st: &AppState, op: &Operator, id: &str) -> Markup {
    if !op.can("usage:read") {
        return html! { p.hint { "Usage needs an admin key with usage:read." } };
    }
    let since = Utc::now() - Duration::days(DAYS - 1);
    let first = since.date_naive();
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
            return html! { p.hint { "This service keeps no request log, so there is no usage to show." } };
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
    draw(first, &days, capped)
}

fn index(first: NaiveDate, day: NaiveDate) -> Option<usize> {
    usize::try_from((day - first).num_days())
        .ok()
        .filter(|i| *i < DAYS as usize)
}

fn draw(first: NaiveDate, days: &[(u64, u64)], capped: bool) -> Markup {
    let total: u64 = days.iter().map(|(a, r)| a + r).sum();
    let max = days.iter().map(|(a, r)| a + r).max().unwrap_or(0).max(1);
    let (w, h, top, bottom) = (700.0_f64, 170.0_f64, 18.0_f64, 22.0_f64);
    let slot = w / days.len() as f64;
    let bar = slot * 0.62;
    let scale = |n: u64| (n as f64) / (max as f64) * (h - top - bottom);
    html! {
        @if total == 0 {
            p.hint { "No requests recorded for this key in the last " (DAYS) " days (the request log keeps what its tenant's settings log)." }
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
                span { (total) " requests in " (DAYS) " days" @if capped { " (the first 20,000 counted)" } }
            }
        }
    }
}
