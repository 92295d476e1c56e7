//! `cargo xtask`: the workspace's automation — `ci`, `test`, `check-features`, `tidy`, `deny`,
//! `bench-http` and `fuzz`.
//!
//! Every subcommand runs from the workspace root, discovers the crates itself (nothing here names a
//! crate but `apikey-core`, whose dependency rule it enforces), and exits non-zero on failure.

// This is a command-line tool: what it prints to stdout/stderr is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench_http;
mod bench_serve;
mod bench_server;
mod check_features;
mod ci;
mod deny;
mod fuzz;
mod tidy;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

/// Project automation for the apikey workspace.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Everything CI runs, in order, stopping at the first failure: fmt, clippy, test,
    /// check-features, deny.
    Ci,
    /// Only the workspace tests: `cargo test --workspace --locked`.
    Test,
    /// apikey-core pulls in no I/O client; crates with features build with none and with all.
    CheckFeatures {
        /// Also build every crate with each of its features alone (slow; not part of CI).
        #[arg(long)]
        each: bool,
    },
    /// House rules: README/CHANGELOG, workspace lints, `//!` openings, no stubs, no huge files.
    Tidy,
    /// `cargo fetch --locked`, then `cargo deny check`: offline against the shared advisory
    /// snapshot when there is one, else with the advisory database fetched online.
    Deny,
    /// HTTP load benchmark: wrk against `examples/bench-server` (axum and actix; memory, Redis,
    /// PostgreSQL with a cold cache), printing req/s, p50/p99 and guarded/unguarded ratios.
    BenchHttp(bench_http::Options),
    /// `apikey serve`'s verification endpoint under load, against bench-server's axum row.
    BenchServe(bench_serve::Options),
    /// The cargo-fuzz targets in `fuzz/`, one after the other, `--secs` each, then a summary of
    /// runs and crashes (not part of `ci`). Installs cargo-fuzz into the tool cache if missing.
    Fuzz(fuzz::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.command {
        Cmd::Ci => ci::run(&root),
        Cmd::Test => ci::test(&root),
        Cmd::CheckFeatures { each: false } => check_features::run(&root),
        Cmd::CheckFeatures { each: true } => {
            check_features::run(&root).and_then(|()| check_features::run_each(&root))
        }
        Cmd::Tidy => tidy::run(&root),
        Cmd::Deny => deny::run(&root),
        Cmd::BenchHttp(opts) => bench_http::run(&root, &opts),
        Cmd::BenchServe(opts) => bench_serve::run(&root, &opts),
        Cmd::Fuzz(opts) => fuzz::run(&root, &opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The outcome of a subcommand: a failure carries the message to print.
pub(crate) type Outcome = Result<(), String>;

/// The workspace root: the parent of this package's directory. `cargo run` and `cargo test` set
/// `CARGO_MANIFEST_DIR` at run time, which stays right when the checkout moves; the compile-time
/// value is the fallback for a binary started by hand.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// A `cargo` command (the same cargo that runs us, when known) in the workspace root.
pub(crate) fn cargo(root: &Path) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    cmd
}

/// Runs `cmd` to completion with inherited stdio; a non-zero exit is an error naming the command.
pub(crate) fn run_status(mut cmd: Command) -> Outcome {
    let shown = show(&cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs `cmd` and returns its stdout; stderr passes through. A non-zero exit is an error.
pub(crate) fn run_output(mut cmd: Command) -> Result<String, String> {
    let shown = show(&cmd);
    let output = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !output.status.success() {
        return Err(format!("`{shown}` failed ({})", output.status));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("`{shown}` printed non-UTF-8: {e}"))
}

/// A command line as a person would type it, for logs and error messages.
fn show(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}
