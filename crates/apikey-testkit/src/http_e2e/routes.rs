//! The route contract through an HTTP integration's `Routes` builder, over real HTTP.
//!
//! The integration's test starts a server (a [`RoutesStart`]) built with its `Routes` builder:
//!
//! | route | declared | answers |
//! | --- | --- | --- |
//! | `GET /health` | public | `ok` |
//! | `GET /projects` | `projects:read` | `list` |
//! | `POST /projects` | `projects:write` | `created` |
//! | `GET /projects/{id}` | `projects:read` | the id |
//!
//! with `undeclared = true` adding `GET /legacy` through the builder's escape hatch. [`served`]
//! checks that each route answers as declared (a public route without a key, 401 without one on
//! a scoped route, 403 with the wrong scope) and that the table says the same;
//! [`undeclared_is_named`] checks that the one-line test fails naming the undeclared route.

use std::net::SocketAddr;

use apikey_core::routes::{Access, RouteTable};
use apikey_core::{ApiKeys, NewKey};

use super::Server;
use crate::routes::assert_routes_declared;

/// Starts the routes above (and `GET /legacy` undeclared when asked) behind a guard on the keys'
/// verifier, returning the server and the builder's table.
pub type RoutesStart<'a> = &'a dyn Fn(&ApiKeys, bool) -> (Box<dyn Server>, RouteTable);

async fn token(keys: &ApiKeys, scopes: &[&str]) -> String {
    let created = keys
        .manager()
        .create(
            NewKey::new("routes")
                .scopes(scopes.iter().copied())
                .expect("scopes"),
        )
        .await
        .expect("create");
    created.token.expose().to_owned()
}

async fn status(addr: SocketAddr, method: reqwest::Method, path: &str, token: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().request(method, format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.header("x-api-key", t);
    }
    req.send().await.expect("request").status().as_u16()
}

/// Each route answers as declared, and the table lists every route with its declaration.
pub async fn served(keys: &ApiKeys, start: RoutesStart<'_>) {
    let (server, table) = start(keys, false);
    let addr = server.addr();
    let read = token(keys, &["projects:read"]).await;
    let write = token(keys, &["projects:write"]).await;
    use reqwest::Method as M;
    assert_eq!(status(addr, M::GET, "/health", None).await, 200, "public");
    assert_eq!(status(addr, M::GET, "/projects", None).await, 401);
    assert_eq!(status(addr, M::GET, "/projects", Some(&read)).await, 200);
    assert_eq!(status(addr, M::GET, "/projects", Some(&write)).await, 403);
    assert_eq!(status(addr, M::POST, "/projects", Some(&read)).await, 403);
    assert_eq!(status(addr, M::POST, "/projects", Some(&write)).await, 200);
    assert_eq!(status(addr, M::GET, "/projects/7", None).await, 401);
    assert_eq!(status(addr, M::GET, "/projects/7", Some(&read)).await, 200);

    assert_routes_declared(&table);
    assert_eq!(table.len(), 4, "{table}");
    assert_eq!(table.access("GET", "/health"), Some(&Access::Public));
    let scopes = |m: &str, p: &str| -> Vec<String> {
        table
            .access(m, p)
            .map(|a| a.required().iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    };
    assert_eq!(scopes("GET", "/projects"), ["projects:read"]);
    assert_eq!(scopes("POST", "/projects"), ["projects:write"]);
    assert_eq!(scopes("GET", "/projects/{id}"), ["projects:read"]);
    assert!(
        table.credentials().is_some(),
        "the builder records its guard"
    );
    drop(server);
}

/// The undeclared route is served behind the guard, and the one-line test fails naming it.
pub async fn undeclared_is_named(keys: &ApiKeys, start: RoutesStart<'_>) {
    let (server, table) = start(keys, true);
    let addr = server.addr();
    let read = token(keys, &["projects:read"]).await;
    assert_eq!(
        status(addr, reqwest::Method::GET, "/legacy", None).await,
        401,
        "an undeclared route is still behind the guard"
    );
    assert_eq!(
        status(addr, reqwest::Method::GET, "/legacy", Some(&read)).await,
        200
    );
    let failure = std::panic::catch_unwind(|| assert_routes_declared(&table))
        .expect_err("an undeclared route must fail the test");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("* /legacy"), "{message}");
    assert!(!message.contains("GET /projects,"), "{message}");
    drop(server);
}
