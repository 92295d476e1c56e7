//! The [`Cache`] conformance suite, driven by a [`ManualClock`]: round trip, expiry exactly `ttl`
//! after insertion (reads never extend it), versioned invalidation with tombstones, independence
//! of lookup ids.
//!
//! Each case takes a factory `FnOnce(ManualClock) -> impl Future<Output = C>`: build your cache on
//! that clock (for example `|clock| async move { MyCache::new(Arc::new(clock)) }`). Run them all
//! with [`cache_suite!`](crate::cache_suite).

use std::future::Future;
use std::time::Duration;

use apikey_core::{Cache, Clock, KeyRecord, LookupId, ManualClock};
use chrono::TimeDelta;

use crate::fixtures;

const TTL: Duration = Duration::from_secs(60);

async fn setup<C, F, Fut>(make: F) -> (C, ManualClock)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let clock = ManualClock::fixed();
    let cache = make(clock.clone()).await;
    (cache, clock)
}

fn record(version: u64) -> KeyRecord {
    let mut r = fixtures::full_record(None, fixtures::base_time());
    r.version = version;
    r
}

fn with_version(r: &KeyRecord, version: u64) -> KeyRecord {
    let mut out = r.clone();
    out.version = version;
    out.name = format!("version {version}");
    out
}

async fn get<C: Cache>(cache: &C, lookup: &LookupId) -> Option<KeyRecord> {
    cache
        .get(lookup)
        .await
        .expect("cache get")
        .map(|hit| hit.record)
}

fn ms(n: i64) -> TimeDelta {
    TimeDelta::milliseconds(n)
}

/// A put record reads back equal in every field; an unknown lookup id is a miss.
pub async fn put_get_round_trip<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, _clock) = setup(make).await;
    let r = record(3);
    assert_eq!(get(&cache, &r.lookup_id).await, None, "empty cache");
    cache.put(&r, TTL).await.expect("put");
    assert_eq!(get(&cache, &r.lookup_id).await, Some(r.clone()));
    assert_eq!(get(&cache, &r.lookup_id).await, Some(r), "a second read");
    assert_eq!(
        get(&cache, &LookupId::generate()).await,
        None,
        "unknown lookup id"
    );
}

/// The entry is there 1 ms before `ttl` and gone exactly at `ttl` after the put.
pub async fn entry_expires_exactly_at_ttl<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, clock) = setup(make).await;
    let r = record(1);
    cache.put(&r, TTL).await.expect("put");
    clock.advance(TimeDelta::from_std(TTL).expect("ttl") - ms(1));
    assert_eq!(
        get(&cache, &r.lookup_id).await,
        Some(r.clone()),
        "1 ms before ttl"
    );
    clock.advance(ms(1));
    assert_eq!(get(&cache, &r.lookup_id).await, None, "exactly at ttl");
    clock.advance(TimeDelta::hours(1));
    assert_eq!(get(&cache, &r.lookup_id).await, None, "long after ttl");
}

/// A hit reports the time its entry has left, to the millisecond: the verifier's first-level
/// entry made from it must not outlive it (otherwise a revocation seen here could keep verifying
/// elsewhere for up to twice the ttl).
pub async fn get_reports_remaining_life<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, clock) = setup(make).await;
    let r = record(1);
    cache.put(&r, TTL).await.expect("put");
    let left = |hit: Option<apikey_core::CachedRecord>| hit.expect("a hit").expires_in;
    let fresh = left(cache.get(&r.lookup_id).await.expect("get"));
    assert!(
        fresh <= TTL && fresh + Duration::from_millis(1) >= TTL,
        "just after the put: {fresh:?}"
    );
    clock.advance(TimeDelta::seconds(45));
    let later = left(cache.get(&r.lookup_id).await.expect("get"));
    let want = Duration::from_secs(15);
    assert!(
        later <= want && later + Duration::from_millis(1) >= want,
        "45 s after a 60 s put: {later:?} left, want 15 s"
    );
}

/// Reading an entry (often, until just before expiry) does not extend its life: time-to-live
/// from insertion, never time-to-idle. A new put starts a new ttl.
pub async fn reads_do_not_extend_ttl<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, clock) = setup(make).await;
    let r = record(1);
    let start = clock.now();
    cache.put(&r, TTL).await.expect("put");
    for _ in 0..59 {
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(
            get(&cache, &r.lookup_id).await,
            Some(r.clone()),
            "at {}",
            clock.now() - start
        );
    }
    clock.advance(ms(999));
    assert!(get(&cache, &r.lookup_id).await.is_some(), "1 ms before ttl");
    clock.advance(ms(1));
    assert_eq!(
        get(&cache, &r.lookup_id).await,
        None,
        "at ttl despite steady reads"
    );

    cache.put(&r, TTL).await.expect("put again");
    clock.advance(TimeDelta::seconds(59));
    assert_eq!(
        get(&cache, &r.lookup_id).await,
        Some(r),
        "the new put has its own ttl"
    );
}

/// `invalidate(v)` drops the entry; then a fill of an older version is refused, while the same
/// version and newer ones are accepted; an entry also refuses an older version.
pub async fn invalidate_refuses_older_fill<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, _clock) = setup(make).await;
    let v3 = record(3);
    let lookup = v3.lookup_id;
    cache.put(&v3, TTL).await.expect("put");
    cache.invalidate(&lookup, 4, TTL).await.expect("invalidate");
    assert_eq!(get(&cache, &lookup).await, None, "invalidated");

    for old in [3, 2, 0] {
        cache
            .put(&with_version(&v3, old), TTL)
            .await
            .expect("put is not an error");
        assert_eq!(
            get(&cache, &lookup).await,
            None,
            "fill of version {old} after a tombstone of 4"
        );
    }
    let v4 = with_version(&v3, 4);
    cache.put(&v4, TTL).await.expect("put");
    assert_eq!(
        get(&cache, &lookup).await,
        Some(v4.clone()),
        "same version as the tombstone"
    );
    let v6 = with_version(&v3, 6);
    cache.put(&v6, TTL).await.expect("put");
    assert_eq!(
        get(&cache, &lookup).await,
        Some(v6.clone()),
        "newer version replaces"
    );
    cache.put(&v4, TTL).await.expect("put");
    assert_eq!(
        get(&cache, &lookup).await,
        Some(v6),
        "an older version never replaces a newer entry"
    );
}

/// The tombstone lives for its own ttl: an older fill is refused 1 ms before it ends and
/// accepted once it has expired.
pub async fn tombstone_expires_after_ttl<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, clock) = setup(make).await;
    let v2 = record(2);
    let lookup = v2.lookup_id;
    let tomb = Duration::from_secs(10);
    cache
        .invalidate(&lookup, 5, tomb)
        .await
        .expect("invalidate an absent entry");
    clock.advance(TimeDelta::seconds(10) - ms(1));
    cache.put(&v2, TTL).await.expect("put");
    assert_eq!(
        get(&cache, &lookup).await,
        None,
        "1 ms before the tombstone expires"
    );
    clock.advance(ms(1));
    cache.put(&v2, TTL).await.expect("put");
    assert_eq!(
        get(&cache, &lookup).await,
        Some(v2),
        "after the tombstone expired"
    );
}

/// Entries, invalidations and tombstones of one lookup id do not affect another, including one
/// that differs only in case.
pub async fn lookup_ids_are_independent<C, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = C>,
    C: Cache,
{
    let (cache, clock) = setup(make).await;
    let id = |s: &str| LookupId::parse(s).expect("valid lookup id");
    let mut a = record(1);
    a.lookup_id = id("cacheAbcdefg");
    let mut upper = record(1);
    upper.lookup_id = id("CACHEaBCDEFG");
    let mut b = record(1);
    b.lookup_id = id("otherKey0123");
    cache.put(&a, TTL).await.expect("put");
    cache.put(&upper, TTL).await.expect("put");
    cache.put(&b, Duration::from_secs(120)).await.expect("put");
    cache
        .invalidate(&a.lookup_id, 9, TTL)
        .await
        .expect("invalidate");
    assert_eq!(get(&cache, &a.lookup_id).await, None);
    assert_eq!(
        get(&cache, &upper.lookup_id).await,
        Some(upper.clone()),
        "case-different id"
    );
    assert_eq!(
        get(&cache, &b.lookup_id).await,
        Some(b.clone()),
        "b untouched by a's invalidation"
    );

    let mut fresh = record(1);
    fresh.lookup_id = id("freshKey0123");
    cache.put(&fresh, TTL).await.expect("put");
    assert_eq!(
        get(&cache, &fresh.lookup_id).await,
        Some(fresh),
        "a's tombstone blocks only a"
    );
    cache.put(&with_version(&upper, 5), TTL).await.expect("put");

    clock.advance(TimeDelta::seconds(60));
    assert_eq!(
        get(&cache, &upper.lookup_id).await,
        None,
        "upper expired with its own ttl"
    );
    assert_eq!(
        get(&cache, &b.lookup_id).await,
        Some(b),
        "b keeps its own, longer ttl"
    );
}
