//! Async cleanup from `Drop`.

use std::future::Future;

/// Runs `f` to completion on a fresh runtime in a thread of its own and waits for it: for cleanup
/// from `Drop`, which runs inside the test's runtime and cannot block on it. A panic in `f` is
/// swallowed, since cleanup failing must not hide the test's own result.
pub fn run_detached<F>(f: F)
where
    F: Future<Output = ()> + Send + 'static,
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
