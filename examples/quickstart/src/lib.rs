//! The quick start's routes and their OpenAPI document, shared by the binary and its tests.
//!
//! Every route is declared with the scopes it needs (or `public`) through
//! `apikey_axum::routes::Routes`; `tests/routes.rs` is the one-line test that fails when a route
//! is not, and the OpenAPI document served at `/openapi.json` takes each operation's `security`
//! from the same declarations (`apikey_openapi::secure`), kept current by the snapshot in
//! `openapi.json` (`tests/openapi.rs`).

use std::sync::Arc;

use apikey_axum::routes::{Routes, public, scopes};
use apikey_axum::{ApiKeyLayer, Verified};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use utoipa::OpenApi;

/// Lists the projects the key may see.
#[utoipa::path(get, path = "/projects", responses(
    (status = 200, description = "The projects visible to the key", body = String),
    (status = 401, description = "No valid key (problem+json)"),
    (status = 403, description = "The key lacks projects:read (problem+json)"),
))]
async fn list(key: Verified) -> String {
    format!("projects visible to {}\n", key.record().name)
}

/// Creates a project.
#[utoipa::path(post, path = "/projects", responses(
    (status = 200, description = "Created", body = String),
    (status = 401, description = "No valid key (problem+json)"),
    (status = 403, description = "The key lacks projects:write (problem+json)"),
))]
async fn create(key: Verified) -> String {
    format!("project created by {}\n", key.record().name)
}

/// Open to everyone.
#[utoipa::path(get, path = "/open", responses((status = 200, description = "Always", body = String)))]
async fn open() -> &'static str {
    "open to everyone\n"
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses(
    (status = 200, description = "The OpenAPI document", content_type = "application/json"),
))]
async fn openapi_json(
    State(doc): State<Arc<str>>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    ([(CONTENT_TYPE, "application/json")], doc.to_string())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "apikey quick start",
        description = "The quick-start service of apikey"
    ),
    paths(list, create, open, openapi_json)
)]
struct ApiDoc;

/// The quick start's routes, each with what it requires, behind `layer`.
pub fn routes(layer: ApiKeyLayer) -> Routes<Arc<str>> {
    Routes::new(layer)
        .get("/projects", list, scopes(["projects:read"]))
        .post("/projects", create, scopes(["projects:write"]))
        .get("/open", open, public())
        .get("/openapi.json", openapi_json, public())
}

/// The OpenAPI document of `routes`, with the security schemes of its guard and each
/// operation's scopes.
///
/// # Errors
///
/// If the document and the routes disagree (an operation the routes do not have, a route
/// without a declaration).
pub fn openapi(
    routes: &Routes<Arc<str>>,
) -> Result<utoipa::openapi::OpenApi, apikey_openapi::SecureError> {
    let mut doc = ApiDoc::openapi();
    apikey_openapi::secure(&mut doc, routes.table())?;
    Ok(doc)
}
