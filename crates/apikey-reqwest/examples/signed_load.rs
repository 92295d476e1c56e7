//! Loopback load of signed against unsigned requests, in one run: an axum server behind
//! `ApiKeyLayer` with a `SignatureCheck` (memory store, cache warm), and 32 concurrent reqwest
//! clients for a few seconds per row — a key with signing off sending its token, then a key with
//! signing required sending its token and a signature (`ApiKeyMiddleware`), each request a POST
//! with a 64-byte JSON body. Client and server share the machine, so the ratio is what counts.
//!
//! Run: `cargo run --release -p apikey-reqwest --example signed_load -- [SECONDS]`.

#![allow(clippy::print_stdout, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::signing::{MemoryNonces, Signer, SigningMode};
use apikey_core::{ApiKeys, Keks, NewKey, SecretBox};
use apikey_memory::MemoryStore;
use apikey_reqwest::ApiKeyMiddleware;
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use reqwest_middleware::ClientWithMiddleware;

const CLIENTS: usize = 32;
const BODY: &str = r#"{"order":{"sku":"A-100","qty":2,"note":"loopback load, 64 bytes"}}"#;

async fn row(name: &str, client: ClientWithMiddleware, url: &str, secs: u64) -> (f64, Duration) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client.post(&url).body(BODY).send().await.expect("answers");
                assert_eq!(
                    res.status(),
                    200,
                    "{}",
                    res.text().await.unwrap_or_default()
                );
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all.sort_unstable();
    let rate = all.len() as f64 / secs as f64;
    let p50 = all[all.len() / 2];
    let p99 = all[all.len() * 99 / 100];
    println!("{name:<28} {rate:>9.0} req/s   p50 {p50:>9.1?}   p99 {p99:>9.1?}");
    (rate, p50)
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .secret_box(SecretBox::new(
            Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("kek"),
        ))
        .build()
        .expect("keys");
    let check = keys
        .signature_check(Arc::new(MemoryNonces::default()))
        .expect("check");
    let app = Router::new()
        .route(
            "/orders",
            post(|_: Verified, body: Bytes| async move { body.len().to_string() }),
        )
        .layer(ApiKeyLayer::new(keys.verifier().clone()).with_check(check));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serves");
    });
    let plain = keys
        .manager()
        .create(NewKey::new("plain"))
        .await
        .expect("key");
    let signing = keys
        .manager()
        .create(NewKey::new("signed").signing(SigningMode::Required))
        .await
        .expect("key");
    let signer = Signer::new(
        signing.record.lookup_id.to_string(),
        signing.signing_secret.expect("secret"),
    );
    let url = format!("http://{addr}/orders");
    let client = |m: ApiKeyMiddleware| {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(m)
            .build()
    };
    let unsigned = client(ApiKeyMiddleware::token(plain.token.expose()).expect("token"));
    let signed = client(
        ApiKeyMiddleware::token(signing.token.expose())
            .expect("token")
            .signing(signer),
    );
    // Warm both paths (cache fill, connections).
    row("warm-up", unsigned.clone(), &url, 1).await;
    row("warm-up", signed.clone(), &url, 1).await;
    let (u_rate, u_p50) = row("token only", unsigned, &url, secs).await;
    let (s_rate, s_p50) = row("token + RFC 9421 signature", signed, &url, secs).await;
    println!(
        "signed / unsigned: throughput {:.2}x, p50 latency {:.2}x",
        s_rate / u_rate,
        s_p50.as_secs_f64() / u_p50.as_secs_f64()
    );
}
