//! The data migration that rewrites stored rules in canonical form, on a real database: a row
//! written by an earlier version (through raw SQL) is rewritten by `migrate()`.

use std::future::Future;
use std::sync::Arc;

use apikey_core::ip::IpVerdict;
use apikey_core::{
    ApiKeys, Credential, KeyStore, NewKey, Peppers, RejectionKind, RequestContext, TenantScope,
};
use apikey_diesel::diesel::query_builder::SqlQuery;
use apikey_diesel::diesel::sql_types::{BigInt, Text};
use apikey_diesel::diesel::{self, QueryableByName};
use apikey_diesel::diesel_async::methods::{ExecuteDsl, LoadQuery};
use apikey_diesel::diesel_async::{AsyncConnection, RunQueryDsl};
use apikey_diesel::{Dialect, DieselStore};
use serde_json::{Value, json};

/// How an older version could have stored the rules: a mapped deny network (which it never
/// matched against IPv4 clients), an unsorted scope list with a duplicate, a lower-case method.
const IP_RULES: &str = r#"{"allow":[],"deny":["::ffff:10.0.0.0/104"]}"#;
const SCOPES: &str = r#"["projects:write","projects:read","projects:write"]"#;
const LIMITS: &str =
    r#"[{"endpoint":"get   /projects/{id}","rate":{"requests":5,"per_ms":60000,"burst":5}}]"#;

/// The three rule columns, as text.
#[derive(QueryableByName)]
pub struct RawRules {
    #[diesel(sql_type = Text)]
    ip_rules: String,
    #[diesel(sql_type = Text)]
    scopes: String,
    #[diesel(sql_type = Text)]
    endpoint_limits: String,
}

/// A count.
#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn keys<D: Dialect>(store: &DieselStore<D>) -> ApiKeys {
    ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap())
        .build()
        .unwrap()
}

/// `raw_select` reads `ip_rules`, `scopes` and `endpoint_limits` as text for lookup id `LOOKUP`;
/// `connect` opens a plain connection to the store's database.
pub async fn stored_rules_are_rewritten<D, C, F>(
    store: &DieselStore<D>,
    connect: impl Fn() -> F,
    raw_select: &str,
) where
    D: Dialect,
    C: AsyncConnection<Backend = D> + 'static,
    F: Future<Output = C>,
    SqlQuery: ExecuteDsl<C>,
    for<'q> SqlQuery: LoadQuery<'q, C, RawRules> + LoadQuery<'q, C, Count>,
{
    store.migrate().await.expect("migrate");
    let k = keys(store)
        .manager()
        .create(
            NewKey::new("written by an older version")
                .scopes(["projects:read", "projects:write"])
                .unwrap(),
        )
        .await
        .unwrap();
    let lookup = k.record.lookup_id.as_str();

    // The database as the previous version left it: no migration 0004, rules as it stored them.
    let mut conn = connect().await;
    let tamper = format!(
        "UPDATE apikey_keys SET ip_rules = '{IP_RULES}', scopes = '{SCOPES}', \
         endpoint_limits = '{LIMITS}' WHERE lookup_id = '{lookup}'"
    );
    for sql in [
        "DELETE FROM __diesel_schema_migrations WHERE version = 'apikey0004'",
        "DROP TABLE apikey_data_migrations",
        tamper.as_str(),
    ] {
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    store
        .migrate()
        .await
        .expect("migration 0004 and the rewrite");

    let raw = diesel::sql_query(raw_select.replace("LOOKUP", lookup))
        .get_result::<RawRules>(&mut conn)
        .await
        .expect("read the row back");
    let json = |s: &str| -> Value { serde_json::from_str(s).expect("JSON") };
    assert_eq!(
        json(&raw.ip_rules),
        json!({ "allow": [], "deny": ["10.0.0.0/8"] })
    );
    assert_eq!(
        json(&raw.scopes),
        json!(["projects:read", "projects:write"])
    );
    assert_eq!(
        json(&raw.endpoint_limits)[0]["endpoint"],
        "GET /projects/{id}"
    );

    let back = store
        .get(&TenantScope::All, k.record.id)
        .await
        .unwrap()
        .expect("the key");
    assert_eq!(
        back.version, k.record.version,
        "a rewrite is not a key change"
    );
    let client = "10.1.2.3".parse().unwrap();
    assert_eq!(back.ip_rules.check(Some(client)), IpVerdict::Denied);
    let verdict = keys(store)
        .verifier()
        .verify(
            Credential::new(k.token.expose()),
            &RequestContext::new().client_ip(Some(client)),
        )
        .await
        .map(drop)
        .map_err(|r| r.kind());
    assert_eq!(verdict, Err(RejectionKind::IpDenied));

    let done = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM apikey_data_migrations WHERE applied_at IS NOT NULL",
    )
    .get_result::<Count>(&mut conn)
    .await
    .expect("read apikey_data_migrations");
    assert_eq!(done.n, 1, "the data migration is recorded once done");
    store.migrate().await.expect("migrate() again is a no-op");
}
