//! Runtime plumbing for the suite macros (not public API): the tests they generate are plain
//! `#[test]` functions, so the caller needs no direct tokio dependency.

use std::future::Future;

/// Runs `fut` on a fresh current-thread runtime with every driver enabled (what
/// `#[tokio::test]` does).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(fut)
}

/// Runs `fut` on a fresh multi-thread runtime with two workers (what
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` does).
pub fn block_on_multi_thread<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(fut)
}
