//! `--confirm` and `instances` where they must refuse or fall back, on SQLite and without a
//! Redis (the confirmations themselves run against real services in
//! `examples/actix-redis/tests/confirmed_revocation.rs`).

mod common;

use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

fn created(dir: &std::path::Path) -> String {
    let run = apikey(dir, &["create", "--name", "svc", "--json"], &ENV).expect(0);
    run.json()["key"]["id"].as_str().unwrap().to_owned()
}

fn state(dir: &std::path::Path, id: &str) -> String {
    let run = apikey(dir, &["show", id, "--json"], &ENV).expect(0);
    run.json()["state"].as_str().unwrap().to_owned()
}

#[test]
fn confirm_without_a_redis_is_a_usage_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = created(d);
    let run = apikey(d, &["revoke", &id, "--confirm"], &ENV).expect(2);
    assert!(run.stderr.contains("--redis-url"), "{}", run.stderr);
    assert_eq!(state(d, &id), "active");
    apikey(d, &["suspend", &id, "--confirm", "--timeout", "1s"], &ENV).expect(2);
    assert_eq!(state(d, &id), "active");
    let run = apikey(d, &["revoke", &id, "--timeout", "1s"], &ENV).expect(2);
    assert!(run.stderr.contains("--confirm"), "{}", run.stderr);
    assert_eq!(state(d, &id), "active");
}

#[test]
fn rotate_confirm_needs_no_grace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = created(d);
    let run = apikey(
        d,
        &[
            "--redis-url",
            "redis://127.0.0.1:1",
            "rotate",
            &id,
            "--grace",
            "1h",
            "--confirm",
        ],
        &ENV,
    )
    .expect(2);
    assert!(run.stderr.contains("--grace 0s"), "{}", run.stderr);
    let run = apikey(d, &["show", &id, "--json"], &ENV).expect(0);
    assert!(run.json()["rotated_to"].is_null(), "nothing rotated");
}

#[test]
fn an_unreachable_redis_still_commits_the_revocation_and_exits_7() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = created(d);
    let run = apikey(
        d,
        &[
            "--redis-url",
            "redis://127.0.0.1:1",
            "revoke",
            &id,
            "--confirm",
        ],
        &ENV,
    )
    .expect(7);
    assert!(
        run.stderr.contains("committed") || run.stderr.contains("saved"),
        "{}",
        run.stderr
    );
    assert_eq!(state(d, &id), "revoked");
}

#[test]
fn instances_needs_a_redis_and_says_when_it_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = apikey(d, &["instances"], &[]).expect(2);
    assert!(run.stderr.contains("--redis-url"), "{}", run.stderr);
    let run = apikey(d, &["--redis-url", "redis://127.0.0.1:1", "instances"], &[]).expect(4);
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
    assert!(!d.join("apikeys.db").exists(), "no database is opened");
}
