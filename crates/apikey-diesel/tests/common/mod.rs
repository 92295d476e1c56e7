//! Shared test support: service URLs from the environment, one fresh database per test, and a
//! store wrapper that drops its database when the test ends.
//!
//! Each test crate uses a part of this module (hence `dead_code`); `pub` items are for the
//! sibling modules (hence `unreachable_pub`).

#![allow(dead_code, unreachable_pub)]

pub mod checks;
pub mod isolated;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rewrite;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The service URL in `var`, or `None` (the test then returns early). In CI (`CI=true`) a
/// missing URL fails the test instead: CI must provide every service.
#[allow(clippy::print_stderr)]
pub fn service_url(var: &str, service: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set; CI must provide {service}")
        }
        _ => {
            eprintln!("skipped: {var} is not set (export it to run the {service} tests)");
            None
        }
    }
}

/// A name no other test uses: `apikey_test_<32 hex>`.
pub fn unique_name() -> String {
    format!("apikey_test_{}", uuid::Uuid::new_v4().simple())
}

/// Runs `f` to completion on a fresh runtime in its own thread: for cleanup from `Drop`, which
/// runs inside the test's runtime and cannot block on it.
pub fn run_detached<F>(f: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let handle = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cleanup runtime")
            .block_on(f);
    });
    let _ = handle.join();
}

/// `url` with its database (the path after the host) replaced by `name`; query kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}
