//! The rules rewrite every store runs on `migrate()`/`init()` (rules stored before they had one
//! canonical form), checked the same way on every backend: the old spellings a store's test plants
//! in a row, and what the key must decide once the rewrite ran.

use std::sync::Arc;

use apikey_core::ip::IpVerdict;
use apikey_core::manage::CreatedKey;
use apikey_core::{
    ApiKeys, Credential, KeyStore, NewKey, Peppers, RejectionKind, RequestContext, TenantScope,
};
use serde_json::{Value, json};

/// How an older version could have stored the IP rules (JSON): a mapped deny network, which it
/// never matched against IPv4 clients.
pub const OLD_IP_RULES: &str = r#"{"allow":[],"deny":["::ffff:10.0.0.0/104"]}"#;
/// ... the scopes: unsorted, with a duplicate.
pub const OLD_SCOPES: &str = r#"["projects:write","projects:read","projects:write"]"#;
/// ... the endpoint limits: a lower-case method and extra spaces.
pub const OLD_ENDPOINT_LIMITS: &str =
    r#"[{"endpoint":"get   /projects/{id}","rate":{"requests":5,"per_ms":60000,"burst":5}}]"#;

/// The SQL statement (the same on every SQL database) that puts the row of `lookup` back as the
/// previous version stored it: the `OLD_*` rules, scopes and endpoint limits.
pub fn tamper_sql(lookup: &str) -> String {
    format!(
        "UPDATE apikey_keys SET ip_rules = '{OLD_IP_RULES}', scopes = '{OLD_SCOPES}', \
         endpoint_limits = '{OLD_ENDPOINT_LIMITS}' WHERE lookup_id = '{lookup}'"
    )
}

/// The IP rules as the rewrite must leave them.
pub fn canonical_ip_rules() -> Value {
    json!({ "allow": [], "deny": ["10.0.0.0/8"] })
}

/// The scopes as the rewrite must leave them.
pub fn canonical_scopes() -> Value {
    json!(["projects:read", "projects:write"])
}

/// The endpoint name as the rewrite must leave it.
pub const CANONICAL_ENDPOINT: &str = "GET /projects/{id}";

/// `ApiKeys` over `store` with a fixed test pepper, so several calls verify each other's keys.
pub fn keys(store: Arc<dyn KeyStore>) -> ApiKeys {
    ApiKeys::builder(store)
        .peppers(Peppers::single("t", b"a test pepper of enough length".to_vec()).expect("pepper"))
        .build()
        .expect("build")
}

/// Creates the key whose row the test then takes back to the old spellings.
pub async fn create_key(store: Arc<dyn KeyStore>) -> CreatedKey {
    keys(store)
        .manager()
        .create(
            NewKey::new("written by an older version")
                .scopes(["projects:read", "projects:write"])
                .expect("scopes"),
        )
        .await
        .expect("create")
}

/// After the rewrite: the key reads back at the same version (a rewrite is not a key change) and
/// its deny rule denies the IPv4 client 10.1.2.3, in its rules and in a real verification.
pub async fn assert_rewritten_key_denies(store: Arc<dyn KeyStore>, key: &CreatedKey) {
    let back = store
        .get(&TenantScope::All, key.record.id)
        .await
        .expect("get")
        .expect("the key");
    assert_eq!(
        back.version, key.record.version,
        "a rewrite is not a key change"
    );
    let client = "10.1.2.3".parse().expect("address");
    assert_eq!(back.ip_rules.check(Some(client)), IpVerdict::Denied);
    let verdict = keys(store)
        .verifier()
        .verify(
            Credential::new(key.token.expose()),
            &RequestContext::new().client_ip(Some(client)),
        )
        .await
        .map(drop)
        .map_err(|r| r.kind());
    assert_eq!(verdict, Err(RejectionKind::IpDenied));
}
