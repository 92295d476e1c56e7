//! `cargo xtask fuzz --secs N [TARGET…]`: runs the cargo-fuzz targets in `fuzz/` one after the
//! other, N seconds each, and prints a summary (target, seconds, runs, crashes). Not part of CI.
//!
//! cargo-fuzz wants a nightly compiler; `RUSTC_BOOTSTRAP=1` lets the stable one take the `-Z` flags
//! it passes. AddressSanitizer is used when the toolchain ships its runtime, `--sanitizer none`
//! otherwise. Builds go to `$HOME/.cache/apikey/fuzz-target`, so the instrumented objects never
//! mix with the shared build cache. One libFuzzer worker at a time: the targets are fast, and the
//! machine's cores are shared.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::ValueEnum;

use crate::{Outcome, run_status};

/// Where the project keeps its tools and caches, under `$HOME`.
const CACHE: &str = ".cache/apikey";

/// The cargo-fuzz release line whose command line this file drives.
const CARGO_FUZZ_VERSION: &str = "^0.13";

/// Options of `cargo xtask fuzz`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Seconds each target runs (issue 11 asks for at least 120 before a release).
    #[arg(long, default_value_t = 120)]
    secs: u64,
    /// The sanitizer; by default `address` where the toolchain has its runtime, else `none`.
    #[arg(long, value_enum)]
    sanitizer: Option<Sanitizer>,
    /// Targets to run (default: every file in `fuzz/fuzz_targets/`).
    targets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Sanitizer {
    Address,
    None,
}

impl Sanitizer {
    fn name(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::None => "none",
        }
    }
}

/// What one target's run came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Stats {
    /// Inputs executed, from libFuzzer's last status line or final stats.
    runs: u64,
    /// Inputs that crashed (libFuzzer stops at the first), with where each was saved.
    crashes: Vec<String>,
}

struct Row {
    target: String,
    secs: f64,
    stats: Stats,
    failed: Option<String>,
}

pub(crate) fn run(root: &Path, opts: &Options) -> Outcome {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or("fuzz: HOME is not set")?;
    let fuzz_dir = root.join("fuzz");
    let known = targets(&fuzz_dir)?;
    let chosen = choose(&known, &opts.targets)?;
    let tool_bin = ensure_cargo_fuzz(&home)?;
    let sanitizer = match opts.sanitizer {
        Some(s) => s,
        None if sanitizer_runtime_present() => Sanitizer::Address,
        None => {
            println!(
                "fuzz: this toolchain has no AddressSanitizer runtime; using --sanitizer none"
            );
            Sanitizer::None
        }
    };
    let target_dir = home.join(CACHE).join("fuzz-target");
    let env = FuzzEnv {
        root,
        tool_bin: &tool_bin,
        target_dir: &target_dir,
        sanitizer,
    };

    // `cargo fuzz build` takes one target or none (= all), and a build failure is not a crash.
    if chosen.len() == known.len() {
        run_status(env.command(["build"]))?;
    } else {
        for target in &chosen {
            let mut build = env.command(["build"]);
            build.arg(target);
            run_status(build)?;
        }
    }

    let mut rows = Vec::new();
    for target in &chosen {
        for dir in ["corpus", "seeds"] {
            let d = fuzz_dir.join(dir).join(target);
            fs::create_dir_all(&d)
                .map_err(|e| format!("fuzz: cannot create {}: {e}", d.display()))?;
        }
        rows.push(run_target(&env, &fuzz_dir, target, opts.secs));
    }
    print!("{}", summary(&rows, sanitizer));
    let crashed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.stats.crashes.is_empty() || r.failed.is_some())
        .map(|r| r.target.as_str())
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz: {} failed; reproduce with `cargo fuzz run <target> <artifact>` (see docs/ci.md)",
            crashed.join(", ")
        ))
    }
}

/// How every cargo-fuzz command is run.
struct FuzzEnv<'a> {
    root: &'a Path,
    tool_bin: &'a Path,
    target_dir: &'a Path,
    sanitizer: Sanitizer,
}

impl FuzzEnv<'_> {
    /// `cargo fuzz <sub> --sanitizer …` in the workspace root, with cargo-fuzz on `PATH`.
    fn command<const N: usize>(&self, sub: [&str; N]) -> Command {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(self.tool_bin.to_path_buf()).chain(std::env::split_paths(&path)),
        )
        .unwrap_or(path);
        let mut cmd = crate::cargo(self.root);
        cmd.env("PATH", path)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", self.target_dir)
            .arg("fuzz")
            .args(sub)
            .args(["--sanitizer", self.sanitizer.name()]);
        cmd
    }
}

fn run_target(env: &FuzzEnv<'_>, fuzz_dir: &Path, target: &str, secs: u64) -> Row {
    println!("\n==> fuzz {target} for {secs} s");
    let mut cmd = env.command(["run"]);
    cmd.arg(target)
        .arg(fuzz_dir.join("corpus").join(target))
        .arg(fuzz_dir.join("seeds").join(target))
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        // A single input this slow is a hang worth a crash report.
        .arg("-timeout=20")
        .arg("-print_final_stats=1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut row = Row {
        target: target.to_owned(),
        secs: 0.0,
        stats: Stats::default(),
        failed: None,
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            row.failed = Some(format!("could not start cargo fuzz: {e}"));
            return row;
        }
    };
    let mut log = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        // Bytes, not `lines()`: one non-UTF-8 line (a target may print its input) must not stop
        // the reading and leave the child blocked on a full pipe.
        for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).into_owned();
            // The `#N …` progress lines are thousands; the rest (setup, crash reports, final
            // stats) is what a person reads.
            if !line.starts_with('#') {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            log.push(line);
        }
    }
    let status = child.wait();
    row.secs = started.elapsed().as_secs_f64();
    row.stats = parse_output(&log);
    match status {
        Ok(s) if s.success() => {}
        Ok(s) if row.stats.crashes.is_empty() => {
            row.failed = Some(format!("cargo fuzz run exited with {s} and saved no input"));
        }
        Ok(_) => {}
        Err(e) => row.failed = Some(format!("cargo fuzz run: {e}")),
    }
    row
}

/// The runs and crashes in libFuzzer's stderr.
fn parse_output(lines: &[String]) -> Stats {
    let mut stats = Stats::default();
    for line in lines {
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.runs = n.trim().parse().unwrap_or(stats.runs);
        } else if let Some(rest) = line.strip_prefix('#') {
            let n = rest.split_whitespace().next().unwrap_or_default();
            stats.runs = stats.runs.max(n.parse().unwrap_or(0));
        } else if let Some(rest) = line.split("Test unit written to ").nth(1) {
            stats.crashes.push(rest.trim().to_owned());
        }
    }
    stats
}

fn summary(rows: &[Row], sanitizer: Sanitizer) -> String {
    let mut out = format!("\nfuzz summary (sanitizer: {})\n", sanitizer.name());
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>14} {:>10} {:>8}",
        "target", "seconds", "runs", "runs/s", "crashes"
    );
    let (mut secs, mut runs, mut crashes) = (0.0, 0, 0);
    for r in rows {
        let rate = if r.secs > 0.0 {
            r.stats.runs as f64 / r.secs
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "{:<16} {:>8.0} {:>14} {:>10.0} {:>8}",
            r.target,
            r.secs,
            r.stats.runs,
            rate,
            r.stats.crashes.len()
        );
        for c in &r.stats.crashes {
            let _ = writeln!(out, "  crash input: {c}");
        }
        if let Some(f) = &r.failed {
            let _ = writeln!(out, "  failed: {f}");
        }
        secs += r.secs;
        runs += r.stats.runs;
        crashes += r.stats.crashes.len();
    }
    let _ = writeln!(
        out,
        "{:<16} {:>8.0} {:>14} {:>10} {:>8}",
        "total", secs, runs, "", crashes
    );
    out
}

/// The fuzz targets: the files in `fuzz/fuzz_targets/`, sorted.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries =
        fs::read_dir(&dir).map_err(|e| format!("fuzz: cannot list {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("fuzz: no targets in {}", dir.display()));
    }
    Ok(names)
}

/// The named targets (all when none is named); an unknown name is an error listing the known.
fn choose(known: &[String], named: &[String]) -> Result<Vec<String>, String> {
    if named.is_empty() {
        return Ok(known.to_vec());
    }
    match named.iter().find(|n| !known.contains(n)) {
        Some(bad) => Err(format!(
            "fuzz: no target `{bad}`; the targets are: {}",
            known.join(", ")
        )),
        None => Ok(named.to_vec()),
    }
}

/// `cargo-fuzz` from `PATH` or the tool cache, installed there when missing. Returns the
/// directory that holds it.
fn ensure_cargo_fuzz(home: &Path) -> Result<PathBuf, String> {
    let root = home.join(CACHE).join("cargo-fuzz");
    let bin = root.join("bin");
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("cargo-fuzz").is_file());
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    if !bin.join("cargo-fuzz").is_file() {
        println!(
            "fuzz: installing cargo-fuzz into {} (a few minutes, once per machine)",
            root.display()
        );
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        // A throwaway target directory: the tool's build does not belong in the shared cache.
        cmd.env_remove("CARGO_TARGET_DIR").args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
            "--root",
        ]);
        cmd.arg(&root);
        run_status(cmd)?;
    }
    Ok(bin)
}

/// Whether the toolchain ships AddressSanitizer's runtime for the host
/// (`lib/rustlib/<host>/lib/librustc-<channel>_rt.asan.a`); without it the link fails.
fn sanitizer_runtime_present() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let query = |args: &[&str]| -> Option<String> {
        let out = Command::new(&rustc).args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (Some(sysroot), Some(version)) = (query(&["--print", "sysroot"]), query(&["-vV"])) else {
        return false;
    };
    let Some(host) = version.lines().find_map(|l| l.strip_prefix("host: ")) else {
        return false;
    };
    let lib = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host.trim())
        .join("lib");
    fs::read_dir(lib).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("librustc-") && name.ends_with("_rt.asan.a")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn runs_and_crashes_come_from_libfuzzer_output() {
        let ok = lines(
            "INFO: Seed: 1\n#2\tINITED cov: 10 ft: 10 corp: 1/1b\n#524288\tpulse  cov: 99\n\
             Done 600000 runs in 11 second(s)\nstat::number_of_executed_units: 600123\n",
        );
        assert_eq!(
            parse_output(&ok),
            Stats {
                runs: 600_123,
                crashes: vec![]
            }
        );
        let crashed = lines(
            "#1000\tNEW cov: 5\nthread '<unnamed>' panicked at fuzz_targets/scope.rs:3:5\n\
             ==1== ERROR: libFuzzer: deadly signal\n\
             artifact_prefix='fuzz/artifacts/scope/'; Test unit written to fuzz/artifacts/scope/crash-ab12\n",
        );
        let stats = parse_output(&crashed);
        assert_eq!(stats.runs, 1000);
        assert_eq!(stats.crashes, ["fuzz/artifacts/scope/crash-ab12"]);
    }

    #[test]
    fn unknown_targets_are_refused_by_name() {
        let known = vec!["scope".to_owned(), "token_parse".to_owned()];
        assert_eq!(choose(&known, &[]).unwrap(), known);
        assert_eq!(choose(&known, &["scope".into()]).unwrap(), ["scope"]);
        let err = choose(&known, &["tokens".into()]).unwrap_err();
        assert!(
            err.contains("`tokens`") && err.contains("scope, token_parse"),
            "{err}"
        );
    }

    /// Every target file is a `[[bin]]` of the fuzz package and opens with a `//!` line, and the
    /// package is its own workspace (so the main one, its lockfile and cargo-deny never see it).
    #[test]
    fn fuzz_package_is_consistent() {
        let fuzz_dir = crate::workspace_root().join("fuzz");
        let manifest = fs::read_to_string(fuzz_dir.join("Cargo.toml")).unwrap();
        assert!(manifest.lines().any(|l| l.trim() == "[workspace]"));
        assert!(
            fuzz_dir.join("Cargo.lock").is_file(),
            "fuzz/Cargo.lock is committed"
        );
        for t in targets(&fuzz_dir).unwrap() {
            let path = format!("fuzz_targets/{t}.rs");
            assert!(
                manifest.contains(&format!("name = \"{t}\"\npath = \"{path}\"")),
                "fuzz/Cargo.toml has no [[bin]] for {path}"
            );
            let text = fs::read_to_string(fuzz_dir.join(&path)).unwrap();
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            assert!(
                first.is_some_and(|l| l.starts_with("//!")),
                "{path}: no `//!` opening"
            );
        }
    }

    #[test]
    fn summary_totals_every_target() {
        let rows = [
            Row {
                target: "scope".into(),
                secs: 120.0,
                stats: Stats {
                    runs: 1200,
                    crashes: vec![],
                },
                failed: None,
            },
            Row {
                target: "problem".into(),
                secs: 60.0,
                stats: Stats {
                    runs: 30,
                    crashes: vec!["fuzz/artifacts/problem/crash-1".into()],
                },
                failed: None,
            },
        ];
        let text = summary(&rows, Sanitizer::None);
        let total = text.lines().find(|l| l.starts_with("total")).unwrap();
        assert_eq!(
            total.split_whitespace().collect::<Vec<_>>(),
            ["total", "180", "1230", "1"]
        );
        assert!(text.contains("crash input: fuzz/artifacts/problem/crash-1"));
    }
}
