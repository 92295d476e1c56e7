//! Two `apikey serve` instances on one PostgreSQL and one Redis (`source .ci/services.sh`): a key
//! made on one verifies on the other, and a revocation on one is refused by the other within a
//! second, though the other had the key cached; so is a revoked admin key; a client one instance
//! blocks for replaying a revoked key is blocked by the other, and one that replays it on both,
//! short of the threshold on each, is blocked once their counts add up. A service asked for a
//! Redis it cannot reach does not start.

mod common;

use std::time::{Duration, Instant};

use common::pg::TempDb;
use common::serve::Served;
use common::{PEPPER, apikey};
use serde_json::{Value, json};

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set (source .ci/services.sh): two instances need the shared services")
    })
}

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Self {
        Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
        }
    }

    fn call(&self, base: &str, path: &str, admin: &str, body: Option<&Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let req = match body {
                Some(b) => self.client.post(format!("{base}{path}")).json(b),
                None => self.client.get(format!("{base}{path}")),
            };
            let res = req
                .header("authorization", format!("Bearer {admin}"))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json().await.unwrap_or(Value::Null))
        })
    }

    fn valid(&self, base: &str, admin: &str, token: &str) -> bool {
        let (status, v) = self.call(
            base,
            "/v1/keys/verify",
            admin,
            Some(&json!({ "token": token })),
        );
        assert_eq!(status, 200, "{v}");
        v["valid"].as_bool().unwrap()
    }
}

/// Polls `done` every 10 ms for up to 5 s; how long it took.
fn until(mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

#[test]
fn two_instances_on_postgres_and_redis_agree_within_a_second() {
    let pg = required("APIKEY_TEST_POSTGRES_URL");
    let redis = required("APIKEY_TEST_REDIS_URL");
    let db = TempDb::new(&pg, "serve2");
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("serve{}", std::process::id());
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("APIKEY_REDIS_PREFIX", prefix.as_str()),
        ("APIKEY_PEPPER", PEPPER),
        // Long enough that only an invalidation can explain the other instance's refusal.
        ("APIKEY_CACHE_TTL", "5m"),
    ];
    let a = Served::start(dir.path(), &["--init"], &env);
    let b = Served::start(dir.path(), &[], &env);
    let root = a.root.clone().unwrap();
    let http = Http::new();

    let (status, created) = http.call(
        &a.base,
        "/v1/keys",
        &root,
        Some(&json!({"name": "shared", "scopes": ["orders:read"]})),
    );
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    assert!(http.valid(&b.base, &root, &token), "made on A, valid on B");
    let (_, listed) = http.call(&b.base, "/v1/keys", &root, None);
    assert_eq!(listed["items"][0]["id"], id.as_str());

    // B has it cached now; A revokes it.
    let (status, _) = http.call(
        &a.base,
        &format!("/v1/keys/{id}/revoke"),
        &root,
        Some(&json!({"reason": "test"})),
    );
    assert_eq!(status, 200);
    let took = until(|| !http.valid(&b.base, &root, &token));
    assert!(took < Duration::from_secs(1), "B refused it after {took:?}");

    // An admin key made through A, used on B (cached there), revoked by a leak-free route: the
    // CLI over the same database and Redis.
    let ops = apikey(
        dir.path(),
        &[
            "create",
            "--name",
            "ops",
            "--tenant",
            "apikey.admin",
            "--scopes",
            "keys:read",
            "--json",
        ],
        &env,
    )
    .expect(0)
    .json();
    let ops_token = ops["token"].as_str().unwrap().to_owned();
    let ops_id = ops["key"]["id"].as_str().unwrap().to_owned();
    assert_eq!(http.call(&b.base, "/v1/keys", &ops_token, None).0, 200);
    apikey(dir.path(), &["revoke", &ops_id, "--json"], &env).expect(0);
    let took = until(|| http.call(&b.base, "/v1/keys", &ops_token, None).0 == 401);
    assert!(
        took < Duration::from_secs(1),
        "B's guard refused it after {took:?}"
    );

    // A client replaying the revoked key on A is blocked by A's detector, and by B through Redis.
    let live = http
        .call(&a.base, "/v1/keys", &root, Some(&json!({"name": "live"})))
        .1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = |base: &str, t: &str, ip: &str| {
        http.call(
            base,
            "/v1/keys/verify",
            &root,
            Some(&json!({ "token": t, "ip": ip })),
        )
        .1
    };
    assert_eq!(from(&b.base, &live, "203.0.113.60")["valid"], true);
    for _ in 0..20 {
        assert_eq!(from(&a.base, &token, "203.0.113.60")["valid"], false);
    }
    let took = until(|| from(&b.base, &live, "203.0.113.60")["kind"] == "too_many_failures");
    assert!(
        took < Duration::from_secs(1),
        "B blocked the client after {took:?}"
    );
    assert_eq!(from(&b.base, &live, "198.51.100.60")["valid"], true);

    // Another client replays it ten times on each: short of twenty on either, twenty together.
    // Once both have flushed their counts (every 10 s), it is blocked on both.
    for base in [&a.base, &b.base] {
        for _ in 0..10 {
            assert_eq!(from(base, &token, "203.0.113.61")["valid"], false);
        }
    }
    assert_eq!(
        from(&a.base, &live, "203.0.113.61")["valid"],
        true,
        "not yet"
    );
    let start = Instant::now();
    for base in [&a.base, &b.base] {
        while from(base, &live, "203.0.113.61")["kind"] != "too_many_failures" {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the instances' counts never added up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    assert_eq!(a.stop(), Some(0));
    assert_eq!(b.stop(), Some(0));
}

#[test]
fn serve_refuses_to_start_without_its_redis() {
    let dir = tempfile::tempdir().unwrap();
    let run = apikey(
        dir.path(),
        &[
            "serve",
            "--init",
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            "redis://127.0.0.1:1",
        ],
        &[("APIKEY_PEPPER", PEPPER)],
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("redis is unreachable"),
        "{}",
        run.stderr
    );
}
