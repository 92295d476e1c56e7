//! The audit log page: events within the admin key's tenants, filtered by type and key, in
//! keyset pages (oldest first, as the API gives them).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use super::page::{Nav, page, respond, text, when};
use super::session::viewing;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditForm {
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    key: String,
    after: Option<String>,
}

fn subject(v: &serde_json::Value) -> maud::Markup {
    match (v["kind"].as_str(), v["id"].as_str()) {
        (Some("key"), Some(id)) => html! { a.mono href={"/ui/keys/" (id)} { (id) } },
        (Some(kind), Some(id)) => html! { span.mono { (kind) " " (id) } },
        _ => html! { span.mono { "—" } },
    }
}

pub(crate) async fn show(
    State(st): State<AppState>,
    session: Session,
    Query(f): Query<AuditForm>,
) -> Response {
    let op = match viewing(&st, &session, "audit:read", "read the audit log").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let some = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    let q = crate::audit::AuditQuery {
        key: some(&f.key),
        actor: None,
        r#type: some(&f.r#type),
        from: None,
        to: None,
        limit: Some(100),
        after: f.after.clone().filter(|a| !a.is_empty()),
    };
    let result = crate::audit::audit(State(st), super::keys::verified(&op), Ok(Query(q))).await;
    let (items, next, error) = match result {
        Ok(Json(p)) => (p.items, p.next, None),
        Err(p) => (Vec::new(), None, Some(p.detail().to_owned())),
    };
    let types: Vec<&str> = apikey_core::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let body = html! {
        h1 { "Audit log" }
        p.sub { "Every change, who made it and why, oldest first." }
        form.panel method="get" action="/ui/audit" role="search" {
            div.row {
                div.field {
                    label for="type" { "Event" }
                    select id="type" name="type" {
                        option value="" { "Every event" }
                        @for t in &types {
                            option value=(t) selected[f.r#type == *t] { (t) }
                        }
                    }
                }
                div.field { label for="key" { "Key id" } input id="key" name="key" type="text" value=(f.key); }
                div.field { button.btn type="submit" { "Filter" } }
            }
        }
        @if let Some(e) = &error { div.notice.error role="alert" { (e) } }
        div.panel {
            @if items.is_empty() {
                p.empty { "No events match." }
            } @else {
                table {
                    thead { tr { th { "When" } th { "Event" } th { "Key" } th { "By" } th { "Reason" } } }
                    tbody {
                        @for e in &items {
                            tr {
                                td { (when(&e["at"])) }
                                td.mono { (text(&e["event_type"])) }
                                td { (subject(&e["subject"])) }
                                td { (text(&e["actor"])) }
                                td { (text(&e["reason"])) }
                            }
                        }
                    }
                }
            }
            @if let Some(n) = &next {
                div.pager { a.btn href={"/ui/audit?after=" (n) "&type=" (f.r#type) "&key=" (f.key)} { "Next page" } }
            }
        }
    };
    respond(
        StatusCode::OK,
        page("Audit log", Some(&op), Nav::Audit, body),
    )
}
