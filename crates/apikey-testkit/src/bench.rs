//! What the store verification benches (`benches/*_verify_bench.rs` of the sqlx, diesel and
//! MongoDB crates) share: a latency line with its ratio to a baseline measured in the same run, and
//! a deterministic token order, so the three report alike and need no RNG dependency.

use std::time::Duration;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Prints `name` with the p50 and p99 of `samples` (and the p50's ratio to `baseline`); returns the
/// p50, to serve as the baseline of later lines.
#[allow(clippy::print_stdout)] // a bench's report is its output
pub fn report(name: &str, mut samples: Vec<Duration>, baseline: Option<Duration>) -> Duration {
    samples.sort_unstable();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    let ratio = baseline.map_or(String::new(), |b| {
        format!("{:>8.2}", p50.as_secs_f64() / b.as_secs_f64())
    });
    println!(
        "{name:<42} p50 {:>10.1} µs   p99 {:>10.1} µs {ratio}",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    p50
}

/// The next index below `n` of a cheap deterministic sequence (xorshift; `state` must not be 0).
pub fn next(state: &mut u64, n: usize) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % n as u64) as usize
}
