//! The data migration that rewrites stored rules in canonical form, on a real database: a row
//! written by an earlier version (through raw SQL) is rewritten by `migrate()`.

use std::sync::Arc;

use apikey_core::ip::IpVerdict;
use apikey_core::{ApiKeys, Credential, NewKey, Peppers, RejectionKind, RequestContext};
use apikey_core::{KeyStore, TenantScope};
use apikey_sqlx::sqlx::{
    self, ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Row, Type,
};
use apikey_sqlx::{Dialect, SqlKeyStore};
use serde_json::{Value, json};

/// How an older version could have stored the rules: a mapped deny network (which it never
/// matched against IPv4 clients), an unsorted scope list with a duplicate, a lower-case method.
const IP_RULES: &str = r#"{"allow":[],"deny":["::ffff:10.0.0.0/104"]}"#;
const SCOPES: &str = r#"["projects:write","projects:read","projects:write"]"#;
const LIMITS: &str =
    r#"[{"endpoint":"get   /projects/{id}","rate":{"requests":5,"per_ms":60000,"burst":5}}]"#;

async fn exec<D>(pool: &Pool<D>, sql: &str)
where
    D: Database,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn keys<D: Dialect>(store: &SqlKeyStore<D>) -> ApiKeys {
    ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap())
        .build()
        .unwrap()
}

/// `raw_select` reads `ip_rules`, `scopes` and `endpoint_limits` as text for lookup id `LOOKUP`.
pub async fn stored_rules_are_rewritten<D>(pool: Pool<D>, raw_select: &str)
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
{
    let store = SqlKeyStore::<D>::new(pool.clone());
    store.migrate().await.expect("migrate");
    let k = keys(&store)
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
    exec(
        &pool,
        "DELETE FROM apikey_schema_migrations WHERE version = 4",
    )
    .await;
    exec(&pool, "DROP TABLE apikey_data_migrations").await;
    let tamper = format!(
        "UPDATE apikey_keys SET ip_rules = '{IP_RULES}', scopes = '{SCOPES}', \
         endpoint_limits = '{LIMITS}' WHERE lookup_id = '{lookup}'"
    );
    exec(&pool, &tamper).await;

    store
        .migrate()
        .await
        .expect("migration 0004 and the rewrite");

    let row = sqlx::query(&raw_select.replace("LOOKUP", lookup))
        .fetch_one(&pool)
        .await
        .expect("read the row back");
    let column = |c: &str| -> Value {
        serde_json::from_str(&row.try_get::<String, _>(c).expect("text column")).expect("JSON")
    };
    assert_eq!(
        column("ip_rules"),
        json!({ "allow": [], "deny": ["10.0.0.0/8"] })
    );
    assert_eq!(column("scopes"), json!(["projects:read", "projects:write"]));
    assert_eq!(
        column("endpoint_limits")[0]["endpoint"],
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
    let verdict = keys(&store)
        .verifier()
        .verify(
            Credential::new(k.token.expose()),
            &RequestContext::new().client_ip(Some(client)),
        )
        .await
        .map(drop)
        .map_err(|r| r.kind());
    assert_eq!(verdict, Err(RejectionKind::IpDenied));

    let done: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM apikey_data_migrations WHERE applied_at IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("read apikey_data_migrations")
    .try_get("n")
    .expect("count");
    assert_eq!(done, 1, "the data migration is recorded once done");
    store.migrate().await.expect("migrate() again is a no-op");
}
