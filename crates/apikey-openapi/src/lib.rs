//! OpenAPI security for apikey: the security schemes a guard accepts, and each operation's
//! `security` with the scopes its route declares, written into a `utoipa` document.
//!
//! The route table (`apikey_core::routes::RouteTable`, built by `Routes` in apikey-axum and
//! apikey-actix) is the one place a route's scopes are declared; this crate makes the document
//! say the same thing, so the scopes in a client's generated SDK are the ones the server checks.
//!
//! ```
//! use apikey_core::routes::{Access, Route, RouteTable};
//! use utoipa::openapi::{HttpMethod, OpenApiBuilder, PathItem, PathsBuilder};
//! use utoipa::openapi::path::Operation;
//!
//! let mut doc = OpenApiBuilder::new()
//!     .paths(PathsBuilder::new().path("/projects", PathItem::new(HttpMethod::Get, Operation::new())))
//!     .build();
//! let table: RouteTable =
//!     [Route::declared("GET", "/projects", Access::scopes(["projects:read"])?)].into_iter().collect();
//! apikey_openapi::secure(&mut doc, &table)?;
//! let json = serde_json::to_value(&doc).unwrap();
//! assert_eq!(json["paths"]["/projects"]["get"]["security"][0]["apiKeyHeader"][0], "projects:read");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it writes
//!
//! - `components.securitySchemes`: one scheme per credential source the guard reads —
//!   [`HEADER_SCHEME`] (API key in its header, `x-api-key` by default), [`BEARER_SCHEME`] (HTTP
//!   bearer), and [`QUERY_SCHEME`] / [`COOKIE_SCHEME`] when those are on.
//! - Each operation's `security`: for a scoped route, one requirement per scheme (any one of them
//!   is enough) listing the route's scopes — OpenAPI 3.1 lets non-OAuth schemes carry role names,
//!   which is what scopes are here; for a public route, `[]` (no security, overriding any
//!   document-wide requirement); a denied route gets the schemes with no scopes and
//!   `x-apikey-denied: true`.
//!
//! # Why utoipa
//!
//! It is the OpenAPI crate axum and actix-web users already derive their documents with, so the
//! document this crate edits is the one they have. (Its default `macros` feature stays on:
//! utoipa 5.5's model does not build without it.)

use std::collections::BTreeMap;

use apikey_core::http::CredentialConfig;
use apikey_core::routes::{Access, Route, RouteTable};
use utoipa::openapi::OpenApi;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};

/// The security scheme of the dedicated header.
pub const HEADER_SCHEME: &str = "apiKeyHeader";
/// The security scheme of `Authorization: Bearer`.
pub const BEARER_SCHEME: &str = "bearer";
/// The security scheme of the query parameter, when the guard reads one.
pub const QUERY_SCHEME: &str = "apiKeyQuery";
/// The security scheme of the cookie, when the guard reads one.
pub const COOKIE_SCHEME: &str = "apiKeyCookie";

/// What [`secure`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Secured {
    /// Operations whose `security` was written.
    pub operations: usize,
    /// Routes of the table the document does not describe (an undocumented route is allowed;
    /// listed so a caller can insist).
    pub undocumented: Vec<Route>,
}

/// Why a document could not be secured; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecureError {
    /// The document describes operations the route table has no route for (often a path written
    /// differently in the two), so their security would be a guess.
    #[error("the document describes operations the route table does not have: {}", .0.join(", "))]
    NotInTable(Vec<String>),
    /// Routes of the table declare nothing (see `RouteTable::check`).
    #[error(transparent)]
    Undeclared(#[from] apikey_core::routes::UndeclaredRoutes),
}

/// Writes the security schemes of `table`'s guard into `doc` and each operation's `security`
/// from the route it documents.
///
/// # Errors
///
/// [`SecureError`] (and `doc` is left as it was) when a route is undeclared or the document has an
/// operation the table does not.
pub fn secure(doc: &mut OpenApi, table: &RouteTable) -> Result<Secured, SecureError> {
    table.check()?;
    let default = CredentialConfig::default();
    let credentials = table.credentials().unwrap_or(&default);
    let schemes = schemes(credentials);

    // Everything is decided before anything is written, so an error leaves the document as it was.
    let mut unknown = Vec::new();
    let mut plan: Vec<(String, &'static str, &Access)> = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, present) in operations(item) {
            if !present {
                continue;
            }
            match table.access(method, path) {
                Some(access) => plan.push((path.clone(), method, access)),
                None => unknown.push(format!("{method} {path}")),
            }
        }
    }
    if !unknown.is_empty() {
        return Err(SecureError::NotInTable(unknown));
    }

    let components = doc.components.get_or_insert_with(Default::default);
    for (name, scheme) in &schemes {
        components.add_security_scheme(*name, scheme.clone());
    }
    let names: Vec<&str> = schemes.iter().map(|(n, _)| *n).collect();
    let mut secured = Secured::default();
    for (path, method, access) in &plan {
        let Some(item) = doc.paths.paths.get_mut(path) else {
            continue;
        };
        if let Some(op) = operation_mut(item, method) {
            write_security(op, access, &names);
            secured.operations += 1;
        }
    }
    secured.undocumented = table
        .iter()
        .filter(|r| !documented(doc, r))
        .cloned()
        .collect();
    Ok(secured)
}

fn schemes(c: &CredentialConfig) -> Vec<(&'static str, SecurityScheme)> {
    let mut out = Vec::new();
    if let Some(h) = &c.header {
        out.push((
            HEADER_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(h.as_str()))),
        ));
    }
    if c.bearer {
        out.push((
            BEARER_SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        ));
    }
    if let Some(q) = &c.query {
        out.push((
            QUERY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new(q.as_str()))),
        ));
    }
    if let Some(k) = &c.cookie {
        out.push((
            COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(k.as_str()))),
        ));
    }
    out
}

fn write_security(op: &mut Operation, access: &Access, schemes: &[&str]) {
    match access {
        Access::Public => op.security = Some(Vec::new()),
        Access::Denied => {
            op.security = Some(requirements(schemes, &[]));
            let ext = ExtensionsBuilder::new()
                .add("x-apikey-denied", serde_json::Value::Bool(true))
                .build();
            match &mut op.extensions {
                Some(e) => e.merge(ext),
                None => op.extensions = Some(ext),
            }
        }
        other => {
            let scopes: Vec<&str> = other.required().iter().map(|s| s.as_str()).collect();
            op.security = Some(requirements(schemes, &scopes));
        }
    }
}

/// One requirement per scheme: OpenAPI reads a list of requirements as alternatives.
fn requirements(schemes: &[&str], scopes: &[&str]) -> Vec<SecurityRequirement> {
    schemes
        .iter()
        .map(|name| SecurityRequirement::new(*name, scopes.iter().copied()))
        .collect()
}

fn operations(item: &utoipa::openapi::PathItem) -> [(&'static str, bool); 8] {
    [
        ("GET", item.get.is_some()),
        ("PUT", item.put.is_some()),
        ("POST", item.post.is_some()),
        ("DELETE", item.delete.is_some()),
        ("OPTIONS", item.options.is_some()),
        ("HEAD", item.head.is_some()),
        ("PATCH", item.patch.is_some()),
        ("TRACE", item.trace.is_some()),
    ]
}

fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &str,
) -> Option<&'a mut Operation> {
    match method {
        "GET" => item.get.as_mut(),
        "PUT" => item.put.as_mut(),
        "POST" => item.post.as_mut(),
        "DELETE" => item.delete.as_mut(),
        "OPTIONS" => item.options.as_mut(),
        "HEAD" => item.head.as_mut(),
        "PATCH" => item.patch.as_mut(),
        "TRACE" => item.trace.as_mut(),
        _ => None,
    }
}

fn documented(doc: &OpenApi, route: &Route) -> bool {
    let Some(item) = doc.paths.paths.get(route.path.as_ref()) else {
        return false;
    };
    let ops: BTreeMap<&str, bool> = operations(item).into_iter().collect();
    if route.method.as_ref() == "*" {
        ops.values().any(|p| *p)
    } else {
        ops.get(route.method.as_ref()).copied().unwrap_or(false)
    }
}
