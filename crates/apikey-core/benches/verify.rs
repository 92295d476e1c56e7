//! Criterion benchmarks of the verification hot path (token format, cache hit, cold HMAC and argon2
//! misses, the in-process limiter), each reported as a ratio to SHA-256/HMAC baselines measured in
//! the same run.
//!
//! Futures that complete without suspending (every path here except argon2) are polled once with a
//! no-op waker instead of going through an executor, so the figures carry no runtime overhead; a
//! pending poll panics, which also proves the path never suspends. Argon2 runs on a blocking thread,
//! so it is driven by a current-thread tokio runtime.
//!
//! Run: `cargo bench -p apikey-core --bench verify -- --warm-up-time 1 --measurement-time 3`
//! (see `docs/performance.md`).

// The ratio table at the end is the point of the run, so it is printed.
#![allow(clippy::print_stdout, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use apikey_core::hash::{HashAlgorithm, Hasher};
use apikey_core::limit::{LimitPolicy, Quota, QuotaPeriod, Rate, RateLimiter, Subject};
use apikey_core::{
    ApiKeys, Attempt, Clock, Credential, KeyId, NewKey, Peppers, RequestContext, SystemClock,
    Token, TokenFormat, Verifier, VerifierConfig,
};
use apikey_memory::{MemoryLimiter, MemoryStore};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};

#[cfg(feature = "metrics")]
#[path = "../tests/support/recorder.rs"]
mod recorder;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// When this process started: estimates older than that come from another run and are not used.
static STARTED: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();

/// Polls `fut` once; it must complete without suspending.
#[inline]
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the verification suspended"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn peppers() -> Peppers {
    Peppers::single("bench", b"a benchmark pepper of enough length".to_vec()).expect("pepper")
}

/// A rate (and optional quota) no benchmark run can exhaust: a burst of 10^9 refilled at the
/// fastest allowed rate (one per microsecond).
fn huge_rate() -> Rate {
    Rate::with_burst(1_000_000, Duration::from_secs(1), 1_000_000_000).expect("valid rate")
}

fn huge_quota() -> Quota {
    Quota {
        limit: 1_000_000_000_000,
        period: QuotaPeriod::Month,
    }
}

struct Setup {
    rt: tokio::runtime::Runtime,
    keys: ApiKeys,
}

impl Setup {
    fn new(config: VerifierConfig, hasher: Hasher) -> Self {
        let rt = runtime();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let keys = rt.block_on(async {
            ApiKeys::builder(Arc::new(MemoryStore::new()))
                .hasher(hasher)
                .clock(clock.clone())
                .limiter(Arc::new(MemoryLimiter::new(clock)))
                .config(config)
                .build()
                .expect("build")
        });
        Self { rt, keys }
    }

    fn hmac(config: VerifierConfig) -> Self {
        Self::new(config, Hasher::new(peppers()))
    }

    fn create(&self, new: NewKey) -> Token {
        self.rt
            .block_on(self.keys.manager().create(new))
            .expect("create")
            .token
    }

    fn verifier(&self) -> &Verifier {
        self.keys.verifier()
    }
}

fn baselines(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    let input = [0x5au8; 32];
    g.bench_function("sha256_32B", |b| {
        b.iter(|| Sha256::digest(black_box(&input)))
    });
    let prepared = <Hmac<Sha256> as Mac>::new_from_slice(b"a benchmark key of 32 bytes.....")
        .expect("any key length");
    g.bench_function("hmac_sha256_32B", |b| {
        b.iter(|| {
            let mut mac = black_box(&prepared).clone();
            mac.update(black_box(&input));
            mac.finalize().into_bytes()
        })
    });
    g.bench_function("hmac_sha256_32B_with_key_setup", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(black_box(
                b"a benchmark pepper of 32 bytes..",
            ))
            .expect("any key length");
            mac.update(black_box(&input));
            mac.finalize().into_bytes()
        })
    });
    g.bench_function("clock_utc_now", |b| b.iter(|| SystemClock.now()));
    g.finish();
}

fn token(c: &mut Criterion) {
    let mut g = c.benchmark_group("token");
    let format = TokenFormat::default();
    g.bench_function("generate", |b| b.iter(|| format.generate()));
    let (_, t) = format.generate();
    g.bench_function("parse", |b| {
        b.iter(|| format.parse(black_box(t.expose())).is_some())
    });
    g.finish();
}

fn verify_hit(c: &mut Criterion) {
    let s = Setup::hmac(VerifierConfig::default());
    let plain = s.create(NewKey::new("plain"));
    let rated = s.create(NewKey::new("rated").rate_limit(huge_rate()));
    let quota = s.create(
        NewKey::new("rate+quota")
            .rate_limit(huge_rate())
            .quota(huge_quota()),
    );
    let ctx = RequestContext::new();
    let v = s.verifier();
    for t in [&plain, &rated, &quota] {
        ready(v.verify(Credential::new(t.expose()), &ctx)).expect("warm-up verifies");
    }

    let mut g = c.benchmark_group("verify");
    for (name, t) in [
        ("hit", &plain),
        ("hit_rate_limit", &rated),
        ("hit_rate_quota", &quota),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                ready(v.verify(Credential::new(black_box(t.expose())), &ctx)).expect("verifies")
            })
        });
    }
    // The same hits through `verify_now`, the synchronous path the HTTP guards take: no future is
    // created, so this is what a guarded request pays for verification.
    for (name, t) in [("hit_now", &plain), ("hit_now_rate_limit", &rated)] {
        g.bench_function(name, |b| {
            b.iter(
                || match v.verify_now(Credential::new(black_box(t.expose())), &ctx) {
                    Attempt::Done(verified) => verified.expect("verifies"),
                    Attempt::Pending(_) => panic!("a warm hit must not be pending"),
                },
            )
        });
    }
    // With the `metrics` feature: the same hit through a verifier whose handles record into a
    // real recorder (atomic adds), against `hit_now` above, whose handles are no-ops.
    #[cfg(feature = "metrics")]
    {
        let recorder: &'static recorder::TestRecorder =
            Box::leak(Box::new(recorder::TestRecorder::default()));
        let m = metrics::with_local_recorder(recorder, || Setup::hmac(VerifierConfig::default()));
        let metered = m.create(NewKey::new("metered"));
        // A limited key also counts the limiter's decision: one more atomic add.
        let metered_rated = m.create(NewKey::new("metered rated").rate_limit(huge_rate()));
        let mv = m.verifier();
        for (name, t) in [
            ("hit_now_metrics_recorded", &metered),
            ("hit_now_rate_limit_metrics_recorded", &metered_rated),
        ] {
            ready(mv.verify(Credential::new(t.expose()), &ctx)).expect("warm-up verifies");
            g.bench_function(name, |b| {
                b.iter(
                    || match mv.verify_now(Credential::new(black_box(t.expose())), &ctx) {
                        Attempt::Done(verified) => verified.expect("verifies"),
                        Attempt::Pending(_) => panic!("a warm hit must not be pending"),
                    },
                )
            });
        }
    }
    // A one-character typo: right length and alphabet, refused by the checksum with no lookup.
    let typo = {
        let mut t = plain.expose().as_bytes().to_vec();
        let i = t.len() - 10;
        t[i] = if t[i] == b'a' { b'b' } else { b'a' };
        String::from_utf8(t).expect("ASCII")
    };
    g.bench_function("malformed_typo", |b| {
        b.iter(|| ready(v.verify(Credential::new(black_box(&typo)), &ctx)).is_err())
    });

    // Two threads verifying the same hot key: per-verification latency under contention for its
    // cache entry's reference count and usage counters.
    g.bench_function("hit_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for _ in 0..iters {
                            ready(v.verify(Credential::new(black_box(plain.expose())), &ctx))
                                .expect("verifies");
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    g.finish();
}

/// A hit charged against the key's own rate and quota, against the same hit also charged against
/// its owner's pool (rate and quota) and its tenant's (quota): the same run, same limiter.
/// A cache hit with a client address, every threat detector off and on (same run): what the
/// network-block check and the per-key network sketch add to a hit.
fn verify_threats(c: &mut Criterion) {
    let ctx = RequestContext::new().client_ip(Some(std::net::IpAddr::from([203, 0, 113, 9])));
    let mut g = c.benchmark_group("threats");
    for (name, threats) in [
        (
            "hit_now_detectors_off",
            apikey_core::threat::ThreatPolicy::default(),
        ),
        (
            "hit_now_detectors_on",
            apikey_core::threat::ThreatPolicy::recommended(),
        ),
    ] {
        let s = Setup::hmac(VerifierConfig {
            threats,
            ..VerifierConfig::default()
        });
        let t = s.create(NewKey::new("watched"));
        let v = s.verifier();
        ready(v.verify(Credential::new(t.expose()), &ctx)).expect("warm-up verifies");
        g.bench_function(name, |b| {
            b.iter(
                || match v.verify_now(Credential::new(black_box(t.expose())), &ctx) {
                    Attempt::Done(verified) => verified.expect("verifies"),
                    Attempt::Pending(_) => panic!("a warm hit must not be pending"),
                },
            )
        });
    }
}

fn verify_pools(c: &mut Criterion) {
    use apikey_core::catalog::Preset;
    use apikey_core::limit::PoolLimits;

    let rt = runtime();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = MemoryStore::new();
    let keys = rt.block_on(async {
        ApiKeys::builder(Arc::new(store.clone()))
            .hasher(Hasher::new(peppers()))
            .clock(clock.clone())
            .catalog(Arc::new(store.clone()))
            .limiter(Arc::new(MemoryLimiter::new(clock)))
            .build()
            .expect("build")
    });
    let m = keys.manager();
    let own = |name: &str| {
        NewKey::new(name)
            .rate_limit(huge_rate())
            .quota(huge_quota())
    };
    let (key_only, pooled) = rt.block_on(async {
        let owner = PoolLimits {
            rate: Some(huge_rate()),
            quota: Some(huge_quota()),
            credits: None,
        };
        let tenant = PoolLimits {
            quota: Some(huge_quota()),
            ..PoolLimits::default()
        };
        for (name, limits) in [("owner:pooled", owner), ("tenant", tenant)] {
            m.save_preset(
                None,
                Preset::pool(name, limits),
                0,
                apikey_core::Change::new(),
            )
            .await
            .expect("pool");
        }
        let key_only = m
            .create(own("key only").owner("alone"))
            .await
            .expect("key")
            .token;
        let pooled = m
            .create(own("pooled").owner("pooled"))
            .await
            .expect("key")
            .token;
        (key_only, pooled)
    });
    let ctx = RequestContext::new();
    let v = keys.verifier();
    let mut g = c.benchmark_group("pools");
    for (name, t) in [
        ("hit_now_key_only", &key_only),
        ("hit_now_key_and_two_pools", &pooled),
    ] {
        ready(v.verify(Credential::new(t.expose()), &ctx)).expect("warm-up verifies");
        g.bench_function(name, |b| {
            b.iter(
                || match v.verify_now(Credential::new(black_box(t.expose())), &ctx) {
                    Attempt::Done(verified) => verified.expect("verifies"),
                    Attempt::Pending(_) => panic!("a warm hit must not be pending"),
                },
            )
        });
    }
    g.finish();
    drop(rt);
}

fn verify_cold(c: &mut Criterion) {
    // A zero TTL fills entries that are already expired (`until_us > now_us` is false), so every
    // verification takes the miss path: store fetch, HMAC under the pepper, cache fill.
    let cold = VerifierConfig {
        cache_ttl: Duration::ZERO,
        ..VerifierConfig::default()
    };
    let s = Setup::hmac(cold.clone());
    const N: usize = 10_000;
    let tokens: Vec<Token> = (0..N)
        .map(|i| s.create(NewKey::new(format!("k{i}"))))
        .collect();
    let ctx = RequestContext::new();
    let v = s.verifier();
    let mut g = c.benchmark_group("verify");
    let mut i = 0;
    g.bench_function("cold_hmac", |b| {
        b.iter(|| {
            i = (i + 1) % N;
            ready(v.verify(Credential::new(tokens[i].expose()), &ctx)).expect("verifies")
        })
    });
    // The same, with a cleared cache instead of a zero TTL (the clearing is not measured).
    let warm = Setup::hmac(VerifierConfig::default());
    let one = warm.create(NewKey::new("one"));
    g.bench_function("cold_hmac_cleared_cache", |b| {
        b.iter_batched(
            || warm.verifier().clear_cache(),
            |()| ready(warm.verifier().verify(Credential::new(one.expose()), &ctx)).expect("ok"),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let slow = Setup::new(
        cold,
        Hasher::new(peppers()).with_algorithm(HashAlgorithm::Argon2id),
    );
    let argon: Vec<Token> = (0..4)
        .map(|i| slow.create(NewKey::new(format!("a{i}"))))
        .collect();
    let mut g = c.benchmark_group("verify_argon2");
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    let mut i = 0;
    g.bench_function("cold_argon2id", |b| {
        b.iter(|| {
            i = (i + 1) % argon.len();
            slow.rt
                .block_on(
                    slow.verifier()
                        .verify(Credential::new(argon[i].expose()), &ctx),
                )
                .expect("verifies")
        })
    });
    g.finish();
}

fn limiter(c: &mut Criterion) {
    let limiter = MemoryLimiter::new(Arc::new(SystemClock));
    let key = KeyId::new();
    let subject = Subject {
        key,
        lineage: key,
        endpoint: None,
    };
    let policy = LimitPolicy {
        rate: Some(huge_rate()),
        endpoint: None,
        quota: Some(huge_quota()),
    };
    assert!(
        limiter
            .check_now(&subject, &policy, 1)
            .expect("sync")
            .expect("ok")
            .is_allowed()
    );
    let mut g = c.benchmark_group("limiter");
    g.bench_function("check_now_rate_quota", |b| {
        b.iter(|| limiter.check_now(black_box(&subject), &policy, 1))
    });
    g.finish();
}

/// The median of `group/name` from this run's `estimates.json`, in nanoseconds.
fn median_ns(dir: &std::path::Path, id: &str) -> Option<f64> {
    let path = dir.join(id).join("new").join("estimates.json");
    let meta = std::fs::metadata(&path).ok()?;
    if meta.modified().ok()? < *STARTED.get()? {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// Prints every benchmark of this run as a ratio to the baselines of this run.
fn ratios(_: &mut Criterion) {
    let dir = criterion_dir();
    let ids = [
        "baseline/sha256_32B",
        "baseline/hmac_sha256_32B",
        "baseline/hmac_sha256_32B_with_key_setup",
        "baseline/clock_utc_now",
        "token/generate",
        "token/parse",
        "verify/hit",
        "verify/hit_rate_limit",
        "verify/hit_rate_quota",
        "verify/hit_now",
        "verify/hit_now_rate_limit",
        "verify/malformed_typo",
        "verify/hit_2_threads",
        "verify/cold_hmac",
        "verify/cold_hmac_cleared_cache",
        "verify_argon2/cold_argon2id",
        "limiter/check_now_rate_quota",
        "pools/hit_now_key_only",
        "pools/hit_now_key_and_two_pools",
        "threats/hit_now_detectors_off",
        "threats/hit_now_detectors_on",
    ];
    let sha = median_ns(&dir, ids[0]);
    let hmac = median_ns(&dir, ids[1]);
    println!("\nmedians of this run ({}):", dir.display());
    println!(
        "{:<42} {:>12} {:>10} {:>10}",
        "benchmark", "median", "x SHA-256", "x HMAC"
    );
    let ratio =
        |m: f64, base: Option<f64>| base.map_or("-".to_owned(), |b| format!("{:.1}", m / b));
    for id in ids {
        let Some(m) = median_ns(&dir, id) else {
            continue;
        };
        let shown = if m >= 1_000_000.0 {
            format!("{:.2} ms", m / 1e6)
        } else if m >= 1_000.0 {
            format!("{:.3} µs", m / 1e3)
        } else {
            format!("{m:.1} ns")
        };
        println!(
            "{id:<42} {shown:>12} {:>10} {:>10}",
            ratio(m, sha),
            ratio(m, hmac)
        );
    }
    if let (Some(own), Some(pooled)) = (
        median_ns(&dir, "pools/hit_now_key_only"),
        median_ns(&dir, "pools/hit_now_key_and_two_pools"),
    ) {
        println!(
            "a hit with two pools: {:.2}x the key-only hit (goal <= 1.5x)",
            pooled / own
        );
    }
    if let (Some(off), Some(on)) = (
        median_ns(&dir, "threats/hit_now_detectors_off"),
        median_ns(&dir, "threats/hit_now_detectors_on"),
    ) {
        println!(
            "a hit with every threat detector on: {:.2}x the hit with none",
            on / off
        );
    }
}

fn start(_: &mut Criterion) {
    STARTED.get_or_init(|| SystemTime::now() - Duration::from_secs(1));
}

criterion_group!(
    benches,
    start,
    baselines,
    token,
    verify_hit,
    verify_cold,
    limiter,
    verify_pools,
    verify_threats,
    ratios
);
criterion_main!(benches);
