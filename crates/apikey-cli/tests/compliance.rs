//! `apikey compliance export --owner O` on SQLite: every key of the owner in every state (public
//! view, no hash), the audit events about them, the request log's records of them — and nothing
//! of another owner; `--out` writes a 0600 file; an empty owner is a usage error. And `compliance
//! erase`, with the tamper-evident audit chain checked after it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use apikey_core::KeyId;
use apikey_core::request_log::{ADMITTED, RequestFacts, RequestLogStore, RequestRecord};
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use chrono::{Duration, Utc};
use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

fn record(key: KeyId) -> RequestRecord {
    let facts = RequestFacts {
        method: "GET",
        route: Some("/projects"),
        path: "/projects",
        client_ip: Some("203.0.113.7".parse().unwrap()),
        request_id: "r",
        user_agent: None,
    };
    let at = Utc::now();
    RequestRecord::new(
        at,
        Some(key),
        None,
        &facts,
        200,
        ADMITTED,
        900,
        at + Duration::days(30),
    )
}

async fn write(db: &Path, records: &[RequestRecord]) {
    let pool = SqlitePoolOptions::new()
        .connect_with(SqliteConnectOptions::new().filename(db))
        .await
        .unwrap();
    SqlxSqliteStore::new(pool.clone())
        .append_requests(records)
        .await
        .unwrap();
    pool.close().await;
}

fn create(d: &Path, name: &str, owner: &str) -> (String, String) {
    let run = apikey(
        d,
        &["create", "--name", name, "--owner", owner, "--json"],
        &ENV,
    )
    .expect(0);
    let json = run.json();
    (
        json["key"]["id"].as_str().unwrap().to_owned(),
        json["token"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn an_owner_gets_everything_held_about_them_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a1, token) = create(d, "alice-ci", "alice");
    let (a2, _) = create(d, "alice-old", "alice");
    let (b1, _) = create(d, "bob-ci", "bob");
    apikey(d, &["revoke", &a2, "--reason", "left the team"], &ENV).expect(0);
    write(
        &d.join("apikeys.db"),
        &[record(a1.parse().unwrap()), record(b1.parse().unwrap())],
    )
    .await;

    let run = apikey(d, &["compliance", "export", "--owner", "alice"], &ENV).expect(0);
    let doc = run.json();
    assert_eq!(doc["owner"], "alice");
    let keys = doc["keys"].as_array().unwrap();
    let mut ids: Vec<&str> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![a1.as_str(), a2.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "both keys, the revoked one too");
    let audit = doc["audit"].as_array().unwrap();
    assert!(
        audit.len() >= 3,
        "two creations and a revocation: {audit:?}"
    );
    let text = run.stdout.clone();
    assert!(
        !text.contains(&b1),
        "another owner's key leaked into the export"
    );
    assert!(!text.contains("\"hash\""), "a stored hash in the export");
    assert!(!token.is_empty());
    assert!(!text.contains(&token), "a token in the export");
    let requests = doc["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["key_id"], a1.as_str());
    assert!(
        doc["personal_fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "owner")
    );

    let out = d.join("alice.json");
    apikey(
        d,
        &[
            "compliance",
            "export",
            "--owner",
            "alice",
            "--out",
            out.to_str().unwrap(),
        ],
        &ENV,
    )
    .expect(0);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let none = apikey(d, &["compliance", "export", "--owner", "nobody"], &ENV).expect(0);
    assert_eq!(none.json()["keys"].as_array().unwrap().len(), 0);
    apikey(d, &["compliance", "export", "--owner", " "], &ENV).expect(2);
}

/// `compliance erase`: a dry run changes nothing; the erasure revokes the owner's keys, strips
/// their personal fields from the keys and the audit log, deletes their request records, leaves
/// another owner alone — and `audit verify` still finds the log intact, checkpoint included.
#[tokio::test]
async fn an_owner_is_erased_and_the_audit_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a1, token) = create(d, "alice-ci", "alice");
    let (b1, _) = create(d, "bob-ci", "bob");
    apikey(
        d,
        &[
            "--actor",
            "alice",
            "suspend",
            &a1,
            "--reason",
            "alice is on leave",
        ],
        &ENV,
    )
    .expect(0);
    write(
        &d.join("apikeys.db"),
        &[record(a1.parse().unwrap()), record(b1.parse().unwrap())],
    )
    .await;
    apikey(d, &["audit", "checkpoint"], &ENV).expect(0);

    let dry = apikey(
        d,
        &[
            "compliance",
            "erase",
            "--owner",
            "alice",
            "--dry-run",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    assert_eq!(dry.json()["keys"], serde_json::json!([a1]));
    let still = apikey(d, &["compliance", "export", "--owner", "alice"], &ENV).expect(0);
    assert_eq!(
        still.json()["keys"].as_array().unwrap().len(),
        1,
        "a dry run changes nothing"
    );

    let done = apikey(
        d,
        &[
            "--actor",
            "dpo",
            "compliance",
            "erase",
            "--owner",
            "alice",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    let report = done.json();
    assert_eq!(report["request_records"], 1);
    assert_eq!(report["audit_events"], dry.json()["audit_events"]);
    apikey(d, &["verify", &token], &ENV).expect(1);
    let gone = apikey(d, &["compliance", "export", "--owner", "alice"], &ENV).expect(0);
    assert!(gone.json()["keys"].as_array().unwrap().is_empty());
    let history = apikey(d, &["audit", "list", "--key", &a1, "--json"], &ENV).expect(0);
    assert!(
        !history.stdout.contains("alice"),
        "the owner survives in the audit log: {}",
        history.stdout
    );
    let bob = apikey(d, &["compliance", "export", "--owner", "bob"], &ENV).expect(0);
    assert_eq!(bob.json()["keys"][0]["id"], b1.as_str());
    assert_eq!(bob.json()["requests"].as_array().unwrap().len(), 1);
    let verified = apikey(d, &["audit", "verify", "--json"], &ENV).expect(0);
    assert!(verified.json()["erased"].as_u64().unwrap() >= 3);
    assert!(verified.json()["covered"].as_u64().unwrap() >= 3);
    apikey(d, &["compliance", "erase", "--owner", " "], &ENV).expect(2);
}
