//! The key pages: the list (filters, keyset pages, find by id or alias), a key (its fields,
//! history and the actions its admin key allows, each confirmed), and creation with the token
//! shown once. Each action goes through the API's own handler, so the dashboard cannot do what
//! the admin key could not do over HTTP.

use apikey_axum::Verified;
use axum::Form;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

use super::page::{Nav, notice, page, respond, state, text, when};
use super::session::{Operator, acting, operator, viewing};
use crate::AppState;
use crate::admin::scope_of;
use crate::problem::Problem;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListForm {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    find: String,
    after: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    expires_in_days: String,
}

fn forbidden(what: &str) -> Response {
    super::page::error_page(
        StatusCode::FORBIDDEN,
        &format!("This admin key may not {what}. Ask for a key with keys:write."),
    )
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

pub(crate) fn verified(op: &Operator) -> Verified {
    Verified(op.key.0.clone())
}

pub(crate) async fn list(
    State(st): State<AppState>,
    session: Session,
    Query(f): Query<ListForm>,
) -> Response {
    let op = match viewing(&st, &session, "keys:read", "read keys").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    if let Some(find) = some(&f.find) {
        let scope = match scope_of(&op.key) {
            Ok(s) => s,
            Err(p) => return super::page::error_page(p.status(), p.detail()),
        };
        return match st.keys.manager().resolve(&scope, &find).await {
            Ok(r) if !crate::keys::is_admin(&r) => {
                Redirect::to(&format!("/ui/keys/{}", r.id)).into_response()
            }
            _ => render_list(
                &op,
                &f,
                &[],
                None,
                Some(&format!("No key with the id or alias {find:?}.")),
            ),
        };
    }
    let q = crate::keys::ListQuery {
        owner: some(&f.owner),
        group: some(&f.group),
        limit: Some(25),
        after: f.after.clone().filter(|a| !a.is_empty()),
    };
    match crate::keys::list(State(st), verified(&op), Ok(Query(q))).await {
        Ok(Json(page)) => render_list(&op, &f, &page.items, page.next.as_deref(), None),
        Err(p) => render_list(&op, &f, &[], None, Some(p.detail())),
    }
}

fn render_list(
    op: &Operator,
    f: &ListForm,
    items: &[Value],
    next: Option<&str>,
    error: Option<&str>,
) -> Response {
    let next_link = next.map(|n| {
        let mut q = vec![("after", n.to_owned())];
        if let Some(o) = some(&f.owner) {
            q.push(("owner", o));
        }
        if let Some(g) = some(&f.group) {
            q.push(("group", g));
        }
        let enc: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        format!("/ui/keys?{}", enc.join("&"))
    });
    let body = html! {
        div.spread {
            div {
                h1 { "Keys" }
                p.sub { "Every key this admin key may see, oldest first." }
            }
            @if op.can("keys:write") {
                a.btn.primary href="/ui/keys/new" { "New key" }
            }
        }
        form.panel method="get" action="/ui/keys" role="search" {
            div.row {
                div.field { label for="find" { "Find by id or alias" } input id="find" name="find" type="text" value=(f.find); }
                div.field { label for="owner" { "Owner" } input id="owner" name="owner" type="text" value=(f.owner); }
                div.field { label for="group" { "Group" } input id="group" name="group" type="text" value=(f.group); }
                div.field { button.btn type="submit" { "Filter" } }
            }
        }
        @if let Some(e) = error { div.notice.error role="alert" { (e) } }
        div.panel {
            @if items.is_empty() {
                p.empty { "No keys here yet." @if op.can("keys:write") { " " a href="/ui/keys/new" { "Create one." } } }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "State" } th { "Owner" } th { "Group" } th { "Scopes" } th { "Created" } th { "Last used" } } }
                    tbody {
                        @for k in items {
                            tr {
                                td { a href={"/ui/keys/" (text(&k["id"]))} { (text(&k["name"])) } div.mono.hint { (text(&k["id"])) } }
                                td { (state(&k["state"])) }
                                td { (text(&k["owner"])) }
                                td { (text(&k["group"])) }
                                td { (chips_of(&k["scopes"])) }
                                td { (when(&k["created_at"])) }
                                td { (when(&k["last_used_at"])) }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = next_link {
                div.pager { a.btn href=(href) { "Next page" } }
            }
        }
    };
    respond(StatusCode::OK, page("Keys", Some(op), Nav::Keys, body))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn chips_of(v: &Value) -> Markup {
    html! {
        div.chips {
            @for s in v.as_array().into_iter().flatten() {
                span.chip { (text(s)) }
            }
        }
    }
}

fn new_form(op: &Operator, error: Option<&Problem>) -> Response {
    let body = html! {
        h1 { "New key" }
        p.sub { "Its token is shown once, on the next page." }
        @if let Some(p) = error { (notice(p)) }
        form.panel method="post" action="/ui/keys" {
            input type="hidden" name="csrf" value=(op.csrf);
            div.field { label for="name" { "Name" } input id="name" name="name" type="text" required maxlength="200"; }
            div.field {
                label for="scopes" { "Scopes" }
                input id="scopes" name="scopes" type="text" placeholder="projects:read, projects:write";
                div.hint { "resource:action, separated by commas or spaces." }
            }
            div.row {
                div.field { label for="owner" { "Owner" } input id="owner" name="owner" type="text"; }
                div.field { label for="group" { "Group" } input id="group" name="group" type="text"; }
                div.field { label for="expires_in_days" { "Expires in (days)" } input id="expires_in_days" name="expires_in_days" type="number" min="1" max="3650"; }
            }
            div.field { label for="description" { "Description" } textarea id="description" name="description" {} }
            div.actions {
                button.btn.primary type="submit" { "Create key" }
                a.btn href="/ui/keys" { "Cancel" }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(status, page("New key", Some(op), Nav::Keys, body))
}

pub(crate) async fn new(State(st): State<AppState>, session: Session) -> Response {
    match operator(&st, &session).await {
        Ok(op) if op.can("keys:write") => new_form(&op, None),
        Ok(_) => forbidden("create keys"),
        Err(r) => r,
    }
}

/// The token shown once, with a copy button.
pub(crate) fn token_page(op: &Operator, title: &str, key: &Value, token: &str) -> Response {
    let label = format!("Token for {}", text(&key["name"]));
    let done = format!("/ui/keys/{}", text(&key["id"]));
    secret_page(
        op,
        Nav::Keys,
        title,
        &label,
        token,
        (&done, "Done: show the key"),
    )
}

/// A secret shown once (a token, a webhook's signing secret), with a copy button.
pub(crate) fn secret_page(
    op: &Operator,
    nav: Nav,
    title: &str,
    label: &str,
    secret: &str,
    done: (&str, &str),
) -> Response {
    let body = html! {
        h1 { (title) }
        div.notice.warn role="status" { "Copy it now: it is shown only once and cannot be recovered." }
        div.panel {
            label for="token" { (label) }
            div.token {
                input id="token" type="text" readonly value=(secret);
                button.btn.primary type="button" data-copy="token" data-status="copy-status" { "Copy" }
            }
            p id="copy-status" role="status" aria-live="polite" {}
            p { a.btn href=(done.0) { (done.1) } }
        }
    };
    respond(StatusCode::CREATED, page(title, Some(op), nav, body))
}

pub(crate) async fn create(
    State(st): State<AppState>,
    session: Session,
    Form(f): Form<CreateForm>,
) -> Response {
    let op = match acting(&st, &session, &f.csrf, "keys:write", "create keys").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let expires_at = match some(&f.expires_in_days).map(|d| d.parse::<i64>()) {
        None => None,
        Some(Ok(d)) if (1..=3650).contains(&d) => {
            Some(chrono::Utc::now() + chrono::Duration::days(d))
        }
        Some(_) => {
            return new_form(
                &op,
                Some(&Problem::bad_request(
                    "Expires in: a whole number of days, 1 to 3650.",
                )),
            );
        }
    };
    let scopes: Vec<&str> = f
        .scopes
        .split([',', ' ', '\n'])
        .filter(|s| !s.trim().is_empty())
        .map(str::trim)
        .collect();
    let body = json!({
        "name": f.name.trim(), "scopes": scopes, "owner": some(&f.owner), "group": some(&f.group),
        "description": some(&f.description), "expires_at": expires_at,
    });
    let create = match serde_json::from_value::<crate::keys::CreateKey>(body) {
        Ok(c) => c,
        Err(e) => return new_form(&op, Some(&Problem::bad_request(e.to_string()))),
    };
    match crate::keys::create(State(st), verified(&op), Ok(Json(create))).await {
        Ok((_, Json(created))) => token_page(&op, "Key created", &created.key, &created.token),
        Err(p) => new_form(&op, Some(&p)),
    }
}
