//! The webhooks page: subscriptions and their latest deliveries, within the admin key's tenants;
//! with `webhooks:write`, subscribing a URL (its signing secret shown once), enabling, disabling
//! and removing (after a confirmation), each through the API's own handler.

use axum::Form;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use super::page::{Nav, error_page, page, respond, text, when};
use super::session::{Operator, acting, operator, viewing};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct SubscribeForm {
    #[serde(default)]
    csrf: String,
    url: String,
    #[serde(default)]
    events: String,
    #[serde(default)]
    description: String,
    allow_http: Option<String>,
    allow_private_network: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn id_path(id: &str) -> Result<Path<String>, axum::extract::rejection::PathRejection> {
    Ok(Path(id.to_owned()))
}

fn may_not(what: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        &format!("This admin key may not {what} webhooks."),
    )
}

pub(crate) async fn show(State(st): State<AppState>, session: Session) -> Response {
    match operator(&st, &session).await {
        Ok(op) => render(&st, &op, None).await,
        Err(r) => r,
    }
}

async fn render(st: &AppState, op: &Operator, error: Option<&str>) -> Response {
    if !op.can("webhooks:read") {
        return may_not("read");
    }
    let key = || super::keys::verified(op);
    let write = op.can("webhooks:write");
    let every_tenant = matches!(
        crate::admin::scope_of(&op.key),
        Ok(apikey_core::TenantScope::All)
    );
    let subs = crate::webhooks::list(State(st.clone()), key()).await;
    let q = crate::webhooks::DeliveryQuery {
        subscription: None,
        state: None,
        limit: Some(50),
    };
    let deliveries = crate::webhooks::deliveries(State(st.clone()), key(), Ok(Query(q))).await;
    let body = html! {
        h1 { "Webhooks" }
        p.sub { "Subscriptions receive signed events (Standard Webhooks); the service delivers them and retries." }
        @if let Some(e) = error { div.notice.error role="alert" { (e) } }
        @match &subs {
            Err(p) => div.notice.warn role="status" { (p.detail()) },
            Ok(Json(list)) => div.panel {
                h2 { "Subscriptions" }
                @if list.items.is_empty() {
                    p.empty { "No subscriptions." }
                } @else {
                    table {
                        thead { tr { th { "URL" } th { "Events" } th { "Enabled" } th { "Created" } @if write { th { span.sr-only { "Actions" } } } } }
                        tbody {
                            @for s in &list.items {
                                tr {
                                    td.mono { (text(&s["url"])) }
                                    td { @if s["events"].as_array().is_none_or(Vec::is_empty) { "all" } @else { (super::keys::chips_of(&s["events"])) } }
                                    td { @if s["enabled"] == true { "yes" } @else { "no" } }
                                    td { (when(&s["created_at"])) }
                                    @if write {
                                        td {
                                            div.actions {
                                                form method="post" action={"/ui/webhooks/" (text(&s["id"])) @if s["enabled"] == true { "/disable" } @else { "/enable" }} {
                                                    input type="hidden" name="csrf" value=(op.csrf);
                                                    button.btn type="submit" { @if s["enabled"] == true { "Disable" } @else { "Enable" } }
                                                }
                                                a.btn href={"/ui/webhooks/" (text(&s["id"])) "/remove"} { "Remove" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        }
        @if write && subs.is_ok() {
            form.panel method="post" action="/ui/webhooks" {
                h2 { "Subscribe a URL" }
                input type="hidden" name="csrf" value=(op.csrf);
                div.field { label for="url" { "URL" } input id="url" name="url" type="text" required placeholder="https://hooks.example.com/apikey"; }
                div.field {
                    label for="events" { "Events" }
                    input id="events" name="events" type="text" placeholder="key.revoked, key.leaked";
                    div.hint { "Event types separated by commas; empty for every event." }
                }
                div.field { label for="description" { "Description" } input id="description" name="description" type="text"; }
                div.field {
                    label { input type="checkbox" name="allow_http" value="on"; " Allow http:// (no TLS)" }
                    @if every_tenant {
                        label { input type="checkbox" name="allow_private_network" value="on"; " Allow a private network address" }
                    }
                }
                button.btn.primary type="submit" { "Subscribe" }
            }
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
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(status, page("Webhooks", Some(op), Nav::Webhooks, body))
}

pub(crate) async fn subscribe(
    State(st): State<AppState>,
    session: Session,
    Form(f): Form<SubscribeForm>,
) -> Response {
    let op = match acting(&st, &session, &f.csrf, "webhooks:write", "change webhooks").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let events: Vec<&str> = f
        .events
        .split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let description = f.description.trim();
    let body = json!({
        "url": f.url.trim(), "events": events,
        "description": (!description.is_empty()).then_some(description),
        "allow_http": f.allow_http.is_some(),
        "allow_private_network": f.allow_private_network.is_some(),
    });
    let create = match serde_json::from_value::<crate::webhooks::CreateWebhook>(body) {
        Ok(c) => c,
        Err(e) => return render(&st, &op, Some(&e.to_string())).await,
    };
    let made = crate::webhooks::create(
        State(st.clone()),
        super::keys::verified(&op),
        Ok(Json(create)),
    )
    .await;
    match made {
        Ok((_, Json(made))) => super::keys::secret_page(
            &op,
            Nav::Webhooks,
            "Subscribed",
            &format!("Signing secret for {}", text(&made.subscription["url"])),
            &made.secret,
            ("/ui/webhooks", "Done: show the webhooks"),
        ),
        Err(p) => render(&st, &op, Some(p.detail())).await,
    }
}

pub(crate) async fn act(
    State(st): State<AppState>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    act_on(st, session, &id, &action, f).await
}

/// The confirmed removal (its route is the confirmation page's, posted).
pub(crate) async fn remove(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    act_on(st, session, &id, "remove", f).await
}

async fn act_on(st: AppState, session: Session, id: &str, action: &str, f: CsrfForm) -> Response {
    let op = match acting(&st, &session, &f.csrf, "webhooks:write", "change webhooks").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let (s, key) = (State(st.clone()), super::keys::verified(&op));
    let done = match action {
        "enable" => crate::webhooks::enable(s, key, id_path(id))
            .await
            .map(|_| ()),
        "disable" => crate::webhooks::disable(s, key, id_path(id))
            .await
            .map(|_| ()),
        "remove" => crate::webhooks::remove(s, key, id_path(id))
            .await
            .map(|_| ()),
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(()) => Redirect::to("/ui/webhooks").into_response(),
        Err(p) => render(&st, &op, Some(p.detail())).await,
    }
}

pub(crate) async fn confirm_remove(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let op = match viewing(&st, &session, "webhooks:write", "change webhooks").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let got =
        crate::webhooks::get(State(st.clone()), super::keys::verified(&op), id_path(&id)).await;
    let sub = match got {
        Ok(Json(s)) => s,
        Err(p) => return error_page(p.status(), p.detail()),
    };
    let body = html! {
        div.panel.login {
            h1 { "Remove this subscription?" }
            p.mono { (text(&sub["url"])) }
            p { "It gets no more events, and its deliveries are deleted." }
            form method="post" action={"/ui/webhooks/" (text(&sub["id"])) "/remove"} {
                input type="hidden" name="csrf" value=(op.csrf);
                div.actions {
                    button.btn.danger type="submit" { "Remove" }
                    a.btn href="/ui/webhooks" { "Cancel" }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page("Remove subscription", Some(&op), Nav::Webhooks, body),
    )
}
