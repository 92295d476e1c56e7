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
async fn csrf(session: &Session) -> Result<String, Response> {
    if let Some(t) = session.get::<String>(CSRF).await.map_err(failed)? {
        return Ok(t);
    }
    let t = random();
    session.insert(CSRF, &t).await.map_err(failed)?;
    Ok(t)
}

/// The key of sign-in form tokens: random per process, never stored.
fn login_key() -> &'static [u8; 32] {
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("the OS random source works");
        k
    })
}

/// How long a sign-in form stays good.
const LOGIN_FORM_SECS: i64 = 3600;

fn login_mac(at: i64) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(login_key()).expect("any key length");
    mac.update(b"apikey dashboard sign-in ");
    mac.update(&at.to_be_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sign-in form's CSRF token: a time and its MAC, so showing the form stores nothing (an
/// unauthenticated visitor cannot fill the session store by asking for forms).
pub(crate) fn login_token() -> String {
    let at = chrono::Utc::now().timestamp();
    format!("{at}.{}", login_mac(at))
}

/// Whether a sign-in form's token is one this process made within the hour.
pub(crate) fn login_token_ok(token: &str) -> bool {
    let Some((at, mac)) = token.split_once('.') else {
        return false;
    };
    let Ok(at) = at.parse::<i64>() else {
        return false;
    };
    let age = chrono::Utc::now().timestamp() - at;
    (0..=LOGIN_FORM_SECS).contains(&age)
        && bool::from(login_mac(at).as_bytes().ct_eq(mac.as_bytes()))
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

/// The operator of a page that needs `scope`: signed in, and its admin key holds `scope` (else a
/// 403 saying it may not `what`).
pub(crate) async fn viewing(
    st: &AppState,
    session: &Session,
    scope: &str,
    what: &str,
) -> Result<Operator, Response> {
    let op = operator(st, session).await?;
    if op.can(scope) {
        Ok(op)
    } else {
        Err(super::page::error_page(
            axum::http::StatusCode::FORBIDDEN,
            &format!("This admin key may not {what}."),
        ))
    }
}

/// The operator of a form post that needs `scope`: as [`viewing`], and the form's CSRF token is
/// the session's.
pub(crate) async fn acting(
    st: &AppState,
    session: &Session,
    csrf: &str,
    scope: &str,
    what: &str,
) -> Result<Operator, Response> {
    let op = operator(st, session).await?;
    check_csrf(&op.csrf, csrf)?;
    if op.can(scope) {
        Ok(op)
    } else {
        Err(super::page::error_page(
            axum::http::StatusCode::FORBIDDEN,
            &format!("This admin key may not {what}."),
        ))
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
