//! The request log through a real axum server, driven by the cases every HTTP integration shares
//! (`apikey_testkit::http_e2e::request_log`): admitted, failed and refused requests recorded
//! with the route template (`MatchedPath`), path without query, status, outcome, key, tenant,
//! client address, request id and user agent; nothing when the mode is off.

use std::net::SocketAddr;

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::ApiKeys;
use apikey_core::request_log::RequestLog;
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::request_log::{
    memory_keys, nothing_is_logged_when_off, requests_are_logged,
};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;

struct Running {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn project(Path(id): Path<u32>, _key: Verified) -> (StatusCode, &'static str) {
    if id == 13 {
        (StatusCode::INTERNAL_SERVER_ERROR, "unlucky")
    } else {
        (StatusCode::OK, "ok")
    }
}

fn start(keys: &ApiKeys, log: RequestLog) -> Box<dyn Server> {
    let app = Router::new()
        .route("/projects/{id}", get(project))
        .layer(ApiKeyLayer::new(keys.verifier().clone()).request_log(log));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Box::new(Running { addr, task })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_through_axum_are_logged() {
    let (keys, store) = memory_keys();
    requests_are_logged(&keys, store, &start).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_logging_off_nothing_is_recorded() {
    let (keys, store) = memory_keys();
    nothing_is_logged_when_off(&keys, store, &start).await;
}
