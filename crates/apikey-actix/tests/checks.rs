//! Request checks on actix-web: `ApiKeyAuth::with_check` through a real server, driven by the
//! cases every HTTP integration shares (`apikey_testkit::http_e2e::checks`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::ServerHandle;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpServer};
use apikey_actix::{ApiKeyAuth, Verified};
use apikey_core::ApiKeys;
use apikey_testkit::http_e2e::Server;
use apikey_testkit::http_e2e::checks::{self, EchoServer, Guard};

struct Running {
    addr: SocketAddr,
    handled: Arc<AtomicUsize>,
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

impl EchoServer for Running {
    fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }
}

/// The handler echoes the body it received, after checking the verified key is attached.
async fn echo(handled: web::Data<Arc<AtomicUsize>>, key: Verified, body: Bytes) -> Bytes {
    handled.fetch_add(1, Ordering::SeqCst);
    assert!(!key.record().name.is_empty());
    body
}

/// Serves `/echo` behind the guard: with `nested`, an outer middleware without checks on the
/// scope and the one with them on the resource.
fn start(keys: &ApiKeys, guard: Guard) -> Box<dyn EchoServer> {
    let mut auth = ApiKeyAuth::new(keys.verifier().clone());
    for check in guard.checks {
        auth = auth.with_check(check);
    }
    if let Some(bytes) = guard.max_body {
        auth = auth.max_check_body(bytes);
    }
    let (outer, inner) = if guard.nested {
        (ApiKeyAuth::new(keys.verifier().clone()), Some(auth))
    } else {
        (auth, None)
    };
    let handled = Arc::new(AtomicUsize::new(0));
    let data = web::Data::new(Arc::clone(&handled));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let resource = web::resource("/echo").route(web::post().to(echo));
        let scope = web::scope("").wrap(outer.clone());
        let scope = match &inner {
            Some(inner) => scope.service(resource.wrap(inner.clone())),
            None => scope.service(resource),
        };
        App::new().app_data(data.clone()).service(scope)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Box::new(Running {
        addr,
        handled,
        handle,
    })
}

#[actix_web::test]
async fn a_head_check_refusal_is_a_problem_and_the_handler_is_not_called() {
    checks::head_refusal(&start).await;
}

#[actix_web::test]
async fn a_401_from_a_check_carries_the_challenge_and_retry_information_is_kept() {
    checks::unauthorized_and_retry(&start).await;
}

#[actix_web::test]
async fn a_body_check_sees_the_exact_body_and_the_handler_gets_the_same_bytes() {
    checks::body_is_exact(&start).await;
}

#[actix_web::test]
async fn a_body_over_the_cap_is_413_and_the_handler_is_not_called() {
    checks::body_over_the_cap(&start).await;
}

#[actix_web::test]
async fn a_skipped_check_is_never_called_and_nothing_is_buffered() {
    checks::skipped_check(&start).await;
}

#[actix_web::test]
async fn checks_run_only_after_the_key_verified() {
    checks::only_after_verification(&start).await;
}

#[actix_web::test]
async fn checks_run_in_order_and_the_first_refusal_wins() {
    checks::first_refusal_wins(&start).await;
}

#[actix_web::test]
async fn an_inner_middleware_checks_a_key_the_outer_one_verified() {
    checks::inner_guard_checks_outer_key(&start).await;
}

#[actix_web::test]
async fn a_key_that_requires_signatures_gets_through_only_signed_once() {
    apikey_testkit::http_e2e::signing::required_signatures(&start).await;
}

#[actix_web::test]
async fn a_key_can_sign_instead_of_sending_its_token() {
    apikey_testkit::http_e2e::signing::instead_of_token(&start).await;
}

#[actix_web::test]
async fn optional_signing_checks_a_signature_when_there_is_one() {
    apikey_testkit::http_e2e::signing::optional_signatures(&start).await;
}

#[actix_web::test]
async fn a_canary_answers_as_an_unknown_key_and_is_reported_once() {
    apikey_testkit::http_e2e::signing::canary_keys(&start).await;
}

#[actix_web::test]
async fn a_guard_without_a_signature_check_refuses_keys_that_require_one() {
    apikey_testkit::http_e2e::signing::unchecked_guard_fails_closed(&start).await;
}
