//! During a Redis outage every request falls back, but the log gets one warning per interval
//! (with the count held back), not one per request.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apikey_core::limit::FailurePolicy;
use apikey_core::{KeyId, LimitPolicy, ManualClock, Rate, RateLimiter, Subject};
use apikey_redis::{OUTAGE_LOG_INTERVAL, RedisLimiter};
use common::proxy::{Mode, Proxy, RedisUrl};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Counts the limiter's "unavailable" warnings, the ones the fallback path emits.
struct Warnings(Arc<AtomicUsize>);

#[derive(Default)]
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let m = event.metadata();
        if *m.level() != tracing::Level::WARN || !m.target().starts_with("apikey_redis::limiter") {
            return;
        }
        let mut message = Message::default();
        event.record(&mut message);
        if message.0.contains("redis limiter unavailable") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

// One thread, so the thread-local subscriber sees every task's events.
#[tokio::test(flavor = "current_thread")]
async fn an_outage_warns_once_per_interval_not_once_per_request() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let warnings = Arc::new(AtomicUsize::new(0));
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(Warnings(warnings.clone())),
    );
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    let clock = ManualClock::fixed();
    let limiter = RedisLimiter::new(common::connect(&proxy.url()).await)
        .with_prefix(common::prefix())
        .with_clock(Arc::new(clock.clone()))
        .with_call_budget(Duration::from_millis(50))
        .with_breaker(3, Duration::from_millis(100))
        .with_failure_policy(FailurePolicy::FailOpen)
        .unwrap();
    let key = KeyId::new();
    let s = Subject {
        key,
        lineage: key,
        endpoint: None,
    };
    let p = LimitPolicy {
        rate: Some(Rate::new(10, Duration::from_secs(60)).unwrap()),
        ..LimitPolicy::default()
    };
    assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());

    proxy.set(Mode::Cut);
    for _ in 0..200 {
        assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    }
    assert!(limiter.stats().fallbacks >= 200, "{:?}", limiter.stats());
    assert_eq!(warnings.load(Ordering::SeqCst), 1, "one warning, not 200");

    clock.advance(chrono::TimeDelta::from_std(OUTAGE_LOG_INTERVAL).unwrap());
    for _ in 0..50 {
        assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    }
    assert_eq!(
        warnings.load(Ordering::SeqCst),
        2,
        "one more after the interval"
    );
}
