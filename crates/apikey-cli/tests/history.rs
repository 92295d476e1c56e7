//! `apikey update`, `history`, `diff` and `rollback` on SQLite, through the built binary.

mod common;

use common::{PEPPER, apikey};

const ENV: [(&str, &str); 2] = [("APIKEY_PEPPER", PEPPER), ("APIKEY_ACTOR", "alice")];

/// A key created with `projects:read`: its id and token.
fn created(dir: &std::path::Path) -> (String, String) {
    let run = apikey(
        dir,
        &[
            "create",
            "--name",
            "svc",
            "--scopes",
            "projects:read",
            "--tags",
            "a",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    let json = run.json();
    (
        json["key"]["id"].as_str().unwrap().to_owned(),
        json["token"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn update_history_diff_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, token) = created(d);

    let updated = apikey(
        d,
        &[
            "update",
            &id,
            "--scopes",
            "projects:read,projects:write",
            "--rate",
            "10/s",
            "--owner",
            "team-a",
            "--endpoint-limit",
            "GET /projects=5/1m",
            "--reason",
            "needs writes",
            "--json",
        ],
        &ENV,
    )
    .expect(0)
    .json();
    assert_eq!(updated["version"], 2);
    assert_eq!(
        updated["scopes"],
        serde_json::json!(["projects:read", "projects:write"])
    );
    assert_eq!(updated["owner"], "team-a");
    assert!(updated.get("hash").is_none());

    // Clearing an optional field.
    let cleared = apikey(d, &["update", &id, "--clear-owner", "--json"], &ENV)
        .expect(0)
        .json();
    assert!(cleared["owner"].is_null());

    let history = apikey(d, &["history", &id], &ENV).expect(0);
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", history.stdout);
    assert!(lines[0].starts_with("VERSION"));
    assert!(lines[1].contains("key.created") && lines[1].contains("alice"));
    assert!(lines[2].contains("key.updated") && lines[2].contains("needs writes"));
    let json = apikey(d, &["history", &id, "--json"], &ENV)
        .expect(0)
        .json();
    let versions = json.as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[1]["actor"], "alice");
    assert_eq!(versions[1]["reason"], "needs writes");
    assert_eq!(versions[1]["after"]["version"], 2);
    assert!(!json.to_string().contains("\"hash\""));

    let diff = apikey(d, &["diff", &id, "1", "2"], &ENV).expect(0);
    assert!(diff.stdout.contains("scopes"), "{}", diff.stdout);
    let changes = apikey(d, &["diff", &id, "1", "2", "--json"], &ENV)
        .expect(0)
        .json();
    let fields: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["endpoint_limits", "owner", "rate_limit", "scopes"]);

    let rolled = apikey(
        d,
        &["rollback", &id, "1", "--reason", "too broad", "--json"],
        &ENV,
    )
    .expect(0)
    .json();
    assert_eq!(rolled["version"], 4);
    assert_eq!(rolled["scopes"], serde_json::json!(["projects:read"]));
    assert!(rolled["rate_limit"].is_null());
    let last = apikey(d, &["history", &id, "--json"], &ENV)
        .expect(0)
        .json();
    assert_eq!(last[3]["reason"], "rollback to version 1: too broad");
    // The key still verifies under its original scopes: the secret was never touched.
    apikey(d, &["verify", &token, "--scopes", "projects:read"], &ENV).expect(0);
    apikey(d, &["verify", &token, "--scopes", "projects:write"], &ENV).expect(1);
}

#[test]
fn bad_input_names_the_problem_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, _) = created(d);

    let missing = apikey(d, &["rollback", &id, "9"], &ENV).expect(3);
    assert!(missing.stderr.contains("version 9"), "{}", missing.stderr);
    let missing = apikey(d, &["diff", &id, "1", "9"], &ENV).expect(3);
    assert!(missing.stderr.contains("version 9"), "{}", missing.stderr);
    apikey(
        d,
        &["history", "0190f5b2-7c1e-7a3b-9c1d-2f4e5a6b7c8d"],
        &ENV,
    )
    .expect(3);
    let nothing = apikey(d, &["update", &id], &ENV).expect(2);
    assert!(
        nothing.stderr.contains("nothing to change"),
        "{}",
        nothing.stderr
    );
    apikey(d, &["update", &id, "--scopes", "bad"], &ENV).expect(2);

    apikey(d, &["update", &id, "--tags", "b"], &ENV).expect(0);
    apikey(d, &["revoke", &id], &ENV).expect(0);
    let revoked = apikey(d, &["rollback", &id, "1"], &ENV).expect(2);
    assert!(revoked.stderr.contains("revoked"), "{}", revoked.stderr);

    let versions = apikey(d, &["history", &id, "--json"], &ENV)
        .expect(0)
        .json();
    assert_eq!(versions.as_array().unwrap().len(), 3);
}
