//! The data migration that rewrites stored rules in canonical form, on a real database: a row
//! written by an earlier version (through raw SQL) is rewritten by `migrate()`.

use std::sync::Arc;

use apikey_sqlx::sqlx::{self, ColumnIndex, Decode, Executor, IntoArguments, Pool, Row, Type};
use apikey_sqlx::{Dialect, SqlxStore};

use super::exec;
use apikey_testkit::rewrite;
use serde_json::Value;

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
    let store = SqlxStore::<D>::new(pool.clone());
    store.migrate().await.expect("migrate");
    let k = rewrite::create_key(Arc::new(store.clone())).await;
    let lookup = k.record.lookup_id.as_str();

    // The database as the previous version left it: no migration 0004, rules as it stored them.
    exec(
        &pool,
        "DELETE FROM apikey_schema_migrations WHERE version = 4",
    )
    .await;
    exec(&pool, "DROP TABLE apikey_data_migrations").await;
    let tamper = rewrite::tamper_sql(lookup);
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
    assert_eq!(column("ip_rules"), rewrite::canonical_ip_rules());
    assert_eq!(column("scopes"), rewrite::canonical_scopes());
    assert_eq!(
        column("endpoint_limits")[0]["endpoint"],
        rewrite::CANONICAL_ENDPOINT
    );

    rewrite::assert_rewritten_key_denies(Arc::new(store.clone()), &k).await;

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
