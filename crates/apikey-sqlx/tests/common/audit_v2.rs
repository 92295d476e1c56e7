//! Migration 0005 on a real database: audit rows as the previous version wrote them (whole
//! records with the hash, undotted types, no position) become v2 events — dotted types, key
//! subjects, positions in time order, no secret-derived field — and events written afterwards
//! never store one either (the planted-secret test at the row level).

use std::sync::Arc;

use apikey_core::{AuditFilter, AuditStore, EventSubject, EventType, KeyStore, TenantScope};
use apikey_sqlx::sqlx::{self, ColumnIndex, Decode, Executor, IntoArguments, Pool, Row, Type};
use apikey_sqlx::{Dialect, SqlxStore};

use super::exec;
use apikey_testkit::audit_stream::{assert_free_of_canary, canary_record};
use apikey_testkit::fixtures;

/// What a database needs to stand in for the previous version.
pub struct V1 {
    /// Drops the v2 audit table and everything 0005 added.
    pub undo_0005: &'static str,
    /// Migration 0002 of this database: the table as the previous version created it.
    pub create_v1: &'static str,
    /// An instant literal for `occurred_at` at `ms` milliseconds after the epoch.
    pub instant: fn(i64) -> String,
    /// Selects every stored snapshot and payload as one text column `t` per row.
    pub dump: &'static str,
}

fn quoted(json: &serde_json::Value) -> String {
    format!("'{}'", json.to_string().replace('\'', "''"))
}

/// See the module docs.
pub async fn v1_rows_become_v2_events<D>(pool: Pool<D>, v1: V1)
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
{
    let store = SqlxStore::<D>::new(pool.clone());
    store.migrate().await.expect("migrate");
    exec(&pool, v1.undo_0005).await;
    exec(&pool, v1.create_v1).await;
    exec(
        &pool,
        "DELETE FROM apikey_schema_migrations WHERE version IN (5, 13)",
    )
    .await;

    // A plain record (no quotes or backslashes for the literals below) with the canary's secrets.
    let mut r = fixtures::record(Some(&fixtures::tenant("tenant-a")), fixtures::base_time());
    let canary = canary_record();
    r.hash = canary.hash.clone();
    r.legacy_lookup = canary.legacy_lookup.clone();
    let mut r2 = fixtures::next_version(&r, r.created_at);
    r2.name = "renamed".into();
    // The old rows: whole records, undotted actions, the later one inserted first.
    let whole = |rec: &apikey_core::KeyRecord| serde_json::to_value(rec).expect("record json");
    let rows = [
        (
            "0190aaaa-0000-7000-8000-000000000002",
            "updated",
            2_000,
            2,
            quoted(&whole(&r)),
            quoted(&whole(&r2)),
        ),
        (
            "0190aaaa-0000-7000-8000-000000000001",
            "created",
            1_000,
            1,
            "NULL".to_owned(),
            quoted(&whole(&r)),
        ),
    ];
    for (id, action, ms, version, before, after) in rows {
        exec(
            &pool,
            &format!(
                "INSERT INTO apikey_audit_events (id, key_id, tenant_id, action, actor, reason, \
                 occurred_at, version, record_before, record_after) VALUES ('{id}', '{key}', \
                 'tenant-a', '{action}', 'ops', NULL, {at}, {version}, {before}, {after})",
                key = r.id,
                at = (v1.instant)(1_700_000_000_000 + ms),
            ),
        )
        .await;
    }

    store.migrate().await.expect("migration 0005 over v1 rows");

    let events = store.read_after(0, 100).await.expect("read by position");
    assert_eq!(events.len(), 2);
    let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [EventType::Created, EventType::Updated],
        "time order"
    );
    let positions: Vec<u64> = events.iter().filter_map(|e| e.position).collect();
    assert_eq!(positions, [1, 2]);
    for e in &events {
        assert_eq!(e.subject, Some(EventSubject::Key(r.id)));
        assert_eq!(e.actor.as_deref(), Some("ops"));
    }
    assert_eq!(
        events[1].after.as_ref().map(|v| v.name.as_str()),
        Some("renamed")
    );
    assert_eq!(
        events[1].before.as_ref().map(|v| v.lookup_id),
        Some(r.lookup_id)
    );
    assert_eq!(store.last_position().await.expect("last"), 2);

    // Written after the migration: positions go on, and the row holds no secret either.
    let k = apikey_testkit::rewrite::create_key(Arc::new(store.clone())).await;
    // A fresh key and lookup id of its own (the fixture makes new ones each call).
    let canary = canary_record();
    store
        .insert(&canary, &fixtures::created(&canary))
        .await
        .expect("insert canary");
    assert!(
        store
            .delete(
                &TenantScope::All,
                canary.id,
                &fixtures::deleted(&canary, canary.created_at)
            )
            .await
            .expect("delete canary")
    );
    let later = AuditStore::query(&store, &TenantScope::All, &AuditFilter::key(k.record.id))
        .await
        .expect("query");
    assert!(later.iter().all(|e| e.position > Some(2)));

    let dumped: Vec<String> = sqlx::query(v1.dump)
        .fetch_all(&pool)
        .await
        .expect("dump audit rows")
        .iter()
        .map(|row| row.try_get::<String, _>("t").expect("text"))
        .collect();
    assert!(dumped.len() >= 4);
    assert!(dumped.concat().contains(&r.lookup_id.to_string()));
    assert_free_of_canary(&dumped.concat(), "a stored audit row");
    store.migrate().await.expect("migrate() again is a no-op");
}
