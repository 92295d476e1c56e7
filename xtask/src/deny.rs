//! `cargo xtask deny`: `cargo deny --offline check` (advisories, licenses, bans, sources) against
//! the advisory snapshot in the shared folder, laid out where deny.toml's `db-path` points.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Outcome, run_status};

/// Where the project keeps its tools and caches, under `$HOME`.
const CACHE: &str = ".cache/apikey";

pub(crate) fn run(root: &Path) -> Outcome {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or("deny: HOME is not set")?;
    let deny = match find_cargo_deny(&home) {
        Ok(path) => path,
        Err(missing) => {
            eprintln!("{missing}\ninstalling it now (about 6 minutes, once per machine)");
            install_cargo_deny(&home)?;
            find_cargo_deny(&home)?
        }
    };
    lay_out_advisories(root, &home.join(CACHE).join("advisory-db"))?;

    let mut cmd = Command::new(deny);
    cmd.current_dir(root).args(["--offline", "check"]);
    run_status(cmd)
}

/// `cargo-deny` from `PATH`, else from the project's tool cache.
fn find_cargo_deny(home: &Path) -> Result<PathBuf, String> {
    let cached = home.join(CACHE).join("cargo-deny/bin/cargo-deny");
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("cargo-deny"))
        .chain([cached.clone()])
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "deny: cargo-deny is not on PATH nor at {}; install it with\n  \
                 cargo install --locked cargo-deny --root {}",
                cached.display(),
                home.join(CACHE).join("cargo-deny").display()
            )
        })
}

/// Installs the cargo-deny version whose deny.toml schema we use into the tool cache, building in
/// a throwaway target directory so the shared build cache is not polluted.
fn install_cargo_deny(home: &Path) -> Outcome {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.env_remove("CARGO_TARGET_DIR").args([
        "install",
        "--locked",
        "cargo-deny",
        "--version",
        "^0.20",
        "--root",
    ]);
    cmd.arg(home.join(CACHE).join("cargo-deny"));
    run_status(cmd)
}

/// Copies the shared advisory snapshot into `db_path` (the tool skips an up-to-date copy).
/// The shared folder is `$APIKEY_SHARED_DIR`, else `shared/` beside the workspace.
fn lay_out_advisories(root: &Path, db_path: &Path) -> Outcome {
    let shared =
        std::env::var_os("APIKEY_SHARED_DIR").map_or_else(|| root.join("../shared"), PathBuf::from);
    let tool = shared.join("tools/offline-advisories");
    if !tool.is_file() {
        return Err(format!(
            "deny: {} not found; set APIKEY_SHARED_DIR to the shared folder",
            tool.display()
        ));
    }
    // Through bash: a read-only copy of the shared folder may have lost its exec bits.
    let mut cmd = Command::new("bash");
    cmd.arg(&tool).arg(db_path);
    run_status(cmd)
}
