//! End-to-end tests of the `apikey` binary on SQLite: first use with the default database and its
//! pepper file, output shapes, lifecycle, export/import, and the errors people meet.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use common::{PEPPER, apikey, apikey_stdin, create_verify_revoke, json_keys};

#[test]
fn first_use_creates_the_database_and_a_private_pepper() {
    let dir = tempfile::tempdir().unwrap();
    let run = apikey(
        dir.path(),
        &["create", "--name", "My App", "--scopes", "read:projects"],
        &[],
    )
    .expect(0);
    let token = run.last_line();
    assert!(token.starts_with("sk_"), "{token}");
    // The token is printed once, on stdout only, after the record.
    assert_eq!(run.stdout.matches(&token).count(), 1);
    assert!(!run.stderr.contains(&token));
    assert!(run.stdout.contains("lookup id") && run.stdout.contains("read:projects"));
    assert!(
        run.stderr
            .contains("Store this token now: it is shown only once.")
    );
    // The pepper notice says where it is and what losing it means.
    let pepper = dir.path().join("apikeys.db.pepper");
    assert!(run.stderr.contains("apikeys.db.pepper"), "{}", run.stderr);
    assert!(
        run.stderr.contains("invalidates every key"),
        "{}",
        run.stderr
    );
    assert!(dir.path().join("apikeys.db").is_file());
    let mode = std::fs::metadata(&pepper).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "pepper mode {mode:o}");

    // The second key reuses the pepper silently; both verify.
    let second = apikey(dir.path(), &["create", "--name", "second"], &[]).expect(0);
    assert!(!second.stderr.contains("pepper"), "{}", second.stderr);
    apikey(dir.path(), &["verify", &token], &[]).expect(0);
    apikey_stdin(
        dir.path(),
        &["verify", "--token-stdin"],
        &[],
        Some(&second.last_line()),
    )
    .expect(0);
}

#[test]
fn create_verify_revoke_on_the_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let id = create_verify_revoke(dir.path(), &[]);
    // Revoked keys are hidden from `list` unless asked for.
    let list = apikey(dir.path(), &["list"], &[]).expect(0);
    assert!(!list.stdout.contains(&id));
    let all = apikey(dir.path(), &["list", "--all"], &[]).expect(0);
    assert!(all.stdout.contains(&id) && all.stdout.contains("revoked"));
    let only = apikey(dir.path(), &["list", "--state", "revoked", "--json"], &[]).expect(0);
    assert_eq!(only.json().as_array().unwrap().len(), 1);
}

#[test]
fn json_and_table_output_never_show_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("APIKEY_PEPPER", PEPPER)];
    let created = apikey(
        dir.path(),
        &[
            "create",
            "--name",
            "svc",
            "--scopes",
            "a:read,b:*",
            "--owner",
            "team-a",
            "--tags",
            "x,y",
            "--environment",
            "staging",
            "--expires-in",
            "30d",
            "--rate",
            "100/1m",
            "--burst",
            "20",
            "--quota",
            "1000/month",
            "--ip-allow",
            "10.0.0.0/8",
            "--metadata",
            r#"{"region":"eu"}"#,
            "--json",
        ],
        &env,
    )
    .expect(0);
    let v = created.json();
    let key = &v["key"];
    assert_eq!(key["name"], "svc");
    assert_eq!(key["state"], "active");
    assert_eq!(key["scopes"], serde_json::json!(["a:read", "b:*"]));
    assert_eq!(key["tags"], serde_json::json!(["x", "y"]));
    assert_eq!(key["rate_limit"]["burst"], 20);
    assert_eq!(key["quota"]["period"], "month");
    assert_eq!(key["metadata"]["region"], "eu");
    assert!(key["expires_at"].is_string());
    let mut keys = Vec::new();
    json_keys(&v, &mut keys);
    assert!(
        !keys.iter().any(|k| k == "hash" || k == "legacy_lookup"),
        "{keys:?}"
    );
    let id = key["id"].as_str().unwrap();
    let lookup = key["lookup_id"].as_str().unwrap();

    let list = apikey(dir.path(), &["list", "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id);
    let filtered = apikey(dir.path(), &["list", "--owner", "nobody", "--json"], &env).expect(0);
    assert_eq!(filtered.json(), serde_json::json!([]));
    let tagged = apikey(dir.path(), &["list", "--tag", "x", "--json"], &env).expect(0);
    assert_eq!(tagged.json().as_array().unwrap().len(), 1);

    let table = apikey(dir.path(), &["list"], &env).expect(0);
    let header = table.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("LOOKUP ID") && header.contains("LAST USED")
    );
    let row = table.stdout.lines().nth(1).unwrap();
    assert_eq!(
        header.find("NAME"),
        row.find("svc"),
        "columns align:\n{}",
        table.stdout
    );

    // `show` takes the id or the lookup id.
    let shown = apikey(dir.path(), &["show", lookup, "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(shown["id"], id);
    let mut keys = Vec::new();
    json_keys(&shown, &mut keys);
    assert!(!keys.iter().any(|k| k == "hash"));
    let text = apikey(dir.path(), &["show", id], &env).expect(0).stdout;
    assert!(
        text.contains("rate limit") && text.contains("10.0.0.0/8"),
        "{text}"
    );
    assert!(!text.contains("$hmac"), "{text}");
}

#[test]
fn lifecycle_commands_change_what_verify_says() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("APIKEY_PEPPER", PEPPER)];
    let d = dir.path();
    let v = apikey(d, &["create", "--name", "k", "--json"], &env)
        .expect(0)
        .json();
    let (id, token) = (
        v["key"]["id"].as_str().unwrap(),
        v["token"].as_str().unwrap(),
    );

    apikey(d, &["suspend", id, "--reason", "audit"], &env).expect(0);
    let r = apikey(d, &["verify", token], &env).expect(1);
    assert_eq!(
        r.stdout.trim(),
        format!("rejected: suspended (HTTP 403); key {id}")
    );
    apikey(d, &["unsuspend", id], &env).expect(0);
    apikey(d, &["verify", token], &env).expect(0);
    // A transition from the wrong state is invalid input, and says why.
    let bad = apikey(d, &["unsuspend", id], &env).expect(2);
    assert!(bad.stderr.contains("cannot unsuspend"), "{}", bad.stderr);

    // Rotation: a new token, the old one works during the grace period.
    let rotated = apikey(d, &["rotate", id, "--grace", "1h", "--json"], &env).expect(0);
    let rv = rotated.json();
    assert_eq!(rv["replaces"]["id"], id);
    assert!(rv["replaces"]["grace_until"].is_string());
    apikey(d, &["verify", rv["token"].as_str().unwrap()], &env).expect(0);
    apikey(d, &["verify", token], &env).expect(0);
    let again = apikey(d, &["rotate", id], &env).expect(2);
    assert!(again.stderr.contains("already rotated"), "{}", again.stderr);

    // Approval.
    let p = apikey(
        d,
        &["create", "--name", "p", "--require-approval", "--json"],
        &env,
    )
    .expect(0);
    let pv = p.json();
    assert!(p.stderr.contains("apikey approve"));
    let (pid, ptoken) = (
        pv["key"]["id"].as_str().unwrap(),
        pv["token"].as_str().unwrap(),
    );
    let r = apikey(d, &["verify", ptoken], &env).expect(1);
    assert!(
        r.stdout
            .starts_with("rejected: pending_approval (HTTP 403)")
    );
    apikey(d, &["approve", pid], &env).expect(0);
    apikey(d, &["verify", ptoken], &env).expect(0);

    // Reject, then restore.
    let q = apikey(
        d,
        &["create", "--name", "q", "--require-approval", "--json"],
        &env,
    )
    .expect(0);
    let qid = q.json()["key"]["id"].as_str().unwrap().to_owned();
    let rej = apikey(d, &["reject", &qid, "--reason", "no", "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(rej["state"], "revoked");
    assert_eq!(rej["state_reason"], "no");
    let restored = apikey(d, &["restore", &qid, "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(restored["state"], "active");
}

#[test]
fn mistakes_get_messages_that_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("APIKEY_PEPPER", PEPPER)];
    let scope = apikey(
        d,
        &["create", "--name", "x", "--scopes", "read:a,projects"],
        &env,
    )
    .expect(2);
    assert!(scope.stderr.contains("\"projects\"") && scope.stderr.contains("resource:action"));
    assert!(
        !d.join("apikeys.db").exists(),
        "nothing is created on a usage error"
    );

    apikey(d, &["create", "--name", "x"], &env).expect(0);
    let uuid = "0190f5b2-7c1e-7a3b-9c1d-2f4e5a6b7c8d";
    let missing = apikey(d, &["revoke", uuid], &env).expect(3);
    assert!(missing.stderr.contains(&format!("no key with id {uuid}")));
    assert!(missing.stderr.contains("apikey list"));
    // Not an id: it could be an alias, and no key has it.
    let bad_id = apikey(d, &["show", "not-an-id"], &env).expect(3);
    assert!(
        bad_id
            .stderr
            .contains("no key with id, lookup id or alias \"not-an-id\""),
        "{}",
        bad_id.stderr
    );
    let bad_rate = apikey(d, &["create", "--name", "x", "--rate", "fast"], &env).expect(2);
    assert!(bad_rate.stderr.contains("--rate"), "{}", bad_rate.stderr);
    let bad_ip = apikey(
        d,
        &["create", "--name", "x", "--ip-allow", "10.0.0.0/33"],
        &env,
    )
    .expect(2);
    assert!(bad_ip.stderr.contains("10.0.0.0/33"), "{}", bad_ip.stderr);
    let garbage = apikey(d, &["verify", "not-a-token"], &env).expect(1);
    assert_eq!(garbage.stdout.trim(), "rejected: malformed (HTTP 401)");
    let scheme = apikey(d, &["list", "--database-url", "redis://localhost"], &env).expect(2);
    assert!(scheme.stderr.contains("sqlite://"), "{}", scheme.stderr);
}

#[test]
fn unreachable_database_fails_fast_without_echoing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://admin:hunter2secret@127.0.0.1:1/x";
    let start = Instant::now();
    let run = apikey(dir.path(), &["list", "--database-url", url], &[]).expect(4);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        run.stderr
            .contains("cannot reach the database at 127.0.0.1:1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--database-url"));
    assert!(!run.stderr.contains("hunter2secret") && !run.stdout.contains("hunter2secret"));
    // The same through DATABASE_URL, with a pepper so the connection is attempted.
    let run = apikey(
        dir.path(),
        &["create", "--name", "x"],
        &[("DATABASE_URL", url), ("APIKEY_PEPPER", PEPPER)],
    )
    .expect(4);
    assert!(!run.stderr.contains("hunter2secret"), "{}", run.stderr);
    // --help never shows DATABASE_URL's value.
    let help = apikey(dir.path(), &["--help"], &[("DATABASE_URL", url)]).expect(0);
    assert!(!help.stdout.contains("hunter2secret"));
    assert!(help.stdout.contains("Exit codes"));
}

#[test]
fn a_missing_pepper_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A server database without APIKEY_PEPPER: a configuration error, and no pepper appears.
    let pg = apikey(
        d,
        &[
            "create",
            "--name",
            "x",
            "--database-url",
            "postgres://u:pw@127.0.0.1:1/x",
        ],
        &[],
    )
    .expect(6);
    assert!(pg.stderr.contains("APIKEY_PEPPER"), "{}", pg.stderr);
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 0, "nothing created");
    // Another SQLite file: no pepper file is made for it either.
    let other = apikey(
        d,
        &[
            "create",
            "--name",
            "x",
            "--database-url",
            "sqlite://other.db",
        ],
        &[],
    )
    .expect(6);
    assert!(other.stderr.contains("APIKEY_PEPPER"));
    assert!(!d.join("other.db.pepper").exists());
    // The default database with keys but without its pepper file: refuse to make a new one.
    apikey(d, &["create", "--name", "x"], &[]).expect(0);
    std::fs::remove_file(d.join("apikeys.db.pepper")).unwrap();
    let lost = apikey(d, &["create", "--name", "y"], &[]).expect(6);
    assert!(lost.stderr.contains("pepper file"), "{}", lost.stderr);
    assert!(!d.join("apikeys.db.pepper").exists());
    apikey(d, &["verify", "sk_live_x"], &[]).expect(6);
    // Lifecycle and listing still work without it: they never hash.
    apikey(d, &["list"], &[]).expect(0);
    let bad = apikey(
        d,
        &["create", "--name", "y"],
        &[("APIKEY_PEPPER", "v1=short")],
    )
    .expect(6);
    assert!(
        bad.stderr.contains("APIKEY_PEPPER is not valid"),
        "{}",
        bad.stderr
    );
}

#[test]
fn export_and_import_move_working_keys_between_databases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env_a = [("APIKEY_PEPPER", PEPPER), ("DATABASE_URL", "sqlite://a.db")];
    let env_b = [("APIKEY_PEPPER", PEPPER), ("DATABASE_URL", "sqlite://b.db")];
    let v = apikey(
        d,
        &["create", "--name", "moving", "--scopes", "x:read", "--json"],
        &env_a,
    )
    .expect(0)
    .json();
    let token = v["token"].as_str().unwrap();
    apikey(d, &["create", "--name", "second"], &env_a).expect(0);

    let out = apikey(d, &["export", "--out", "keys.json"], &env_a).expect(0);
    assert!(out.stderr.contains("protect it"), "{}", out.stderr);
    let mode = std::fs::metadata(d.join("keys.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(d.join("keys.json")).unwrap();
    assert!(!text.contains(token), "an export never holds a token");

    let imported = apikey(d, &["import", "keys.json"], &env_b).expect(0);
    assert_eq!(
        imported.stdout.trim(),
        "imported 2 key(s), skipped 0 already present"
    );
    apikey(d, &["verify", token, "--scopes", "x:read"], &env_b).expect(0);
    let again = apikey_stdin(d, &["import", "-", "--json"], &env_b, Some(&text))
        .expect(0)
        .json();
    assert_eq!(again["imported"].as_array().unwrap().len(), 0);
    assert_eq!(again["skipped"].as_array().unwrap().len(), 2);

    let stdout_export = apikey(d, &["export"], &env_b).expect(0).json();
    assert_eq!(stdout_export["keys"].as_array().unwrap().len(), 2);
    let junk = apikey_stdin(d, &["import", "-"], &env_b, Some("{\"nope\":1}")).expect(2);
    assert!(
        junk.stderr.contains("not an apikey export"),
        "{}",
        junk.stderr
    );
}
