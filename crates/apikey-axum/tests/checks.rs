//! Request checks on axum: `ApiKeyLayer::with_check` through a real server, driven by the cases
//! every HTTP integration shares (`apikey_testkit::http_e2e::checks`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::ApiKeys;
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::checks::{self, EchoServer, Guard};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;

struct Running {
    addr: SocketAddr,
    handled: Arc<AtomicUsize>,
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

impl EchoServer for Running {
    fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }
}

/// The handler echoes the body it received, after checking the verified key is attached.
async fn echo(State(handled): State<Arc<AtomicUsize>>, key: Verified, body: Bytes) -> Bytes {
    handled.fetch_add(1, Ordering::SeqCst);
    assert!(!key.record().name.is_empty());
    body
}

fn start(keys: &ApiKeys, guard: Guard) -> Box<dyn EchoServer> {
    let mut layer = ApiKeyLayer::new(keys.verifier().clone());
    for check in guard.checks {
        layer = layer.with_check(check);
    }
    if let Some(bytes) = guard.max_body {
        layer = layer.max_check_body(bytes);
    }
    let handled = Arc::new(AtomicUsize::new(0));
    let router = Router::new().route("/echo", post(echo));
    let router = if guard.nested {
        // The inner layer has the checks; the outer one verifies first.
        router
            .route_layer(layer)
            .layer(ApiKeyLayer::new(keys.verifier().clone()))
    } else {
        router.layer(layer)
    };
    let app = router.with_state(Arc::clone(&handled));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let task = tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, svc).await.unwrap();
    });
    Box::new(Running {
        addr,
        handled,
        task,
    })
}

#[tokio::test]
async fn a_head_check_refusal_is_a_problem_and_the_handler_is_not_called() {
    checks::head_refusal(&start).await;
}

#[tokio::test]
async fn a_401_from_a_check_carries_the_challenge_and_retry_information_is_kept() {
    checks::unauthorized_and_retry(&start).await;
}

#[tokio::test]
async fn a_body_check_sees_the_exact_body_and_the_handler_gets_the_same_bytes() {
    checks::body_is_exact(&start).await;
}

#[tokio::test]
async fn a_body_over_the_cap_is_413_and_the_handler_is_not_called() {
    checks::body_over_the_cap(&start).await;
}

#[tokio::test]
async fn a_skipped_check_is_never_called_and_nothing_is_buffered() {
    checks::skipped_check(&start).await;
}

#[tokio::test]
async fn checks_run_only_after_the_key_verified() {
    checks::only_after_verification(&start).await;
}

#[tokio::test]
async fn checks_run_in_order_and_the_first_refusal_wins() {
    checks::first_refusal_wins(&start).await;
}

#[tokio::test]
async fn an_inner_layer_checks_a_key_the_outer_layer_verified() {
    checks::inner_guard_checks_outer_key(&start).await;
}

#[tokio::test]
async fn a_key_that_requires_signatures_gets_through_only_signed_once() {
    apikey_testkit::http_e2e::signing::required_signatures(&start).await;
}

#[tokio::test]
async fn a_key_can_sign_instead_of_sending_its_token() {
    apikey_testkit::http_e2e::signing::instead_of_token(&start).await;
}

#[tokio::test]
async fn optional_signing_checks_a_signature_when_there_is_one() {
    apikey_testkit::http_e2e::signing::optional_signatures(&start).await;
}

#[tokio::test]
async fn a_canary_answers_as_an_unknown_key_and_is_reported_once() {
    apikey_testkit::http_e2e::signing::canary_keys(&start).await;
}

#[tokio::test]
async fn a_guard_without_a_signature_check_refuses_keys_that_require_one() {
    apikey_testkit::http_e2e::signing::unchecked_guard_fails_closed(&start).await;
}
