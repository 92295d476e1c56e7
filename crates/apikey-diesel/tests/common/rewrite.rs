//! The data migration that rewrites stored rules in canonical form, on a real database: a row
//! written by an earlier version (through raw SQL) is rewritten by `migrate()`.

use std::future::Future;
use std::sync::Arc;

use apikey_diesel::diesel::query_builder::SqlQuery;
use apikey_diesel::diesel::sql_types::{BigInt, Text};
use apikey_diesel::diesel::{self, QueryableByName};
use apikey_diesel::diesel_async::methods::{ExecuteDsl, LoadQuery};
use apikey_diesel::diesel_async::{AsyncConnection, RunQueryDsl};
use apikey_diesel::{Dialect, DieselStore};
use apikey_testkit::rewrite;
use serde_json::Value;

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
    let k = rewrite::create_key(Arc::new(store.clone())).await;
    let lookup = k.record.lookup_id.as_str();

    // The database as the previous version left it: no migration 0004, rules as it stored them.
    let mut conn = connect().await;
    let tamper = rewrite::tamper_sql(lookup);
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
    assert_eq!(json(&raw.ip_rules), rewrite::canonical_ip_rules());
    assert_eq!(json(&raw.scopes), rewrite::canonical_scopes());
    assert_eq!(
        json(&raw.endpoint_limits)[0]["endpoint"],
        rewrite::CANONICAL_ENDPOINT
    );

    rewrite::assert_rewritten_key_denies(Arc::new(store.clone()), &k).await;

    let done = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM apikey_data_migrations WHERE applied_at IS NOT NULL",
    )
    .get_result::<Count>(&mut conn)
    .await
    .expect("read apikey_data_migrations");
    assert_eq!(done.n, 1, "the data migration is recorded once done");
    store.migrate().await.expect("migrate() again is a no-op");
}
