//! Classification of `redis` errors into the core [`Error`]: what a failure policy may absorb
//! (`Unavailable`: the server is unreachable, slow, loading or failing over) and what it must not
//! (`Backend`: a script or data bug that no fallback should hide).

use apikey_core::{Error, ErrorKind};
use redis::{RedisError, RetryMethod};

/// Maps a driver error, keeping it as the source.
pub(crate) fn from_redis(what: &'static str, e: RedisError) -> Error {
    let kind = if is_unavailable(&e) {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Backend
    };
    Error::new(kind, what).with_source(e)
}

/// Whether the error means "the server cannot answer now" rather than "the request is wrong".
fn is_unavailable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_cluster_error()
        || matches!(e.kind(), redis::ErrorKind::ClusterConnectionNotFound)
        || !matches!(e.retry_method(), RetryMethod::NoRetry)
}

/// The error a call that overran its time budget reports.
pub(crate) fn timed_out(what: &'static str) -> Error {
    Error::new(ErrorKind::Unavailable, what).with_source(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "redis call exceeded its time budget",
    ))
}
