//! Confirmed revocation across processes: three instances of this service on one PostgreSQL and
//! one Redis, each running a revocation listener that registers itself.
//!
//! - While requests with a key run against all three, `apikey revoke ID --confirm` returns exit 0
//!   with three acknowledgements, and no request sent after it returned is admitted anywhere.
//! - With one instance paused (SIGSTOP), the call exits 9 naming it; after SIGCONT it catches up
//!   (answers 401) and the next confirmed revocation is acknowledged by all three again.
//!
//! The instances' `cache_ttl` is a minute, so only the invalidation (not expiry) can stop them.
//! Needs the same services and CLI binary as `cli_revocation.rs`.

#![allow(clippy::print_stderr)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Database, Env, Instance, cli, create, service_urls, start, status};

const CACHE_TTL: Duration = Duration::from_secs(60);

/// Every request the load sent: when, and the status it got (0: no answer).
type Seen = Arc<Mutex<Vec<(Instant, u16)>>>;

fn signal(instance: &Instance, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &instance.child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig}");
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Waits until `apikey instances` lists `n` instances.
async fn until_registered(env: &Env, n: usize) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = cli(env, &env.redis, &["--json", "instances"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = json(&out);
        if listed.as_array().map(Vec::len) == Some(n) {
            return listed;
        }
        assert!(
            Instant::now() < deadline,
            "{n} instances never registered: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Requests with `token` against every instance until `stop`, each recorded as (sent, status).
fn load(
    http: &reqwest::Client,
    instances: &[Instance],
    token: &str,
    stop: &Arc<AtomicBool>,
) -> (Seen, Vec<tokio::task::JoinHandle<()>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tasks = instances
        .iter()
        .map(|i| {
            let (http, url, token) = (
                http.clone(),
                format!("{}/projects", i.base),
                token.to_owned(),
            );
            let (stop, seen) = (Arc::clone(stop), Arc::clone(&seen));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    let r = http.get(&url).header("x-api-key", &token).send().await;
                    let code = r.map(|r| r.status().as_u16()).unwrap_or(0);
                    seen.lock().unwrap().push((sent, code));
                }
            })
        })
        .collect();
    (seen, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_revocation_leaves_no_instance_accepting_the_key() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let db = Database::create(&pg).await;
    let env = Env {
        db: db.url.clone(),
        redis: redis.clone(),
        prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
        pepper: "p1=dGhlIHBlcHBlciB0aGVzZSB0ZXN0cyBzaGFyZSwgMzIgYnl0ZXM=".to_owned(),
        cache_ttl: CACHE_TTL,
    };
    let out = cli(&env, &redis, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let instances = [
        start(&env, &http).await,
        start(&env, &http).await,
        start(&env, &http).await,
    ];
    until_registered(&env, 3).await;

    // Under load: after the confirmed revoke returns, nothing is admitted anywhere.
    let (id, token) = create(&env);
    for i in &instances {
        assert_eq!(status(&http, i, &token).await, 200, "verified and cached");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, tasks) = load(&http, &instances, &token, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = cli(
        &env,
        &redis,
        &["--json", "revoke", &id, "--confirm", "--timeout", "5s"],
    );
    let returned = Instant::now();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = json(&out);
    assert_eq!(answer["state"], "revoked");
    assert_eq!(
        answer["confirmation"]["acknowledged"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        answer["confirmation"]["missing"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let before = seen
        .iter()
        .filter(|(at, code)| *at < returned && *code == 200)
        .count();
    let after: Vec<_> = seen.iter().filter(|(at, _)| *at >= returned).collect();
    let admitted_after = after.iter().filter(|(_, code)| *code == 200).count();
    eprintln!(
        "admitted before the confirmed revoke returned: {before}; requests after: {}, admitted: {admitted_after}",
        after.len()
    );
    assert!(before > 0, "the load ran before the revocation");
    assert!(after.len() > 10, "the load ran after it returned");
    assert_eq!(
        admitted_after, 0,
        "an instance admitted the key after the confirmation"
    );
    assert!(after.iter().all(|(_, code)| *code == 401));

    // One instance paused: the call names it and exits 9; after SIGCONT it catches up.
    let (id, token) = create(&env);
    for i in &instances {
        assert_eq!(status(&http, i, &token).await, 200);
    }
    let paused = &instances[2];
    signal(paused, "-STOP");
    let out = cli(
        &env,
        &redis,
        &["--json", "revoke", &id, "--confirm", "--timeout", "2s"],
    );
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    signal(paused, "-CONT");
    assert_eq!(code, Some(9), "{stderr}");
    let answer = json(&out);
    let missing = answer["confirmation"]["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{answer}");
    let pid = format!("pid {}", paused.child.id());
    assert!(
        missing[0]["name"].as_str().unwrap().ends_with(&pid),
        "{answer}"
    );
    assert!(stderr.contains(&pid), "the message names it: {stderr}");
    assert_eq!(
        answer["confirmation"]["acknowledged"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    while status(&http, paused, &token).await != 401 {
        assert!(
            Instant::now() < deadline,
            "the paused instance never caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in &instances {
        assert_eq!(status(&http, i, &token).await, 401);
    }
    let (id, _) = create(&env);
    let out = cli(&env, &redis, &["--json", "suspend", &id, "--confirm"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&out)["confirmation"]["acknowledged"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    drop(instances);
    db.drop_it().await;
}

/// The figures in docs/performance.md: confirmation latency with three instances, by hand
/// (`cargo test --release -p actix-redis --test confirmed_revocation -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn confirmation_latency_with_three_instances() {
    use apikey_core::{ApiKeys, Change, NewKey, Peppers, TenantScope};
    use apikey_redis::{KeyPrefix, RedisCache, RedisConfirmer, RedisConnection, RedisInstances};
    use apikey_sqlx::SqlxPostgresStore;

    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let db = Database::create(&pg).await;
    let env = Env {
        db: db.url.clone(),
        redis: redis.clone(),
        prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
        pepper: "p1=dGhlIHBlcHBlciB0aGVzZSB0ZXN0cyBzaGFyZSwgMzIgYnl0ZXM=".to_owned(),
        cache_ttl: CACHE_TTL,
    };
    assert!(cli(&env, &redis, &["migrate"]).status.success());
    let http = reqwest::Client::new();
    let instances = [
        start(&env, &http).await,
        start(&env, &http).await,
        start(&env, &http).await,
    ];
    until_registered(&env, 3).await;

    let peppers = Peppers::from_spec(&env.pepper).unwrap();
    let pool = apikey_sqlx::sqlx::PgPool::connect(&env.db).await.unwrap();
    let conn = RedisConnection::connect(&redis).await.unwrap();
    let prefix = KeyPrefix::new(&env.prefix).unwrap();
    let keys = ApiKeys::builder(Arc::new(SqlxPostgresStore::new(pool)))
        .peppers(peppers.clone())
        .shared_cache(Arc::new(
            RedisCache::new(conn.clone(), &peppers).with_prefix(prefix.clone()),
        ))
        .confirmer(Arc::new(RedisConfirmer::new(
            RedisInstances::new(conn).with_prefix(prefix),
        )))
        .build()
        .unwrap();
    let (mut confirm, mut whole) = (Vec::new(), Vec::new());
    for n in 0..200 {
        let k = keys
            .manager()
            .create(
                NewKey::new(format!("k{n}"))
                    .scopes(["projects:read"])
                    .unwrap(),
            )
            .await
            .unwrap();
        for i in &instances {
            assert_eq!(status(&http, i, k.token.expose()).await, 200);
        }
        let started = Instant::now();
        let done = keys
            .manager()
            .revoke_confirmed(
                &TenantScope::All,
                k.record.id,
                Change::new(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        whole.push(started.elapsed());
        assert!(done.confirmation.is_complete());
        confirm.push(done.confirmation.elapsed);
    }
    for (what, v) in [
        ("confirmation", &mut confirm),
        ("revoke_confirmed (commit + confirm)", &mut whole),
    ] {
        v.sort();
        eprintln!(
            "{what}, 3 instances, {} revocations: p50 {:?}, p99 {:?}, max {:?}",
            v.len(),
            v[v.len() / 2],
            v[v.len() * 99 / 100],
            v[v.len() - 1]
        );
    }
    drop(instances);
    db.drop_it().await;
}
