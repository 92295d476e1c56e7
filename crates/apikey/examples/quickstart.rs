//! Create a key, verify it, revoke it, verify again.
//!
//! ```sh
//! cargo run -p apikey --example quickstart --features memory
//! ```
#![allow(clippy::print_stdout)]

use apikey::Change;
use std::sync::Arc;

use apikey::memory::{MemoryLimiter, MemoryStore};
use apikey::{
    ApiKeys, Credential, NewKey, Peppers, RequestContext, Scope, SystemClock, TenantScope,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> apikey::Result<()> {
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(Peppers::single(
            "v1",
            b"an example pepper, 16+ bytes".to_vec(),
        )?)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()?;

    let created = keys
        .manager()
        .create(NewKey::new("billing").scopes(["invoices:read"])?)
        .await?;
    println!(
        "created key {} (lookup id {})",
        created.record.id, created.record.lookup_id
    );

    let required = [Scope::new("invoices:read")?];
    let ctx = RequestContext::new().scopes(&required);
    match keys
        .verifier()
        .verify(Credential::new(created.token.expose()), &ctx)
        .await
    {
        Ok(v) => println!(
            "verified: key {} with scopes {:?}",
            v.key_id(),
            v.scopes().iter().map(|s| s.as_str()).collect::<Vec<_>>()
        ),
        Err(r) => println!("unexpected rejection: {r}"),
    }

    keys.manager()
        .revoke(
            &TenantScope::All,
            created.record.id,
            Change::new().because("demo"),
        )
        .await?;
    match keys
        .verifier()
        .verify(Credential::new(created.token.expose()), &ctx)
        .await
    {
        Ok(_) => println!("unexpected: revoked key still verifies"),
        Err(r) => println!("after revocation: {} ({})", r.status(), r.kind()),
    }
    // Usage is written behind: write what is still in memory before exiting.
    keys.shutdown(apikey::SHUTDOWN_DEADLINE).await;
    Ok(())
}
