//! `cargo xtask bench-serve`: `apikey serve`'s verification endpoint under load, against
//! `bench-server`'s axum / memory row in the same run.
//!
//! Both are release builds with their process pinned to core 0 and wrk (one thread, 32
//! connections) on core 1. `apikey serve` runs on SQLite in a private temporary directory; a key
//! with a rate limit (as the bench-server key has) is made over HTTP, then wrk posts
//! `{"token": …}` to `POST /v1/keys/verify` with the root admin key. The figures: verifications/s,
//! p50/p99, and the server's CPU per verification divided by bench-server's CPU per guarded
//! request (the issue's goal: ≤ 1.3).
//!
//! What a verification over HTTP does that a guarded request does not: it verifies two keys (the
//! caller's admin key, then the token in the body), parses a JSON body and answers the key's
//! public view as JSON. Tokens travel in files read by curl and wrk, never on a command line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::bench_http::{self, Backend, Framework, Guard, Measure, Setup, show_us};
use crate::bench_server::{Server, TempDir, clock_ticks_per_second, cpu_ticks, free_port};
use crate::{Outcome, cargo, run_output, wrk};

/// The goal: server CPU per verification ÷ server CPU per guarded request.
const GOAL: f64 = 1.3;
/// A test pepper (base64 of 32 bytes): the store is a throwaway SQLite file.
const PEPPER: &str = "bench=YmVuY2gtc2VydmU6IGEgdGhyb3dhd2F5IHBlcHBlciEhIQ==";

/// Options of `cargo xtask bench-serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Seconds of each measured wrk run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Measured runs of each side.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

fn write(path: &Path, text: &str) -> Outcome {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn curl(args: &[&str]) -> Result<serde_json::Value, String> {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--fail-with-body"]).args(args);
    let out = run_output(cmd)?;
    serde_json::from_str(&out).map_err(|e| format!("curl answered no JSON ({e}): {out}"))
}

/// Starts `apikey serve --init` in `dir` pinned to `core`; its root key goes to `root_file`.
fn start_serve(
    bin: &Path,
    dir: &Path,
    core: Option<usize>,
    root_file: &Path,
) -> Result<(Server, std::net::SocketAddr), String> {
    let addr = free_port()?;
    let mut cmd = wrk::pinned(core, bin);
    cmd.current_dir(dir)
        .args(["serve", "--init", "--json", "--listen"])
        .arg(addr.to_string())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("APIKEY_PEPPER", PEPPER)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let server = Server { child };
    let mut lines = BufReader::new(out).lines();
    let mut text = String::new();
    // The first document is the root key, the second the address.
    let mut docs = Vec::new();
    while docs.len() < 2 {
        let line = lines
            .next()
            .ok_or("apikey serve stopped before listening")?
            .map_err(|e| e.to_string())?;
        text.push_str(&line);
        if line.starts_with('}') {
            docs.push(
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("apikey serve printed no JSON: {e}"))?,
            );
            text.clear();
        }
    }
    let root = docs[0]["token"].as_str().ok_or("no root key printed")?;
    write(root_file, root)?;
    // Keep reading stdout so the service never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((server, addr))
}

pub(crate) fn run(root: &Path, opts: &Options) -> Outcome {
    wrk::ensure_installed()?;
    bench_http::build(root)?;
    let mut cmd = cargo(root);
    cmd.args(["build", "--release", "-p", "apikey-cli"]);
    crate::run_status(cmd)?;
    let release = bench_http::target_dir(root)?.join("release");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let pin = cores >= 2 && wrk::found("taskset", "--version");
    let setup = Setup {
        server_bin: release.join("bench-server"),
        server_core: pin.then_some(0),
        wrk_core: pin.then_some(1),
        dir: TempDir::new()?,
        tick_us: 1e6 / clock_ticks_per_second(),
    };
    let started = Instant::now();
    let load_before = bench_http::load_average();

    println!("\n==> bench-server: axum / memory / apikey (the baseline)");
    let http =
        bench_http::Options::comparison(opts.duration, opts.warmup, opts.connections, opts.rounds);
    let (_, guarded) = bench_http::run_row(
        &setup,
        &http,
        Framework::Axum,
        Backend::Memory,
        Guard::Apikey { fields: true },
    )?;

    println!("\n==> apikey serve: POST /v1/keys/verify");
    let dir = setup.dir.path.join("serve");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let root_file = dir.join("root");
    let (mut server, addr) =
        start_serve(&release.join("apikey"), &dir, setup.server_core, &root_file)?;
    let base = format!("http://{addr}");
    let auth = dir.join("auth-header");
    let root_key = std::fs::read_to_string(&root_file).map_err(|e| e.to_string())?;
    write(&auth, &format!("authorization: Bearer {root_key}\n"))?;
    let header_arg = format!("@{}", auth.display());
    let new_key = dir.join("new-key.json");
    write(
        &new_key,
        r#"{"name": "bench", "scopes": ["projects:read"]}"#,
    )?;
    let created = curl(&[
        "-H",
        &header_arg,
        "-H",
        "content-type: application/json",
        "-d",
        &format!("@{}", new_key.display()),
        &format!("{base}/v1/keys"),
    ])?;
    let token = created["token"].as_str().ok_or("no token in the answer")?;
    let id = created["key"]["id"].as_str().ok_or("no key id")?;
    // As the bench-server key: a rate limit that never refuses, so the limiter decides each time.
    let limit = dir.join("limit.json");
    write(
        &limit,
        r#"{"rate_limit": {"requests": 1000000, "per_secs": 1}}"#,
    )?;
    curl(&[
        "-X",
        "PATCH",
        "-H",
        &header_arg,
        "-H",
        "content-type: application/json",
        "-d",
        &format!("@{}", limit.display()),
        &format!("{base}/v1/keys/{id}"),
    ])?;
    let body = dir.join("verify.json");
    write(
        &body,
        &serde_json::json!({ "token": token, "scopes": ["projects:read"] }).to_string(),
    )?;
    let check = curl(&[
        "-H",
        &header_arg,
        "-H",
        "content-type: application/json",
        "-d",
        &format!("@{}", body.display()),
        &format!("{base}/v1/keys/verify"),
    ])?;
    if check["valid"] != true {
        return Err(format!("the bench key does not verify: {check}"));
    }
    let script = dir.join("verify.lua");
    write(
        &script,
        &format!(
            "local f = io.open([==[{root}]==]); local key = f:read(\"*l\"); f:close()\n\
             local b = io.open([==[{body}]==]); local body = b:read(\"*a\"); b:close()\n\
             wrk.method = \"POST\"\nwrk.body = body\n\
             wrk.headers[\"authorization\"] = \"Bearer \" .. key\n\
             wrk.headers[\"content-type\"] = \"application/json\"\n",
            root = root_file.display(),
            body = body.display()
        ),
    )?;
    let pid = server.child.id();
    let url = format!("{base}/v1/keys/verify");
    let mut serve = Measure::default();
    for round in 0..=opts.rounds {
        let seconds = if round == 0 {
            opts.warmup
        } else {
            opts.duration
        };
        let before = cpu_ticks(pid)?;
        let r = wrk::run(setup.wrk_core, opts.connections, seconds, &script, &url)?;
        let cpu_us = (cpu_ticks(pid)? - before) as f64 * setup.tick_us;
        if r.non_2xx > 0 {
            return Err(format!("{} verifications were not 200", r.non_2xx));
        }
        bench_http::print_run("/v1/keys/verify", &r, cpu_us, round == 0);
        if round > 0 {
            serve.add(&r, cpu_us);
        }
    }
    server.stop()?;

    let ratio = serve.cpu_per_request() / guarded.cpu_per_request();
    println!(
        "\nbench-serve: {} ({} core(s), {}), load before: {load_before}, took {:.0} s",
        bench_http::cpu_model(),
        cores,
        if pin { "pinned" } else { "NOT pinned" },
        started.elapsed().as_secs_f64()
    );
    println!("| server | req/s | p50 | p99 | server CPU/request |");
    println!("|---|---|---|---|---|");
    for (name, m) in [
        ("bench-server axum / memory, GET /guarded", &guarded),
        ("apikey serve, POST /v1/keys/verify", &serve),
    ] {
        println!(
            "| {name} | {:.0} | {} | {} | {:.1} µs |",
            m.rps(),
            show_us(m.p50()),
            show_us(m.p99()),
            m.cpu_per_request()
        );
    }
    println!(
        "\nserver CPU per verification ÷ per guarded request: {ratio:.2} (goal ≤ {GOAL}: {})",
        if ratio <= GOAL { "met" } else { "NOT met" }
    );
    Ok(())
}
