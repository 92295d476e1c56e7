//! The GraphQL endpoint over real HTTP on 127.0.0.1 (axum + `graphql_route`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{ApiKeys, NewKey, Peppers, Rate, SystemClock, TenantScope};
use apikey_graphql::{GraphQlAuth, ScopeGuard, axum::graphql_route};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_graphql::{Context, EmptySubscription, Object, Schema};
use serde_json::{Value, json};

struct Project;

#[Object]
impl Project {
    async fn name(&self) -> &str {
        "p-1"
    }

    /// Field-level scope: only this field is null when the key lacks `billing:read`.
    async fn cost(&self, ctx: &Context<'_>) -> Option<i32> {
        ScopeGuard::new(["billing:read"]).permit(ctx).then_some(42)
    }

    /// Attribute guard: an error here nulls the nearest nullable parent (`project`).
    #[graphql(guard = "ScopeGuard::new([\"admin:read\"])")]
    async fn audit(&self) -> Option<String> {
        Some("clean".into())
    }
}

struct Query;

#[Object]
impl Query {
    async fn version(&self) -> &str {
        "1"
    }

    async fn projects(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        ScopeGuard::new(["projects:read"])
            .permit(ctx)
            .then(|| vec!["p-1".into()])
    }

    #[graphql(guard = "ScopeGuard::new([\"projects:read\"])")]
    async fn project(&self) -> Option<Project> {
        Some(Project)
    }
}

struct Mutation;

#[Object]
impl Mutation {
    #[graphql(guard = "ScopeGuard::new([\"projects:write\"])")]
    async fn create_project(&self, name: String) -> Option<String> {
        Some(name)
    }
}

struct Env {
    keys: ApiKeys,
    url: String,
    http: reqwest::Client,
}

async fn env() -> Env {
    let peppers = Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap();
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(peppers)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()
        .unwrap();
    let schema = Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(5)
        .limit_complexity(50)
        .finish();
    let app = axum::Router::new().route(
        "/graphql",
        graphql_route(
            schema,
            GraphQlAuth::new(keys.verifier().clone()).max_operations(8),
        ),
    );
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
    Env {
        keys,
        url: format!("http://{addr}/graphql"),
        http: reqwest::Client::new(),
    }
}

impl Env {
    async fn key(&self, new: NewKey) -> String {
        self.keys
            .manager()
            .create(new)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned()
    }

    async fn post(&self, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut r = self.http.post(&self.url).json(&body);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        let res = r.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
}

fn q(query: &str) -> Value {
    json!({ "query": query })
}

fn codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn public_field_without_key_and_guarded_field_errors_alone() {
    let env = env().await;
    let (status, v) = env.post(None, q("{ version }")).await;
    assert_eq!((status, &v["data"]["version"]), (200, &json!("1")));
    assert!(v.get("errors").is_none());

    let (_, v) = env.post(None, q("{ version projects }")).await;
    assert_eq!(v["data"]["version"], "1", "{v}");
    assert_eq!(v["data"]["projects"], Value::Null);
    assert_eq!(codes(&v), ["UNAUTHENTICATED"]);
    assert_eq!(v["errors"][0]["path"], json!(["projects"]));

    let (_, v) = env.post(Some("garbage"), q("{ version projects }")).await;
    assert_eq!(
        (v["data"]["version"].as_str(), codes(&v)),
        (Some("1"), vec!["UNAUTHENTICATED".to_owned()])
    );

    let created = env
        .keys
        .manager()
        .create(NewKey::new("r").scopes(["projects:read"]).unwrap())
        .await
        .unwrap();
    let t = created.token.expose().to_owned();
    let (_, v) = env.post(Some(&t), q("{ projects }")).await;
    assert_eq!(v["data"]["projects"], json!(["p-1"]));
    env.keys
        .manager()
        .revoke(&TenantScope::All, created.record.id, None, None)
        .await
        .unwrap();
    let (_, v) = env.post(Some(&t), q("{ projects }")).await;
    assert_eq!(codes(&v), ["UNAUTHENTICATED"]);
    assert!(!v.to_string().contains(&t));
}

#[tokio::test]
async fn field_guard_and_mutation_scopes() {
    let env = env().await;
    let reader = env
        .key(NewKey::new("r").scopes(["projects:read"]).unwrap())
        .await;
    let (_, v) = env
        .post(Some(&reader), q("{ project { name cost } }"))
        .await;
    assert_eq!(v["data"]["project"], json!({ "name": "p-1", "cost": null }));
    assert_eq!(codes(&v), ["FORBIDDEN"]);
    assert_eq!(v["errors"][0]["extensions"]["missingScope"], "billing:read");
    assert_eq!(v["errors"][0]["path"], json!(["project", "cost"]));

    let m = q(r#"mutation { createProject(name: "x") }"#);
    let (_, v) = env.post(Some(&reader), m.clone()).await;
    assert_eq!(codes(&v), ["FORBIDDEN"]);
    let writer = env
        .key(
            NewKey::new("w")
                .scopes(["projects:*", "billing:read"])
                .unwrap(),
        )
        .await;
    let (_, v) = env.post(Some(&writer), m).await;
    assert_eq!(v["data"]["createProject"], "x");
    let (_, v) = env.post(Some(&writer), q("{ project { cost } }")).await;
    assert_eq!(v["data"]["project"]["cost"], 42);
}

#[tokio::test]
async fn a_batch_is_one_limiter_decision_costing_its_operations() {
    let env = env().await;
    let rate = Rate::with_burst(5, Duration::from_secs(600), 5).unwrap();
    let t = env
        .key(
            NewKey::new("b")
                .scopes(["projects:read"])
                .unwrap()
                .rate_limit(rate),
        )
        .await;
    let batch = |n: usize| Value::Array((0..n).map(|_| q("{ version projects }")).collect());

    let (_, v) = env.post(Some(&t), batch(3)).await;
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|r| r["data"]["projects"] == json!(["p-1"]))
    );
    // 2 left: a batch of 3 is refused whole (nothing charged); public fields still resolve.
    let (_, v) = env.post(Some(&t), batch(3)).await;
    for r in v.as_array().unwrap() {
        assert_eq!(r["data"]["version"], "1");
        assert_eq!(codes(r), ["RATE_LIMITED"]);
        assert!(r["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    }
    let (_, v) = env.post(Some(&t), batch(2)).await;
    assert!(v.as_array().unwrap().iter().all(|r| codes(r).is_empty()));
    let (_, v) = env.post(Some(&t), q("{ projects }")).await;
    assert_eq!(codes(&v), ["RATE_LIMITED"]);

    // Larger batches than the configured maximum are refused before anything runs.
    let (status, _) = env.post(Some(&t), batch(9)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn aliases_of_a_guarded_field_are_bounded_by_complexity() {
    let env = env().await;
    let t = env
        .key(NewKey::new("r").scopes(["projects:read"]).unwrap())
        .await;
    let many: String = (0..60).map(|i| format!("a{i}: projects ")).collect();
    let (_, v) = env.post(Some(&t), q(&format!("{{ {many} }}"))).await;
    assert_eq!(v["data"], Value::Null);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{v}"
    );
    let deep = "{ project { name } }";
    let (_, v) = env.post(Some(&t), q(deep)).await;
    assert_eq!(v["data"]["project"]["name"], "p-1");
}
