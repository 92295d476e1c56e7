//! The dashboard at `/ui`: server-rendered pages for operators, over the same handlers as the
//! API. Sign in with an admin key (kept in a server-side session; the browser holds an HttpOnly,
//! SameSite=Strict cookie, Secure unless the service listens on loopback), every form carries a
//! CSRF token, and each page shows only what the admin key's scopes allow. Without JavaScript
//! everything works; with it, a token shown once gets a copy button.
//!
//! Sessions live in this instance's memory (`tower-sessions`' memory store): behind a load
//! balancer, keep a dashboard user on one instance.

// A page is the error path of every handler here; boxing it would buy nothing on a page load.
#![allow(
    clippy::result_large_err,
    reason = "handlers answer a whole page on their error path"
)]

mod audit;
mod edit;
mod key;
mod keys;
mod login;
mod page;
mod programme;
mod session;
mod usage;
mod webhooks;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, MemoryStore, SessionManagerLayer};

use crate::AppState;

/// How long a session lasts without a request.
const IDLE: Duration = Duration::hours(8);

/// The dashboard's routes; `secure` sets the cookie's Secure attribute (off only for loopback,
/// where browsers accept it without TLS).
pub(crate) fn router(state: AppState, secure: bool) -> Router {
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name("apikey_ui")
        .with_path("/ui")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(IDLE));
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/keys") }))
        .route("/ui/login", get(login::show).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/keys", get(keys::list).post(keys::create))
        .route("/ui/keys/new", get(keys::new))
        .route("/ui/keys/{id}", get(key::show))
        .route("/ui/keys/{id}/confirm", get(key::confirm))
        .route("/ui/keys/{id}/edit", get(edit::show).post(edit::save))
        .route("/ui/keys/{id}/{action}", post(key::act))
        .route("/ui/programme", get(programme::show))
        .route("/ui/audit", get(audit::show))
        .route(
            "/ui/webhooks",
            get(webhooks::show).post(webhooks::subscribe),
        )
        .route(
            "/ui/webhooks/{id}/remove",
            get(webhooks::confirm_remove).post(webhooks::remove),
        )
        .route("/ui/webhooks/{id}/{action}", post(webhooks::act))
        .route("/ui/assets/style.css", get(page::style))
        .route("/ui/assets/copy.js", get(page::script))
        .layer(sessions)
        .with_state(state)
}
