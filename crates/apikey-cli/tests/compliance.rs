//! `apikey compliance export --owner O` on SQLite: every key of the owner in every state (public
//! view, no hash), the audit events about them, the request log's records of them — and nothing
//! of another owner; `--out` writes a 0600 file; an empty owner is a usage error.

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
