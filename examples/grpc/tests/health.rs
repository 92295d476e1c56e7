//! The standard gRPC health service fed from apikey's readiness checks, over 127.0.0.1: a tonic
//! `HealthClient` sees `SERVING` while the checks pass, `NOT_SERVING` once one fails and
//! `SERVING` again after it recovers — with no API key, since the layer makes the health service
//! public.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apikey_core::health::{Health, HealthCheck};
use apikey_example_grpc::DemoProjects;
use apikey_example_grpc::pb::projects_server::ProjectsServer;
use apikey_memory::MemoryStore;
use apikey_tonic::ApiKeyLayer;
use async_trait::async_trait;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A dependency the test turns off and on.
struct Switch(Arc<AtomicBool>);

#[async_trait]
impl HealthCheck for Switch {
    fn name(&self) -> &str {
        "switch"
    }

    async fn check(&self) -> Result<Option<String>, String> {
        if self.0.load(Ordering::SeqCst) {
            Ok(None)
        } else {
            Err("switch: off".to_owned())
        }
    }
}

async fn status(client: &mut HealthClient<Channel>) -> ServingStatus {
    client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the health service answers without a key")
        .into_inner()
        .status()
}

/// Polls until the status is `want` (the reporter refreshes every 20 ms), at most 5 s.
async fn until(client: &mut HealthClient<Channel>, want: ServingStatus) {
    for _ in 0..250 {
        if status(client).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the health service never reported {want:?}");
}

#[tokio::test]
async fn readiness_drives_the_grpc_health_service() {
    let keys = apikey_core::ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let up = Arc::new(AtomicBool::new(true));
    let health = Health::new().with_check(Arc::new(Switch(up.clone())));
    let (health_server, reporter) = apikey_tonic::health_service(health, Duration::from_millis(20));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = ApiKeyLayer::new(keys.verifier().clone(), apikey_example_grpc::methods());
    let server = tokio::spawn(async move {
        Server::builder()
            .layer(layer)
            .add_service(health_server)
            .add_service(ProjectsServer::new(DemoProjects))
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    until(&mut client, ServingStatus::Serving).await;
    up.store(false, Ordering::SeqCst);
    until(&mut client, ServingStatus::NotServing).await;
    up.store(true, Ordering::SeqCst);
    until(&mut client, ServingStatus::Serving).await;
    reporter.abort();
    server.abort();
}
