//! The standard gRPC health service (`grpc.health.v1.Health`, from `tonic-health`, which load
//! balancers and Kubernetes' gRPC probes speak) answering from apikey's readiness checks
//! (`apikey_core::health::Health`): the overall status (`service: ""`) is `SERVING` while
//! readiness passes or warns, `NOT_SERVING` while a check fails.

use std::time::Duration;

use apikey_core::health::{Health, Status};
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health as HealthApi, HealthServer};

/// The health service for a tonic server, and the task that keeps it current: it runs the
/// readiness checks every `every` and publishes the result (watchers are told on change).
/// Serve it beside your services and make it public in the layer
/// ([`MethodScopes::public_health`](crate::MethodScopes::public_health)); abort the task on
/// shutdown. Must be called inside a tokio runtime.
pub fn health_service(
    health: Health,
    every: Duration,
) -> (HealthServer<impl HealthApi>, tokio::task::JoinHandle<()>) {
    let (reporter, server) = tonic_health::server::health_reporter();
    let task = tokio::spawn(async move {
        loop {
            let status = match health.ready().await.status {
                Status::Pass | Status::Warn => ServingStatus::Serving,
                Status::Fail => ServingStatus::NotServing,
            };
            reporter.set_service_status("", status).await;
            tokio::time::sleep(every).await;
        }
    });
    (server, task)
}
