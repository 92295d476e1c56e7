//! Importing from SQLite files: a Prisma table (milliseconds in integers, scopes as a JSON list)
//! into an `apikey-sqlx` SQLite store, and a TypeORM table (text timestamps, a comma list) into
//! the memory store. Needs no service.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use apikey_core::{TenantId, TenantScope};
use apikey_nest::{NestError, NestOptions, Shape, import_nest, key_id_for};
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::SqlitePoolOptions;
use common::{SourceKey, import_and_verify, keys_on, memory_keys, source_keys};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

/// A file in the temp directory, removed with its journals on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("{}.sqlite3", common::unique_name())))
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

const TYPEORM_DDL: &str = r#"CREATE TABLE "api_keys" (
    "id" varchar PRIMARY KEY NOT NULL, "name" varchar NOT NULL, "keyPrefix" varchar NOT NULL,
    "hashedKey" varchar NOT NULL, "scopes" text NOT NULL, "expiresAt" datetime,
    "revokedAt" datetime, "lastUsedAt" datetime,
    "createdAt" datetime NOT NULL DEFAULT (datetime('now')),
    "updatedAt" datetime NOT NULL DEFAULT (datetime('now')))"#;

async fn write(db: &TempDb, ddl: &str, keys: &[SourceKey], prisma: bool) {
    let mut c = SqliteConnectOptions::new()
        .filename(&db.0)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(ddl).execute(&mut c).await.unwrap();
    let now = chrono::Utc::now();
    for k in keys {
        let (scopes, stamp): (String, String) = if prisma {
            (
                serde_json::to_string(&k.scopes).unwrap(),
                now.timestamp_millis().to_string(),
            )
        } else {
            (
                k.scopes.join(","),
                format!("'{}'", now.format("%Y-%m-%d %H:%M:%S%.3f")),
            )
        };
        let revoked = if k.revoked { stamp.as_str() } else { "NULL" };
        sqlx::query(&format!(
            r#"INSERT INTO "api_keys" ("id", "name", "keyPrefix", "hashedKey", "scopes",
                 "revokedAt", "createdAt", "updatedAt") VALUES (?, ?, ?, ?, ?, {revoked}, {stamp}, {stamp})"#
        ))
        .bind(&k.id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.hashed)
        .bind(scopes)
        .execute(&mut c)
        .await
        .unwrap();
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn prisma_on_sqlite_into_a_sqlite_store() {
    let source_db = TempDb::new();
    let source = source_keys(false);
    write(
        &source_db,
        r#"CREATE TABLE "api_keys" (
            "id" TEXT NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "keyPrefix" TEXT NOT NULL,
            "hashedKey" TEXT NOT NULL, "scopes" TEXT NOT NULL, "expiresAt" DATETIME,
            "revokedAt" DATETIME, "lastUsedAt" DATETIME,
            "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, "updatedAt" DATETIME NOT NULL)"#,
        &source,
        true,
    )
    .await;

    let store_db = TempDb::new();
    let pool = SqlitePoolOptions::new()
        .connect(&format!("{}?mode=rwc", store_db.url()))
        .await
        .unwrap();
    let store = SqlxSqliteStore::new(pool);
    store.migrate().await.unwrap();
    let keys = keys_on(Arc::new(store));
    // Lists are not native on SQLite: the ten columns with text scopes read as TypeORM's shape.
    import_and_verify(&keys, &source_db.url(), Shape::TypeOrm, &source).await;
}

#[tokio::test]
async fn typeorm_on_sqlite() {
    let db = TempDb::new();
    let mut source = source_keys(false);
    for k in &mut source {
        k.id = uuid::Uuid::new_v4().to_string();
    }
    write(&db, TYPEORM_DDL, &source, false).await;
    import_and_verify(&memory_keys(), &db.url(), Shape::TypeOrm, &source).await;
}

#[tokio::test]
async fn an_import_into_a_tenant_gives_every_key_that_tenant() {
    let db = TempDb::new();
    let source: Vec<SourceKey> = source_keys(false).into_iter().take(2).collect();
    write(&db, TYPEORM_DDL, &source, false).await;
    let keys = memory_keys();
    let acme = TenantId::new("acme").unwrap();
    let options = NestOptions::new().tenant(Some(acme.clone()));
    let report = import_nest(keys.manager(), &db.url(), &options)
        .await
        .unwrap();
    assert_eq!(report.imported.len(), 2);
    let scope = TenantScope::Tenant(acme.clone());
    for k in &source {
        let r = keys
            .manager()
            .get(&scope, key_id_for(&k.id, Some(&acme)))
            .await
            .unwrap();
        assert_eq!(r.tenant_id.as_ref(), Some(&acme));
        assert_eq!(
            common::guarded_status(&keys, &k.token).await,
            http::StatusCode::OK
        );
    }
}

#[tokio::test]
async fn keys_sharing_a_prefix_beyond_what_the_verifier_tries_are_reported_crowded() {
    let db = TempDb::new();
    let mut source = source_keys(false);
    source.truncate(1);
    let shared = source[0].token[..8].to_owned();
    for i in 0..5 {
        let token = format!("{shared}{}", &common::token()[8..]);
        source.push(SourceKey {
            id: format!("crowd{i}"),
            name: format!("crowd {i}"),
            prefix: shared.clone(),
            hashed: bcrypt::hash(&token, 10).unwrap(),
            token,
            ..source[0].clone()
        });
    }
    write(&db, TYPEORM_DDL, &source, false).await;
    let keys = memory_keys();
    let report = import_nest(keys.manager(), &db.url(), &NestOptions::new())
        .await
        .unwrap();
    assert_eq!(report.imported.len(), 6);
    assert_eq!(report.crowded_legacy.len(), 6, "six keys share one prefix");
}

#[tokio::test]
async fn a_missing_file_is_unreachable_and_is_not_created() {
    let db = TempDb::new();
    let err = import_nest(memory_keys().manager(), &db.url(), &NestOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, NestError::Unreachable { .. }), "{err}");
    assert!(!db.0.exists());
}

#[tokio::test]
async fn a_database_without_the_table_says_so() {
    let db = TempDb::new();
    write(&db, "CREATE TABLE other (x INTEGER)", &[], false).await;
    let err = import_nest(memory_keys().manager(), &db.url(), &NestOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, NestError::NoTable { .. }), "{err}");
}
