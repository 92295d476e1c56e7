//! `apikey usage` on SQLite: each `apikey verify` is a verifier of its own whose usage is
//! flushed at exit, so three runs add up in the buckets; a key's series and totals, the whole
//! store with the refusals before a key was known, `--top`, `--json`, and bad ranges refused.

mod common;

use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

#[test]
fn usage_adds_up_the_verifications_of_several_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let made = apikey(
        d,
        &[
            "create",
            "--name",
            "reader",
            "--scopes",
            "docs:read",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    let id = made.json()["key"]["id"].as_str().unwrap().to_owned();
    let token = made.json()["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        apikey(d, &["verify", &token], &ENV).expect(0);
    }
    apikey(d, &["verify", &token, "--scopes", "docs:write"], &ENV).expect(1);
    apikey(d, &["verify", "garbage-token"], &ENV).expect(1);

    let one = apikey(d, &["usage", &id, "--json"], &ENV).expect(0);
    let total = &one.json()["total"];
    assert_eq!(total["success"], 3, "{}", one.stdout);
    assert_eq!(total["scope"], 1);
    assert_eq!(one.json()["resolution"], "hour");
    assert!(one.json()["unattributed"].is_null());

    let all = apikey(d, &["usage", "--json"], &ENV).expect(0);
    assert_eq!(all.json()["total"]["success"], 3);
    assert_eq!(all.json()["unattributed"]["invalid"], 1);

    let text = apikey(d, &["usage", &id], &ENV).expect(0);
    assert!(text.stdout.contains("requests"), "{}", text.stdout);
    assert!(text.stdout.contains("admitted 3"), "{}", text.stdout);
    assert!(text.stdout.contains("scope 1"), "{}", text.stdout);

    let top = apikey(d, &["usage", "--top", "5", "--json"], &ENV).expect(0);
    let keys = top.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1, "the garbage token made no key row");
    assert_eq!(keys[0]["key_id"], id.as_str());

    let refused = apikey(
        d,
        &["usage", "--top", "5", "--by", "rejections", "--json"],
        &ENV,
    )
    .expect(0);
    assert_eq!(refused.json()["keys"][0]["counts"]["scope"], 1);

    let reversed = apikey(d, &["usage", &id, "--since", "1h", "--until", "2h"], &ENV).expect(2);
    assert!(reversed.stderr.contains("since"), "{}", reversed.stderr);
    let long = apikey(
        d,
        &["usage", &id, "--since", "30d", "--resolution", "minute"],
        &ENV,
    )
    .expect(2);
    assert!(long.stderr.contains("coarser"), "{}", long.stderr);
}
