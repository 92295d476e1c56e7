//! The custom store in use: [`BTreeStore`] plugged into `ApiKeys`, a key created, verified,
//! refused for a scope it lacks, revoked, refused again, and its audit history read back.
//!
//! ```sh
//! cargo run  -p custom-store                      # this walk-through
//! cargo test -p custom-store --test conformance   # the testkit suites against BTreeStore
//! ```
#![allow(clippy::print_stdout)]

use apikey_core::Change;
use std::sync::Arc;

use apikey_core::{
    ApiKeys, AuditFilter, AuditStore, Credential, NewKey, Peppers, RequestContext, Scope,
    TenantScope,
};
use custom_store::BTreeStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store = BTreeStore::new();
    // A real service loads its pepper from configuration; a random one is fine for a demo whose
    // keys live only as long as the process.
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::random())
        .build()?;

    let created = keys
        .manager()
        .create(NewKey::new("reporting job").scopes(["reports:read"])?)
        .await?;
    let id = created.record.id;
    println!(
        "created key {} (lookup id {}), {} key(s) stored",
        id,
        created.record.lookup_id.as_str(),
        store.len().await
    );

    let credential = Credential::new(created.token.expose());
    let read = [Scope::new("reports:read")?];
    let write = [Scope::new("reports:write")?];
    let verifier = keys.verifier();

    let ok = verifier
        .verify(credential, &RequestContext::new().scopes(&read))
        .await;
    println!("reports:read  -> {}", outcome(&ok));
    let denied = verifier
        .verify(credential, &RequestContext::new().scopes(&write))
        .await;
    println!("reports:write -> {}", outcome(&denied));

    keys.manager()
        .revoke(&TenantScope::All, id, Change::new().because("demo over"))
        .await?;
    let revoked = verifier
        .verify(credential, &RequestContext::new().scopes(&read))
        .await;
    println!("after revoke  -> {}", outcome(&revoked));

    let filter = AuditFilter::key(id);
    for event in AuditStore::query(&store, &TenantScope::All, &filter).await? {
        println!(
            "audit: {} {} v{}",
            event.at.to_rfc3339(),
            event.event_type,
            event.version
        );
    }
    keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    Ok(())
}

fn outcome(result: &Result<apikey_core::Verified, apikey_core::Rejection>) -> String {
    match result {
        Ok(v) => format!("accepted ({})", v.record().name),
        Err(r) => format!("refused ({:?})", r.kind()),
    }
}
