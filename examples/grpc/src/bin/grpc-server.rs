//! The example server: an in-memory key store with two demo keys, the demo service on
//! `127.0.0.1:50051` (or `APIKEY_ADDR`) behind `apikey-tonic`'s layer.
//!
//! ```sh
//! cargo run -p apikey-example-grpc --bin grpc-server
//! ```
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use apikey_core::{ApiKeys, NewKey};
use apikey_memory::{MemoryLimiter, MemoryStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("APIKEY_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".to_owned());
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        // In-memory keys die with the process anyway.
        .random_peppers_keys_die_at_exit()
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(
            apikey_core::SystemClock,
        ))))
        .build()?;
    let reader = keys
        .manager()
        .create(NewKey::new("demo-reader").scopes(["projects:read"])?)
        .await?;
    let writer = keys
        .manager()
        .create(NewKey::new("demo-writer").scopes(["projects:read", "projects:write"])?)
        .await?;
    let (bound, serving) = apikey_example_grpc::spawn_server_until(
        addr.parse()?,
        Some(keys.verifier().clone()),
        apikey_core::shutdown_signal(),
    )
    .await?;
    println!("listening on {bound}");
    // Demo keys of this in-memory store, shown once so the client can be tried; a real service
    // hands tokens to their owners through its management API, never to a log.
    println!("read-only key:  {}", reader.token.expose());
    println!("read-write key: {}", writer.token.expose());
    serving.await?;
    // Usage is written behind; what the last seconds counted is still in memory.
    keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    Ok(())
}
