//! The CLI manages a service's SQLite database through the pepper file beside it, in the one
//! format the library reads (including the early quick start's 32 raw bytes), refuses pepper
//! files open to others, and writes exports private whatever file they replace.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use apikey_core::{ApiKeys, NewKey, PepperConfig};
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use common::{PEPPER, apikey};

/// Makes `db` with one key the way the quick start does — its pepper through the library's
/// loader, beside the database, created when missing — and returns the key's token.
async fn service_database(db: &Path) -> String {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    let store = SqlxSqliteStore::new(pool.clone());
    store.migrate().await.unwrap();
    let peppers = PepperConfig::with_spec(None)
        .beside_sqlite(db)
        .create_file_if_no_keys(true)
        .load_or_create(&store)
        .await
        .unwrap()
        .peppers;
    let keys = ApiKeys::builder(Arc::new(store))
        .peppers(peppers)
        .build()
        .unwrap();
    let created = keys
        .manager()
        .create(NewKey::new("demo").scopes(["projects:read"]).unwrap())
        .await
        .unwrap();
    let token = created.token.expose().to_owned();
    assert_eq!(keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await, 0);
    pool.close().await;
    token
}

fn list_and_verify(dir: &Path, token: &str) {
    let url = "sqlite://quickstart.db";
    let list = apikey(dir, &["--database-url", url, "list"], &[]).expect(0);
    assert!(list.stdout.contains("demo"), "{}", list.stdout);
    apikey(dir, &["--database-url", url, "verify", token], &[]).expect(0);
    // The pepper came from the file beside the database, not from a new one or the environment.
    apikey(
        dir,
        &["--database-url", url, "verify", token],
        &[("APIKEY_PEPPER", PEPPER)],
    )
    .expect(1);
}

#[tokio::test]
async fn the_cli_manages_an_early_quick_start_database_with_its_raw_pepper_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quickstart.db");
    // Early quick starts wrote 32 raw bytes; the loader reads them as pepper `qs1`.
    let pepper = dir.path().join("quickstart.db.pepper");
    let raw: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(91).wrapping_add(131))
        .collect();
    std::fs::write(&pepper, &raw).unwrap();
    std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o600)).unwrap();
    let token = service_database(&db).await;
    assert_eq!(
        std::fs::read(&pepper).unwrap(),
        raw,
        "the file is left as it was"
    );
    list_and_verify(dir.path(), &token);
}

#[tokio::test]
async fn the_cli_manages_a_quick_start_database_with_the_pepper_file_it_creates() {
    let dir = tempfile::tempdir().unwrap();
    let token = service_database(&dir.path().join("quickstart.db")).await;
    list_and_verify(dir.path(), &token);
    // A second key from the CLI verifies with the same file.
    let created = apikey(
        dir.path(),
        &[
            "--database-url",
            "sqlite://quickstart.db",
            "create",
            "--name",
            "again",
        ],
        &[],
    )
    .expect(0);
    let again = created.last_line();
    apikey(
        dir.path(),
        &["--database-url", "sqlite://quickstart.db", "verify", &again],
        &[],
    )
    .expect(0);
}

#[test]
fn a_pepper_file_open_to_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    apikey(d, &["create", "--name", "a"], &[]).expect(0);
    let pepper = d.join("apikeys.db.pepper");
    std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["list"][..], &["create", "--name", "b"][..]] {
        let run = apikey(d, args, &[]).expect(6);
        assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
        assert!(run.stderr.contains("apikeys.db.pepper"), "{}", run.stderr);
    }
    std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o600)).unwrap();
    apikey(d, &["list"], &[]).expect(0);
}

#[test]
fn export_over_an_existing_readable_file_leaves_it_private() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    apikey(d, &["create", "--name", "a"], &[]).expect(0);
    let out = d.join("keys.json");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    apikey(d, &["export", "--out", "keys.json"], &[]).expect(0);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "export mode {mode:o}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"a\""), "{text}");
    // Nothing left behind but the export and the database files.
    let stray: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(".apikey-export-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
