//! Bulk creation from JSON (one bad row: per row the good rows are written, `--atomic` none), the
//! tenant's key limits from the command line (exit 8, nothing written), and bulk update with the
//! fields of `apikey update`. SQLite through the built binary.

mod common;

use std::path::Path;

use apikey_core::tenant::{TenantSettings, TenantSettingsStore as _, settings_event};
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::SqlitePoolOptions;
use common::{PEPPER, apikey};
use serde_json::{Value, json};

const ENV: [(&str, &str); 2] = [("APIKEY_PEPPER", PEPPER), ("APIKEY_ACTOR", "ops")];

fn ok(d: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    apikey(d, &all, &ENV).expect(0).json()
}

fn count(d: &Path) -> usize {
    ok(d, &["list", "--all"]).as_array().unwrap().len()
}

/// Sets the keys-without-a-tenant's limit per owner in the CLI's SQLite file, as a service would:
/// the CLI has no command for tenant settings.
fn limit_per_owner(d: &Path, max: u32) {
    let url = format!("sqlite://{}", d.join("apikeys.db").display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
            let store = SqlxSqliteStore::new(pool.clone());
            let settings = TenantSettings {
                max_keys_per_owner: Some(max),
                ..TenantSettings::default()
            };
            let event = settings_event(None, 1, &settings, chrono::Utc::now(), None, None).unwrap();
            store.put(None, 0, &settings, &event).await.unwrap();
            pool.close().await;
        });
}

#[test]
fn a_json_file_with_one_bad_row_writes_the_good_rows_or_with_atomic_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["migrate"]);
    std::fs::write(
        d.join("keys.json"),
        r#"[
            {"name": "j1", "scopes": ["a:read"], "owner": "ann", "aliases": ["j1"]},
            {"name": "j2", "expires_at": "next tuesday"},
            {"name": "j3", "tags": ["t"], "metadata": {"team": "x"}}
        ]"#,
    )
    .unwrap();
    let atomic = apikey(d, &["bulk", "create", "keys.json", "--atomic"], &ENV).expect(2);
    assert!(
        atomic.stderr.contains("row 2") && atomic.stderr.contains("expires_at"),
        "names the row and the field: {}",
        atomic.stderr
    );
    assert!(
        atomic.stderr.contains("nothing was written"),
        "{}",
        atomic.stderr
    );
    assert_eq!(count(d), 0);

    let run = apikey(d, &["bulk", "create", "keys.json"], &ENV).expect(2);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("ROW"), "{}", run.stdout);
    assert!(
        lines[1].starts_with('1') && lines[2].starts_with('3'),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("row 2: expires_at"), "{}", run.stderr);
    assert!(run.stderr.contains("2 created, 1 failed"), "{}", run.stderr);
    assert_eq!(count(d), 2, "exactly the good rows");
    let j1 = ok(d, &["show", "j1"]);
    assert_eq!(
        (j1["owner"].clone(), j1["scopes"].clone()),
        (json!("ann"), json!(["a:read"]))
    );
    let tokens: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    for t in tokens {
        apikey(d, &["verify", t], &ENV).expect(0);
    }

    let again = apikey(
        d,
        &["bulk", "create", "keys.json", "--format", "json", "--json"],
        &ENV,
    )
    .expect(2)
    .json();
    assert!(
        again["rows"][0]["error"].as_str().unwrap().contains("j1"),
        "the alias is taken now: {again}"
    );
    let unknown = apikey(d, &["bulk", "create", "keys.txt"], &ENV).expect(2);
    assert!(unknown.stderr.contains("--format"), "{}", unknown.stderr);
}

#[test]
fn limits_refuse_creations_and_transfers_with_exit_8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["migrate"]);
    limit_per_owner(d, 2);
    std::fs::write(
        d.join("k.csv"),
        "name,owner\na1,ann\na2,ann\na3,ann\nb1,bob\n",
    )
    .unwrap();
    let atomic = apikey(d, &["bulk", "create", "k.csv", "--atomic"], &ENV).expect(8);
    assert!(
        atomic.stderr.contains("nothing was written"),
        "{}",
        atomic.stderr
    );
    assert_eq!(count(d), 0);

    let run = apikey(d, &["bulk", "create", "k.csv", "--json"], &ENV)
        .expect(2)
        .json();
    assert_eq!(
        (run["created"].clone(), run["failed"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(run["rows"][2]["row"], 3);
    assert!(run["rows"][2]["error"].is_string(), "{run}");
    assert_eq!(count(d), 3);

    apikey(d, &["create", "--name", "a4", "--owner", "ann"], &ENV).expect(8);
    let b1 = ok(d, &["list", "--owner", "bob"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let moved = apikey(d, &["transfer", &b1, "ann"], &ENV).expect(8);
    assert!(
        moved.stderr.contains("ann") || moved.stderr.contains("owner"),
        "{}",
        moved.stderr
    );
    apikey(d, &["clone", &b1], &ENV).expect(0);
    apikey(d, &["clone", &b1], &ENV).expect(8);
    assert_eq!(count(d), 4);
}

#[test]
fn bulk_update_takes_the_fields_of_update() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let k = ok(
            d,
            &[
                "create",
                "--name",
                name,
                "--tags",
                "web",
                "--expires-in",
                "30d",
                "--quota",
                "5/day",
            ],
        );
        ids.push(k["key"]["id"].as_str().unwrap().to_owned());
    }
    let c = ok(d, &["create", "--name", "c", "--tags", "batch"]);
    let c = c["key"]["id"].as_str().unwrap();
    let plan = ok(
        d,
        &[
            "bulk",
            "update",
            "--tag",
            "web",
            "--scopes",
            "x:read",
            "--dry-run",
        ],
    );
    assert_eq!(plan["would_change"].as_array().unwrap().len(), 2);
    assert_eq!(
        ok(d, &["show", &ids[0]])["scopes"],
        json!([]),
        "a dry run changes nothing"
    );
    let done = ok(
        d,
        &[
            "bulk",
            "update",
            "--tag",
            "web",
            "--scopes",
            "x:read",
            "--clear-expiry",
            "--clear-quota",
            "--set-ip-allow",
            "10.0.0.0/8",
            "--set-rate",
            "10/1m",
            "--set-burst",
            "3",
            "--reason",
            "tighten",
        ],
    );
    let changed = done["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 2);
    for k in changed {
        assert_eq!(k["scopes"], json!(["x:read"]));
        assert!(k["expires_at"].is_null() && k["quota"].is_null(), "{k}");
        assert_eq!(k["ip_rules"]["allow"], json!(["10.0.0.0/8"]));
        assert_eq!(k["rate_limit"]["burst"], 3);
    }
    assert_eq!(
        ok(d, &["show", c])["scopes"],
        json!([]),
        "outside the filter"
    );
    let history = ok(d, &["history", &ids[0]]);
    assert_eq!(history[1]["reason"], "tighten", "{history}");
    let none = apikey(d, &["bulk", "update", "--tag", "web"], &ENV).expect(2);
    assert!(none.stderr.contains("nothing to change"), "{}", none.stderr);
}

#[test]
fn csv_rows_take_limits_and_networks_and_each_bad_value_fails_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("k.csv"),
        "name,rate,quota,ip_allow\n\
         a,10/1m,5/day,10.0.0.0/8;192.168.0.1\n\
         b,ten/1m,,\n\
         c,,5/week,\n\
         d,,,not-an-ip\n\
         \"e, quoted\",1/s,,\n\
         short,row\n",
    )
    .unwrap();
    let run = apikey(d, &["bulk", "create", "k.csv", "--json"], &ENV).expect(2);
    let out = run.json();
    let rows = out["rows"].as_array().unwrap();
    let errors: Vec<(u64, &str)> = rows
        .iter()
        .filter_map(|r| Some((r["row"].as_u64()?, r.get("error")?.as_str()?)))
        .collect();
    let fields: Vec<(u64, bool)> = errors
        .iter()
        .map(|(row, e)| {
            (
                *row,
                ["rate:", "quota:", "not-an-ip", "fields"]
                    .iter()
                    .any(|f| e.contains(f)),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [(2, true), (3, true), (4, true), (6, true)],
        "{errors:?}"
    );
    let a = &rows[0]["key"];
    assert_eq!(a["rate_limit"]["requests"], 10);
    assert_eq!(a["quota"], json!({"limit": 5, "period": "day"}));
    assert_eq!(
        a["ip_rules"]["allow"],
        json!(["10.0.0.0/8", "192.168.0.1/32"])
    );
    assert_eq!(rows[4]["key"]["name"], "e, quoted", "RFC 4180 quoting");
    assert_eq!(count(d), 2);
}
