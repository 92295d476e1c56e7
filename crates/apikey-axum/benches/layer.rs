//! What the layer adds to a request inside axum, without the network: the same router as
//! `examples/bench-server`, called as a tower service, one route bare and one guarded.
//!
//! Run: `cargo bench -p apikey-axum --bench layer -- --warm-up-time 1 --measurement-time 3`
//!
//! Every route here completes without suspending (handlers return at once, the key is a cache
//! hit, the limiter is in process), so each call is polled once with a no-op waker: no executor
//! overhead is measured, and a pending poll panics. Requests are built outside the timed part.
//! The table at the end gives each guarded variant's extra time over the bare route, measured in
//! the same run.

#![allow(clippy::print_stdout, missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
use apikey_core::request_log::{
    RequestFilter, RequestLog, RequestLogConfig, RequestLogMode, RequestLogSettings,
    RequestLogStore, RequestRecord,
};
use apikey_core::{ApiKeys, NewKey, Peppers, Rate};
use apikey_memory::{MemoryLimiter, MemoryStore};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::handler::Handler;
use axum::http::Request;
use axum::routing::get;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tower_service::Service;

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the request suspended"),
    }
}

async fn open() -> &'static str {
    "ok\n"
}

async fn guarded(_key: Verified) -> &'static str {
    "ok\n"
}

/// A request check that is off for every key: what a configured rule costs a key it skips.
struct Skips;

#[async_trait::async_trait]
impl RequestCheck for Skips {
    fn wants(&self, key: &apikey_core::Verified, _: &RequestHead<'_>) -> Wants {
        if key.record().tags.is_empty() {
            Wants::Skip
        } else {
            Wants::Head
        }
    }

    async fn check(
        &self,
        _: &apikey_core::Verified,
        _: &RequestHead<'_>,
        _: Option<&axum::body::Bytes>,
    ) -> Result<(), CheckRejection> {
        Ok(())
    }
}

/// A request-log store that keeps nothing: what is measured is the guard's side (the decision,
/// the record, the queue), not a database.
#[derive(Debug)]
struct Discard;

#[async_trait::async_trait]
impl RequestLogStore for Discard {
    async fn append_requests(&self, records: &[RequestRecord]) -> apikey_core::Result<u64> {
        Ok(records.len() as u64)
    }
    async fn requests(
        &self,
        _: &apikey_core::TenantScope,
        _: &RequestFilter,
    ) -> apikey_core::Result<Vec<RequestRecord>> {
        Ok(Vec::new())
    }
    async fn purge_requests(&self, _: chrono::DateTime<chrono::Utc>) -> apikey_core::Result<u64> {
        Ok(0)
    }
    async fn erase_requests_of(&self, _: &[apikey_core::KeyId]) -> apikey_core::Result<u64> {
        Ok(0)
    }
}

/// A request log on [`Discard`] in `mode`, its writer on `rt`.
fn request_log(rt: &tokio::runtime::Runtime, mode: RequestLogMode) -> RequestLog {
    let _guard = rt.enter();
    let log = RequestLog::spawn(
        std::sync::Arc::new(Discard),
        None,
        std::sync::Arc::new(apikey_core::SystemClock),
        RequestLogConfig {
            capacity: 1 << 20,
            batch: 10_000,
            ..RequestLogConfig::default()
        },
    )
    .expect("request log");
    log.set_default(RequestLogSettings {
        mode,
        ..RequestLogSettings::default()
    })
    .expect("settings");
    log
}

struct Setup {
    keys: ApiKeys,
    limited: String,
    unlimited: String,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let clock = std::sync::Arc::new(apikey_core::SystemClock);
        let keys = ApiKeys::builder(std::sync::Arc::new(MemoryStore::new()))
            .peppers(
                Peppers::single("bench", b"a benchmark pepper of enough length".to_vec())
                    .expect("pepper"),
            )
            .limiter(std::sync::Arc::new(MemoryLimiter::new(clock)))
            .build()
            .expect("keys");
        let rate =
            Rate::with_burst(1_000_000, Duration::from_secs(1), 1_000_000_000).expect("rate");
        let m = keys.manager();
        let limited = m
            .create(
                NewKey::new("limited")
                    .scopes(["projects:read"])
                    .expect("scope")
                    .rate_limit(rate),
            )
            .await
            .expect("create");
        let unlimited = m
            .create(
                NewKey::new("unlimited")
                    .scopes(["projects:read"])
                    .expect("scope"),
            )
            .await
            .expect("create");
        Setup {
            limited: limited.token.expose().to_owned(),
            unlimited: unlimited.token.expose().to_owned(),
            keys,
        }
    })
}

fn request(path: &str, token: &str) -> Request<Body> {
    let peer: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("x-api-key", token)
        .extension(ConnectInfo(peer))
        .body(Body::empty())
        .expect("request")
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let layer = ApiKeyLayer::new(s.keys.verifier().clone()).require(["projects:read"]);
    // One router per case, so no case pays for another's layers.
    let open_app = Router::new().route("/r", get(open));
    let identity_app = Router::new()
        .route("/r", get(open))
        .route_layer(tower_layer::layer_fn(|s| s));
    let route_layer_app = Router::new()
        .route("/r", get(guarded))
        .route_layer(layer.clone());
    let skipping_app = Router::new()
        .route("/r", get(guarded))
        .route_layer(layer.clone().with_check(Skips));
    // The request log: configured with its mode off, and on for every request (the writer runs
    // on its own runtime's threads, as in a server).
    let writer = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let log_off_app = Router::new().route("/r", get(guarded)).route_layer(
        layer
            .clone()
            .request_log(request_log(&writer, RequestLogMode::Off)),
    );
    let full = request_log(&writer, RequestLogMode::Full);
    let log_full_app = Router::new()
        .route("/r", get(guarded))
        .route_layer(layer.clone().request_log(full.clone()));
    let handler_layer_app = Router::new().route("/r", get(guarded.layer(layer)));
    let cases = [
        ("open", &open_app, &s.limited),
        ("identity_route_layer", &identity_app, &s.limited),
        ("route_layer_rate_limited", &route_layer_app, &s.limited),
        ("route_layer_no_limits", &route_layer_app, &s.unlimited),
        (
            "route_layer_no_limits_check_skips",
            &skipping_app,
            &s.unlimited,
        ),
        ("route_layer_no_limits_log_off", &log_off_app, &s.unlimited),
        (
            "route_layer_no_limits_log_full",
            &log_full_app,
            &s.unlimited,
        ),
        ("handler_layer_rate_limited", &handler_layer_app, &s.limited),
        ("handler_layer_no_limits", &handler_layer_app, &s.unlimited),
    ];
    let mut g = c.benchmark_group("axum");
    for (name, app, token) in cases {
        // As `axum::serve` does: handlers become routes once, not on every call.
        let mut svc = app.clone().with_state::<()>(());
        // Warms the verifier's cache and checks the route answers 200.
        let res = ready(svc.call(request("/r", token))).expect("infallible");
        assert_eq!(res.status(), 200, "{name}");
        g.bench_function(name, |b| {
            b.iter_batched(
                || request("/r", token),
                |req| ready(svc.call(req)),
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
    let stats = full.stats();
    println!(
        "request log (full): {} queued, {} written, {} dropped",
        stats.queued, stats.written, stats.dropped
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
