//! Migration 0008 from a real version-7 database (0008 undone, rows written as the previous
//! version did, alias rows without a tenant) that holds duplicate aliases: the migration
//! succeeds and fills each alias row's tenant from its key — so a key without a tenant does not
//! join a tenant's duplicate — reports the duplicates instead of making the index unique, keeps
//! refusing new ones, and makes the index unique on the first `migrate()` after they are
//! resolved through the store.

use apikey_core::{ErrorKind, KeyRecord, KeyStore, TenantScope};
use apikey_diesel::{Dialect, DieselStore};
use apikey_sql::flow::aliases::DuplicateAlias;
use apikey_sql::{Driver, Sql};
use apikey_testkit::fixtures::{base_time, created, next_version, record, tenant, updated};
use chrono::TimeDelta;

/// Writes `r` (aliases included) as the previous version did: its key row, and alias rows
/// without a tenant.
async fn insert_as_v7<D: Dialect>(store: &DieselStore<D>, r: &KeyRecord) {
    let p = <DieselStore<D> as Driver>::PLACEHOLDER;
    let mut conn = store.reader().await.expect("connection");
    let key = apikey_sql::keys::insert(p, r, &created(r)).expect("key row");
    <DieselStore<D> as Driver>::execute(&mut conn, key, "insert key")
        .await
        .expect("insert key");
    for alias in &r.aliases {
        let mut sql = Sql::new(p, "INSERT INTO apikey_key_aliases (key_id, alias) VALUES (");
        sql.bind(r.id).push(", ").bind(alias.as_str()).push(")");
        <DieselStore<D> as Driver>::execute(&mut conn, sql, "insert alias")
            .await
            .expect("insert alias");
    }
}

/// See the module docs. `undo_0008` (one statement each) takes a migrated database back to
/// version 7.
pub async fn backfilled_then_reported_then_unique<D: Dialect>(
    store: &DieselStore<D>,
    undo_0008: &[&str],
) {
    store.migrate().await.expect("migrate");
    {
        let p = <DieselStore<D> as Driver>::PLACEHOLDER;
        let mut conn = store.reader().await.expect("connection");
        for sql in undo_0008
            .iter()
            .chain(&["DELETE FROM __diesel_schema_migrations WHERE version = 'apikey0008'"])
        {
            <DieselStore<D> as Driver>::execute(&mut conn, Sql::new(p, sql), "undo 0008")
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    let t = tenant("acme");
    let at = |s| base_time() + TimeDelta::seconds(s);
    let mut rows: Vec<KeyRecord> = [Some(&t), Some(&t), None]
        .into_iter()
        .zip(1..)
        .map(|(owner_tenant, s)| {
            let mut r = record(owner_tenant, at(s));
            r.aliases = vec!["dup".to_owned()];
            r
        })
        .collect();
    for r in &rows {
        insert_as_v7(store, r).await;
    }
    store
        .migrate()
        .await
        .expect("a database with duplicate aliases still migrates");

    let mut keys = vec![rows[0].id, rows[1].id];
    keys.sort();
    assert_eq!(
        store.duplicate_aliases().await.expect("report"),
        vec![DuplicateAlias {
            tenant: Some(t.clone()),
            alias: "dup".to_owned(),
            keys,
        }],
        "the alias rows got their key's tenant: the key without one is apart"
    );
    let mut another = record(Some(&t), at(9));
    another.aliases = vec!["dup".to_owned()];
    let err = store
        .insert(&another, &created(&another))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "still refused without a unique index"
    );

    let b = rows.remove(1);
    let mut renamed = next_version(&b, at(10));
    renamed.aliases = vec!["own".to_owned()];
    store
        .update(
            &TenantScope::Tenant(t.clone()),
            1,
            &renamed,
            &updated(&b, &renamed),
        )
        .await
        .expect("resolve the duplicate");
    store.migrate().await.expect("migrate again");
    assert!(store.duplicate_aliases().await.expect("report").is_empty());

    // The index is unique now: a duplicate written past the store's check is refused too.
    let p = <DieselStore<D> as Driver>::PLACEHOLDER;
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_key_aliases (key_id, alias, tenant_key) VALUES (",
    );
    sql.bind(renamed.id)
        .push(", ")
        .bind("dup")
        .push(", ")
        .bind("acme")
        .push(")");
    let mut conn = store.reader().await.expect("connection");
    let err = <DieselStore<D> as Driver>::execute(&mut conn, sql, "insert alias")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}
