//! End-to-end: the shared matrix (`apikey_testkit::http_e2e`) over real HTTP against an
//! actix-web server.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, guard, web};
use apikey_actix::{ApiKeyAuth, RequireScopes, Verified};
use apikey_core::{ApiKeys, ClientIpResolver, NewKey};
use apikey_testkit::http_e2e::{self, Server};

async fn whoami(key: Verified) -> String {
    key.key_id().to_string()
}

struct Running {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl Server for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn serve(keys: &ApiKeys, listener: std::net::TcpListener) -> Box<dyn Server> {
    let addr = listener.local_addr().unwrap();
    let auth = ApiKeyAuth::new(keys.verifier().clone())
        .trusted_proxies(ClientIpResolver::with_trusted_proxies(["127.0.0.1/32"]).unwrap())
        .endpoint_limits(true);
    let server = HttpServer::new(move || {
        App::new()
            .route("/open", web::get().to(|| async { "open" }))
            .route("/no-layer", web::get().to(whoami))
            .service(
                web::scope("")
                    .wrap(auth.clone())
                    .route("/any", web::get().to(whoami))
                    .service(
                        web::resource("/projects")
                            .guard(guard::Get())
                            .wrap(RequireScopes::new(["projects:read"]))
                            .to(whoami),
                    )
                    .service(
                        web::resource("/projects")
                            .guard(guard::Post())
                            .wrap(RequireScopes::new(["projects:write"]))
                            .to(whoami),
                    ),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Box::new(Running { addr, handle })
}

#[actix_web::test]
async fn matrix_over_http() {
    http_e2e::run(&serve).await;
}

/// A spent owner pool and spent credits answer 429 naming what refused.
#[actix_web::test]
async fn pools_and_credits_over_http() {
    http_e2e::pools(&serve).await;
}

/// The same matrix when the limiter needs I/O: every limited request takes the middleware's
/// pending (boxed) path instead of being answered on the spot.
#[actix_web::test]
async fn matrix_over_http_with_an_async_limiter() {
    http_e2e::run_with(&serve, http_e2e::LimiterMode::AsyncOnly).await;
}

#[actix_web::test]
async fn credential_sources_are_configurable() {
    let f = http_e2e::fixture();
    let created = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    let auth = ApiKeyAuth::new(f.keys.verifier().clone()).credentials(http_e2e::custom_sources());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().service(
            web::scope("")
                .wrap(auth.clone())
                .route("/any", web::get().to(whoami)),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let _running = Running { addr, handle };
    http_e2e::credential_sources(addr, created.token.expose()).await;
}

#[actix_web::test]
async fn rate_limit_fields_can_be_kept_to_refusals() {
    let f = http_e2e::fixture();
    let created = f
        .keys
        .manager()
        .create(http_e2e::one_a_minute())
        .await
        .unwrap();
    let auth = ApiKeyAuth::new(f.keys.verifier().clone()).rate_limit_fields_on_success(false);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().service(
            web::scope("")
                .wrap(auth.clone())
                .route("/any", web::get().to(whoami)),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let _running = Running { addr, handle };
    http_e2e::fields_only_on_refusal(addr, created.token.expose()).await;
}
