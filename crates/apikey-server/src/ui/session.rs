//! Who is signed in: the admin key the operator gave, kept in the server-side session (the
//! browser holds only the session cookie: HttpOnly, SameSite=Strict, Secure off loopback), and
//! checked again on every page so a revoked or expired admin key stops the session at once.
//! Every form carries the session's CSRF token, compared in constant time.

use apikey_axum::Verified;
use apikey_core::{Credential, RequestContext, Scope};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::AppState;

const TOKEN: &str = "admin_token";
const CSRF: &str = "csrf";

/// The signed-in operator: the admin key's verification and the session's CSRF token.
pub(crate) struct Operator {
    pub(crate) key: Verified,
    pub(crate) csrf: String,
}

impl Operator {
    /// Whether the admin key holds `scope` (pages show only what it may do).
    pub(crate) fn can(&self, scope: &str) -> bool {
        Scope::new(scope).is_ok_and(|s| self.key.record().scopes.satisfies(&[s]))
    }

    /// What the header shows: the admin key's name and tenant.
    pub(crate) fn label(&self) -> String {
        let r = self.key.record();
        match r.metadata.as_map().get("tenant").and_then(|t| t.as_str()) {
            Some(t) => format!("{} · tenant {t}", r.name),
            None => format!("{} · every tenant", r.name),
        }
    }
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard session store failed");
    super::page::error_page(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "The dashboard could not read its session; see the service's log.",
    )
}

/// A fresh random token (two UUIDv4: 244 random bits from the OS).
fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The session's CSRF token, made when it has none.
pub(crate) async fn csrf(session: &Session) -> Result<String, Response> {
    if let Some(t) = session.get::<String>(CSRF).await.map_err(failed)? {
        return Ok(t);
    }
    let t = random();
    session.insert(CSRF, &t).await.map_err(failed)?;
    Ok(t)
}

/// Refuses a form whose CSRF token is not the session's.
pub(crate) fn check_csrf(expected: &str, given: &str) -> Result<(), Response> {
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) && !expected.is_empty() {
        Ok(())
    } else {
        Err(super::page::error_page(
            axum::http::StatusCode::FORBIDDEN,
            "This form is stale or did not come from the dashboard. Go back, reload the page and try again.",
        ))
    }
}

/// The operator, or a redirect to the sign-in page (and the session ended when its admin key no
/// longer opens the service).
pub(crate) async fn operator(st: &AppState, session: &Session) -> Result<Operator, Response> {
    let Some(token) = session.get::<String>(TOKEN).await.map_err(failed)? else {
        return Err(Redirect::to("/ui/login").into_response());
    };
    match st
        .admin
        .verifier()
        .verify(Credential::new(&token), &RequestContext::new())
        .await
    {
        Ok(v) => Ok(Operator {
            key: Verified(v),
            csrf: csrf(session).await?,
        }),
        Err(_) => {
            session.flush().await.map_err(failed)?;
            Err(Redirect::to("/ui/login?ended=1").into_response())
        }
    }
}

/// Signs in with `token` if it opens the service: a new session id (no fixation), the token
/// kept server-side, a new CSRF token.
pub(crate) async fn sign_in(
    st: &AppState,
    session: &Session,
    token: &str,
) -> Result<bool, Response> {
    let token = token.trim();
    let ok = st
        .admin
        .verifier()
        .verify(Credential::new(token), &RequestContext::new())
        .await
        .is_ok();
    if ok {
        session.cycle_id().await.map_err(failed)?;
        session.insert(TOKEN, token).await.map_err(failed)?;
        session.insert(CSRF, random()).await.map_err(failed)?;
    }
    Ok(ok)
}

/// Ends the session.
pub(crate) async fn sign_out(session: &Session) -> Result<(), Response> {
    session.flush().await.map_err(failed)
}
