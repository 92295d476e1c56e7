//! Example: axum + async-graphql guarded by `apikey-graphql`.
//!
//! A public field (`version`), a guarded query (`projects`, scope `projects:read`, refused on that
//! field only) and a guarded mutation (`createProject`, scope `projects:write`). The schema limits
//! depth (5) and complexity (50), which bounds how many aliases of a guarded field one operation
//! can ask for; a batch of up to 8 operations makes one limiter decision costing 8.
//!
//! ```sh
//! cargo run -p apikey-example-graphql        # prints the address and two demo keys
//! curl -s localhost:3000/graphql -H 'content-type: application/json' \
//!      -d '{"query":"{ version projects }"}'                        # version, projects: UNAUTHENTICATED
//! curl -s localhost:3000/graphql -H 'content-type: application/json' -H "x-api-key: $READ_KEY" \
//!      -d '{"query":"{ version projects }"}'                        # both
//! curl -s localhost:3000/graphql -H 'content-type: application/json' -H "x-api-key: $READ_KEY" \
//!      -d '{"query":"mutation { createProject(name: \"x\") }"}'     # FORBIDDEN
//! curl -s localhost:3000/graphql -H 'content-type: application/json' -H "x-api-key: $WRITE_KEY" \
//!      -d '[{"query":"{ projects }"},{"query":"mutation { createProject(name: \"x\") }"}]'
//! ```
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{ApiKeys, NewKey, Rate, SystemClock};
use apikey_graphql::{GraphQlAuth, ScopeGuard, axum::graphql_route};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_graphql::{Context, EmptySubscription, Object, Schema};

struct Query;

#[Object]
impl Query {
    /// Public.
    async fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    /// Needs `projects:read`; without it only this field is null (with its error).
    async fn projects(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        ScopeGuard::new(["projects:read"])
            .permit(ctx)
            .then(|| vec!["p-1".to_owned(), "p-2".to_owned()])
    }
}

struct Mutation;

#[Object]
impl Mutation {
    /// Needs `projects:write`.
    #[graphql(guard = "ScopeGuard::new([\"projects:write\"])")]
    async fn create_project(&self, name: String) -> String {
        format!("created {name}")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("APIKEY_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        // In-memory keys die with the process anyway.
        .random_peppers_keys_die_at_exit()
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()?;
    let rate = Rate::new(100, Duration::from_secs(60))?;
    let reader = keys
        .manager()
        .create(
            NewKey::new("demo-reader")
                .scopes(["projects:read"])?
                .rate_limit(rate),
        )
        .await?;
    let writer = keys
        .manager()
        .create(
            NewKey::new("demo-writer")
                .scopes(["projects:*"])?
                .rate_limit(rate),
        )
        .await?;

    let schema = Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(5)
        .limit_complexity(50)
        .finish();
    let auth = GraphQlAuth::new(keys.verifier().clone()).max_operations(8);
    let app = axum::Router::new().route("/graphql", graphql_route(schema, auth));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("GraphQL on http://{}/graphql", listener.local_addr()?);
    // Demo keys of this in-memory store, shown once so the endpoint can be tried.
    println!("READ_KEY={}", reader.token.expose());
    println!("WRITE_KEY={}", writer.token.expose());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(apikey_core::shutdown_signal())
    .await?;
    // Usage is written behind; what the last seconds counted is still in memory.
    keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    Ok(())
}
