//! The request log through a real actix-web server, driven by the cases every HTTP integration
//! shares (`apikey_testkit::http_e2e::request_log`), with actix's route pattern as the template.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use apikey_actix::{ApiKeyAuth, Verified};
use apikey_core::ApiKeys;
use apikey_core::request_log::RequestLog;
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::request_log::{
    memory_keys, nothing_is_logged_when_off, requests_are_logged,
};

struct Running {
    addr: SocketAddr,
    handle: ServerHandle,
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

async fn project(id: web::Path<u32>, _key: Verified) -> HttpResponse {
    if *id == 13 {
        HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).body("unlucky")
    } else {
        HttpResponse::Ok().body("ok")
    }
}

fn start(keys: &ApiKeys, log: RequestLog) -> Box<dyn Server> {
    let auth = ApiKeyAuth::new(keys.verifier().clone()).request_log(log);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().service(
            web::scope("")
                .wrap(auth.clone())
                .route("/projects/{id}", web::get().to(project)),
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
async fn requests_through_actix_are_logged() {
    let (keys, store) = memory_keys();
    requests_are_logged(&keys, store, &start).await;
}

#[actix_web::test]
async fn with_logging_off_nothing_is_recorded() {
    let (keys, store) = memory_keys();
    nothing_is_logged_when_off(&keys, store, &start).await;
}
