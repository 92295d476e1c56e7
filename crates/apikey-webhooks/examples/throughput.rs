//! Delivery figures for `docs/performance.md` (not a test; run it in release):
//!
//! ```sh
//! cargo run --release -p apikey-webhooks --example throughput
//! ```
//!
//! 1. Deliveries per second to a local receiver with 1, 10 and 100 subscriptions: events are
//!    appended to the store's audit log, then `Dispatcher::run_until_idle` is timed. On the
//!    memory store, and on PostgreSQL too when `APIKEY_BENCH_POSTGRES_URL` names a server (each
//!    run in a database of its own, dropped afterwards).
//! 2. End-to-end latency from a committed key change to the receiver's 2xx, with the delivery job
//!    on a scheduler at a 1 s and a 100 ms period (p50, p99).

// The figures are the example's output.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::audit::{AuditEvent, AuditStore, EventType};
use apikey_core::jobs::Scheduler;
use apikey_core::secret_box::{Keks, SecretBox};
use apikey_core::webhook::WebhookStore;
use apikey_core::{ApiKeys, Clock, NewKey, Peppers, SystemClock};
use apikey_memory::MemoryStore;
use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::postgres::PgPoolOptions;
use apikey_sqlx::sqlx::{self, Connection as _};
use apikey_webhooks::{DispatchConfig, Dispatcher, NewSubscription, Webhooks};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use parking_lot::Mutex;

type Arrivals = Arc<Mutex<Vec<(Instant, Bytes)>>>;

async fn take(State(got): State<Arrivals>, body: Bytes) -> StatusCode {
    got.lock().push((Instant::now(), body));
    StatusCode::NO_CONTENT
}

async fn receiver() -> (String, Arrivals) {
    let got: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route("/hook", post(take))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

fn memory_hooks(store: &MemoryStore) -> Webhooks {
    Webhooks::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(SecretBox::new(Keks::random())),
        Arc::new(SystemClock),
    )
}

fn local(url: &str) -> NewSubscription {
    NewSubscription {
        url: url.to_owned(),
        allow_http: true,
        allow_private_network: true,
        ..NewSubscription::default()
    }
}

/// A store for the throughput runs: every capability the dispatcher uses.
trait Store: WebhookStore + AuditStore + Clone {}
impl<T: WebhookStore + AuditStore + Clone> Store for T {}

async fn throughput<S: Store>(store: S, subs: usize, deliveries: usize) -> f64 {
    let h = Webhooks::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(SecretBox::new(Keks::random())),
        Arc::new(SystemClock),
    );
    let (url, got) = receiver().await;
    for _ in 0..subs {
        h.create(local(&url)).await.unwrap();
    }
    let events = deliveries / subs;
    let now = SystemClock.now();
    for i in 0..events {
        let e = AuditEvent::system(
            EventType::Expiring,
            None,
            None,
            now,
            None,
            &[&i.to_string()],
        );
        store.append(&e).await.unwrap();
    }
    let d = Dispatcher::new(h, DispatchConfig::default()).unwrap();
    let start = Instant::now();
    let r = d.run_until_idle().await.unwrap();
    let took = start.elapsed();
    assert_eq!(r.delivered as usize, events * subs);
    assert_eq!(got.lock().len(), events * subs);
    r.delivered as f64 / took.as_secs_f64()
}

async fn latency(period: Duration) -> (Duration, Duration) {
    let store = MemoryStore::new();
    let h = memory_hooks(&store);
    let (url, got) = receiver().await;
    h.create(local(&url)).await.unwrap();
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::random())
        .build()
        .unwrap();
    let d = Dispatcher::new(
        h,
        DispatchConfig {
            period,
            ..DispatchConfig::default()
        },
    )
    .unwrap();
    let scheduler = Arc::new(
        Scheduler::builder(Arc::new(store.clone()), Arc::new(SystemClock))
            .job(d)
            .build()
            .unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let s = scheduler.clone();
    let task = tokio::spawn(async move {
        s.run_until(async {
            let _ = stopped.await;
        })
        .await
    });
    let mut committed = HashMap::new();
    for i in 0..200 {
        let k = keys
            .manager()
            .create(NewKey::new(format!("k{i}")))
            .await
            .unwrap();
        committed.insert(k.record.id.to_string(), Instant::now());
        tokio::time::sleep(Duration::from_millis(13)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().len() < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    let mut lat: Vec<Duration> = got
        .lock()
        .iter()
        .map(|(at, body)| {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            let id = v["data"]["key"]["id"].as_str().unwrap();
            at.duration_since(committed[id])
        })
        .collect();
    assert_eq!(lat.len(), 200);
    lat.sort();
    (lat[lat.len() / 2], lat[lat.len() * 99 / 100])
}

/// A fresh migrated PostgreSQL database under the server `admin` names, and its name.
async fn postgres(admin: &str, tag: &str) -> (SqlxPostgresStore, String) {
    let name = format!("apikey_whbench_{tag}_{}", std::process::id());
    let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let (scheme, rest) = admin.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let url = format!("{scheme}://{}/{name}", &rest[..end]);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await
        .unwrap();
    let store = SqlxPostgresStore::new(pool);
    store.migrate().await.unwrap();
    (store, name)
}

async fn drop_database(admin: &str, name: &str) {
    let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

#[tokio::main]
async fn main() {
    println!("deliveries/s to a local receiver (concurrency 16):");
    for subs in [1, 10, 100] {
        let rate = throughput(MemoryStore::new(), subs, 5_000).await;
        println!("  memory, {subs:>3} subscriptions: {rate:>8.0} deliveries/s");
    }
    if let Ok(admin) = std::env::var("APIKEY_BENCH_POSTGRES_URL") {
        for subs in [1, 10, 100] {
            let (store, name) = postgres(&admin, &subs.to_string()).await;
            let rate = throughput(store, subs, 5_000).await;
            drop_database(&admin, &name).await;
            println!("  PostgreSQL, {subs:>3} subscriptions: {rate:>8.0} deliveries/s");
        }
    }
    println!("commit → receiver 2xx (200 key creations, 13 ms apart):");
    for period in [Duration::from_secs(1), Duration::from_millis(100)] {
        let (p50, p99) = latency(period).await;
        println!("  job period {period:?}: p50 {p50:?}, p99 {p99:?}");
    }
}
