//! The GraphQL endpoint over real HTTP on 127.0.0.1 (actix-web + `graphql_route`); the scenarios
//! are shared with the axum test in `common`.

mod common;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use apikey_actix::ApiKeyAuth;
use apikey_graphql::actix::graphql_route;
use common::Env;

/// The server stops when the test's environment is dropped.
struct Running {
    env: Env,
    handle: ServerHandle,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn serve() -> Running {
    let keys = common::keys();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (schema, auth) = (common::schema(), common::auth(&keys));
    let layer = ApiKeyAuth::new(keys.verifier().clone());
    let server = HttpServer::new(move || {
        App::new()
            .route("/graphql", graphql_route(schema.clone(), auth.clone()))
            .service(
                web::scope("/layered")
                    .wrap(layer.clone())
                    .route("/graphql", graphql_route(schema.clone(), auth.clone())),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Running {
        env: Env::new(keys, addr),
        handle,
    }
}

#[actix_web::test]
async fn public_field_without_key_and_guarded_field_errors_alone() {
    common::public_field_without_key_and_guarded_field_errors_alone(&serve().env).await;
}

#[actix_web::test]
async fn field_guard_and_mutation_scopes() {
    common::field_guard_and_mutation_scopes(&serve().env).await;
}

#[actix_web::test]
async fn a_batch_is_one_limiter_decision_costing_its_operations() {
    common::a_batch_is_one_limiter_decision_costing_its_operations(&serve().env).await;
}

#[actix_web::test]
async fn aliases_of_a_guarded_field_are_bounded_by_complexity() {
    common::aliases_of_a_guarded_field_are_bounded_by_complexity(&serve().env).await;
}

#[actix_web::test]
async fn a_key_verified_by_an_outer_layer_is_not_charged_again() {
    common::a_key_verified_by_an_outer_layer_is_not_charged_again(&serve().env).await;
}
