//! Aliases that several keys of a tenant shared before migration 0008 made them unique: the
//! migration does not fail, `duplicate_aliases()` lists them, new writes are still refused, and
//! once they are resolved the next `migrate()` creates the unique index.

use apikey_core::{ErrorKind, KeyStore};
use apikey_sqlx::sqlx::{Executor, IntoArguments, Pool};
use apikey_sqlx::{Dialect, SqlxStore};
use apikey_testkit::fixtures::{base_time, created, record, tenant};

use super::exec;

/// `drop_index` removes the unique index the way this database spells it.
pub async fn duplicates_are_reported_not_fatal<D>(pool: Pool<D>, drop_index: &str)
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    let store = SqlxStore::<D>::new(pool.clone());
    store.migrate().await.expect("migrate");
    let t = tenant("dup");
    let mut a = record(Some(&t), base_time());
    a.aliases = vec!["billing".to_owned()];
    let mut b = record(Some(&t), base_time());
    b.aliases = vec!["billing-old".to_owned()];
    for r in [&a, &b] {
        store.insert(r, &created(r)).await.expect("insert");
    }

    // The database as an earlier version could leave it: two keys of one tenant, one alias.
    exec(&pool, drop_index).await;
    exec(
        &pool,
        "UPDATE apikey_data_migrations SET applied_at = NULL WHERE name = 'unique_aliases'",
    )
    .await;
    exec(
        &pool,
        "UPDATE apikey_key_aliases SET alias = 'billing' WHERE alias = 'billing-old'",
    )
    .await;

    store
        .migrate()
        .await
        .expect("duplicates do not fail the migration");
    let dups = store.duplicate_aliases().await.expect("report");
    assert_eq!(dups.len(), 1);
    assert_eq!(
        (dups[0].tenant.as_ref(), dups[0].alias.as_str()),
        (Some(&t), "billing")
    );
    let mut holders = dups[0].keys.clone();
    holders.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(holders, want);

    let mut c = record(Some(&t), base_time());
    c.aliases = vec!["billing".to_owned()];
    let err = store.insert(&c, &created(&c)).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "new writes are checked meanwhile"
    );

    // Resolved (as `alias remove` would), the next migrate creates the index.
    exec(
        &pool,
        &format!("DELETE FROM apikey_key_aliases WHERE key_id = '{}'", b.id),
    )
    .await;
    store.migrate().await.expect("migrate again");
    assert!(store.duplicate_aliases().await.expect("report").is_empty());
    let raw = format!(
        "INSERT INTO apikey_key_aliases (key_id, alias, tenant_key) VALUES ('{}', 'billing', 'dup')",
        b.id
    );
    let refused = pool.execute(raw.as_str()).await;
    assert!(
        refused.is_err(),
        "the unique index now refuses a duplicate by itself"
    );
}
