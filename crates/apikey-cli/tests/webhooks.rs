//! End-to-end tests of `apikey webhooks` on the default SQLite database: a subscription's secret
//! is printed once and sealed under a KEK file made beside the database, a revocation reaches a
//! real receiver signed so the Standard Webhooks reference crate accepts it, failures wait for a
//! retry, rotation signs with both secrets, and bad input is refused.

mod common;

use std::net::TcpListener;

use common::apikey;
use common::receiver::receiver;

fn verifies(secret: &str, (headers, body): &(http::HeaderMap, Vec<u8>)) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(body, headers)
        .is_ok()
}

#[test]
fn a_revocation_reaches_the_receiver_signed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (addr, got) = receiver();
    let created = apikey(d, &["create", "--name", "svc", "--json"], &[]).expect(0);
    let key = created.json()["key"]["id"].as_str().unwrap().to_owned();

    let url = format!("http://{addr}/hook");
    let sub = apikey(
        d,
        &[
            "webhooks",
            "create",
            "--url",
            &url,
            "--allow-http",
            "--allow-private-network",
            "--events",
            "key.revoked,key.suspended",
            "--json",
        ],
        &[],
    )
    .expect(0);
    assert!(sub.stderr.contains("apikeys.db.kek"), "{}", sub.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("apikeys.db.kek"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let v = sub.json();
    let id = v["id"].as_str().unwrap().to_owned();
    let secret = v["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    apikey(d, &["revoke", &key, "--reason", "leaked"], &[]).expect(0);
    let run = apikey(d, &["webhooks", "run", "--until-idle", "--json"], &[]).expect(0);
    assert_eq!(run.json()["delivered"], 1, "{}", run.stdout);
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "the creation predates the subscription");
        assert!(verifies(&secret, &got[0]), "reference verifier");
        let body: serde_json::Value = serde_json::from_slice(&got[0].1).unwrap();
        assert_eq!(body["type"], "key.revoked");
        assert_eq!(body["data"]["reason"], "leaked");
    }
    // Nothing twice.
    let again = apikey(d, &["webhooks", "run", "--until-idle", "--json"], &[]).expect(0);
    assert_eq!(again.json()["attempts"], 0);

    for args in [
        &["webhooks", "list", "--json"][..],
        &["webhooks", "show", &id, "--json"],
        &["webhooks", "deliveries", "--json"],
        &["webhooks", "list"],
        &["webhooks", "show", &id],
    ] {
        let out = apikey(d, args, &[]).expect(0).stdout;
        assert!(
            !out.contains(&secret) && !out.contains("sb1."),
            "{args:?}: {out}"
        );
    }
    let delivered = apikey(d, &["webhooks", "deliveries", "--json"], &[])
        .expect(0)
        .json();
    assert_eq!(delivered[0]["state"], "delivered");
    assert_eq!(delivered[0]["last_status"], 204);

    // Rotation: both secrets sign during the grace period.
    let rotated = apikey(
        d,
        &["webhooks", "rotate", &id, "--grace", "1h", "--json"],
        &[],
    )
    .expect(0);
    let new_secret = rotated.json()["secret"].as_str().unwrap().to_owned();
    let ping = apikey(d, &["webhooks", "test", &id], &[]).expect(0);
    assert!(ping.stdout.contains("ping delivered"), "{}", ping.stdout);
    let got = got.lock().unwrap();
    assert!(verifies(&secret, &got[1]) && verifies(&new_secret, &got[1]));
}

#[test]
fn failures_wait_for_a_retry_and_bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    apikey(d, &["migrate"], &[]).expect(0);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/hook");
    let id = apikey(
        d,
        &[
            "webhooks",
            "create",
            "--url",
            &url,
            "--allow-http",
            "--allow-private-network",
            "--json",
        ],
        &[],
    )
    .expect(0)
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = apikey(d, &["webhooks", "test", &id], &[]).expect(1);
    assert!(test.stdout.contains("could not connect"), "{}", test.stdout);
    apikey(d, &["create", "--name", "a"], &[]).expect(0);
    let run = apikey(d, &["webhooks", "run", "--until-idle", "--json"], &[]).expect(1);
    let r = run.json();
    assert_eq!(
        (r["retrying"].as_u64(), r["waiting"].as_u64()),
        (Some(1), Some(2)),
        "{r}"
    );
    let failed = apikey(d, &["webhooks", "deliveries", "--failed", "--json"], &[]).expect(0);
    assert_eq!(failed.json().as_array().unwrap().len(), 0, "not dead yet");
    let ds = apikey(d, &["webhooks", "deliveries", "--json"], &[])
        .expect(0)
        .json();
    assert!(
        ds.as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "pending")
    );
    let delivery = ds[0]["id"].as_str().unwrap().to_owned();
    apikey(d, &["webhooks", "redeliver", &delivery], &[]).expect(0);
    apikey(
        d,
        &[
            "webhooks",
            "redeliver",
            "0193a6a4-0000-7000-8000-000000000000",
        ],
        &[],
    )
    .expect(3);

    let private = apikey(
        d,
        &["webhooks", "create", "--url", "https://127.0.0.1/hook"],
        &[],
    )
    .expect(2);
    assert!(
        private.stderr.contains("allow_private_network"),
        "{}",
        private.stderr
    );
    let typo = apikey(
        d,
        &[
            "webhooks",
            "create",
            "--url",
            "https://hooks.example/",
            "--events",
            "key.revokd",
        ],
        &[],
    )
    .expect(2);
    assert!(typo.stderr.contains("key.revokd"), "{}", typo.stderr);
    let http = apikey(
        d,
        &["webhooks", "create", "--url", "http://hooks.example/"],
        &[],
    )
    .expect(2);
    assert!(http.stderr.contains("--allow-http"), "{}", http.stderr);
    apikey(d, &["webhooks", "show", "nope"], &[]).expect(2);
    apikey(d, &["webhooks", "remove", &id], &[]).expect(0);
    apikey(d, &["webhooks", "show", &id], &[]).expect(3);
    assert_eq!(
        apikey(d, &["webhooks", "deliveries", "--json"], &[])
            .expect(0)
            .json(),
        serde_json::json!([])
    );
}

#[test]
fn a_server_database_needs_a_kek() {
    let dir = tempfile::tempdir().unwrap();
    let Ok(url) = std::env::var("APIKEY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide PostgreSQL"
        );
        return;
    };
    let r = apikey(
        dir.path(),
        &["--database-url", &url, "webhooks", "list"],
        &[],
    )
    .expect(6);
    assert!(r.stderr.contains("APIKEY_KEK"), "{}", r.stderr);
}
