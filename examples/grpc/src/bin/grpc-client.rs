//! The example client: calls every method of the demo service with the key in `APIKEY_TOKEN`
//! (attached by `apikey-tonic`'s `ApiKeyInterceptor`) and prints each outcome.
//!
//! ```sh
//! APIKEY_TOKEN=sk_live_… cargo run -p apikey-example-grpc --bin grpc-client
//! ```
#![allow(clippy::print_stdout)]

use apikey_example_grpc::pb::projects_client::ProjectsClient;
use apikey_example_grpc::pb::{CreateProjectRequest, GetProjectRequest, PingRequest};
use apikey_tonic::ApiKeyInterceptor;
use tonic::transport::Channel;

fn show<T: std::fmt::Debug>(method: &str, r: Result<tonic::Response<T>, tonic::Status>) {
    match r {
        Ok(res) => println!("{method}: OK {:?}", res.into_inner()),
        Err(s) => println!("{method}: {:?} {}", s.code(), s.message()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("APIKEY_ADDR").unwrap_or_else(|_| "http://127.0.0.1:50051".to_owned());
    let token = std::env::var("APIKEY_TOKEN")
        .map_err(|_| "set APIKEY_TOKEN to a key the server printed")?;
    let channel = Channel::from_shared(addr)?.connect().await?;
    let mut client = ProjectsClient::with_interceptor(channel, ApiKeyInterceptor::new(&token)?);
    show("Ping", client.ping(PingRequest {}).await);
    show(
        "GetProject",
        client
            .get_project(GetProjectRequest { id: "p-1".into() })
            .await,
    );
    show(
        "CreateProject",
        client
            .create_project(CreateProjectRequest { name: "new".into() })
            .await,
    );
    show(
        "DeleteProject",
        client
            .delete_project(GetProjectRequest { id: "p-1".into() })
            .await,
    );
    Ok(())
}
