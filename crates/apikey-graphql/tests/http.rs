//! The GraphQL endpoint over real HTTP on 127.0.0.1 (axum + `graphql_route`); the scenarios are
//! shared with the actix-web test in `common`.

mod common;

use std::net::SocketAddr;

use apikey_axum::ApiKeyLayer;
use apikey_graphql::axum::graphql_route;
use common::Env;

async fn env() -> Env {
    let keys = common::keys();
    let layered = axum::Router::new()
        .route(
            "/layered/graphql",
            graphql_route(common::schema(), common::auth(&keys)),
        )
        .layer(ApiKeyLayer::new(keys.verifier().clone()));
    let app = axum::Router::new()
        .route(
            "/graphql",
            graphql_route(common::schema(), common::auth(&keys)),
        )
        .merge(layered);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Env::new(keys, addr)
}

#[tokio::test]
async fn public_field_without_key_and_guarded_field_errors_alone() {
    common::public_field_without_key_and_guarded_field_errors_alone(&env().await).await;
}

#[tokio::test]
async fn field_guard_and_mutation_scopes() {
    common::field_guard_and_mutation_scopes(&env().await).await;
}

#[tokio::test]
async fn a_batch_is_one_limiter_decision_costing_its_operations() {
    common::a_batch_is_one_limiter_decision_costing_its_operations(&env().await).await;
}

#[tokio::test]
async fn aliases_of_a_guarded_field_are_bounded_by_complexity() {
    common::aliases_of_a_guarded_field_are_bounded_by_complexity(&env().await).await;
}

#[tokio::test]
async fn a_key_verified_by_an_outer_layer_is_not_charged_again() {
    common::a_key_verified_by_an_outer_layer_is_not_charged_again(&env().await).await;
}
