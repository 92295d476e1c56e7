//! Example: a tonic gRPC service guarded by `apikey-tonic`.
//!
//! The service (`proto/demo.proto`, compiled at build time by the pure-Rust `protox`, so no
//! `protoc` is needed) has a read method (`projects:read`), a write method (`projects:write`), a
//! public `Ping` and a `DeleteProject` that the scope map leaves out, so it is always denied.
//!
//! Run it (two terminals, from the workspace root):
//!
//! ```sh
//! cargo run -p apikey-example-grpc --bin grpc-server
//! # prints: listening on 127.0.0.1:50051, then a read-only and a read-write demo key
//! APIKEY_TOKEN=<printed read-only key> cargo run -p apikey-example-grpc --bin grpc-client
//! # GetProject succeeds, CreateProject is PERMISSION_DENIED, DeleteProject is PERMISSION_DENIED
//! APIKEY_TOKEN=<printed read-write key> cargo run -p apikey-example-grpc --bin grpc-client
//! ```
//!
//! The client binary is the example's own (no `grpcurl` needed); `APIKEY_ADDR` changes the address
//! (default `http://127.0.0.1:50051`). The benchmark (guarded vs unguarded unary calls in one run):
//!
//! ```sh
//! cargo run --release -p apikey-example-grpc --bin grpc-bench
//! ```

use std::net::SocketAddr;

use apikey_core::Verifier;
use apikey_tonic::{ApiKeyLayer, MethodScopes, RequestVerifiedExt};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// The code generated from `proto/demo.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("apikey.demo.v1");
}

use pb::projects_server::{Projects, ProjectsServer};
use pb::{CreateProjectRequest, GetProjectRequest, PingReply, PingRequest, Project};

/// The encoded file descriptor set of `proto/demo.proto` (written by `build.rs`): the list of
/// every method the server has, for the route table.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/demo_descriptor.bin"));

/// The scope map of the example: read and write need their scopes, `Ping` and health are public,
/// `DeleteProject` is declared denied (`tests/routes.rs` fails if a method is left out).
pub fn methods() -> MethodScopes {
    MethodScopes::new()
        .method("/apikey.demo.v1.Projects/GetProject", ["projects:read"])
        .and_then(|m| m.method("/apikey.demo.v1.Projects/CreateProject", ["projects:write"]))
        .and_then(|m| m.public("/apikey.demo.v1.Projects/Ping"))
        .and_then(|m| m.deny("/apikey.demo.v1.Projects/DeleteProject"))
        .expect("valid scope map")
        .public_health()
}

/// The service: answers with the name of the key that called (from the verified key the layer
/// attached), or `"anonymous"` on public methods.
#[derive(Debug, Clone, Default)]
pub struct DemoProjects;

fn caller<T>(request: &Request<T>) -> String {
    request
        .verified()
        .map_or_else(|| "anonymous".to_owned(), |k| k.record().name.clone())
}

#[tonic::async_trait]
impl Projects for DemoProjects {
    async fn get_project(
        &self,
        request: Request<GetProjectRequest>,
    ) -> Result<Response<Project>, Status> {
        let caller = caller(&request);
        let id = request.into_inner().id;
        Ok(Response::new(Project {
            name: format!("project {id}"),
            id,
            caller,
        }))
    }

    async fn create_project(
        &self,
        request: Request<CreateProjectRequest>,
    ) -> Result<Response<Project>, Status> {
        let caller = caller(&request);
        Ok(Response::new(Project {
            id: "p-new".to_owned(),
            name: request.into_inner().name,
            caller,
        }))
    }

    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PingReply>, Status> {
        Ok(Response::new(PingReply {
            message: format!("pong to {}", caller(&request)),
        }))
    }

    async fn delete_project(
        &self,
        _request: Request<GetProjectRequest>,
    ) -> Result<Response<Project>, Status> {
        Err(Status::internal(
            "unreachable: the layer denies this method",
        ))
    }
}

/// Binds `addr` and serves the demo service in the background, guarded by `verifier` (or
/// unguarded with `None`, for the benchmark's baseline). Returns the bound address.
pub async fn spawn_server(
    addr: SocketAddr,
    verifier: Option<Verifier>,
) -> std::io::Result<SocketAddr> {
    let (local, _serving) = spawn_server_until(addr, verifier, std::future::pending()).await?;
    Ok(local)
}

/// [`spawn_server`] that stops taking requests when `stop` resolves (tonic's graceful shutdown:
/// in-flight calls finish). Returns the bound address and the server task, which ends once the
/// server has stopped — then flush usage.
pub async fn spawn_server_until(
    addr: SocketAddr,
    verifier: Option<Verifier>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    spawn_layered(addr, verifier.map(|v| ApiKeyLayer::new(v, methods())), stop).await
}

/// [`spawn_server_until`] behind a layer configured by the caller (a request log, say), or
/// unguarded with `None`.
pub async fn spawn_layered(
    addr: SocketAddr,
    layer: Option<ApiKeyLayer>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let service = ProjectsServer::new(DemoProjects);
    let serving = tokio::spawn(async move {
        let result = match layer {
            Some(layer) => {
                Server::builder()
                    .layer(layer)
                    .add_service(service)
                    .serve_with_incoming_shutdown(incoming, stop)
                    .await
            }
            None => {
                Server::builder()
                    .add_service(service)
                    .serve_with_incoming_shutdown(incoming, stop)
                    .await
            }
        };
        if let Err(e) = result {
            tracing_error(&e);
        }
    });
    Ok((local, serving))
}

#[allow(clippy::print_stderr)]
fn tracing_error(e: &tonic::transport::Error) {
    eprintln!("gRPC server stopped: {e}");
}
