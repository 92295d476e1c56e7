//! `cargo xtask check-features`: apikey-core stays free of I/O clients, and every workspace crate
//! that has features builds with none and with all of them. With `--each` (not part of CI: it
//! takes tens of minutes on two cores), every such crate also builds with each feature alone, so a
//! feature that only compiles next to another one is caught.

use std::path::Path;

use serde_json::Value;

use crate::{Outcome, cargo, run_output, run_status};

/// The crate whose dependency tree is policed.
const CORE: &str = "apikey-core";

/// What apikey-core must never depend on, directly or transitively (ARCHITECTURE.md).
const FORBIDDEN_IN_CORE: &[&str] = &[
    "sqlx",
    "diesel",
    "diesel-async",
    "mongodb",
    "redis",
    "axum",
    "actix-web",
    "tonic",
    "async-graphql",
    "hyper",
    "reqwest",
];

pub(crate) fn run(root: &Path) -> Outcome {
    let mut violations = Vec::new();

    for features in [None, Some("--all-features")] {
        let label = features.unwrap_or("default features");
        let tree = core_tree(root, features)?;
        for name in forbidden_in(&tree) {
            violations.push(format!(
                "{CORE} ({label}) depends on forbidden crate `{name}`"
            ));
        }
    }

    for (name, features) in workspace_crates(root)? {
        if features.is_empty() {
            println!("check-features: {name} has no features; skipped");
            continue;
        }
        for flag in ["--no-default-features", "--all-features"] {
            let mut cmd = cargo(root);
            cmd.args(["check", "--locked", "-p", &name, flag]);
            if let Err(e) = run_status(cmd) {
                violations.push(format!("{name} does not build with {flag}: {e}"));
            }
        }
    }

    if violations.is_empty() {
        println!("check-features: ok");
        Ok(())
    } else {
        Err(format!(
            "check-features found {} problem(s):\n  - {}",
            violations.len(),
            violations.join("\n  - ")
        ))
    }
}

/// Builds every workspace crate that has features with each of its features alone.
pub(crate) fn run_each(root: &Path) -> Outcome {
    let mut failures = Vec::new();
    let mut built = 0;
    for (name, features) in workspace_crates(root)? {
        for feature in features {
            let mut cmd = cargo(root);
            cmd.args([
                "check",
                "--locked",
                "-p",
                &name,
                "--no-default-features",
                "--features",
                &feature,
            ]);
            built += 1;
            if let Err(e) = run_status(cmd) {
                failures.push(format!("{name} does not build with only `{feature}`: {e}"));
            }
        }
    }
    if failures.is_empty() {
        println!("check-features --each: {built} single-feature builds ok");
        Ok(())
    } else {
        Err(format!(
            "check-features --each: {} of {built} failed:\n  - {}",
            failures.len(),
            failures.join("\n  - ")
        ))
    }
}

/// `cargo tree` of apikey-core's normal and build dependencies on every target, one crate a line.
fn core_tree(root: &Path, features: Option<&str>) -> Result<String, String> {
    let mut cmd = cargo(root);
    cmd.args([
        "tree",
        "--locked",
        "-p",
        CORE,
        "-e",
        "normal,build",
        "--prefix",
        "none",
        "--target",
        "all",
    ]);
    cmd.args(features);
    run_output(cmd)
}

/// The forbidden crates named in a `--prefix none` tree (lines look like `name v1.2.3 …`).
fn forbidden_in(tree: &str) -> Vec<&str> {
    let mut found: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN_IN_CORE.contains(name))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Every workspace package with the features it declares (explicit or optional dependency), less
/// `default`.
fn workspace_crates(root: &Path) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut cmd = cargo(root);
    cmd.args(["metadata", "--format-version", "1", "--no-deps", "--locked"]);
    let json = run_output(cmd)?;
    let metadata: Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: bad JSON: {e}"))?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    packages
        .iter()
        .map(|p| {
            let name = p["name"]
                .as_str()
                .ok_or("cargo metadata: a package without a name")?;
            let features = p["features"]
                .as_object()
                .map(|f| {
                    f.keys()
                        .filter(|k| k.as_str() != "default")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            Ok((name.to_owned(), features))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_forbidden_crates_in_a_tree() {
        let tree = "apikey-core v0.1.0 (/w/crates/apikey-core)\n\
                    serde v1.0.219\n\
                    redis v0.32.0\n\
                    redis v0.32.0 (*)\n\
                    hyper-util v0.1.0\n\
                    \n";
        assert_eq!(forbidden_in(tree), ["redis"]);
    }

    #[test]
    fn a_clean_tree_has_no_violations() {
        assert!(forbidden_in("apikey-core v0.1.0 (/w)\nhmac v0.12.1\n").is_empty());
    }
}
