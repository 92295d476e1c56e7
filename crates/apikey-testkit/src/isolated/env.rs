//! Service URLs from the environment, failing in CI rather than skipping.

/// Whether the tests run in CI (`CI=true`), where a missing service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The URL of `service` in the environment variable `var`, or `None` after a note on stderr (the
/// test then returns early).
///
/// # Panics
///
/// In CI ([`in_ci`]) when `var` is unset or empty: CI must provide every service, and a test that
/// passes without its service there proves nothing.
#[allow(clippy::print_stderr)]
pub fn service_url(var: &str, service: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if in_ci() => panic!("{var} is not set; CI must provide {service}"),
        _ => {
            eprintln!("skipped: {var} is not set (export it to run the {service} tests)");
            None
        }
    }
}
