//! `apikey audit list|stats` on SQLite: events filtered by key, owner, type and time, paged by a
//! printed cursor; counts per day, type and actor; bad cursors and ranges are usage errors.

mod common;

use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

fn types(run: &common::Run) -> Vec<String> {
    run.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn audit_lists_filters_pages_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = apikey(d, &["create", "--name", "a", "--json"], &ENV).expect(0);
    let a = a.json()["key"]["id"].as_str().unwrap().to_owned();
    let b = apikey(
        d,
        &["create", "--name", "b", "--owner", "ops", "--json"],
        &ENV,
    )
    .expect(0);
    let b = b.json()["key"]["id"].as_str().unwrap().to_owned();
    apikey(
        d,
        &["--actor", "alice", "suspend", &a, "--reason", "looking"],
        &ENV,
    )
    .expect(0);
    apikey(
        d,
        &["--actor", "alice", "revoke", &b, "--reason", "leaked"],
        &ENV,
    )
    .expect(0);

    let all = apikey(d, &["audit", "list", "--json"], &ENV).expect(0);
    let all_types = types(&all);
    assert_eq!(all_types.len(), 4, "{all_types:?}");
    assert_eq!(all_types[0], "key.created", "oldest first");
    let of_a = apikey(d, &["audit", "list", "--key", &a, "--json"], &ENV).expect(0);
    assert_eq!(types(&of_a), ["key.created", "key.suspended"]);
    let revoked = apikey(
        d,
        &["audit", "list", "--type", "key.revoked", "--json"],
        &ENV,
    )
    .expect(0);
    assert_eq!(types(&revoked), ["key.revoked"]);
    assert_eq!(revoked.json()["events"][0]["actor"], "alice");
    let future = apikey(
        d,
        &["audit", "list", "--since", "2999-01-01T00:00:00Z", "--json"],
        &ENV,
    )
    .expect(0);
    assert!(types(&future).is_empty());

    let first = apikey(d, &["audit", "list", "--limit", "3", "--json"], &ENV).expect(0);
    assert_eq!(types(&first).len(), 3);
    let next = first.json()["next"].as_str().unwrap().to_owned();
    let rest = apikey(
        d,
        &["audit", "list", "--limit", "3", "--after", &next, "--json"],
        &ENV,
    )
    .expect(0);
    assert_eq!(types(&rest), [all_types[3].clone()]);
    assert!(rest.json()["next"].is_null());

    let stats = apikey(d, &["audit", "stats", "--json"], &ENV).expect(0);
    let rows = stats.json().as_array().unwrap().clone();
    let count = |t: &str, actor: &str| -> u64 {
        rows.iter()
            .filter(|r| r["event_type"] == t && r["actor"] == actor)
            .map(|r| r["events"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        count("key.suspended", "alice") + count("key.revoked", "alice"),
        2
    );
    assert_eq!(
        rows.iter()
            .map(|r| r["events"].as_u64().unwrap())
            .sum::<u64>(),
        4
    );
    let table = apikey(d, &["audit", "stats"], &ENV).expect(0);
    assert!(table.stdout.contains("4 events from"), "{}", table.stdout);

    apikey(d, &["audit", "list", "--after", "garbage"], &ENV).expect(2);
    apikey(d, &["audit", "list", "--type", "no.such"], &ENV).expect(2);
    apikey(
        d,
        &[
            "audit",
            "stats",
            "--since",
            "2030-01-02T00:00:00Z",
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        &ENV,
    )
    .expect(2);
}

/// Runs `sql` on the SQLite database the CLI made in `d`, as someone with write access would.
fn tamper(d: &std::path::Path, sql: &str) {
    use apikey_sqlx::sqlx::{self, sqlite::SqliteConnectOptions, sqlite::SqlitePoolOptions};
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = SqlitePoolOptions::new()
            .connect_with(SqliteConnectOptions::new().filename(d.join("apikeys.db")))
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    });
}

#[test]
fn audit_verify_checks_the_chain_and_names_an_edited_row() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = apikey(d, &["create", "--name", "a", "--json"], &ENV).expect(0);
    let a = a.json()["key"]["id"].as_str().unwrap().to_owned();
    apikey(
        d,
        &["--actor", "alice", "suspend", &a, "--reason", "looking"],
        &ENV,
    )
    .expect(0);
    let by_alice = apikey(d, &["audit", "list", "--actor", "alice", "--json"], &ENV).expect(0);
    assert_eq!(types(&by_alice), ["key.suspended"]);

    // Consistent but not yet anchored; then one checkpoint covers both events.
    let before = apikey(d, &["audit", "verify", "--json"], &ENV).expect(0);
    assert_eq!(before.json()["unanchored"], 2);
    assert!(before.json()["last_checkpoint"].is_null());
    let made = apikey(d, &["audit", "checkpoint", "--json"], &ENV).expect(0);
    assert_eq!(made.json()["checkpoints_made"], 1);
    assert!(
        d.join("apikeys.db.kek").exists(),
        "the KEK is made beside the database"
    );
    let intact = apikey(d, &["audit", "verify"], &ENV).expect(0);
    assert!(intact.stdout.contains("intact"), "{}", intact.stdout);
    assert!(intact.stdout.contains("MACs checked"), "{}", intact.stdout);

    tamper(
        d,
        "UPDATE apikey_audit_events SET reason = 'routine' WHERE action = 'key.suspended'",
    );
    let caught = apikey(d, &["audit", "verify"], &ENV).expect(1);
    assert!(
        caught.stdout.contains("TAMPERED") && caught.stdout.contains("altered at position 2"),
        "{}",
        caught.stdout
    );
    let json = apikey(d, &["audit", "verify", "--json"], &ENV).expect(1);
    assert_eq!(json.json()["findings"][0]["problem"], "altered");
    assert_eq!(json.json()["findings"][0]["key_id"], a.as_str());
}
