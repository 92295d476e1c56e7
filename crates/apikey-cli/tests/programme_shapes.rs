//! The key programme's `--json` shapes, which scripts rely on, and the two rules that cut across
//! commands: an alias is accepted wherever a key ID is, and a creation takes the caller's flags
//! over its template's defaults over its group's. SQLite through the built binary.

mod common;

use std::path::Path;

use common::{PEPPER, apikey};
use serde_json::{Value, json};

const ENV: [(&str, &str); 2] = [("APIKEY_PEPPER", PEPPER), ("APIKEY_ACTOR", "ops")];

fn ok(d: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    apikey(d, &all, &ENV).expect(0).json()
}

/// The sorted field names of a JSON object.
#[track_caller]
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

const PRESET: [&str; 4] = ["preset", "tenant", "updated_at", "version"];
const PLAN: [&str; 4] = ["dry_run", "failed", "skipped", "would_change"];

#[test]
fn every_programme_command_prints_a_stable_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = ok(d, &["templates", "create", "t", "--scopes", "a:read"]);
    assert_eq!(keys(&t), PRESET);
    assert_eq!(
        keys(&t["preset"]),
        ["defaults", "description", "kind", "name"]
    );
    assert_eq!(t["preset"]["kind"], "template");
    assert_eq!(keys(&ok(d, &["templates", "show", "t"])), PRESET);
    assert_eq!(keys(&ok(d, &["templates", "list"])[0]), PRESET);

    let g = ok(d, &["groups", "create", "g"]);
    assert_eq!(keys(&g), PRESET);
    assert_eq!(g["preset"]["kind"], "group");
    assert_eq!(keys(&ok(d, &["groups", "list"])[0]), PRESET);

    let created = ok(d, &["create", "--name", "k", "--group", "g"]);
    assert_eq!(keys(&created), ["key", "token"]);
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let shown = ok(d, &["groups", "show", "g"]);
    assert_eq!(
        keys(&shown),
        ["keys", "preset", "tenant", "updated_at", "version"]
    );
    assert_eq!(shown["keys"], json!([id]));

    let show = ok(d, &["show", &id]);
    let key_fields = keys(&show);
    let added = ok(d, &["alias", "add", &id, "main"]);
    assert_eq!(
        keys(&added),
        key_fields,
        "alias add prints the key as show does"
    );
    let cloned = ok(d, &["clone", "main", "--name", "copy"]);
    assert_eq!(keys(&cloned), ["key", "token"]);
    let moved = ok(d, &["transfer", "main", "bob"]);
    assert_eq!(keys(&moved), ["from_owner", "key", "to_owner"]);
    assert!(
        moved["key"].get("token").is_none(),
        "no token outside creation"
    );
    let removed = ok(d, &["alias", "remove", "main", "main"]);
    assert_eq!(removed["aliases"], json!([]));

    let change = ["changed", "dry_run", "failed", "skipped"];
    let plan = ok(d, &["bulk", "suspend", "--dry-run"]);
    assert_eq!(keys(&plan), PLAN);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(keys(&plan["would_change"][0]), key_fields);
    assert_eq!(keys(&ok(d, &["bulk", "update", "--set-tags", "x"])), change);
    assert_eq!(keys(&ok(d, &["bulk", "suspend"])), change);
    assert_eq!(keys(&ok(d, &["groups", "revoke", "g", "--dry-run"])), PLAN);
    assert_eq!(keys(&ok(d, &["groups", "revoke", "g"])), change);
    assert_eq!(keys(&ok(d, &["bulk", "revoke", "--all"])), change);

    std::fs::write(d.join("k.json"), r#"[{"name": "b1"}, {"name": ""}]"#).unwrap();
    let bulk = apikey(d, &["bulk", "create", "k.json", "--json"], &ENV)
        .expect(2)
        .json();
    assert_eq!(keys(&bulk), ["created", "failed", "rows"]);
    assert_eq!(keys(&bulk["rows"][0]), ["key", "row", "token"]);
    assert_eq!(keys(&bulk["rows"][1]), ["error", "row"]);

    let gone = ok(d, &["templates", "remove", "t"]);
    assert_eq!(gone, json!({ "removed": "t" }));
}

#[test]
fn an_alias_is_accepted_by_every_command_that_takes_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let k = ok(d, &["create", "--name", "svc", "--owner", "ann"]);
    let id = k["key"]["id"].as_str().unwrap().to_owned();
    ok(d, &["alias", "add", &id, "svc-prod"]);
    let a = "svc-prod";
    let same = |v: &Value| assert_eq!(v["id"], id.as_str(), "{v}");
    same(&ok(d, &["show", a]));
    same(&ok(d, &["update", a, "--description", "d"]));
    same(&ok(d, &["suspend", a]));
    same(&ok(d, &["unsuspend", a]));
    let history = ok(d, &["history", a]);
    assert_eq!(history.as_array().unwrap().len(), 5);
    ok(d, &["diff", a, "1", "3"]);
    same(&ok(d, &["rollback", a, "1"]));
    same(&ok(d, &["transfer", a, "bob"])["key"]);
    ok(d, &["clone", a]);
    ok(d, &["alias", "add", a, "svc-second"]);
    same(&ok(d, &["show", "svc-second"]));
    same(&ok(d, &["revoke", a]));
    same(&ok(d, &["restore", a]));
    let rotated = ok(d, &["rotate", a, "--grace", "1h"]);
    assert_eq!(rotated["replaces"]["id"], id.as_str());
    let policy = apikey(
        d,
        &[
            "policies",
            "create",
            &format!("key:{a}"),
            "--every-days",
            "90",
        ],
        &ENV,
    );
    assert_eq!(policy.code, 0, "{}", policy.stderr);

    let err = apikey(d, &["show", "nobody"], &ENV).expect(3);
    assert!(
        err.stderr.contains("\"nobody\""),
        "names it: {}",
        err.stderr
    );
}

#[test]
fn flags_beat_the_template_which_beats_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "groups",
            "create",
            "g",
            "--scopes",
            "g:read",
            "--environment",
            "g-env",
            "--tags",
            "from-group",
            "--quota",
            "10/day",
        ],
    );
    ok(
        d,
        &[
            "templates",
            "create",
            "t",
            "--scopes",
            "t:read",
            "--environment",
            "t-env",
            "--rate",
            "10/1m",
            "--endpoint-limit",
            "GET /x=5/1m",
            "--allow-ip",
            "10.0.0.0/8",
            "--metadata",
            r#"{"from": "template"}"#,
        ],
    );
    let k = ok(
        d,
        &[
            "create",
            "--name",
            "k",
            "--template",
            "t",
            "--group",
            "g",
            "--environment",
            "flag-env",
        ],
    )["key"]
        .clone();
    assert_eq!(k["environment"], "flag-env", "the flag wins");
    assert_eq!(
        k["scopes"],
        json!(["t:read"]),
        "the template beats the group"
    );
    assert_eq!(k["metadata"], json!({"from": "template"}));
    assert_eq!(k["ip_rules"]["allow"], json!(["10.0.0.0/8"]));
    assert_eq!(k["endpoint_limits"][0]["endpoint"], "GET /x");
    assert_eq!(
        k["tags"],
        json!(["from-group"]),
        "the group fills what is left"
    );
    assert_eq!(k["quota"]["limit"], 10);

    let only_group = ok(d, &["create", "--name", "g1", "--group", "g"])["key"].clone();
    assert_eq!(only_group["scopes"], json!(["g:read"]));
    assert_eq!(only_group["environment"], "g-env");

    let bad = apikey(
        d,
        &["templates", "create", "x", "--expires-in-days", "0"],
        &ENV,
    )
    .expect(2);
    assert!(bad.stderr.contains("expires_in_days"), "{}", bad.stderr);
    apikey(d, &["templates", "list"], &ENV).expect(0);
    assert_eq!(ok(d, &["templates", "list"]).as_array().unwrap().len(), 1);
}
