//! The page shell (header, navigation, sign-out form) and the pages every route shares: errors
//! and the static assets. Rendered with `maud`, which escapes every interpolated value.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::session::Operator;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("copy.js");

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Keys,
    Programme,
    Audit,
    Webhooks,
    None,
}

/// A whole page.
pub(crate) fn page(title: &str, op: Option<&Operator>, nav: Nav, body: Markup) -> Markup {
    let current = |n: Nav| (nav == n).then_some("page");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · apikey" }
                link rel="stylesheet" href="/ui/assets/style.css";
            }
            body {
                header.top {
                    div.bar {
                        a.brand href="/ui/keys" { "apikey" }
                        @if let Some(op) = op {
                            nav aria-label="Main" {
                                a href="/ui/keys" aria-current=[current(Nav::Keys)] { "Keys" }
                                @if op.can("keys:read") {
                                    a href="/ui/programme" aria-current=[current(Nav::Programme)] { "Programme" }
                                }
                                @if op.can("audit:read") {
                                    a href="/ui/audit" aria-current=[current(Nav::Audit)] { "Audit log" }
                                }
                                @if op.can("webhooks:read") {
                                    a href="/ui/webhooks" aria-current=[current(Nav::Webhooks)] { "Webhooks" }
                                }
                            }
                            div.who {
                                span { (op.label()) }
                                form method="post" action="/ui/logout" {
                                    input type="hidden" name="csrf" value=(op.csrf);
                                    button.btn.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main id="main" { (PreEscaped(body.into_string())) }
                script src="/ui/assets/copy.js" defer {}
            }
        }
    }
}

/// A page answer with the headers every dashboard page carries: nothing cached (a page may show a
/// token once), no framing, no inline script, no referrer.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(markup.into_string()),
    )
        .into_response()
}

/// An error page that says what to do.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    respond(
        status,
        page(
            title,
            None,
            Nav::None,
            html! {
                div.panel.login {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/ui/keys" { "Back to the keys" } }
                }
            },
        ),
    )
}

/// A problem from the API's handlers, as a notice on the page it came from.
pub(crate) fn notice(p: &crate::problem::Problem) -> Markup {
    html! { div.notice.error role="alert" { (p.detail()) } }
}

pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

pub(crate) async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

/// `2026-12-05 18:40` from an RFC 3339 instant in a view (UTC).
pub(crate) fn when(v: &serde_json::Value) -> String {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || "—".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// A field of a view as text, `—` when absent.
pub(crate) fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A key's state as a badge.
pub(crate) fn state(v: &serde_json::Value) -> Markup {
    let s = v.as_str().unwrap_or("unknown");
    html! { span class={"badge " (s)} { (s) } }
}
