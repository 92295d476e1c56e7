//! The actix-web wiring (feature `actix`): [`graphql_route`] authenticates each GraphQL request
//! (or batch) with [`GraphQlAuth`] and executes it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Route, web};
use async_graphql::{BatchRequest, ObjectType, Schema, SubscriptionType};

use crate::auth::{GraphQlAuth, operation_count};

/// Most bytes in a request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// An actix header map as core's credential extractor reads it (no query string: the credential
/// comes from headers only, as with the axum handler).
struct Headers<'h>(&'h HeaderMap);

impl apikey_core::http::RequestHeaders for Headers<'_> {
    fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.get_all(name).map(HeaderValue::as_bytes)
    }

    fn query_string(&self) -> Option<&str> {
        None
    }
}

fn bad_request(message: &'static str) -> HttpResponse {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    HttpResponse::build(StatusCode::BAD_REQUEST)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(body.to_string())
}

/// A `POST` route that reads a GraphQL request or batch (`application/json`), authenticates it
/// once with `auth` and executes it on `schema`. The client address is the socket peer
/// ([`HttpRequest::peer_addr`]), never `realip_remote_addr`; `X-Forwarded-For` counts only for
/// the trusted proxies of [`GraphQlAuth::trusted_proxies`].
///
/// Mount it outside any `apikey-actix` `ApiKeyAuth` middleware, so the batch is charged its
/// number of operations once. Under such a middleware, the key it verified (and charged with
/// cost 1) is used as is, without a second verification.
///
/// Answers: `400` with a GraphQL `errors` body when the body is larger than [`MAX_BODY_BYTES`],
/// unreadable, not a GraphQL request or batch, or a batch over
/// [`GraphQlAuth::max_operations`]; otherwise `200` with the executed response (refused fields
/// carry `extensions.code`, see [`crate::error`]).
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use apikey_graphql::{GraphQlAuth, actix::graphql_route};
/// use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
///
/// struct Query;
/// #[Object]
/// impl Query {
///     async fn version(&self) -> &str { "1" }
/// }
///
/// # async fn run(verifier: apikey_core::Verifier) -> std::io::Result<()> {
/// let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
///     .limit_depth(8)
///     .limit_complexity(100)
///     .finish();
/// let auth = GraphQlAuth::new(verifier);
/// // The GraphQL route sits outside any `ApiKeyAuth` scope, so that middleware does not charge it.
/// HttpServer::new(move || {
///     App::new().route("/graphql", graphql_route(schema.clone(), auth.clone()))
/// })
/// .bind(("127.0.0.1", 8000))?
/// .run()
/// .await
/// # }
/// ```
pub fn graphql_route<Q, M, S>(schema: Schema<Q, M, S>, auth: GraphQlAuth) -> Route
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    web::post().to(move |req: HttpRequest, body: web::Payload| {
        let schema = schema.clone();
        let auth = auth.clone();
        async move { handle(&schema, &auth, &req, body).await }
    })
}

async fn handle<Q, M, S>(
    schema: &Schema<Q, M, S>,
    auth: &GraphQlAuth,
    req: &HttpRequest,
    body: web::Payload,
) -> HttpResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let Ok(Ok(bytes)) = body.to_bytes_limited(MAX_BODY_BYTES).await else {
        return bad_request("the request body is too large or unreadable");
    };
    let Ok(batch) = serde_json::from_slice::<BatchRequest>(&bytes) else {
        return bad_request("the body is not a GraphQL request or batch");
    };
    if operation_count(&batch) > auth.operation_limit() {
        return bad_request("the batch has too many operations");
    }
    let peer = req.peer_addr().map(|a| a.ip());
    // Cloned out so that no `extensions()` borrow is held across the verification.
    let earlier = req.extensions().get::<apikey_core::Verified>().cloned();
    let batch = auth
        .authenticate_or_reuse(earlier, &Headers(req.headers()), peer, batch)
        .await;
    let response = schema.execute_batch(batch).await;
    let body = serde_json::to_string(&response).unwrap_or_else(|_| String::from("{}"));
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}
