//! Proves the verifier's cache-hit path allocates nothing, with and without an in-process rate
//! limit, by counting heap allocations of the test thread through a wrapping global allocator.
//! With the `metrics` feature the verifier records into a real recorder's handles, and the
//! hits must still allocate nothing.
// A global allocator is an `unsafe impl GlobalAlloc`; this file is the only place that needs one,
// and its methods only forward to `System` and bump a thread-local counter.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use apikey_core::limit::{Quota, QuotaPeriod, Rate};
use apikey_core::{
    ApiKeys, Clock, Credential, NewKey, Peppers, RequestContext, SystemClock, Token,
};
use apikey_memory::{MemoryLimiter, MemoryStore};

#[cfg(feature = "metrics")]
#[path = "support/recorder.rs"]
mod recorder;

thread_local! {
    /// Allocations (alloc, alloc_zeroed, realloc) made by this thread. Const-initialised with no
    /// destructor, so reading it from inside the allocator never allocates itself.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

fn count() {
    // `try_with`: during thread teardown the slot may be gone; such allocations are not ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Polls `fut` once with a no-op waker (no runtime, which could allocate on its own); it must
/// complete without suspending.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the verification suspended"),
    }
}

/// Builds `ApiKeys` over the memory store and limiter (system clock) and creates one key.
fn setup(new: NewKey) -> (tokio::runtime::Runtime, ApiKeys, Token) {
    setup_with(new, &apikey_core::VerifierConfig::default())
}

fn setup_with(
    new: NewKey,
    config: &apikey_core::VerifierConfig,
) -> (tokio::runtime::Runtime, ApiKeys, Token) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (keys, token) = rt.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let build = || {
            ApiKeys::builder(Arc::new(MemoryStore::new()))
                .peppers(
                    Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap(),
                )
                .clock(clock.clone())
                .limiter(Arc::new(MemoryLimiter::new(clock.clone())))
                .config(config.clone())
                .build()
                .unwrap()
        };
        // The handles are registered at build, so they stay bound to this recorder (leaked:
        // the handles outlive the test's scope).
        #[cfg(feature = "metrics")]
        let keys = metrics::with_local_recorder(
            Box::leak(Box::new(recorder::TestRecorder::default())),
            build,
        );
        #[cfg(not(feature = "metrics"))]
        let keys = build();
        let token = keys.manager().create(new).await.unwrap().token;
        (keys, token)
    });
    (rt, keys, token)
}

/// Warms the cache (and limiter) with a few verifications, checking the counter sees the miss
/// allocate, then counts the allocations of 1000 hits.
fn allocations_of_hot_verifications(keys: &ApiKeys, token: &Token) -> u64 {
    allocations_from(keys, token, &RequestContext::new())
}

fn allocations_from(keys: &ApiKeys, token: &Token, ctx: &RequestContext<'_>) -> u64 {
    let v = keys.verifier();
    let ctx = *ctx;
    let before = allocations();
    ready(v.verify(Credential::new(token.expose()), &ctx)).expect("verifies");
    assert!(
        allocations() > before,
        "the first (missing) verification fills the cache, so the counter must see it allocate"
    );
    for _ in 0..10 {
        ready(v.verify(Credential::new(token.expose()), &ctx)).expect("verifies");
    }
    let before = allocations();
    for _ in 0..1000 {
        let verified = ready(v.verify(Credential::new(token.expose()), &ctx)).expect("verifies");
        drop(std::hint::black_box(verified));
    }
    allocations() - before
}

#[test]
fn cache_hit_without_limits_allocates_nothing() {
    let (_rt, keys, token) = setup(NewKey::new("plain"));
    assert_eq!(allocations_of_hot_verifications(&keys, &token), 0);
}

/// Every threat detector on: the hit sketches the client's network (one atomic) and checks
/// for a network block (one atomic load), and allocates nothing for either.
#[test]
fn cache_hit_with_every_threat_detector_on_allocates_nothing() {
    let config = apikey_core::VerifierConfig {
        threats: apikey_core::threat::ThreatPolicy::recommended(),
        ..apikey_core::VerifierConfig::default()
    };
    let (_rt, keys, token) = setup_with(NewKey::new("watched"), &config);
    let ctx = RequestContext::new().client_ip(Some("203.0.113.9".parse().unwrap()));
    assert_eq!(allocations_from(&keys, &token, &ctx), 0);
}

#[test]
fn cache_hit_with_a_memory_rate_limit_and_quota_allocates_nothing() {
    let rate = Rate::with_burst(1_000_000, Duration::from_secs(1), 1_000_000_000).unwrap();
    let quota = Quota {
        limit: 1_000_000_000_000,
        period: QuotaPeriod::Month,
    };
    let (_rt, keys, token) = setup(NewKey::new("rated").rate_limit(rate).quota(quota));
    assert_eq!(allocations_of_hot_verifications(&keys, &token), 0);
}

/// A key charged against its owner's pool (rate and quota) and its tenant's (quota) besides its
/// own rate: the pools were resolved when the key was cached, so a hit still allocates nothing.
#[test]
fn cache_hit_with_two_pools_allocates_nothing() {
    use apikey_core::Change;
    use apikey_core::catalog::Preset;
    use apikey_core::limit::PoolLimits;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (keys, token) = rt.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = MemoryStore::new();
        let keys = ApiKeys::builder(Arc::new(store.clone()))
            .peppers(Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap())
            .clock(clock.clone())
            .catalog(Arc::new(store))
            .limiter(Arc::new(MemoryLimiter::new(clock.clone())))
            .build()
            .unwrap();
        let rate = Rate::with_burst(1_000_000, Duration::from_secs(1), 1_000_000_000).unwrap();
        let quota = Quota {
            limit: 1_000_000_000_000,
            period: QuotaPeriod::Month,
        };
        let m = keys.manager();
        let owner = PoolLimits {
            rate: Some(rate),
            quota: Some(quota),
            credits: None,
        };
        let tenant = PoolLimits {
            quota: Some(quota),
            ..PoolLimits::default()
        };
        for (name, limits) in [("owner:*", owner), ("tenant", tenant)] {
            m.save_preset(None, Preset::pool(name, limits), 0, Change::new())
                .await
                .unwrap();
        }
        let new = NewKey::new("pooled").owner("acme").rate_limit(rate);
        let token = m.create(new).await.unwrap().token;
        (keys, token)
    });
    let _rt = rt;
    assert_eq!(allocations_of_hot_verifications(&keys, &token), 0);
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocations() > before);
    drop(v);
}
