//! `apikey import --from-nest URL [--dry-run]` on a SQLite file shaped like nest-api-key-auth's
//! TypeORM table: a dry run writes nothing, the import brings the key over, a second import skips
//! it, and a source that is not there is a clear error.

mod common;

use apikey_sqlx::sqlx::{self, Connection as _};
use common::{PEPPER, apikey};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// One row as that library writes it (a bcrypt hash of the whole 64-hex token; its first 8
/// characters are the prefix).
fn nest_source(path: &std::path::Path) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(
            r#"CREATE TABLE "api_keys" ("id" varchar PRIMARY KEY, "name" varchar NOT NULL,
                 "keyPrefix" varchar NOT NULL, "hashedKey" varchar NOT NULL, "scopes" text NOT NULL,
                 "expiresAt" datetime, "revokedAt" datetime, "lastUsedAt" datetime,
                 "createdAt" datetime NOT NULL, "updatedAt" datetime NOT NULL);
               INSERT INTO "api_keys" VALUES ('9f1c2d3e-0000-4000-8000-000000000001', 'billing',
                 'a1b2c3d4', '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
                 'invoices:read,invoices:write', NULL, NULL, NULL,
                 '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.678');"#,
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    });
}

#[test]
fn import_from_nest_dry_run_then_import_then_skip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("APIKEY_PEPPER", PEPPER)];
    let source = d.join("nest.sqlite3");
    nest_source(&source);
    let url = format!("sqlite:{}", source.display());
    apikey(d, &["migrate"], &env).expect(0);

    let plan = apikey(
        d,
        &["import", "--from-nest", &url, "--dry-run", "--json"],
        &env,
    )
    .expect(0)
    .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["imported"].as_array().unwrap().len(), 1);
    let listed = apikey(d, &["list", "--json"], &env).expect(0).json();
    assert!(
        listed.as_array().unwrap().is_empty(),
        "a dry run writes nothing"
    );

    let done = apikey(d, &["import", "--from-nest", &url, "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(done["imported"][0]["name"], "billing");
    let listed = apikey(d, &["list", "--json"], &env).expect(0).json();
    assert_eq!(
        listed[0]["scopes"],
        serde_json::json!(["invoices:read", "invoices:write"])
    );
    assert_eq!(
        listed[0]["hash_algorithm"], "bcrypt",
        "the hash came along, as a legacy hash"
    );
    let shown = apikey(d, &["show", listed[0]["id"].as_str().unwrap()], &env).expect(0);
    assert!(!shown.stdout.contains("$2b$"), "a hash is never printed");

    let again = apikey(d, &["import", "--from-nest", &url, "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        again["skipped"].as_array().unwrap().len(),
        1,
        "already here"
    );
    assert!(again["imported"].as_array().unwrap().is_empty());

    let missing = format!("sqlite:{}", d.join("nope.sqlite3").display());
    apikey(d, &["import", "--from-nest", &missing], &env).expect(2);
    apikey(d, &["import", "--dry-run", "x.json"], &env).expect(2);
}
