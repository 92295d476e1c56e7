//! The service's routes, each with what it requires, shared by the binary and its tests
//! (`tests/routes.rs` fails when a route is not declared).

use apikey_actix::routes::{Routes, public, scopes};
use apikey_actix::{ApiKeyAuth, Verified};

async fn list(key: Verified) -> String {
    format!("projects visible to {}\n", key.record().name)
}

async fn create(key: Verified) -> String {
    format!("project created by {}\n", key.record().name)
}

async fn open() -> &'static str {
    "open to everyone\n"
}

/// `GET /projects` (`projects:read`), `POST /projects` (`projects:write`) behind `auth`, and
/// `GET /open` for everyone.
pub fn routes(auth: ApiKeyAuth) -> Routes {
    Routes::new(auth)
        .get("/open", open, public())
        .get("/projects", list, scopes(["projects:read"]))
        .post("/projects", create, scopes(["projects:write"]))
}
