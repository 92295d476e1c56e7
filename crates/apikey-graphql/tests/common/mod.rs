//! Shared by the HTTP tests of the axum and actix-web handlers: the schema, the key store, a
//! client, and the scenarios both servers must pass. Each server mounts the GraphQL route at
//! `/graphql` (no middleware) and at `/layered/graphql` (under the framework's API-key layer).

use apikey_core::Change;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{ApiKeys, NewKey, Peppers, Rate, SystemClock, TenantScope};
use apikey_graphql::{GraphQlAuth, ScopeGuard};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_graphql::{Context, EmptySubscription, Object, Schema};
use serde_json::{Value, json};

pub(crate) struct Project;

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

pub(crate) struct Query;

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

pub(crate) struct Mutation;

#[Object]
impl Mutation {
    #[graphql(guard = "ScopeGuard::new([\"projects:write\"])")]
    async fn create_project(&self, name: String) -> Option<String> {
        Some(name)
    }
}

pub(crate) type TestSchema = Schema<Query, Mutation, EmptySubscription>;

/// Keys in memory, with a limiter so rate limits apply.
pub(crate) fn keys() -> ApiKeys {
    let peppers = Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap();
    ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(peppers)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()
        .unwrap()
}

pub(crate) fn schema() -> TestSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(5)
        .limit_complexity(50)
        .finish()
}

/// Batches of up to 8 operations.
pub(crate) fn auth(keys: &ApiKeys) -> GraphQlAuth {
    GraphQlAuth::new(keys.verifier().clone()).max_operations(8)
}

pub(crate) struct Env {
    pub(crate) keys: ApiKeys,
    pub(crate) url: String,
    pub(crate) layered_url: String,
    pub(crate) http: reqwest::Client,
}

impl Env {
    pub(crate) fn new(keys: ApiKeys, addr: SocketAddr) -> Self {
        Self {
            keys,
            url: format!("http://{addr}/graphql"),
            layered_url: format!("http://{addr}/layered/graphql"),
            http: reqwest::Client::new(),
        }
    }

    pub(crate) async fn key(&self, new: NewKey) -> String {
        self.keys
            .manager()
            .create(new)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned()
    }

    pub(crate) async fn post(&self, key: Option<&str>, body: Value) -> (u16, Value) {
        self.send(&self.url, key, body).await
    }

    async fn send(&self, url: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut r = self.http.post(url).json(&body);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        let res = r.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
}

pub(crate) fn q(query: &str) -> Value {
    json!({ "query": query })
}

pub(crate) fn codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn batch(n: usize) -> Value {
    Value::Array((0..n).map(|_| q("{ version projects }")).collect())
}

pub(crate) async fn public_field_without_key_and_guarded_field_errors_alone(env: &Env) {
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
        .revoke(&TenantScope::All, created.record.id, Change::new())
        .await
        .unwrap();
    let (_, v) = env.post(Some(&t), q("{ projects }")).await;
    assert_eq!(codes(&v), ["UNAUTHENTICATED"]);
    assert!(!v.to_string().contains(&t));
}

pub(crate) async fn field_guard_and_mutation_scopes(env: &Env) {
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

pub(crate) async fn a_batch_is_one_limiter_decision_costing_its_operations(env: &Env) {
    let rate = Rate::with_burst(5, Duration::from_secs(600), 5).unwrap();
    let t = env
        .key(
            NewKey::new("b")
                .scopes(["projects:read"])
                .unwrap()
                .rate_limit(rate),
        )
        .await;

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
    let (status, v) = env.post(Some(&t), batch(9)).await;
    assert_eq!(status, 400);
    assert_eq!(
        v["errors"][0]["message"],
        "the batch has too many operations"
    );
    let (status, _) = env.post(None, json!("not a request")).await;
    assert_eq!(status, 400);
}

pub(crate) async fn aliases_of_a_guarded_field_are_bounded_by_complexity(env: &Env) {
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

/// Under the framework's API-key layer the route uses the key that layer verified (and charged
/// with cost 1): a batch is not charged a second time.
pub(crate) async fn a_key_verified_by_an_outer_layer_is_not_charged_again(env: &Env) {
    let rate = Rate::with_burst(3, Duration::from_secs(600), 3).unwrap();
    let t = env
        .key(
            NewKey::new("l")
                .scopes(["projects:read"])
                .unwrap()
                .rate_limit(rate),
        )
        .await;
    // Each request costs 1 at the layer; verifying again would cost 1 + 3 and refuse the first.
    for _ in 0..3 {
        let (status, v) = env.send(&env.layered_url, Some(&t), batch(3)).await;
        assert_eq!(status, 200, "{v}");
        for r in v.as_array().unwrap() {
            assert_eq!(r["data"]["projects"], json!(["p-1"]), "{v}");
        }
    }
    // The budget of 3 is spent: the layer itself answers 429.
    let (status, _) = env.send(&env.layered_url, Some(&t), q("{ version }")).await;
    assert_eq!(status, 429);
    // Without a key the layer refuses before the GraphQL route runs.
    let (status, _) = env.send(&env.layered_url, None, q("{ version }")).await;
    assert_eq!(status, 401);
    // The batch size limit still applies under the layer.
    let other = env
        .key(NewKey::new("o").scopes(["projects:read"]).unwrap())
        .await;
    let (status, _) = env.send(&env.layered_url, Some(&other), batch(9)).await;
    assert_eq!(status, 400);
}
