//! End-to-end tests of the `apikey` binary on PostgreSQL, each in a database of its own created from
//! `APIKEY_TEST_POSTGRES_URL`. Without that variable the tests skip with a note, except in CI
//! (`CI=true`), where a missing service is a failure.

// A skipped test says so on stderr, outside any #[test] function.
#![allow(clippy::print_stderr)]

mod common;

use common::pg::TempDb;
use common::{PEPPER, apikey, create_verify_revoke};

/// The service URL, or `None` (with a note) when the tests should skip.
fn service_url() -> Option<String> {
    match std::env::var("APIKEY_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("APIKEY_TEST_POSTGRES_URL is not set, and CI=true: PostgreSQL is required")
        }
        _ => {
            eprintln!("skipped: set APIKEY_TEST_POSTGRES_URL to run the PostgreSQL tests");
            None
        }
    }
}

#[test]
fn create_verify_revoke_on_postgres() {
    let Some(admin) = service_url() else { return };
    let db = TempDb::new(&admin, "story");
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str()), ("APIKEY_PEPPER", PEPPER)];
    let id = create_verify_revoke(dir.path(), &env);

    // Nothing was written beside the working directory: the pepper came from the environment.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let all = apikey(dir.path(), &["list", "--all", "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(all[0]["state"], "revoked");
    assert_eq!(all[0]["state_reason"], "leaked");
    let shown = apikey(dir.path(), &["show", &id], &env).expect(0);
    assert!(shown.stdout.contains("revoked"), "{}", shown.stdout);
}

#[test]
fn postgres_without_a_pepper_is_a_configuration_error() {
    let Some(admin) = service_url() else { return };
    let db = TempDb::new(&admin, "nopepper");
    let dir = tempfile::tempdir().unwrap();
    let run = apikey(
        dir.path(),
        &["create", "--name", "x", "--database-url", &db.url],
        &[],
    )
    .expect(6);
    assert!(run.stderr.contains("APIKEY_PEPPER"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn migrate_then_lifecycle_on_postgres() {
    let Some(admin) = service_url() else { return };
    let db = TempDb::new(&admin, "migrate");
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str()), ("APIKEY_PEPPER", PEPPER)];
    let m = apikey(dir.path(), &["migrate"], &env).expect(0);
    assert!(m.stdout.contains("up to date"), "{}", m.stdout);
    apikey(dir.path(), &["migrate"], &env).expect(0);
    let v = apikey(dir.path(), &["create", "--name", "rot", "--json"], &env)
        .expect(0)
        .json();
    let id = v["key"]["id"].as_str().unwrap();
    let r = apikey(dir.path(), &["rotate", id, "--grace", "0s", "--json"], &env)
        .expect(0)
        .json();
    apikey(dir.path(), &["verify", r["token"].as_str().unwrap()], &env).expect(0);
    let old = apikey(dir.path(), &["verify", v["token"].as_str().unwrap()], &env).expect(1);
    assert!(
        old.stdout.starts_with("rejected: expired"),
        "{}",
        old.stdout
    );
}

#[test]
fn jobs_run_once_per_period_on_postgres() {
    let Some(admin) = service_url() else { return };
    let db = TempDb::new(&admin, "jobs");
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];
    apikey(dir.path(), &["migrate"], &env).expect(0);
    let list = apikey(dir.path(), &["jobs", "list", "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(list[0]["job"], "audit.retention");
    assert_eq!(list[0]["due"], true);
    let first = apikey(dir.path(), &["--json", "jobs", "run"], &env)
        .expect(0)
        .json();
    assert_eq!(first[0]["status"], "ran", "{first}");
    let again = apikey(
        dir.path(),
        &["--json", "jobs", "run", "audit.retention"],
        &env,
    )
    .expect(0)
    .json();
    assert_eq!(again[0]["status"], "done", "{again}");
}
