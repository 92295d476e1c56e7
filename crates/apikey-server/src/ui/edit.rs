//! Editing a key's name, description, owner, group and scopes: one audited version through the
//! API's `PATCH` handler (a cleared field is removed).

use axum::Form;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

use super::page::{Nav, error_page, notice, page, respond, text};
use super::session::{Operator, acting, viewing};
use crate::AppState;
use crate::problem::Problem;

#[derive(Deserialize)]
pub(crate) struct EditForm {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    scopes: String,
}

fn form(op: &Operator, k: &Value, error: Option<&Problem>) -> Response {
    let value = |f: &str| k[f].as_str().unwrap_or_default().to_owned();
    let scopes: Vec<String> = k["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let id = text(&k["id"]);
    let body = html! {
        h1 { "Edit " (text(&k["name"])) }
        p.sub { "Saved as a new version; the history keeps the old one." }
        @if let Some(p) = error { (notice(p)) }
        form.panel method="post" action={"/ui/keys/" (id) "/edit"} {
            input type="hidden" name="csrf" value=(op.csrf);
            div.field { label for="name" { "Name" } input id="name" name="name" type="text" required maxlength="200" value=(value("name")); }
            div.field {
                label for="scopes" { "Scopes" }
                input id="scopes" name="scopes" type="text" value=(scopes.join(", "));
                div.hint { "resource:action, separated by commas or spaces." }
            }
            div.row {
                div.field { label for="owner" { "Owner" } input id="owner" name="owner" type="text" value=(value("owner")); }
                div.field { label for="group" { "Group" } input id="group" name="group" type="text" value=(value("group")); }
            }
            div.field { label for="description" { "Description" } textarea id="description" name="description" { (value("description")) } }
            div.actions {
                button.btn.primary type="submit" { "Save" }
                a.btn href={"/ui/keys/" (id)} { "Cancel" }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(status, page("Edit key", Some(op), Nav::Keys, body))
}

async fn load(st: &AppState, op: &Operator, id: &str) -> Result<Value, Response> {
    crate::keys::get(
        State(st.clone()),
        super::keys::verified(op),
        Ok(Path(id.to_owned())),
    )
    .await
    .map(|Json(v)| v)
    .map_err(|p| error_page(p.status(), p.detail()))
}

pub(crate) async fn show(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let op = match viewing(&st, &session, "keys:write", "change keys").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    match load(&st, &op, &id).await {
        Ok(k) => form(&op, &k, None),
        Err(r) => r,
    }
}

pub(crate) async fn save(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Response {
    let op = match acting(&st, &session, &f.csrf, "keys:write", "change keys").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let cleared = |s: &str| {
        let s = s.trim();
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s.to_owned())
        }
    };
    let scopes: Vec<&str> = f
        .scopes
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let patch = json!({
        "name": f.name.trim(), "description": cleared(&f.description), "owner": cleared(&f.owner),
        "group": cleared(&f.group), "scopes": scopes,
    });
    let update = match serde_json::from_value::<crate::update::UpdateKey>(patch) {
        Ok(u) => u,
        Err(e) => {
            return match load(&st, &op, &id).await {
                Ok(k) => form(&op, &k, Some(&Problem::bad_request(e.to_string()))),
                Err(r) => r,
            };
        }
    };
    let done = crate::update::update(
        State(st.clone()),
        super::keys::verified(&op),
        Ok(Path(id.clone())),
        Ok(Json(update)),
    )
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/ui/keys/{id}")).into_response(),
        Err(p) => match load(&st, &op, &id).await {
            Ok(k) => form(&op, &k, Some(&p)),
            Err(r) => r,
        },
    }
}
