//! `apikey pools …`, `apikey credits …` and `create --credits` on SQLite with the services'
//! Redis (`APIKEY_TEST_REDIS_URL`, `source .ci/services.sh`): pools are stored and listed, a key
//! made with credits spends them through `verify` and is refused at zero, top-ups and sets are
//! audited, and credit commands without Redis say what they need.

mod common;

use common::{PEPPER, apikey};

fn redis() -> String {
    std::env::var("APIKEY_TEST_REDIS_URL")
        .expect("APIKEY_TEST_REDIS_URL is not set (source .ci/services.sh): credits live in Redis")
}

#[test]
fn pools_and_credits_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("cli{}", std::process::id());
    let env = [("APIKEY_PEPPER", PEPPER)];
    let url = redis();
    let with_redis = |args: &[&str]| {
        let mut all = vec![
            "--redis-url",
            url.as_str(),
            "--redis-prefix",
            prefix.as_str(),
        ];
        all.extend_from_slice(args);
        apikey(d, &all, &env)
    };

    // A per-owner pool, listed and shown; a second create without --replace is a conflict.
    let made =
        with_redis(&["pools", "create", "owner:*", "--quota", "100/day", "--json"]).expect(0);
    assert_eq!(made.json()["preset"]["pool"]["quota"]["limit"], 100);
    with_redis(&["pools", "create", "owner:*", "--quota", "5/day"]).expect(5);
    with_redis(&[
        "pools",
        "create",
        "owner:*",
        "--quota",
        "50/day",
        "--replace",
    ])
    .expect(0);
    let listed = with_redis(&["pools", "list"]).expect(0);
    assert!(
        listed.stdout.contains("owner:*") && listed.stdout.contains("50/day"),
        "{}",
        listed.stdout
    );
    with_redis(&["pools", "create", "team:x", "--quota", "1/day"]).expect(2);

    // A key with three one-time credits: spent by verify, refused at zero.
    let created = with_redis(&[
        "create",
        "--name",
        "metered",
        "--owner",
        "acme",
        "--credits",
        "3",
        "--json",
    ])
    .expect(0);
    let json = created.json();
    let token = json["token"].as_str().unwrap().to_owned();
    let id = json["key"]["id"].as_str().unwrap().to_owned();
    let shown = with_redis(&["credits", "show", &id, "--json"]).expect(0);
    assert_eq!(shown.json()["balance"], 3);
    assert!(shown.json()["next_refill"].is_null());
    for _ in 0..3 {
        with_redis(&["verify", &token]).expect(0);
    }
    let refused = with_redis(&["verify", &token, "--json"]).expect(1);
    assert_eq!(
        refused.json()["kind"],
        "credits_exhausted",
        "{}",
        refused.stdout
    );

    // Top up, set: each audited as credits.adjusted with the actor.
    let topped = with_redis(&[
        "--actor", "billing", "credits", "top-up", &id, "10", "--json",
    ])
    .expect(0);
    assert_eq!(topped.json()["balance"], 10);
    with_redis(&["verify", &token]).expect(0);
    let set = with_redis(&["credits", "set", &id, "1", "--json"]).expect(0);
    assert_eq!(set.json()["balance"], 1);
    let audit = apikey(
        d,
        &["audit", "list", "--type", "credits.adjusted", "--json"],
        &env,
    )
    .expect(0);
    let events = audit.json();
    let events = events
        .as_array()
        .or_else(|| events["events"].as_array())
        .unwrap()
        .clone();
    assert_eq!(events.len(), 2, "{}", audit.stdout);

    // A pool with monthly credits refilled on the 15th.
    with_redis(&[
        "pools",
        "create",
        "group:paid",
        "--credits",
        "500",
        "--refill",
        "1000/month@15 Europe/Paris",
    ])
    .expect(0);
    let pool = with_redis(&["pools", "show", "group:paid", "--json"]).expect(0);
    assert_eq!(pool.json()["credits"]["balance"], 500);
    assert!(pool.json()["credits"]["next_refill"].is_string());
    with_redis(&["credits", "top-up", "group:paid", "25"]).expect(0);
    assert_eq!(
        with_redis(&["credits", "show", "group:paid", "--json"])
            .expect(0)
            .json()["balance"],
        525
    );

    // Without Redis the balances cannot be reached, and the CLI says so.
    let without = apikey(d, &["credits", "show", &id], &env).expect(2);
    assert!(without.stderr.contains("--redis-url"), "{}", without.stderr);
    with_redis(&["pools", "remove", "group:paid"]).expect(0);
    with_redis(&["pools", "show", "group:paid"]).expect(3);
}
