//! Limiter throughput against the `redis-benchmark` ceiling for the same `EVALSHA`, measured in
//! the same run, and Redis commands per decision from `INFO commandstats`.
//!
//! ```sh
//! cargo run --release -p apikey-redis --example bench            # redis://127.0.0.1:6379
//! APIKEY_TEST_REDIS_URL=redis://host:port BENCH_TASKS=50 BENCH_SECS=5 cargo run --release ...
//! ```
#![allow(clippy::print_stdout)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apikey_core::limit::QuotaPeriod;
use apikey_core::{KeyId, LimitPolicy, Quota, Rate, RateLimiter, Subject};
use apikey_redis::{KeyPrefix, RedisConnection, RedisLimiter};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (EVALSHA calls, all command calls) from `INFO commandstats`.
async fn commandstats(conn: &mut redis::aio::MultiplexedConnection) -> (u64, u64) {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .expect("INFO");
    let (mut evalsha, mut total) = (0, 0);
    for line in info.lines().filter(|l| l.starts_with("cmdstat_")) {
        let calls = line
            .split_once("calls=")
            .and_then(|(_, rest)| rest.split(',').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        total += calls;
        if line.starts_with("cmdstat_evalsha:") {
            evalsha = calls;
        }
    }
    (evalsha, total)
}

fn policy() -> LimitPolicy {
    LimitPolicy {
        rate: Some(Rate::with_burst(1_000_000, Duration::from_secs(1), 1_000_000_000).unwrap()),
        endpoint: Some(Rate::with_burst(1_000_000, Duration::from_secs(1), 1_000_000_000).unwrap()),
        quota: Some(Quota {
            limit: 1_000_000_000_000,
            period: QuotaPeriod::Month,
        }),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let url = std::env::var("APIKEY_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let tasks: usize = env_or("BENCH_TASKS", 50);
    let secs: u64 = env_or("BENCH_SECS", 5);
    let hostport = url.trim_start_matches("redis://").trim_end_matches('/');
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "6379"));

    let conn = RedisConnection::connect(&url).await.expect("connect");
    let prefix = KeyPrefix::new("bench").unwrap();
    let limiter = Arc::new(
        RedisLimiter::new(conn)
            .with_prefix(prefix.clone())
            .with_call_budget(Duration::from_secs(5)),
    );
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // Warm up (loads the script), then measure.
    let warm = KeyId::new();
    let s = Subject {
        key: warm,
        lineage: warm,
        endpoint: Some("GET /bench"),
    };
    limiter.check(&s, &policy(), 1).await.unwrap();

    let before = commandstats(&mut raw).await;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (limiter, done, stop) = (limiter.clone(), done.clone(), stop.clone());
            tokio::spawn(async move {
                let key = KeyId::new();
                let s = Subject {
                    key,
                    lineage: key,
                    endpoint: Some("GET /bench"),
                };
                let p = policy();
                while !stop.load(Ordering::Relaxed) {
                    assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = commandstats(&mut raw).await;
    let decisions = done.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let rate = decisions as f64 / elapsed;
    // The second INFO itself is counted once.
    let commands = after.1 - before.1 - 1;
    #[allow(clippy::cast_precision_loss)]
    let per_decision = commands as f64 / decisions as f64;

    // The ceiling: redis-benchmark sending the same EVALSHA with the same arguments.
    let sha = redis::Script::new(include_str!("../src/limiter/decide.lua"))
        .get_hash()
        .to_owned();
    let lineage = KeyId::new();
    let keys = [
        format!("bench:{{{lineage}}}:rate:{lineage}"),
        format!("bench:{{{lineage}}}:ep:{lineage}:=GET /bench"),
        format!("bench:{{{lineage}}}:quota:month:0"),
    ];
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            host,
            "-p",
            port,
            "-n",
            "100000",
            "-c",
            &tasks.to_string(),
            "-q",
        ])
        .args(["evalsha", &sha, "3"])
        .args(&keys)
        .args([
            "",
            "1",
            "1000",
            "1000000000",
            "1000",
            "1000000000",
            "1000000000000",
            "3600000",
        ])
        .output();
    let ceiling = out.ok().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.split("requests per second")
            .next()
            .and_then(|s| s.rsplit(':').next())
            .and_then(|n| n.trim().parse::<f64>().ok())
    });

    println!("tasks: {tasks}, duration: {elapsed:.1} s");
    println!("limiter decisions/s: {rate:.0} ({decisions} decisions)");
    let evalsha = after.0 - before.0;
    #[allow(clippy::cast_precision_loss)]
    let trips = evalsha as f64 / decisions as f64;
    // Commands run inside the script (TIME, GET, SET, INCRBY, PEXPIRE) count in commandstats too.
    println!("round trips (EVALSHA) per decision: {trips:.3} ({evalsha} EVALSHA calls)");
    println!("redis commands per decision, script-internal ones included: {per_decision:.3}");
    match ceiling {
        Some(c) => println!(
            "redis-benchmark EVALSHA ceiling: {c:.0}/s; limiter at {:.0}% of it",
            100.0 * rate / c
        ),
        None => println!("redis-benchmark not available: no ceiling measured"),
    }
    let mut cleanup = raw.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("bench:*")
        .query_async(&mut cleanup)
        .await
        .unwrap_or_default();
    for k in keys {
        let _: Result<(), _> = redis::cmd("DEL").arg(k).query_async(&mut cleanup).await;
    }
}
