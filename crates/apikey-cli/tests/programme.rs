//! The key programme from the command line, on SQLite through the built binary: templates and
//! groups, aliases in place of ids, clone, transfer and bulk work, each with `--json`.

mod common;

use std::path::Path;

use common::{PEPPER, apikey};
use serde_json::Value;

const ENV: [(&str, &str); 2] = [("APIKEY_PEPPER", PEPPER), ("APIKEY_ACTOR", "ops")];

fn ok(d: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    apikey(d, &all, &ENV).expect(0).json()
}

fn count(d: &Path, extra: &[&str]) -> usize {
    let mut args = vec!["list", "--all"];
    args.extend_from_slice(extra);
    ok(d, &args).as_array().unwrap().len()
}

#[test]
fn templates_give_defaults_that_explicit_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = ok(
        d,
        &[
            "templates",
            "create",
            "partner",
            "--scopes",
            "partner:read",
            "--expires-in-days",
            "30",
            "--environment",
            "prod",
            "--tags",
            "p",
        ],
    );
    assert_eq!(t["version"], 1);
    apikey(d, &["templates", "create", "partner"], &ENV).expect(5);
    let replaced = ok(
        d,
        &[
            "templates",
            "create",
            "partner",
            "--replace",
            "--scopes",
            "partner:read",
            "--environment",
            "prod",
            "--expires-in-days",
            "30",
        ],
    );
    assert_eq!(replaced["version"], 2);
    assert_eq!(ok(d, &["templates", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(
        ok(d, &["templates", "show", "partner"])["preset"]["defaults"]["environment"],
        "prod"
    );

    let k = ok(
        d,
        &[
            "create",
            "--name",
            "k",
            "--template",
            "partner",
            "--environment",
            "dev",
        ],
    );
    assert_eq!(
        k["key"]["scopes"],
        serde_json::json!(["partner:read"]),
        "from the template"
    );
    assert_eq!(k["key"]["environment"], "dev", "the flag wins");
    assert_eq!(k["key"]["template"], "partner");
    assert!(
        k["key"]["expires_at"].is_string(),
        "relative expiry from the template"
    );

    let err = apikey(d, &["create", "--name", "x", "--template", "nope"], &ENV).expect(3);
    assert!(
        err.stderr.contains("unknown template \"nope\"")
            && err.stderr.contains("apikey templates list"),
        "{}",
        err.stderr
    );
    ok(d, &["templates", "remove", "partner"]);
    apikey(d, &["templates", "show", "partner"], &ENV).expect(3);
    apikey(d, &["templates", "remove", "partner"], &ENV).expect(3);
}

#[test]
fn groups_fill_their_keys_and_revoke_or_suspend_them_together() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "groups",
            "create",
            "payments",
            "--scopes",
            "pay:read",
            "--require-approval",
        ],
    );
    let k = ok(d, &["create", "--name", "p1", "--group", "payments"]);
    assert_eq!(k["key"]["scopes"], serde_json::json!(["pay:read"]));
    assert_eq!(
        k["key"]["stored_state"], "pending",
        "the group asks for approval"
    );
    ok(d, &["approve", k["key"]["id"].as_str().unwrap()]);
    ok(d, &["create", "--name", "p2", "--group", "payments"]);
    ok(d, &["create", "--name", "other"]);
    let ghosts = apikey(d, &["create", "--name", "x", "--group", "ghosts"], &ENV).expect(3);
    assert!(
        ghosts.stderr.contains("apikey groups list"),
        "{}",
        ghosts.stderr
    );

    let shown = ok(d, &["groups", "show", "payments"]);
    assert_eq!(shown["keys"].as_array().unwrap().len(), 2);
    let plan = ok(d, &["groups", "suspend", "payments", "--dry-run"]);
    assert_eq!(
        plan["would_change"].as_array().unwrap().len(),
        1,
        "only the active key"
    );
    assert_eq!(
        plan["skipped"].as_array().unwrap().len(),
        1,
        "the pending one"
    );
    assert_eq!(
        count(d, &["--state", "suspended"]),
        0,
        "a dry run changes nothing"
    );
    let done = ok(d, &["groups", "revoke", "payments", "--reason", "retired"]);
    assert_eq!(done["changed"].as_array().unwrap().len(), 2);
    assert_eq!(count(d, &["--state", "revoked"]), 2);
    assert_eq!(
        count(d, &["--state", "active"]),
        1,
        "keys outside the group are untouched"
    );
    apikey(d, &["groups", "revoke", "ghosts"], &ENV).expect(3);
}

#[test]
fn an_alias_works_wherever_an_id_does_and_is_unique() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = ok(d, &["create", "--name", "a"]);
    let id = a["key"]["id"].as_str().unwrap().to_owned();
    let b = ok(d, &["create", "--name", "b"]);
    let b_id = b["key"]["id"].as_str().unwrap().to_owned();
    let added = ok(d, &["alias", "add", &id, "billing-prod"]);
    assert_eq!(added["aliases"], serde_json::json!(["billing-prod"]));
    assert_eq!(ok(d, &["show", "billing-prod"])["id"], id.as_str());
    ok(d, &["update", "billing-prod", "--environment", "prod"]);
    assert_eq!(
        ok(d, &["history", "billing-prod"])
            .as_array()
            .unwrap()
            .len(),
        3
    );

    apikey(d, &["alias", "add", &b_id, "billing-prod"], &ENV).expect(5);
    apikey(d, &["alias", "add", &b_id, &id], &ENV).expect(2);
    apikey(d, &["show", "no-such-alias"], &ENV).expect(3);
    ok(d, &["alias", "remove", "billing-prod", "billing-prod"]);
    apikey(d, &["alias", "remove", &id, "billing-prod"], &ENV).expect(3);
    ok(d, &["alias", "add", &b_id, "billing-prod"]);
    let revoked = ok(d, &["revoke", "billing-prod", "--reason", "leaked"]);
    assert_eq!(revoked["id"], b_id.as_str());
}

#[test]
fn clone_and_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = ok(
        d,
        &[
            "create", "--name", "a", "--owner", "ann", "--scopes", "x:read",
        ],
    );
    let id = a["key"]["id"].as_str().unwrap();
    let c = ok(d, &["clone", id, "--name", "copy"]);
    assert_ne!(c["key"]["id"], a["key"]["id"]);
    assert_eq!(c["key"]["scopes"], a["key"]["scopes"]);
    let token = c["token"].as_str().unwrap();
    apikey(d, &["verify", token, "--scopes", "x:read"], &ENV).expect(0);

    let t = ok(d, &["transfer", id, "bob", "--reason", "team change"]);
    assert_eq!(
        (t["from_owner"].as_str(), t["to_owner"].as_str()),
        (Some("ann"), Some("bob"))
    );
    assert_eq!(t["key"]["owner"], "bob");
    let err = apikey(d, &["transfer", id, "bob"], &ENV).expect(2);
    assert!(err.stderr.contains("already belongs"), "{}", err.stderr);
}

#[test]
fn bulk_create_writes_the_good_rows_or_with_atomic_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["create", "--name", "holder"]);
    let holder = ok(d, &["list"])[0]["id"].as_str().unwrap().to_owned();
    ok(d, &["alias", "add", &holder, "taken"]);
    std::fs::write(
        d.join("keys.csv"),
        "name,owner,scopes,aliases,tags\nr1,ann,a:read;b:read,r1-alias,x\n,bob,,,\nr3,cat,,taken,\nr4,,bad scope!,,\nr5,,,,\n",
    )
    .unwrap();
    let atomic = apikey(
        d,
        &["bulk", "create", "keys.csv", "--atomic", "--json"],
        &ENV,
    )
    .expect(2);
    assert!(atomic.stderr.contains("row 2"), "{}", atomic.stderr);
    assert_eq!(
        count(d, &[]),
        1,
        "an atomic run with a bad row writes nothing"
    );

    let run = apikey(d, &["bulk", "create", "keys.csv", "--json"], &ENV).expect(2);
    let out = run.json();
    assert_eq!(
        (out["created"].as_u64(), out["failed"].as_u64()),
        (Some(2), Some(3))
    );
    let rows = out["rows"].as_array().unwrap();
    let failed: Vec<u64> = rows
        .iter()
        .filter(|r| r.get("error").is_some())
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(failed, [2, 3, 4], "each bad row by number, in order");
    assert!(rows[2]["error"].as_str().unwrap().contains("taken"));
    assert_eq!(
        rows[0]["key"]["scopes"],
        serde_json::json!(["a:read", "b:read"])
    );
    let token = rows[0]["token"].as_str().unwrap();
    apikey(d, &["verify", token], &ENV).expect(0);
    assert_eq!(count(d, &[]), 3);

    std::fs::write(
        d.join("keys.json"),
        r#"[{"name": "j1", "tags": ["t"]}, {"name": "j2", "tags": ["t"]}]"#,
    )
    .unwrap();
    let out = ok(d, &["bulk", "create", "keys.json", "--atomic"]);
    assert_eq!(out["created"], 2);
    std::fs::write(d.join("bad.json"), r#"[{"name": "j3", "colour": "red"}]"#).unwrap();
    let err = apikey(d, &["bulk", "create", "bad.json"], &ENV).expect(2);
    assert!(
        err.stdout.contains("colour") || err.stderr.contains("colour"),
        "names the unknown field"
    );
}

#[test]
fn bulk_changes_by_filter_with_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, tag) in [("a", "compromised"), ("b", "compromised"), ("c", "fine")] {
        ok(d, &["create", "--name", name, "--tags", tag]);
    }
    let plan = ok(d, &["bulk", "revoke", "--tag", "compromised", "--dry-run"]);
    assert_eq!(plan["would_change"].as_array().unwrap().len(), 2);
    assert_eq!(
        count(d, &["--state", "revoked"]),
        0,
        "a dry run changes nothing"
    );
    let done = ok(
        d,
        &["bulk", "revoke", "--tag", "compromised", "--reason", "leak"],
    );
    assert_eq!(done["changed"].as_array().unwrap().len(), 2);
    let again = ok(d, &["bulk", "revoke", "--tag", "compromised", "--all"]);
    assert_eq!(
        again["skipped"].as_array().unwrap().len(),
        2,
        "already revoked"
    );
    let updated = ok(
        d,
        &[
            "bulk",
            "update",
            "--tag",
            "fine",
            "--set-environment",
            "staging",
        ],
    );
    assert_eq!(updated["changed"][0]["environment"], "staging");
    apikey(d, &["bulk", "update", "--tag", "fine"], &ENV).expect(2);
    let suspended = ok(d, &["bulk", "suspend"]);
    assert_eq!(suspended["changed"].as_array().unwrap().len(), 1);
}
