//! `apikey`: issue, inspect, verify and manage API keys from a terminal.
//!
//! `apikey create --name "My App" --scopes read:projects` works with nothing installed but this
//! binary: the keys go to `./apikeys.db` (SQLite, created on first use) and the HMAC pepper to
//! `./apikeys.db.pepper` (mode 0600). Any other database takes `--database-url`/`DATABASE_URL` and
//! the pepper from `APIKEY_PEPPER`. Exit codes are listed in `apikey --help` and the README.
//!
//! This file only parses, runs and maps the outcome to an exit code; the commands live in
//! `commands/`.
//!
//! Two dependencies serve bulk work only. `csv` reads bulk files: quoting, embedded commas and
//! newlines follow RFC 4180, which splitting lines by hand gets wrong on the first quoted name.
//! `indicatif` draws the progress bar: it redraws at a bounded rate from any thread (the core
//! reports progress from a callback), and `ProgressBar::hidden()` makes the piped and `--json`
//! cases a no-op rather than a branch at every call; the bar is shown only when stderr is a
//! terminal.

// A command-line tool talks to people on stdout and stderr; stdout goes through `output::Out`.
#![allow(clippy::print_stderr)]

mod cli;
mod cli_audit;
mod cli_compliance;
mod cli_pools;
mod cli_programme;
mod cli_report;
mod cli_requests;
mod cli_score;
mod cli_serve;
mod cli_signing;
#[cfg(test)]
mod cli_tests;
mod cli_usage;
mod cli_webhooks;
mod commands;
mod config_file;
mod db;
mod error;
mod kek;
mod metrics;
mod output;
mod pepper;

use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::error::Exit;

fn main() -> ExitCode {
    // Before parsing: the file fills the environment variables the flags read.
    if let Err(e) = config_file::load() {
        eprintln!("error: {e}");
        return Exit::Usage.into();
    }
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some(hint) = &e.hint {
                eprintln!("hint: {hint}");
            }
            e.exit.into()
        }
    }
}
