//! `apikey score` on SQLite: one key's factors and advice, every live key lowest first with a
//! summary, `--below`, `--json`; a bad threshold is a usage error and an unknown key exits 3.

mod common;

use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

#[test]
fn score_explains_one_key_and_ranks_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kept = apikey(
        d,
        &[
            "create",
            "--name",
            "kept",
            "--scopes",
            "invoices:read",
            "--owner",
            "billing",
            "--expires-in",
            "30d",
            "--ip-allow",
            "203.0.113.0/24",
            "--signing",
            "required",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    let kept_id = kept.json()["key"]["id"].as_str().unwrap().to_owned();
    let bare = apikey(
        d,
        &[
            "create",
            "--name",
            "bare",
            "--scopes",
            "invoices:*",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    let bare_id = bare.json()["key"]["id"].as_str().unwrap().to_owned();

    let one = apikey(d, &["score", &kept_id, "--json"], &ENV).expect(0);
    assert_eq!(one.json()["score"], 100);
    assert_eq!(one.json()["factors"].as_array().unwrap().len(), 9);

    // No expiry (15), no IP rules (15), no owner (5), no signing (10) and one wildcard (8 of
    // 15): 48.
    let other = apikey(d, &["score", &bare_id, "--json"], &ENV).expect(0);
    assert_eq!(other.json()["score"], 48);
    let table = apikey(d, &["score", &bare_id], &ENV).expect(0);
    assert!(table.stdout.contains("bare"), "{}", table.stdout);
    assert!(table.stdout.contains("wildcards"), "{}", table.stdout);
    assert!(table.stdout.contains("--expires-in"), "{}", table.stdout);

    let all = apikey(d, &["score", "--json"], &ENV).expect(0);
    let keys = all.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["name"], "bare", "lowest first");
    assert_eq!(all.json()["summary"]["keys"], 2);
    assert_eq!(all.json()["summary"]["lowest"], 48);
    let below = apikey(d, &["score", "--below", "60", "--json"], &ENV).expect(0);
    assert_eq!(below.json()["keys"].as_array().unwrap().len(), 1);
    let summary = apikey(d, &["score"], &ENV).expect(0);
    assert!(
        summary
            .stdout
            .contains("2 keys, average 74.0, lowest 48, 1 under 50"),
        "{}",
        summary.stdout
    );

    apikey(d, &["score", "--below", "101"], &ENV).expect(2);
    apikey(d, &["score", "no-such-alias"], &ENV).expect(3);
}
