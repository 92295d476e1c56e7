//! `cargo xtask bench-http`: the HTTP load benchmark.
//!
//! Builds `examples/bench-server` in release, and for each row (framework × backend) starts it
//! with one worker thread pinned to core 0, warms both routes up, then drives `GET /open`
//! (unguarded) and `GET /guarded` (scope `projects:read`) with wrk pinned to core 1
//! (`wrk -t1 -c32 -d10s --latency`), all on 127.0.0.1. It prints req/s, p50/p99, the server's
//! CPU time per request, and guarded/unguarded measured against the same server in the same run,
//! with the goals: ≥ 0.95 on the memory backend, ≥ 0.70 with the Redis limiter, and on the memory
//! backend at most 0.7 µs of server CPU added per request (the median over rounds of guarded minus
//! unguarded, each round's pair measured back to back; use `--rounds 3` or more).
//!
//! On the memory backend the same run adds rows without goals, for comparison: our guard with the
//! `RateLimit` fields off, and on axum two peers on the same routes — tower-http's
//! `ValidateRequestHeaderLayer::bearer` with one static token (the cheapest guard an axum user can
//! write) and `tower_governor` keyed by the API-key header (a rate limit that verifies nothing).
//! `--no-peers` leaves them out. The server's CPU
//! per request (from `/proc/<pid>/stat`) gives a second ratio, unguarded/guarded CPU, which is what
//! req/s would show on a dedicated core and moves less when other jobs share the machine.
//!
//! The server writes its tokens to a file in a private temporary directory; wrk reads them from
//! there through a Lua script, so no token appears on a command line or in a log.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::ValueEnum;

use crate::bench_server::{
    Server, TempDir, clock_ticks_per_second, cpu_ticks, free_port, wait_ready,
};
use crate::wrk::{self, Report};
use crate::{Outcome, cargo, run_output};

/// Options of `cargo xtask bench-http`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Only these frameworks (repeatable; default: both).
    #[arg(long = "framework", value_enum)]
    frameworks: Vec<Framework>,
    /// Only these backends (repeatable; default: all three).
    #[arg(long = "backend", value_enum)]
    backends: Vec<Backend>,
    /// Seconds of each measured wrk run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up on each route before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Measured runs per route and row, in ABBA order (open, guarded, guarded, open, …).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Keys the postgres-cold row cycles through, so concurrent misses rarely share a fetch.
    #[arg(long, default_value_t = 1000)]
    pg_keys: usize,
    /// Keys without a rate limit: no limiter decision and no `RateLimit` response headers (a
    /// diagnostic; the goals are for keys with a limit).
    #[arg(long)]
    no_rate_limit: bool,
    /// Leave out the peer rows (tower-http bearer, tower_governor) and the fields-off rows.
    #[arg(long)]
    no_peers: bool,
}

impl Options {
    /// One axum / memory row with our guard, as `bench-serve` compares against.
    pub(crate) fn comparison(duration: u64, warmup: u64, connections: u32, rounds: u32) -> Self {
        Self {
            frameworks: vec![Framework::Axum],
            backends: vec![Backend::Memory],
            duration,
            warmup,
            connections,
            rounds,
            pg_keys: 1,
            no_rate_limit: false,
            no_peers: true,
        }
    }
}

/// What guards `/guarded` in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Ours, with `RateLimit` fields on admitted responses (`fields`) or not.
    Apikey { fields: bool },
    /// tower-http's `ValidateRequestHeaderLayer::bearer`, one static token.
    Bearer,
    /// `tower_governor` keyed by the `x-api-key` header.
    Governor,
}

impl Guard {
    fn name(self) -> &'static str {
        match self {
            Self::Apikey { fields: true } => "apikey",
            Self::Apikey { fields: false } => "apikey, fields off",
            Self::Bearer => "peer: tower-http bearer",
            Self::Governor => "peer: tower_governor",
        }
    }

    fn is_ours_with_fields(self) -> bool {
        self == Self::Apikey { fields: true }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Framework {
    Axum,
    Actix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    Memory,
    Redis,
    RedisLease,
    PostgresCold,
}

impl Framework {
    fn name(self) -> &'static str {
        match self {
            Self::Axum => "axum",
            Self::Actix => "actix",
        }
    }
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
            Self::RedisLease => "redis-lease",
            Self::PostgresCold => "postgres-cold",
        }
    }

    /// The most server CPU per request our guard may add over unguarded, if this backend has a
    /// goal for it (median over the rounds of guarded minus unguarded).
    fn added_cpu_goal_us(self) -> Option<f64> {
        match self {
            Self::Memory => Some(0.7),
            _ => None,
        }
    }

    /// The least guarded/unguarded ratio this backend must reach, if it has a goal.
    fn goal(self) -> Option<f64> {
        match self {
            Self::Memory => Some(0.95),
            Self::Redis | Self::RedisLease => Some(0.70),
            Self::PostgresCold => None,
        }
    }
}

/// One route's figures, added up over the rounds.
#[derive(Debug, Default, Clone)]
pub(crate) struct Measure {
    requests: u64,
    seconds: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    runs: u32,
    /// Server CPU per request of each measured run, in order.
    cpu_per_run: Vec<f64>,
}

impl Measure {
    pub(crate) fn add(&mut self, r: &Report, cpu_us: f64) {
        self.cpu_per_run.push(cpu_us / (r.requests.max(1) as f64));
        self.requests += r.requests;
        self.seconds += r.seconds;
        self.p50_us += r.p50_us;
        self.p99_us += r.p99_us;
        self.cpu_us += cpu_us;
        self.runs += 1;
    }
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
    pub(crate) fn p50(&self) -> f64 {
        self.p50_us / f64::from(self.runs.max(1))
    }
    pub(crate) fn p99(&self) -> f64 {
        self.p99_us / f64::from(self.runs.max(1))
    }
    pub(crate) fn cpu_per_request(&self) -> f64 {
        self.cpu_us / (self.requests.max(1) as f64)
    }
}

/// The median over rounds of the server CPU per request `guarded` adds to `open` (runs paired
/// by round, so a round's noise hits both sides).
fn added_cpu_median(open: &Measure, guarded: &Measure) -> f64 {
    let mut added: Vec<f64> = open
        .cpu_per_run
        .iter()
        .zip(&guarded.cpu_per_run)
        .map(|(o, g)| g - o)
        .collect();
    added.sort_by(f64::total_cmp);
    match added.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => added[n / 2],
        n => f64::midpoint(added[n / 2 - 1], added[n / 2]),
    }
}

enum RowOutcome {
    Measured { open: Measure, guarded: Measure },
    NotAvailable(&'static str),
    Failed(String),
}

pub(crate) struct Setup {
    pub(crate) server_bin: PathBuf,
    pub(crate) server_core: Option<usize>,
    pub(crate) wrk_core: Option<usize>,
    pub(crate) dir: TempDir,
    pub(crate) tick_us: f64,
}

pub(crate) fn run(root: &Path, opts: &Options) -> Outcome {
    wrk::ensure_installed()?;
    let redis_built = build(root)?;
    let server_bin = target_dir(root)?.join("release").join("bench-server");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let pin = cores >= 2 && wrk::found("taskset", "--version");
    if !pin {
        println!("bench-http: {cores} core(s) or no taskset: server and wrk are NOT pinned");
    }
    let setup = Setup {
        server_bin,
        server_core: pin.then_some(0),
        wrk_core: pin.then_some(1),
        dir: TempDir::new()?,
        tick_us: 1e6 / clock_ticks_per_second(),
    };
    let frameworks = or_all(&opts.frameworks, &[Framework::Axum, Framework::Actix]);
    let backends = or_all(
        &opts.backends,
        &[
            Backend::Memory,
            Backend::Redis,
            Backend::RedisLease,
            Backend::PostgresCold,
        ],
    );
    let load_before = load_average();
    let started = Instant::now();
    let mut rows = Vec::new();
    for &backend in &backends {
        for &framework in &frameworks {
            for guard in guards(opts, framework, backend) {
                println!(
                    "\n==> {} / {} / {}",
                    framework.name(),
                    backend.name(),
                    guard.name()
                );
                let outcome =
                    if matches!(backend, Backend::Redis | Backend::RedisLease) && !redis_built {
                        RowOutcome::NotAvailable("apikey-redis does not build")
                    } else {
                        match run_row(&setup, opts, framework, backend, guard) {
                            Ok((open, guarded)) => RowOutcome::Measured { open, guarded },
                            Err(e) => {
                                println!("    failed: {e}");
                                RowOutcome::Failed(e)
                            }
                        }
                    };
                rows.push(Row {
                    framework,
                    backend,
                    guard,
                    outcome,
                });
            }
        }
    }
    print_notes(opts, pin, &load_before, started.elapsed());
    print_table(&rows);
    let failed = rows
        .iter()
        .filter(|r| matches!(r.outcome, RowOutcome::Failed(_)))
        .count();
    if failed > 0 {
        return Err(format!("bench-http: {failed} row(s) failed"));
    }
    Ok(())
}

/// One line pair of the table.
struct Row {
    framework: Framework,
    backend: Backend,
    guard: Guard,
    outcome: RowOutcome,
}

/// The guards measured for one framework and backend: ours, and on the memory backend (where
/// the guard's own cost shows) ours without the `RateLimit` fields and, on axum, the two peers.
fn guards(opts: &Options, framework: Framework, backend: Backend) -> Vec<Guard> {
    let mut guards = vec![Guard::Apikey { fields: true }];
    if opts.no_peers || backend != Backend::Memory {
        return guards;
    }
    if !opts.no_rate_limit {
        guards.push(Guard::Apikey { fields: false });
    }
    if framework == Framework::Axum {
        guards.extend([Guard::Bearer, Guard::Governor]);
    }
    guards
}

fn or_all<T: Copy>(chosen: &[T], all: &[T]) -> Vec<T> {
    if chosen.is_empty() {
        all.to_vec()
    } else {
        chosen.to_vec()
    }
}

/// Builds the server in release; without its `redis` feature when apikey-redis does not build.
/// Returns whether the Redis backend is in.
pub(crate) fn build(root: &Path) -> Result<bool, String> {
    let mut cmd = cargo(root);
    cmd.args(["build", "--release", "-p", "bench-server"]);
    if crate::run_status(cmd).is_ok() {
        return Ok(true);
    }
    println!("bench-http: retrying without the `redis` feature (apikey-redis may not build)");
    let mut cmd = cargo(root);
    cmd.args([
        "build",
        "--release",
        "-p",
        "bench-server",
        "--no-default-features",
    ]);
    crate::run_status(cmd)?;
    Ok(false)
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR` and configuration).
pub(crate) fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let mut cmd = cargo(root);
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    let json: serde_json::Value = serde_json::from_str(&run_output(cmd)?)
        .map_err(|e| format!("cargo metadata printed bad JSON: {e}"))?;
    json["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata has no target_directory".to_owned())
}

/// Starts the server of one row, warms up, measures both routes, stops the server.
pub(crate) fn run_row(
    setup: &Setup,
    opts: &Options,
    framework: Framework,
    backend: Backend,
    guard: Guard,
) -> Result<(Measure, Measure), String> {
    let addr = free_port()?;
    let tag = format!(
        "{}-{}-{}",
        framework.name(),
        backend.name(),
        guard.name().replace([' ', ',', ':'], "")
    );
    let token_file = setup.dir.path.join(format!("tokens-{tag}"));
    let keys = if backend == Backend::PostgresCold {
        opts.pg_keys.max(1)
    } else {
        1
    };
    // Long enough for every run of the row, plus start-up; the server stops by itself after it.
    let lifetime = 2 * opts.warmup + 2 * u64::from(opts.rounds.max(1)) * (opts.duration + 5) + 300;
    let mut cmd = wrk::pinned(setup.server_core, &setup.server_bin);
    cmd.args(["--framework", framework.name(), "--backend", backend.name()])
        .arg("--addr")
        .arg(addr.to_string())
        .arg("--token-file")
        .arg(&token_file)
        .args(["--workers", "1", "--keys", &keys.to_string()])
        .args(["--max-secs", &lifetime.to_string()])
        .args(opts.no_rate_limit.then_some("--no-rate-limit"))
        .args(match guard {
            Guard::Apikey { fields: true } => &[][..],
            Guard::Apikey { fields: false } => &["--no-rate-limit-fields"][..],
            Guard::Bearer => &["--guard", "bearer"][..],
            Guard::Governor => &["--guard", "governor"][..],
        })
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", setup.server_bin.display()))?;
    let mut server = Server { child };
    let header = if guard == Guard::Bearer {
        wrk::Header::Bearer
    } else {
        wrk::Header::ApiKey
    };
    wait_ready(&mut server, addr, &token_file, header)?;

    // One token, sent as a fixed header (no Lua per request); or many, cycled.
    let script = setup.dir.path.join(format!("{tag}.lua"));
    wrk::write_script(&script, &token_file, keys > 1, header)?;
    let pid = server.child.id();
    let url = |route: &str| format!("http://{addr}/{route}");
    let measure = |route: &str, seconds: u64, into: Option<&mut Measure>| -> Outcome {
        let before = cpu_ticks(pid)?;
        let r = wrk::run(
            setup.wrk_core,
            opts.connections,
            seconds,
            &script,
            &url(route),
        )?;
        let cpu_us = (cpu_ticks(pid)? - before) as f64 * setup.tick_us;
        if r.non_2xx > 0 {
            return Err(format!("/{route}: {} responses were not 2xx", r.non_2xx));
        }
        if r.socket_errors > 0 {
            println!("    /{route}: {} socket errors", r.socket_errors);
        }
        print_run(&format!("/{route:<8}"), &r, cpu_us, into.is_none());
        if let Some(m) = into {
            m.add(&r, cpu_us);
        }
        Ok(())
    };
    measure("open", opts.warmup, None)?;
    measure("guarded", opts.warmup, None)?;
    let (mut open, mut guarded) = (Measure::default(), Measure::default());
    for round in 0..opts.rounds.max(1) {
        if round % 2 == 0 {
            measure("open", opts.duration, Some(&mut open))?;
            measure("guarded", opts.duration, Some(&mut guarded))?;
        } else {
            measure("guarded", opts.duration, Some(&mut guarded))?;
            measure("open", opts.duration, Some(&mut open))?;
        }
    }
    server.stop()?;
    Ok((open, guarded))
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// One measured run's line: throughput, latency, server CPU per request and how busy the server
/// was (below ~100 % it was not the bottleneck: wrk, or other jobs on its core, were).
pub(crate) fn print_run(label: &str, r: &Report, cpu_us: f64, warm_up: bool) {
    println!(
        "    {label} {:>9.0} req/s  p50 {:>8}  p99 {:>8}  {:>5.1} µs CPU/req  server busy {:>3.0} %{}",
        r.rps,
        show_us(r.p50_us),
        show_us(r.p99_us),
        cpu_us / (r.requests.max(1) as f64),
        cpu_us / r.seconds.max(1e-9) / 1e4,
        if warm_up { "  (warm-up)" } else { "" }
    );
}

pub(crate) fn show_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn print_notes(opts: &Options, pinned: bool, load_before: &str, took: Duration) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("\n## bench-http");
    println!("machine: {}, {cores} core(s)", cpu_model());
    println!(
        "load average: {load_before} before, {} after ({:.0} s)",
        load_average(),
        took.as_secs_f64()
    );
    println!(
        "{}: -t1 -c{} -d{}s --latency, {} s warm-up per route, {} round(s); server: 1 worker; {}",
        wrk::version(),
        opts.connections,
        opts.duration,
        opts.warmup,
        opts.rounds.max(1),
        if pinned {
            "server on core 0, wrk on core 1"
        } else {
            "not pinned"
        }
    );
}

fn print_table(rows: &[Row]) {
    println!(
        "\n| framework | backend | guard | route | req/s | p50 | p99 | server CPU/req | added CPU/req (median of rounds) | guarded/unguarded req/s | unguarded/guarded CPU | goals |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let (f, b, g) = (row.framework.name(), row.backend.name(), row.guard.name());
        match &row.outcome {
            RowOutcome::Measured { open, guarded } => {
                let ratio = guarded.rps() / open.rps().max(1e-9);
                let added = added_cpu_median(open, guarded);
                // Goals are for our guard with its fields on; the other rows are for comparison.
                let mut goals = Vec::new();
                if row.guard.is_ours_with_fields() {
                    if let Some(goal) = row.backend.goal() {
                        goals.push(if ratio >= goal {
                            format!("req/s ≥ {goal:.2}: met")
                        } else {
                            format!("req/s ≥ {goal:.2}: **NOT met**")
                        });
                    }
                    if let Some(goal) = row.backend.added_cpu_goal_us() {
                        goals.push(if added <= goal {
                            format!("added CPU ≤ {goal:.1} µs: met")
                        } else {
                            format!("added CPU ≤ {goal:.1} µs: **NOT met**")
                        });
                    }
                }
                let goals = if goals.is_empty() {
                    "—".to_owned()
                } else {
                    goals.join("; ")
                };
                let cpu = open.cpu_per_request() / guarded.cpu_per_request().max(1e-9);
                println!(
                    "| {f} | {b} | {g} | unguarded | {:.0} | {} | {} | {:.2} µs | | | | |",
                    open.rps(),
                    show_us(open.p50()),
                    show_us(open.p99()),
                    open.cpu_per_request()
                );
                println!(
                    "| {f} | {b} | {g} | guarded | {:.0} | {} | {} | {:.2} µs | **{added:.2} µs** ({} rounds) | **{ratio:.2}** | {cpu:.2} | {goals} |",
                    guarded.rps(),
                    show_us(guarded.p50()),
                    show_us(guarded.p99()),
                    guarded.cpu_per_request(),
                    guarded.runs
                );
            }
            RowOutcome::NotAvailable(why) => {
                println!("| {f} | {b} | {g} | — | not available ({why}) | | | | | | | |");
            }
            RowOutcome::Failed(e) => {
                let first = e.lines().next().unwrap_or_default();
                println!("| {f} | {b} | {g} | — | failed: {first} | | | | | | | |");
            }
        }
    }
}
