//! One key: its fields, its history, and the actions its state and the admin key allow —
//! revoke, suspend, unsuspend, rotate — each behind a confirmation page with a reason.

use axum::Form;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;
use tower_sessions::Session;

use super::keys::token_page;
use super::page::{Nav, error_page, page, respond, state, text, when};
use super::session::{Operator, check_csrf, operator, viewing};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConfirmQuery {
    #[serde(default)]
    action: String,
}

/// What can be done to a key, and how the page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Revoke,
    Suspend,
    Unsuspend,
    Rotate,
    Restore,
    Approve,
    Reject,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "revoke" => Some(Self::Revoke),
            "suspend" => Some(Self::Suspend),
            "unsuspend" => Some(Self::Unsuspend),
            "rotate" => Some(Self::Rotate),
            "restore" => Some(Self::Restore),
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Suspend => "suspend",
            Self::Unsuspend => "unsuspend",
            Self::Rotate => "rotate",
            Self::Restore => "restore",
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Revoke => "Revoke",
            Self::Suspend => "Suspend",
            Self::Unsuspend => "Unsuspend",
            Self::Rotate => "Rotate",
            Self::Restore => "Restore",
            Self::Approve => "Approve",
            Self::Reject => "Reject",
        }
    }

    fn warning(self) -> &'static str {
        match self {
            Self::Revoke => {
                "A revoked key stops working at once, everywhere. It can be restored later by an operator, but callers will fail until then."
            }
            Self::Suspend => "A suspended key is refused until it is unsuspended.",
            Self::Unsuspend => "The key works again at once.",
            Self::Rotate => {
                "A new key with the same settings and a new token replaces this one, which stops working at once."
            }
            Self::Restore => "The revoked key works again with its old token, at once.",
            Self::Approve => "The pending key starts working at once.",
            Self::Reject => "The pending key is refused for good (revoked).",
        }
    }

    /// The actions a key in `state` allows.
    fn allowed(state: &str) -> &'static [Self] {
        match state {
            "active" => &[Self::Rotate, Self::Suspend, Self::Revoke],
            "suspended" => &[Self::Unsuspend, Self::Revoke],
            "pending" => &[Self::Approve, Self::Reject],
            "revoked" => &[Self::Restore],
            _ => &[],
        }
    }
}

fn id_path(id: &str) -> Result<Path<String>, axum::extract::rejection::PathRejection> {
    Ok(Path(id.to_owned()))
}

async fn load(st: &AppState, op: &Operator, id: &str) -> Result<Value, Response> {
    match crate::keys::get(State(st.clone()), super::keys::verified(op), id_path(id)).await {
        Ok(Json(v)) => Ok(v),
        Err(p) => Err(error_page(p.status(), p.detail())),
    }
}

pub(crate) async fn show(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let op = match viewing(&st, &session, "keys:read", "read keys").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let k = match load(&st, &op, &id).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let history =
        crate::history::history(State(st.clone()), super::keys::verified(&op), id_path(&id))
            .await
            .map(|Json(h)| h.items)
            .unwrap_or_default();
    let actions = if op.can("keys:write") {
        Action::allowed(k["state"].as_str().unwrap_or_default())
    } else {
        &[]
    };
    let rate = |v: &Value| match (v["requests"].as_u64(), v["per_ms"].as_u64()) {
        (Some(n), Some(ms)) => format!(
            "{n} per {} s (burst {})",
            ms as f64 / 1000.0,
            text(&v["burst"])
        ),
        _ => "none".to_owned(),
    };
    let quota = |v: &Value| match v["limit"].as_u64() {
        Some(n) => format!("{n} per {}", text(&v["period"])),
        None => "none".to_owned(),
    };
    let usage = super::usage::chart(&st, &op, &id).await;
    let changed = changes(&history);
    let body = html! {
        div.spread {
            div {
                h1 { (text(&k["name"])) " " (state(&k["state"])) }
                p.sub.mono { (text(&k["id"])) }
            }
            @if !actions.is_empty() {
                div.actions {
                    a.btn href={"/ui/keys/" (text(&k["id"])) "/edit"} { "Edit" }
                    @for a in actions {
                        a class={"btn" @if matches!(*a, Action::Revoke | Action::Reject) { " danger" }}
                          href={"/ui/keys/" (text(&k["id"])) "/confirm?action=" (a.as_str())} { (a.label()) }
                    }
                }
            }
        }
        div.panel {
            h2 { "Settings" }
            dl.facts {
                dt { "Scopes" } dd { (super::keys::chips_of(&k["scopes"])) }
                dt { "Owner" } dd { (text(&k["owner"])) }
                dt { "Group" } dd { (text(&k["group"])) }
                dt { "Tenant" } dd { (text(&k["tenant_id"])) }
                dt { "Description" } dd { (text(&k["description"])) }
                dt { "Rate limit" } dd { (rate(&k["rate_limit"])) }
                dt { "Quota" } dd { (quota(&k["quota"])) }
                dt { "Expires" } dd { (when(&k["expires_at"])) }
                dt { "State reason" } dd { (text(&k["state_reason"])) }
                dt { "Created" } dd { (when(&k["created_at"])) " by " (text(&k["created_by"])) }
                dt { "Last used" } dd { (when(&k["last_used_at"])) " (" (text(&k["usage_count"])) " uses)" }
            }
        }
        div.panel {
            h2 { "Usage, last 14 days" }
            (usage)
        }
        div.panel {
            h2 { "History" }
            @if history.is_empty() {
                p.empty { "No recorded changes." }
            } @else {
                table {
                    thead { tr { th { "Version" } th { "Change" } th { "Fields changed" } th { "By" } th { "Reason" } th { "When" } } }
                    tbody {
                        @for (v, fields) in history.iter().zip(&changed).rev() {
                            tr {
                                td { (v.version) }
                                td.mono { (v.event_type) }
                                td { div.chips { @for f in fields { span.chip { (f) } } } }
                                td { (v.actor.as_deref().unwrap_or("—")) }
                                td { (v.reason.as_deref().unwrap_or("—")) }
                                td { (when(&Value::String(v.at.clone()))) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, page("Key", Some(&op), Nav::Keys, body))
}

/// Fields of the public view that are not settings: they change with use, not with an edit.
const BOOKKEEPING: [&str; 5] = [
    "version",
    "updated_at",
    "last_used_at",
    "usage_count",
    "state_changed_at",
];

/// For each version, the fields its change touched (against the version before it).
fn changes(history: &[crate::history::Version]) -> Vec<Vec<String>> {
    let mut previous: Option<&Value> = None;
    history
        .iter()
        .map(|v| {
            let fields = match (previous, v.after.as_ref()) {
                (Some(Value::Object(a)), Some(Value::Object(b))) => {
                    let mut names: Vec<String> = b
                        .iter()
                        .filter(|(f, value)| {
                            !BOOKKEEPING.contains(&f.as_str()) && a.get(f.as_str()) != Some(value)
                        })
                        .map(|(f, _)| f.clone())
                        .collect();
                    names.sort();
                    names
                }
                _ => Vec::new(),
            };
            if v.after.is_some() {
                previous = v.after.as_ref();
            }
            fields
        })
        .collect()
}

pub(crate) async fn confirm(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<ConfirmQuery>,
) -> Response {
    let op = match operator(&st, &session).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let Some(action) = Action::parse(&q.action) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such action.");
    };
    if !op.can("keys:write") {
        return error_page(StatusCode::FORBIDDEN, "This admin key may not change keys.");
    }
    let k = match load(&st, &op, &id).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let body = html! {
        div.panel.login {
            h1 { (action.label()) " " (text(&k["name"])) "?" }
            p { (action.warning()) }
            form method="post" action={"/ui/keys/" (text(&k["id"])) "/" (action.as_str())} {
                input type="hidden" name="csrf" value=(op.csrf);
                div.field {
                    label for="reason" { "Reason (kept in the audit log)" }
                    input id="reason" name="reason" type="text" maxlength="2000";
                }
                div.actions {
                    button type="submit" class={"btn " @if matches!(action, Action::Revoke | Action::Reject) { "danger" } @else { "primary" }} { (action.label()) }
                    a.btn href={"/ui/keys/" (text(&k["id"]))} { "Cancel" }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page(action.label(), Some(&op), Nav::Keys, body),
    )
}

pub(crate) async fn act(
    State(st): State<AppState>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<ActForm>,
) -> Response {
    let op = match operator(&st, &session).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&op.csrf, &f.csrf) {
        return r;
    }
    let Some(action) = Action::parse(&action) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such action.");
    };
    if !op.can("keys:write") {
        return error_page(StatusCode::FORBIDDEN, "This admin key may not change keys.");
    }
    let reason = {
        let r = f.reason.trim();
        (!r.is_empty()).then(|| r.to_owned())
    };
    let key = super::keys::verified(&op);
    let s = State(st.clone());
    let done = match action {
        Action::Rotate => {
            let body = crate::lifecycle::Rotate {
                grace_secs: None,
                reason,
            };
            return match crate::lifecycle::rotate(s, key, id_path(&id), Ok(Json(body))).await {
                Ok((_, Json(r))) => token_page(&op, "Key rotated", &r.key, &r.token),
                Err(p) => error_page(p.status(), p.detail()),
            };
        }
        Action::Revoke => {
            crate::lifecycle::revoke(
                s,
                key,
                id_path(&id),
                Ok(Json(crate::lifecycle::Reason { reason })),
            )
            .await
        }
        Action::Suspend => {
            crate::lifecycle::suspend(
                s,
                key,
                id_path(&id),
                Ok(Json(crate::lifecycle::Reason { reason })),
            )
            .await
        }
        Action::Unsuspend => {
            crate::lifecycle::unsuspend(
                s,
                key,
                id_path(&id),
                Ok(Json(crate::lifecycle::Reason { reason })),
            )
            .await
        }
        Action::Restore => {
            crate::lifecycle::restore(
                s,
                key,
                id_path(&id),
                Ok(Json(crate::lifecycle::Reason { reason })),
            )
            .await
        }
        Action::Approve => {
            crate::lifecycle::approve(
                s,
                key,
                id_path(&id),
                Ok(Json(crate::lifecycle::Reason { reason })),
            )
            .await
        }
        Action::Reject => {
            crate::lifecycle::reject(
                s,
                key,
                id_path(&id),
                Ok(Json(crate::lifecycle::Reason { reason })),
            )
            .await
        }
    };
    match done {
        Ok(_) => Redirect::to(&format!("/ui/keys/{id}")).into_response(),
        Err(p) => error_page(p.status(), p.detail()),
    }
}
