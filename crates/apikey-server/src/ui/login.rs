//! Signing in with an admin key and out again.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use super::page::{Nav, page, respond};
use super::session::{check_csrf, login_token, login_token_ok, operator, sign_in, sign_out};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Ended {
    ended: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    token: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

fn form(csrf: &str, error: Option<&str>, ended: bool) -> maud::Markup {
    page(
        "Sign in",
        None,
        Nav::None,
        html! {
            div.panel.login {
                h1 { "Sign in" }
                p.sub { "Use an admin key of this service (apikey serve --init prints the first one)." }
                @if ended {
                    div.notice.warn role="status" { "Your session ended: its admin key no longer opens the service." }
                }
                @if let Some(e) = error {
                    div.notice.error role="alert" { (e) }
                }
                form method="post" action="/ui/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field {
                        label for="token" { "Admin key" }
                        input id="token" name="token" type="password" autocomplete="off" required autofocus;
                        div.hint { "Kept on the server for this session; your browser keeps only a session cookie." }
                    }
                    button.btn.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

pub(crate) async fn show(Query(q): Query<Ended>) -> Response {
    respond(
        StatusCode::OK,
        form(&login_token(), None, q.ended.is_some()),
    )
}

pub(crate) async fn submit(
    State(st): State<AppState>,
    session: Session,
    Form(f): Form<SignIn>,
) -> Response {
    if !login_token_ok(&f.csrf) {
        return super::page::error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form is stale or did not come from the dashboard. Reload it and try again.",
        );
    }
    match sign_in(&st, &session, &f.token).await {
        Ok(true) => Redirect::to("/ui/keys").into_response(),
        Ok(false) => respond(
            StatusCode::UNAUTHORIZED,
            form(
                &login_token(),
                Some(
                    "That key does not open this service. Check that it is an admin key and not revoked.",
                ),
                false,
            ),
        ),
        Err(r) => r,
    }
}

pub(crate) async fn logout(
    State(st): State<AppState>,
    session: Session,
    Form(f): Form<CsrfOnly>,
) -> Response {
    // Signed out already: the sign-in page, and nothing written.
    let op = match operator(&st, &session).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&op.csrf, &f.csrf) {
        return r;
    }
    match sign_out(&session).await {
        Ok(()) => Redirect::to("/ui/login").into_response(),
        Err(r) => r,
    }
}
