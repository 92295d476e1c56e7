//! Graceful shutdown, the same in every service: wait for Ctrl-C or SIGTERM (what `docker stop`,
//! Kubernetes and systemd send), stop taking requests, then write the usage still in memory with
//! [`ApiKeys::shutdown`](crate::ApiKeys::shutdown) before the process exits.

use std::time::Duration;

/// How long a service gives [`ApiKeys::shutdown`](crate::ApiKeys::shutdown) to write pending
/// usage: well inside the 10 s a container runtime waits between SIGTERM and SIGKILL.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// Resolves when the process receives Ctrl-C (SIGINT) or, on Unix, SIGTERM. Pass it to the
/// server's graceful-shutdown hook (axum `with_graceful_shutdown`, tonic `serve_with_shutdown`).
/// If a handler cannot be installed the other signal still works; if neither can, it never
/// resolves rather than shutting a healthy server down.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
