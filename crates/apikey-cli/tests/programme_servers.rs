//! The key programme through the built binary on the real PostgreSQL and MySQL of
//! `.ci/services.sh` (`APIKEY_TEST_POSTGRES_URL`, `APIKEY_TEST_MYSQL_URL`), each run in a database
//! of its own: the catalog, aliases, transfer, bulk creation and bulk changes live in the server's
//! tables, not only in SQLite's. Without a URL a test skips with a note, except in CI (`CI=true`).

// A skipped test says so on stderr, outside any #[test] function.
#![allow(clippy::print_stderr)]

mod common;

use std::path::Path;

use apikey_sqlx::sqlx::{self, Connection as _};
use common::{PEPPER, apikey};
use serde_json::{Value, json};

/// The service URL in `var`, or `None` (with a note) when the test should skip.
fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set, and CI=true: the service is required")
        }
        _ => {
            eprintln!("skipped: set {var} (source .ci/services.sh) to run this test");
            None
        }
    }
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with ://");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{db}{query}")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A fresh, uniquely named database on the server of `admin`; dropped with this guard.
struct TempDb {
    admin: String,
    name: String,
    url: String,
    postgres: bool,
}

impl TempDb {
    fn new(admin: &str, postgres: bool) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("apikey_cli_programme_{}_{nanos}", std::process::id());
        let db = Self {
            admin: admin.to_owned(),
            url: with_database(admin, &name),
            name,
            postgres,
        };
        db.admin_sql(&format!("CREATE DATABASE {}", db.quoted()));
        db
    }

    fn quoted(&self) -> String {
        if self.postgres {
            format!("\"{}\"", self.name)
        } else {
            format!("`{}`", self.name)
        }
    }

    fn admin_sql(&self, sql: &str) {
        block_on(async {
            if self.postgres {
                let mut c = sqlx::PgConnection::connect(&self.admin).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            } else {
                let mut c = sqlx::MySqlConnection::connect(&self.admin).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
        });
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let force = if self.postgres { " WITH (FORCE)" } else { "" };
        let sql = format!("DROP DATABASE IF EXISTS {}{force}", self.quoted());
        if std::panic::catch_unwind(|| self.admin_sql(&sql)).is_err() {
            eprintln!("could not drop {}", self.name);
        }
    }
}

/// Templates, groups, aliases, transfer, bulk creation and bulk changes on one database.
fn programme_story(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d: &Path = dir.path();
    let env = [
        ("DATABASE_URL", url),
        ("APIKEY_PEPPER", PEPPER),
        ("APIKEY_ACTOR", "ops"),
    ];
    let ok = |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        apikey(d, &all, &env).expect(0).json()
    };
    let count = |extra: &[&str]| -> usize {
        let mut args = vec!["list", "--all"];
        args.extend_from_slice(extra);
        ok(&args).as_array().unwrap().len()
    };
    ok(&["migrate"]);
    ok(&[
        "templates",
        "create",
        "partner",
        "--scopes",
        "p:read",
        "--environment",
        "prod",
    ]);
    ok(&["groups", "create", "pay", "--tags", "pay"]);
    let k = ok(&[
        "create",
        "--name",
        "k",
        "--template",
        "partner",
        "--group",
        "pay",
        "--owner",
        "ann",
    ]);
    assert_eq!(k["key"]["scopes"], json!(["p:read"]));
    assert_eq!(k["key"]["tags"], json!(["pay"]));
    let id = k["key"]["id"].as_str().unwrap().to_owned();
    ok(&["alias", "add", &id, "pay-main"]);
    assert_eq!(ok(&["show", "pay-main"])["id"], id.as_str());
    let same = apikey(d, &["transfer", "pay-main", "ann"], &env).expect(2);
    assert!(same.stderr.contains("already belongs"), "{}", same.stderr);
    assert_eq!(ok(&["transfer", "pay-main", "bob"])["key"]["owner"], "bob");

    std::fs::write(
        d.join("k.csv"),
        "name,group,aliases\nb1,pay,b1\nb2,pay,pay-main\nb3,,\n",
    )
    .unwrap();
    let atomic = apikey(d, &["bulk", "create", "k.csv", "--atomic"], &env).expect(5);
    assert!(
        atomic.stderr.contains("row 2: alias \"pay-main\""),
        "names the row and the alias: {}",
        atomic.stderr
    );
    assert_eq!(count(&[]), 1, "an atomic run with a bad row writes nothing");
    let run = apikey(d, &["bulk", "create", "k.csv", "--json"], &env)
        .expect(2)
        .json();
    assert_eq!(
        (run["created"].clone(), run["failed"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(run["rows"][1]["row"], 2);
    assert_eq!(count(&[]), 3);

    let plan = ok(&["bulk", "revoke", "--group", "pay", "--dry-run"]);
    assert_eq!(plan["would_change"].as_array().unwrap().len(), 2);
    assert_eq!(
        count(&["--state", "revoked"]),
        0,
        "a dry run changes nothing"
    );
    assert_eq!(
        ok(&["groups", "show", "pay"])["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let revoked = ok(&["groups", "revoke", "pay", "--reason", "retired"]);
    assert_eq!(revoked["changed"].as_array().unwrap().len(), 2);
    assert_eq!(count(&["--state", "revoked"]), 2);
    apikey(d, &["groups", "revoke", "ghosts"], &env).expect(3);
}

#[test]
fn the_programme_on_postgres() {
    let Some(admin) = service_url("APIKEY_TEST_POSTGRES_URL") else {
        return;
    };
    let db = TempDb::new(&admin, true);
    programme_story(&db.url);
}

#[test]
fn the_programme_on_mysql() {
    let Some(admin) = service_url("APIKEY_TEST_MYSQL_URL") else {
        return;
    };
    let db = TempDb::new(&admin, false);
    programme_story(&db.url);
}
