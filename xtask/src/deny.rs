//! `cargo xtask deny`: `cargo deny check` (advisories, licenses, bans, sources), runnable by
//! itself on a fresh clone.
//!
//! - `cargo fetch --locked` first: cargo-deny runs `cargo metadata` for every target, which needs
//!   crates (such as `anstyle-wincon`) that no build on this platform downloads.
//! - Advisories come from the shared folder's RustSec snapshot when there is one
//!   (`$APIKEY_SHARED_DIR`, else `shared/` beside the workspace), laid out where deny.toml's
//!   `db-path` points, with `cargo deny --offline` — for machines without a route out. Without a
//!   shared folder, cargo-deny fetches the advisory database online into the same `db-path`. Either
//!   way the step prints which source it used.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Outcome, cargo, run_status};

/// Where deny.toml's `db-path` keeps the database of the default advisory URL (the directory
/// name is cargo-deny's hash of `https://github.com/rustsec/advisory-db`).
const DEFAULT_DB_DIR: &str = "advisory-db-3157b0e258782691";

/// Where the advisory database comes from.
#[derive(Debug, PartialEq, Eq)]
enum Advisories {
    /// The shared folder's snapshot, laid out by its tool, checked with `--offline`.
    Snapshot { shared: PathBuf },
    /// The RustSec database fetched by cargo-deny.
    Online,
}

impl Advisories {
    /// The shared folder: `APIKEY_SHARED_DIR` if set (then it must hold the snapshot tool: a
    /// wrong setting is an error, not a silent switch to the network), else `../shared` if it
    /// holds the tool, else online.
    fn choose(root: &Path, shared_env: Option<OsString>) -> Result<Self, String> {
        if let Some(dir) = shared_env.filter(|d| !d.is_empty()) {
            let shared = PathBuf::from(dir);
            if !snapshot_tool(&shared).is_file() {
                return Err(format!(
                    "deny: APIKEY_SHARED_DIR is {} but {} is not there; unset APIKEY_SHARED_DIR to use the advisory database online",
                    shared.display(),
                    snapshot_tool(&shared).display()
                ));
            }
            return Ok(Self::Snapshot { shared });
        }
        let beside = root.join("../shared");
        if snapshot_tool(&beside).is_file() {
            Ok(Self::Snapshot { shared: beside })
        } else {
            Ok(Self::Online)
        }
    }

    /// cargo-deny's arguments for this source.
    fn deny_args(&self) -> &'static [&'static str] {
        match self {
            Self::Snapshot { .. } => &["--offline", "check"],
            Self::Online => &["check"],
        }
    }
}

fn snapshot_tool(shared: &Path) -> PathBuf {
    shared.join("tools/offline-advisories")
}

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
    let source = Advisories::choose(root, std::env::var_os("APIKEY_SHARED_DIR"))?;

    // Every target's crates, so `cargo metadata` inside cargo-deny works offline.
    let mut fetch = cargo(root);
    fetch.args(["fetch", "--locked"]);
    run_status(fetch)?;

    let db_path = home.join(CACHE).join("advisory-db");
    match &source {
        Advisories::Snapshot { shared } => {
            lay_out_advisories(shared, &db_path)?;
            let date = std::fs::read_to_string(shared.join("advisory-db/SNAPSHOT"))
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "date unknown".to_owned());
            println!(
                "deny: advisories from the snapshot in {} ({date}), offline",
                shared.join("advisory-db").display()
            );
        }
        Advisories::Online => {
            // A snapshot laid out earlier is a local-only git repository cargo-deny cannot
            // fetch into; it goes, so the online database is a real clone.
            let dir = db_path.join(DEFAULT_DB_DIR);
            if dir.join("SNAPSHOT").is_file() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| format!("deny: cannot remove {}: {e}", dir.display()))?;
            }
            println!(
                "deny: no shared folder (APIKEY_SHARED_DIR unset, no ../shared): advisories fetched online from https://github.com/rustsec/advisory-db into {}",
                db_path.display()
            );
        }
    }

    let mut cmd = Command::new(deny);
    cmd.current_dir(root).args(source.deny_args());
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
fn lay_out_advisories(shared: &Path, db_path: &Path) -> Outcome {
    let tool = snapshot_tool(shared);
    // Through bash: a read-only copy of the shared folder may have lost its exec bits.
    let mut cmd = Command::new("bash");
    cmd.arg(&tool).arg(db_path);
    run_status(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_shared_folder_the_advisories_come_from_the_network() {
        let clone = tempfile::tempdir().unwrap();
        let root = clone.path().join("apikey");
        std::fs::create_dir(&root).unwrap();
        let chosen = Advisories::choose(&root, None).unwrap();
        assert_eq!(chosen, Advisories::Online);
        assert_eq!(chosen.deny_args(), ["check"]);
        // An empty variable counts as unset.
        assert_eq!(
            Advisories::choose(&root, Some(OsString::new())).unwrap(),
            Advisories::Online
        );
    }

    #[test]
    fn a_shared_folder_beside_or_named_gives_the_offline_snapshot() {
        let clone = tempfile::tempdir().unwrap();
        let root = clone.path().join("apikey");
        let shared = clone.path().join("shared");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(shared.join("tools")).unwrap();
        std::fs::write(snapshot_tool(&shared), "#!/bin/sh\n").unwrap();
        let beside = Advisories::choose(&root, None).unwrap();
        assert!(matches!(&beside, Advisories::Snapshot { .. }));
        assert_eq!(beside.deny_args(), ["--offline", "check"]);
        assert_eq!(
            Advisories::choose(&root, Some(shared.clone().into_os_string())).unwrap(),
            Advisories::Snapshot { shared }
        );
    }

    #[test]
    fn a_shared_dir_setting_without_the_snapshot_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Advisories::choose(dir.path(), Some(dir.path().into())).unwrap_err();
        assert!(err.contains("APIKEY_SHARED_DIR"), "{err}");
    }
}
