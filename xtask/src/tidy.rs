//! `cargo xtask tidy`: the house rules a machine can check, also run by `cargo test` through
//! [`tests::workspace_is_tidy`].
//!
//! - every crate under `crates/` has a README.md and a CHANGELOG.md (xtask is exempt);
//! - every crate's Cargo.toml, and xtask's, opts into the workspace lints (`[lints] workspace = true`);
//! - every `.rs` file in a crate's `src/`, `tests/`, `benches/` and `examples/`, in `xtask/src/`, and
//!   in the top-level `examples/` and `tests/` opens (after blank lines) with a `//!` line;
//! - no `todo!(` or `unimplemented!(` in library code (`crates/*/src`);
//! - no `.rs` file over [`MAX_LINES`] lines.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::Outcome;

/// Longest a source file may grow; past ~500 lines a file wants splitting (ARCHITECTURE.md).
const MAX_LINES: usize = 700;

/// Placeholders that must not ship in library code.
const STUBS: &[&str] = &["todo!(", "unimplemented!("];

/// The directories of a crate whose `.rs` files must open with a `//!` line.
const DOC_DIRS: &[&str] = &["src", "tests", "benches", "examples"];

pub(crate) fn run(root: &Path) -> Outcome {
    let problems = check(root)?;
    if problems.is_empty() {
        println!("tidy: ok");
        Ok(())
    } else {
        Err(report(&problems))
    }
}

fn report(problems: &[String]) -> String {
    format!(
        "tidy found {} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    )
}

/// Every rule over the workspace at `root`; the problems found, sorted, as `path: what`.
/// An `Err` means the tree could not be read at all.
fn check(root: &Path) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();

    let crates = crate_dirs(&root.join("crates"))?;
    if crates.is_empty() {
        return Err(format!(
            "tidy: no crates found under {}",
            root.join("crates").display()
        ));
    }
    for dir in &crates {
        for file in ["README.md", "CHANGELOG.md"] {
            if !dir.join(file).is_file() {
                problems.push(format!("{}: missing {file}", rel(root, dir)));
            }
        }
    }
    for dir in crates.iter().chain([&root.join("xtask")]) {
        let manifest = dir.join("Cargo.toml");
        let text = read(&manifest)?;
        if !uses_workspace_lints(&text) {
            problems.push(format!(
                "{}: no `[lints]` with `workspace = true`",
                rel(root, &manifest)
            ));
        }
    }

    let mut files = Vec::new();
    for top in ["crates", "xtask", "examples", "tests"] {
        rust_files(&root.join(top), &mut files)?;
    }
    for file in &files {
        let path = rel(root, file);
        let parts: Vec<&str> = path.split('/').collect();
        let text = read(file)?;

        let needs_doc = match parts.as_slice() {
            ["crates", _, dir, _, ..] => DOC_DIRS.contains(dir),
            ["xtask", "src", ..] | ["examples", ..] | ["tests", ..] => true,
            _ => false,
        };
        if needs_doc && !opens_with_doc(&text) {
            problems.push(format!("{path}: does not open with a `//!` line"));
        }

        if matches!(parts.as_slice(), ["crates", _, "src", ..]) {
            for (n, stub) in stubs(&text) {
                problems.push(format!("{path}:{n}: `{stub}` in library code"));
            }
        }

        let lines = text.lines().count();
        if lines > MAX_LINES {
            problems.push(format!(
                "{path}: {lines} lines (over {MAX_LINES}); split it"
            ));
        }
    }

    problems.sort();
    Ok(problems)
}

/// The directories directly under `crates/` that hold a Cargo.toml, sorted.
fn crate_dirs(crates: &Path) -> Result<Vec<PathBuf>, String> {
    let mut dirs = Vec::new();
    for entry in read_dir(crates)? {
        if entry.join("Cargo.toml").is_file() {
            dirs.push(entry);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Every `.rs` file under `dir` (absent is fine), skipping `target/` and hidden directories.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if !dir.is_dir() {
        return Ok(());
    }
    for path in read_dir(dir)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether a manifest has a `[lints]` table with `workspace = true`.
fn uses_workspace_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines() {
        let line: String = line
            .split('#')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if in_lints && line == "workspace=true" {
            return true;
        }
    }
    false
}

/// Whether the first non-blank line is a `//!` inner doc comment.
fn opens_with_doc(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .is_some_and(|line| line.starts_with("//!"))
}

/// The placeholders in code (comment lines are ignored), with 1-based line numbers.
fn stubs(text: &str) -> Vec<(usize, &'static str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .flat_map(|(i, line)| {
            STUBS
                .iter()
                .filter(move |stub| line.contains(*stub))
                .map(move |stub| (i + 1, *stub))
        })
        .collect()
}

/// `path` relative to `root`, with `/` separators, for stable messages.
fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("tidy: cannot read {}: {e}", path.display()))
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        fs::read_dir(dir).map_err(|e| format!("tidy: cannot list {}: {e}", dir.display()))?;
    entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tidy: cannot list {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace itself obeys every rule (`cargo test --workspace` runs this).
    #[test]
    fn workspace_is_tidy() {
        let problems = check(&crate::workspace_root()).unwrap();
        assert!(problems.is_empty(), "{}", report(&problems));
    }

    #[test]
    fn lints_table_must_opt_into_workspace() {
        assert!(uses_workspace_lints(
            "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n"
        ));
        assert!(uses_workspace_lints(
            "[lints]\n  workspace=true # shared\n[dependencies]\n"
        ));
        assert!(!uses_workspace_lints(
            "[package]\nworkspace = true\n[lints]\n"
        ));
        assert!(!uses_workspace_lints(
            "[lints]\n[dependencies]\nworkspace = true\n"
        ));
        assert!(!uses_workspace_lints("[lints.rust]\nworkspace = true\n"));
    }

    #[test]
    fn files_open_with_an_inner_doc_line() {
        assert!(opens_with_doc("\n\n//! About.\nfn f() {}\n"));
        assert!(!opens_with_doc("/// Item doc.\nfn f() {}\n"));
        assert!(!opens_with_doc("#![allow(x)]\n//! About.\n"));
        assert!(!opens_with_doc(""));
    }

    #[test]
    fn stubs_in_code_are_found_but_not_in_comments() {
        let text = "fn a() { todo!() }\n// todo!( later\nfn b() { unimplemented!(\"x\") }\n";
        assert_eq!(stubs(text), [(1, "todo!("), (3, "unimplemented!(")]);
    }
}
