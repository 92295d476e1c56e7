//! `cargo xtask ci` (fmt, clippy, test, check-features, deny, in order) and `cargo xtask test`.

use std::path::Path;
use std::time::Instant;

use crate::{Outcome, cargo, check_features, deny, run_status};

/// One step of the pipeline.
struct Step {
    name: &'static str,
    run: fn(&Path) -> Outcome,
}

const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        run: fmt,
    },
    Step {
        name: "clippy",
        run: clippy,
    },
    Step {
        name: "test",
        run: test,
    },
    Step {
        name: "check-features",
        run: check_features::run,
    },
    Step {
        name: "deny",
        run: deny::run,
    },
];

/// Runs every step in order and stops at the first failure.
pub(crate) fn run(root: &Path) -> Outcome {
    let started = Instant::now();
    for (i, step) in STEPS.iter().enumerate() {
        println!("\n==> [{}/{}] {}", i + 1, STEPS.len(), step.name);
        let step_started = Instant::now();
        let result = (step.run)(root);
        let secs = step_started.elapsed().as_secs_f64();
        match result {
            Ok(()) => println!("<== {}: ok in {secs:.1} s", step.name),
            Err(message) => {
                println!("<== {}: FAILED in {secs:.1} s", step.name);
                return Err(format!(
                    "ci: step `{}` failed: {message}\nci: stopped; later steps did not run",
                    step.name
                ));
            }
        }
    }
    println!(
        "\nci: all {} steps passed in {:.1} s",
        STEPS.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn fmt(root: &Path) -> Outcome {
    let mut cmd = cargo(root);
    cmd.args(["fmt", "--all", "--", "--check"]);
    run_status(cmd)
}

fn clippy(root: &Path) -> Outcome {
    let mut cmd = cargo(root);
    cmd.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    run_status(cmd)
}

/// The workspace tests with every feature on, so each backend and integration is tested. `CI` is
/// inherited, so with `CI=true` a missing service fails its tests.
pub(crate) fn test(root: &Path) -> Outcome {
    let mut cmd = cargo(root);
    cmd.args(["test", "--workspace", "--all-features", "--locked"]);
    run_status(cmd)
}
