//! Request checks and GraphQL (axum): a body check on an enclosing `ApiKeyLayer` sees the raw
//! GraphQL request, refuses before execution, and otherwise leaves `graphql_route` the same bytes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use apikey_axum::ApiKeyLayer;
use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
use apikey_core::{ApiKeys, NewKey, Verified};
use apikey_graphql::GraphQlAuth;
use apikey_graphql::axum::graphql_route;
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use axum::body::Bytes;

struct Query;

#[Object]
impl Query {
    async fn version(&self) -> &str {
        "1"
    }
}

/// Refuses operations that mention `forbidden`; records the bodies it saw.
#[derive(Default)]
struct NoForbidden(Mutex<Vec<Bytes>>);

struct Check(Arc<NoForbidden>);

#[async_trait::async_trait]
impl RequestCheck for Check {
    fn wants(&self, _: &Verified, _: &RequestHead<'_>) -> Wants {
        Wants::Body
    }

    async fn check(
        &self,
        _: &Verified,
        _: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        let body = body.ok_or_else(|| CheckRejection::new(500, "no body"))?;
        self.0.0.lock().unwrap().push(body.clone());
        if body.windows(9).any(|w| w == b"forbidden") {
            return Err(CheckRejection::forbidden("Not this operation."));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_layer_body_check_sees_the_graphql_body_and_the_route_reads_it_again() {
    let keys = ApiKeys::builder(Arc::new(apikey_memory::MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let token = keys
        .manager()
        .create(NewKey::new("app"))
        .await
        .unwrap()
        .token;
    let seen = Arc::new(NoForbidden::default());
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
    let app = axum::Router::new()
        .route(
            "/graphql",
            graphql_route(schema, GraphQlAuth::new(keys.verifier().clone())),
        )
        .layer(ApiKeyLayer::new(keys.verifier().clone()).with_check(Check(Arc::clone(&seen))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, svc).await.unwrap();
    });
    let post = |body: &'static str| {
        reqwest::Client::new()
            .post(format!("http://{addr}/graphql"))
            .header("x-api-key", token.expose())
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let ok = r#"{"query":"{ version }"}"#;
    let res = post(ok).await.unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["data"]["version"], "1");

    let refused = r#"{"query":"{ version }","operationName":null,"variables":{"x":"forbidden"}}"#;
    let res = post(refused).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    assert_eq!(
        *seen.0.lock().unwrap(),
        [Bytes::from(ok), Bytes::from(refused)]
    );
}
