//! Benchmark: unary gRPC calls to the demo service guarded by `apikey-tonic` (memory store, a hot
//! key with `projects:read`) against the same service unguarded, in one run, over 127.0.0.1.
//!
//! ```sh
//! cargo run --release -p apikey-example-grpc --bin grpc-bench [-- CALLS_PER_ROUND ROUNDS CONCURRENCY]
//! ```
//!
//! Rounds alternate between the two servers (so drift and background load hit both alike); each
//! round makes `CALLS_PER_ROUND` `GetProject` calls from `CONCURRENCY` tasks over one HTTP/2
//! connection. It prints the median round of each and the ratio guarded ÷ unguarded throughput
//! (goal ≥ 0.95).
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::{ApiKeys, NewKey};
use apikey_example_grpc::pb::GetProjectRequest;
use apikey_example_grpc::pb::projects_client::ProjectsClient;
use apikey_memory::MemoryStore;
use apikey_tonic::ApiKeyInterceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = ProjectsClient<InterceptedService<Channel, ApiKeyInterceptor>>;

async fn round(client: &Client, calls: usize, concurrency: usize) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for t in 0..concurrency {
        let mut c = client.clone();
        let n = calls / concurrency + usize::from(t < calls % concurrency);
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                let r = c.get_project(GetProjectRequest { id: "p-1".into() }).await;
                assert!(r.is_ok(), "call failed: {:?}", r.err().map(|s| s.code()));
            }
        }));
    }
    for t in tasks {
        t.await.expect("bench task");
    }
    start.elapsed()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls = arg(1, 5_000);
    let rounds = arg(2, 11);
    let concurrency = arg(3, 4).max(1);
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        // In-memory keys die with the process anyway.
        .random_peppers_keys_die_at_exit()
        .build()?;
    let key = keys
        .manager()
        .create(NewKey::new("bench").scopes(["projects:read"])?)
        .await?;
    let local = "127.0.0.1:0".parse()?;
    let guarded = apikey_example_grpc::spawn_server(local, Some(keys.verifier().clone())).await?;
    let plain = apikey_example_grpc::spawn_server(local, None).await?;
    let connect = |addr: std::net::SocketAddr| {
        let token = key.token.expose().to_owned();
        async move {
            let ch = Channel::from_shared(format!("http://{addr}"))?
                .connect()
                .await?;
            let i = ApiKeyInterceptor::new(&token)?;
            Ok::<_, Box<dyn std::error::Error>>(ProjectsClient::with_interceptor(ch, i))
        }
    };
    // Both clients send the key, so the only difference is the layer on the server.
    let guarded_client = connect(guarded).await?;
    let plain_client = connect(plain).await?;
    // Warm-up (connections, caches, allocator).
    round(&guarded_client, calls / 5, concurrency).await;
    round(&plain_client, calls / 5, concurrency).await;
    let (mut g, mut p) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        p.push(round(&plain_client, calls, concurrency).await);
        g.push(round(&guarded_client, calls, concurrency).await);
    }
    let (g, p) = (median(&mut g), median(&mut p));
    let per = |d: Duration| d.as_secs_f64() * 1e6 / calls as f64;
    let rps = |d: Duration| calls as f64 / d.as_secs_f64();
    println!(
        "grpc unary GetProject, {calls} calls x {rounds} rounds, concurrency {concurrency}, medians:"
    );
    println!(
        "  unguarded: {:8.1} µs/call  {:9.0} calls/s",
        per(p),
        rps(p)
    );
    println!(
        "  guarded:   {:8.1} µs/call  {:9.0} calls/s",
        per(g),
        rps(g)
    );
    println!(
        "  ratio guarded/unguarded throughput: {:.3} (goal >= 0.95)",
        rps(g) / rps(p)
    );
    Ok(())
}
