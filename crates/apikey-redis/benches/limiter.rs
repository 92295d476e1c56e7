//! Limiter throughput against the `redis-benchmark` ceiling for the same `EVALSHA`, measured in
//! the same run, and Redis commands per decision from `INFO commandstats`.
//!
//! ```sh
//! cargo bench -p apikey-redis --bench limiter            # redis://127.0.0.1:6379
//! APIKEY_TEST_REDIS_URL=redis://host:port BENCH_TASKS=50 BENCH_SECS=5 cargo run --release ...
//! BENCH_LEASE=1 cargo bench -p apikey-redis --bench limiter   # + lease mode, same run
//! ```
//!
//! With `BENCH_LEASE=1` the same load then runs against a limiter `with_leases` (default
//! `LeaseConfig`), calling `check_now` first and `check` on `None` as the verifier does, and the
//! run ends with the cost of a lease hit (`check_now`) on one thread and on two threads sharing one
//! subject.
#![allow(clippy::print_stdout)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apikey_core::limit::QuotaPeriod;
use apikey_core::{KeyId, LimitPolicy, Quota, Rate, RateLimiter, Subject};
use apikey_redis::{KeyPrefix, LeaseConfig, RedisConnection, RedisLimiter};

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
            .with_batching(true)
            .with_call_budget(Duration::from_secs(5)),
    );
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let exact = run_load(&limiter, &mut raw, tasks, secs, false).await;
    report("exact (batched)", &exact);
    // The same load, one EVALSHA per decision: batching's gain, measured in the same run.
    let single = Arc::new(
        RedisLimiter::new(RedisConnection::connect(&url).await.expect("connect"))
            .with_prefix(prefix.clone())
            .with_batching(false)
            .with_call_budget(Duration::from_secs(5)),
    );
    let one_call_each = run_load(&single, &mut raw, tasks, secs, false).await;
    report("exact (one call per decision)", &one_call_each);
    println!(
        "batched/one-call decisions/s: {:.2}x",
        exact.rate / one_call_each.rate.max(f64::MIN_POSITIVE)
    );
    let lease = if env_or("BENCH_LEASE", 0_u8) == 1 {
        let leased = Arc::new(
            RedisLimiter::new(RedisConnection::connect(&url).await.expect("connect"))
                .with_prefix(prefix.clone())
                .with_call_budget(Duration::from_secs(5))
                .with_leases(LeaseConfig::default())
                .expect("valid lease config"),
        );
        let lease = run_load(&leased, &mut raw, tasks, secs, true).await;
        report("lease", &lease);
        println!(
            "lease/exact decisions/s: {:.1}x",
            lease.rate / exact.rate.max(f64::MIN_POSITIVE)
        );
        Some(())
    } else {
        None
    };
    let rate = exact.rate;

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

    match ceiling {
        Some(c) => println!(
            "redis-benchmark EVALSHA ceiling: {c:.0}/s; limiter at {:.0}% of it",
            100.0 * rate / c
        ),
        None => println!("redis-benchmark not available: no ceiling measured"),
    }
    if lease.is_some() {
        hot_path(&url, &prefix).await;
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

/// What one load run measured.
struct Load {
    tasks: usize,
    elapsed: f64,
    decisions: u64,
    rate: f64,
    evalsha: u64,
    per_decision: f64,
}

/// `tasks` tasks, one key each, deciding for `secs` seconds; with `lease`, `check_now` first.
async fn run_load(
    limiter: &Arc<RedisLimiter>,
    raw: &mut redis::aio::MultiplexedConnection,
    tasks: usize,
    secs: u64,
    lease: bool,
) -> Load {
    // Warm up (loads the script), then measure.
    let warm = KeyId::new();
    let s = Subject {
        key: warm,
        lineage: warm,
        endpoint: Some("GET /bench"),
    };
    limiter.check(&s, &policy(), 1).await.unwrap();

    let before = commandstats(raw).await;
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
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let d = match lease.then(|| limiter.check_now(&s, &p, 1)).flatten() {
                        Some(d) => {
                            n += 1;
                            // A hit never awaits: let the other tasks and the timer run.
                            if n.is_multiple_of(64) {
                                tokio::task::yield_now().await;
                            }
                            d
                        }
                        None => limiter.check(&s, &p, 1).await,
                    };
                    assert!(d.unwrap().is_allowed());
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
    let after = commandstats(raw).await;
    let decisions = done.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let rate = decisions as f64 / elapsed;
    // The second INFO itself is counted once.
    let commands = after.1 - before.1 - 1;
    #[allow(clippy::cast_precision_loss)]
    let per_decision = commands as f64 / decisions as f64;

    let evalsha = after.0 - before.0;
    Load {
        tasks,
        elapsed,
        decisions,
        rate,
        evalsha,
        per_decision,
    }
}

fn report(mode: &str, l: &Load) {
    println!("[{mode}] tasks: {}, duration: {:.1} s", l.tasks, l.elapsed);
    println!(
        "[{mode}] limiter decisions/s: {:.0} ({} decisions)",
        l.rate, l.decisions
    );
    #[allow(clippy::cast_precision_loss)]
    let trips = l.evalsha as f64 / l.decisions.max(1) as f64;
    // Commands run inside the script (TIME, GET, SET, INCRBY, PEXPIRE) count in commandstats too.
    println!(
        "[{mode}] round trips (EVALSHA) per decision: {trips:.4} ({} EVALSHA calls)",
        l.evalsha
    );
    println!(
        "[{mode}] redis commands per decision, script-internal ones included: {:.4}",
        l.per_decision
    );
}

/// The cost of a lease hit: `check_now` on a subject holding a large live lease, on one thread,
/// then on two threads sharing that subject (one contended atomic).
async fn hot_path(url: &str, prefix: &KeyPrefix) {
    const BLOCK: u32 = 1_000;
    let limiter = RedisLimiter::new(RedisConnection::connect(url).await.expect("connect"))
        .with_prefix(prefix.clone())
        .with_call_budget(Duration::from_secs(5))
        .with_leases(LeaseConfig {
            max_units: 1_000_000,
            max_age: Duration::from_secs(60),
            ..LeaseConfig::default()
        })
        .expect("valid lease config");
    let key = KeyId::new();
    let s = Subject {
        key,
        lineage: key,
        endpoint: Some("GET /bench"),
    };
    let p = policy();
    // Grow the lease to its cap (1, 2, 4, … units).
    for _ in 0..2_000_000 {
        if limiter.check_now(&s, &p, 1).is_none() {
            limiter.check(&s, &p, 1).await.unwrap();
        }
    }
    let measure = |blocks: u32| {
        let (mut spent, mut calls, mut misses) = (Duration::ZERO, 0_u64, 0_u64);
        for _ in 0..blocks {
            let t = Instant::now();
            for _ in 0..BLOCK {
                if std::hint::black_box(limiter.check_now(&s, &p, 1)).is_none() {
                    misses += 1;
                }
            }
            spent += t.elapsed();
            calls += u64::from(BLOCK);
        }
        (spent, calls, misses)
    };
    let refill = || async {
        // Outside the timed blocks: spend what is left, then take a fresh lease of the cap.
        while limiter.check_now(&s, &p, 1).is_some() {}
        limiter.check(&s, &p, 1).await.unwrap();
    };
    // Reference: the clock read every hit makes (the system clock: no `with_clock` here).
    let t = Instant::now();
    for _ in 0..500_000 {
        std::hint::black_box(chrono::Utc::now());
    }
    println!(
        "[lease] reference: one system clock read: {:.1} ns",
        t.elapsed().as_secs_f64() * 1e9 / 500_000.0
    );
    refill().await;
    let (spent, calls, misses) = measure(500);
    #[allow(clippy::cast_precision_loss)]
    let ns = spent.as_nanos() as f64 / calls as f64;
    println!("[lease] check_now hit, 1 thread: {ns:.1} ns/call ({calls} calls, {misses} misses)");
    refill().await;
    let results: Vec<(Duration, u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2).map(|_| scope.spawn(|| measure(250))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (spent, calls, misses)) in results.into_iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let ns = spent.as_nanos() as f64 / calls as f64;
        println!(
            "[lease] check_now hit, 2 threads on one subject, thread {i}: {ns:.1} ns/call ({calls} calls, {misses} misses)"
        );
    }
}
