//! The route contract on actix-web: `Routes` through a real server (the testkit's shared cases).

use std::net::SocketAddr;

use actix_web::{App, HttpServer, web};
use apikey_actix::ApiKeyAuth;
use apikey_actix::routes::{Routes, public, scopes};
use apikey_core::ApiKeys;
use apikey_core::routes::RouteTable;
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::request_log::memory_keys;
use apikey_testkit::http_e2e::routes::{served, undeclared_is_named};

struct Running {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Server for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn health() -> &'static str {
    "ok"
}

async fn list() -> &'static str {
    "list"
}

async fn create() -> &'static str {
    "created"
}

async fn item(id: web::Path<String>) -> String {
    id.into_inner()
}

async fn legacy() -> &'static str {
    "legacy"
}

fn start(keys: &ApiKeys, undeclared: bool) -> (Box<dyn Server>, RouteTable) {
    let mut routes = Routes::new(ApiKeyAuth::new(keys.verifier().clone()))
        .get("/health", health, public())
        .get("/projects", list, scopes(["projects:read"]))
        .post("/projects", create, scopes(["projects:write"]))
        .get("/projects/{id}", item, scopes(["projects:read"]));
    if undeclared {
        routes = routes.undeclared("/legacy", || web::get().to(legacy));
    }
    let table = routes.table().clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let routes = routes.clone();
        App::new().configure(move |cfg| routes.configure(cfg))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (Box::new(Running { addr, handle }), table)
}

#[actix_web::test]
async fn declared_routes_answer_as_declared() {
    let (keys, _store) = memory_keys();
    served(&keys, &start).await;
}

#[actix_web::test]
async fn an_undeclared_route_fails_the_one_line_test() {
    let (keys, _store) = memory_keys();
    undeclared_is_named(&keys, &start).await;
}
