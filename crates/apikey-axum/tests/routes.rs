//! The route contract on axum: `Routes` through a real server (the testkit's shared cases), and
//! what the table gives OpenAPI and the start-up report.

use std::net::SocketAddr;

use apikey_axum::ApiKeyLayer;
use apikey_axum::routes::{Routes, public, scopes};
use apikey_core::ApiKeys;
use apikey_core::routes::RouteTable;
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::request_log::memory_keys;
use apikey_testkit::http_e2e::routes::{served, undeclared_is_named};
use axum::extract::Path;
use axum::routing::get;

struct Running {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn item(Path(id): Path<String>) -> String {
    id
}

fn start(keys: &ApiKeys, undeclared: bool) -> (Box<dyn Server>, RouteTable) {
    let mut routes = Routes::new(ApiKeyLayer::new(keys.verifier().clone()))
        .get("/health", || async { "ok" }, public())
        .get("/projects", || async { "list" }, scopes(["projects:read"]))
        .post(
            "/projects",
            || async { "created" },
            scopes(["projects:write"]),
        )
        .get("/projects/{id}", item, scopes(["projects:read"]));
    if undeclared {
        routes = routes.undeclared("/legacy", get(|| async { "legacy" }));
    }
    let (app, table) = routes.into_parts();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let task = tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, svc).await.unwrap();
    });
    (Box::new(Running { addr, task }), table)
}

#[tokio::test]
async fn declared_routes_answer_as_declared() {
    let (keys, _store) = memory_keys();
    served(&keys, &start).await;
}

#[tokio::test]
async fn an_undeclared_route_fails_the_one_line_test() {
    let (keys, _store) = memory_keys();
    undeclared_is_named(&keys, &start).await;
}

#[test]
fn the_layer_scopes_come_first_and_nesting_prefixes_paths() {
    let (keys, _store) = memory_keys();
    let layer = ApiKeyLayer::new(keys.verifier().clone()).require(["tenant:use"]);
    let inner = Routes::<()>::new(layer.clone()).get(
        "/projects",
        || async { "list" },
        scopes(["projects:read", "tenant:use"]),
    );
    let routes = Routes::new(layer)
        .get("/health", || async { "ok" }, public())
        .nest("/v1", inner);
    let table = routes.table();
    let shown = table.to_string();
    assert!(
        shown.contains("GET  /v1/projects  tenant:use projects:read"),
        "{shown}"
    );
    assert!(shown.contains("GET  /health       public"), "{shown}");
}
