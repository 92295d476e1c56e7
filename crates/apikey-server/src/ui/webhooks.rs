//! The webhooks page: subscriptions and their latest deliveries, within the admin key's tenants
//! (read-only here; subscriptions are made over the API or the CLI, where the secret is shown).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use tower_sessions::Session;

use super::page::{Nav, error_page, page, respond, text, when};
use super::session::operator;
use crate::AppState;

pub(crate) async fn show(State(st): State<AppState>, session: Session) -> Response {
    let op = match operator(&st, &session).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    if !op.can("webhooks:read") {
        return error_page(
            StatusCode::FORBIDDEN,
            "This admin key may not read webhooks.",
        );
    }
    let key = || super::keys::verified(&op);
    let subs = crate::webhooks::list(State(st.clone()), key()).await;
    let q = crate::webhooks::DeliveryQuery {
        subscription: None,
        state: None,
        limit: Some(50),
    };
    let deliveries = crate::webhooks::deliveries(State(st), key(), Ok(Query(q))).await;
    let body = html! {
        h1 { "Webhooks" }
        p.sub { "Subscriptions receive signed events (Standard Webhooks). Create them with POST /v1/webhooks or apikey webhooks create." }
        @match &subs {
            Err(p) => div.notice.warn role="status" { (p.detail()) },
            Ok(Json(list)) => div.panel {
                h2 { "Subscriptions" }
                @if list.items.is_empty() {
                    p.empty { "No subscriptions." }
                } @else {
                    table {
                        thead { tr { th { "URL" } th { "Events" } th { "Enabled" } th { "Created" } } }
                        tbody {
                            @for s in &list.items {
                                tr {
                                    td.mono { (text(&s["url"])) }
                                    td { @if s["events"].as_array().is_none_or(Vec::is_empty) { "all" } @else { (super::keys::chips_of(&s["events"])) } }
                                    td { @if s["enabled"] == true { "yes" } @else { "no" } }
                                    td { (when(&s["created_at"])) }
                                }
                            }
                        }
                    }
                }
            },
        }
        @if let Ok(Json(ds)) = &deliveries {
            div.panel {
                h2 { "Latest deliveries" }
                @if ds.items.is_empty() {
                    p.empty { "Nothing delivered yet." }
                } @else {
                    table {
                        thead { tr { th { "Event" } th { "State" } th { "Attempts" } th { "Last answer" } th { "Queued" } } }
                        tbody {
                            @for d in &ds.items {
                                tr {
                                    td.mono { (text(&d["event_type"])) }
                                    td { span class={"badge " (text(&d["state"]))} { (text(&d["state"])) } }
                                    td { (text(&d["attempts"])) }
                                    td { @if d["last_error"].is_string() { (text(&d["last_error"])) } @else { (text(&d["last_status"])) } }
                                    td { (when(&d["created_at"])) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page("Webhooks", Some(&op), Nav::Webhooks, body),
    )
}
