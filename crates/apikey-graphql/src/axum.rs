//! The axum wiring (feature `axum`): [`graphql_route`] authenticates each GraphQL request (or
//! batch) with [`GraphQlAuth`] and executes it.

use std::net::SocketAddr;

use async_graphql::{BatchRequest, ObjectType, Schema, SubscriptionType};
use axum::extract::{ConnectInfo, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use crate::auth::{GraphQlAuth, operation_count};

/// Most bytes in a request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

fn bad_request(message: &'static str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A `POST` route that reads a GraphQL request or batch (`application/json`), authenticates it
/// once with `auth` and executes it on `schema`. The client address is the socket peer from
/// [`ConnectInfo`] (serve with `into_make_service_with_connect_info::<SocketAddr>()`).
///
/// Mount it outside any `apikey-axum` `ApiKeyLayer`, so the batch is charged its number of
/// operations once. Under such a layer, the key that layer verified (and charged with cost 1) is
/// used as is, without a second verification.
///
/// ```no_run
/// use apikey_graphql::{GraphQlAuth, axum::graphql_route};
/// use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
///
/// struct Query;
/// #[Object]
/// impl Query {
///     async fn version(&self) -> &str { "1" }
/// }
///
/// # fn app(verifier: apikey_core::Verifier) -> axum::Router {
/// let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
///     .limit_depth(8)
///     .limit_complexity(100)
///     .finish();
/// // The GraphQL route is added after any `ApiKeyLayer`, so that layer does not charge it too.
/// axum::Router::new().route("/graphql", graphql_route(schema, GraphQlAuth::new(verifier)))
/// # }
/// ```
pub fn graphql_route<Q, M, S, St>(schema: Schema<Q, M, S>, auth: GraphQlAuth) -> MethodRouter<St>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
    St: Clone + Send + Sync + 'static,
{
    post(move |req: Request| {
        let schema = schema.clone();
        let auth = auth.clone();
        async move { handle(&schema, &auth, req).await }
    })
}

async fn handle<Q, M, S>(schema: &Schema<Q, M, S>, auth: &GraphQlAuth, req: Request) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return bad_request("the request body is too large or unreadable");
    };
    let Ok(batch) = serde_json::from_slice::<BatchRequest>(&bytes) else {
        return bad_request("the body is not a GraphQL request or batch");
    };
    if operation_count(&batch) > auth.operation_limit() {
        return bad_request("the batch has too many operations");
    }
    let earlier = parts.extensions.get::<apikey_core::Verified>().cloned();
    let batch = auth
        .authenticate_or_reuse(
            earlier,
            &apikey_core::http::HttpHeaders::new(&parts.headers),
            peer,
            batch,
        )
        .await;
    let response = schema.execute_batch(batch).await;
    let body = serde_json::to_string(&response).unwrap_or_else(|_| String::from("{}"));
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
