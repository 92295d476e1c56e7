//! The cache, limiter and lease conformance cases on a three-master Redis Cluster started by the
//! test, plus invalidations fanned out across nodes and a confirmed revocation.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::threat::{Detector, KeySketch, NetworkTally, SharedThreatCounts};
use apikey_core::{
    ApiKeys, Cache, Change, Credential, KeyStore, LookupId, ManualClock, NewKey, Peppers,
    Rejection, RejectionKind, RequestContext, TenantScope,
};
use apikey_memory::MemoryStore;
use apikey_redis::{
    RedisCache, RedisConfirmer, RedisConnection, RedisInstances, RedisLeases, RedisLimiter,
    RedisThreatShare, RevocationListener,
};
use apikey_testkit::{cache, leases, limiter};
use futures_util::StreamExt;

use common::cluster::Cluster;

async fn connect(urls: &[String]) -> RedisConnection {
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    RedisConnection::connect_cluster(&nodes)
        .await
        .expect("cluster connection")
}

macro_rules! run {
    ($suite:ident, $make:expr; $($case:ident)*) => {
        $( $suite::$case($make).await; )*
    };
}

#[test]
fn conformance_and_fan_out_on_a_three_master_cluster() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let urls = cluster.urls();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let conn = connect(&urls).await;
            assert!(conn.is_cluster());
            let make_limiter = |clock: ManualClock| {
                let conn = conn.clone();
                async move {
                    RedisLimiter::new(conn)
                        .with_prefix(common::prefix())
                        .with_clock(Arc::new(clock))
                        .with_call_budget(Duration::from_secs(10))
                }
            };
            let make_cache = |clock: ManualClock| {
                let conn = conn.clone();
                async move {
                    RedisCache::new(conn, &Peppers::random())
                        .with_prefix(common::prefix())
                        .with_clock(Arc::new(clock))
                }
            };
            run!(limiter, make_limiter;
                rate_admits_burst_then_limits rate_recovers_after_retry_after rate_is_per_key
                rate_cost_above_one endpoint_limits_are_per_key_and_endpoint
                quota_day_resets_at_midnight_utc quota_month_resets_on_the_first
                quota_year_resets_on_january_first quota_is_shared_by_lineage quota_cost_above_one
                quota_denial_consumes_no_rate_budget rate_denial_consumes_no_quota
                endpoint_denial_consumes_nothing_else allowed_reports_tightest_limit
                limited_reports_longest_wait empty_policy_always_allows
                concurrent_rate_at_limit_admits_one concurrent_quota_at_limit_admits_one);
            // A key and its pools under one tag: the cluster refuses a script across slots.
            run!(limiter, make_limiter;
                a_pool_refusal_charges_nothing pools_are_per_tenant_and_reported
                one_time_credits_stay_one_time credits_refill_on_the_chosen_day
                credits_are_topped_up_and_set credits_and_rates_are_all_or_nothing
                twenty_keys_cannot_exceed_their_owner_pool
                reservations_settle_once_and_expire_at_the_estimate
                reserve_and_settle_account_for_every_credit);
            run!(cache, make_cache;
                put_get_round_trip entry_expires_exactly_at_ttl get_reports_remaining_life
                reads_do_not_extend_ttl
                invalidate_refuses_older_fill tombstone_expires_after_ttl
                lookup_ids_are_independent);
            // Every lease script touches one slot (the `{leases}` tag), or the cluster refuses it.
            let make_leases = || RedisLeases::new(conn.clone()).with_prefix(common::prefix());
            run!(leases, &make_leases();
                first_claim_wins claim_after_until_is_a_takeover taken_over_holder_is_fenced_out
                finish_ok_completes_the_period finish_failed_keeps_the_period_due
                release_leaves_the_period_due periods_compare_exactly renew_extends_the_lease
                jobs_lists_every_job instants_round_trip_at_millisecond_precision
                hostile_names_are_stored_verbatim concurrent_claims_admit_exactly_one);

            // An invalidation written on whichever master owns the lookup id reaches a
            // subscriber on every node.
            let cache =
                RedisCache::new(conn.clone(), &Peppers::random()).with_prefix(common::prefix());
            let mut subs = Vec::new();
            for url in &urls {
                let client = redis::Client::open(url.as_str()).expect("url");
                let mut ps = client.get_async_pubsub().await.expect("pubsub");
                ps.subscribe(cache.channel()).await.expect("subscribe");
                subs.push(ps);
            }
            let lookup = LookupId::generate();
            cache
                .invalidate(&lookup, 3, Duration::from_secs(60))
                .await
                .expect("invalidate");
            for ps in &mut subs {
                let msg = tokio::time::timeout(Duration::from_secs(5), ps.on_message().next())
                    .await
                    .expect("message within 5 s")
                    .expect("stream open");
                assert_eq!(msg.get_payload::<String>().unwrap(), format!("{lookup} 3"));
            }

            // The registry and confirmations touch one slot (the `{instances}` tag).
            let prefix = common::prefix();
            let peppers = Peppers::random();
            let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
            let mut nodes = Vec::new();
            for _ in 0..3 {
                let cache = RedisCache::new(conn.clone(), &peppers).with_prefix(prefix.clone());
                let keys = ApiKeys::builder(Arc::clone(&store))
                    .peppers(peppers.clone())
                    .shared_cache(Arc::new(cache.clone()))
                    .confirmer(Arc::new(RedisConfirmer::new(
                        RedisInstances::new(conn.clone()).with_prefix(prefix.clone()),
                    )))
                    .build()
                    .expect("build");
                let listener = RevocationListener::spawn(&conn, &cache, keys.verifier().clone());
                assert!(listener.wait_subscribed(1, Duration::from_secs(5)).await);
                nodes.push((keys, listener));
            }
            let m = nodes[0].0.manager();
            let k = m.create(NewKey::new("k")).await.expect("create");
            let done = m
                .revoke_confirmed(
                    &TenantScope::All,
                    k.record.id,
                    Change::new(),
                    Duration::from_secs(5),
                )
                .await
                .expect("revoke");
            assert!(done.confirmation.is_complete(), "{:?}", done.confirmation);
            assert_eq!(done.confirmation.acknowledged.len(), 3);

            // A threat detector's network block, shared across nodes: every instance refuses it.
            let live = m.create(NewKey::new("live")).await.expect("create");
            let cache = RedisCache::new(conn.clone(), &peppers).with_prefix(prefix.clone());
            RedisThreatShare::new(conn.clone(), &cache)
                .share(
                    "203.0.113.5/32".parse().expect("network"),
                    chrono::Utc::now() + chrono::TimeDelta::minutes(10),
                )
                .await
                .expect("share a block on a cluster");
            // The network detectors' counts add up in one pipeline on a cluster too.
            let window_start = chrono::DateTime::from_timestamp_millis(
                chrono::Utc::now().timestamp_millis() / 600_000 * 600_000,
            )
            .expect("window");
            let tally = |detector, network: &str, events, distinct: Vec<u64>| NetworkTally {
                detector,
                network: network.parse().expect("network"),
                window_start,
                window: Duration::from_secs(600),
                events,
                distinct,
            };
            let tallies = [
                tally(
                    Detector::CredentialStuffing,
                    "198.51.100.7/32",
                    0,
                    vec![1, 2, 3],
                ),
                tally(Detector::RevokedKeyUse, "2001:db8::/64", 4, Vec::new()),
            ];
            let share = RedisThreatShare::new(conn.clone(), &cache);
            assert_eq!(share.add(&tallies).await.expect("add"), [3, 4]);
            let again = [
                tally(
                    Detector::CredentialStuffing,
                    "198.51.100.7/32",
                    0,
                    vec![3, 4],
                ),
                tally(Detector::RevokedKeyUse, "2001:db8::/64", 2, Vec::new()),
            ];
            assert_eq!(share.add(&again).await.expect("add"), [4, 6]);
            let sketch = |sketch| KeySketch {
                key: live.record.id,
                window_start,
                window: Duration::from_secs(600),
                sketch,
            };
            share.merge_sketches(&[sketch(1)]).await.expect("merge");
            assert_eq!(
                share
                    .merge_sketches(&[sketch(1 << 50)])
                    .await
                    .expect("merge"),
                [1 | (1 << 50)]
            );
            let ctx = RequestContext::new().client_ip(Some([203, 0, 113, 5].into()));
            let deadline = std::time::Instant::now() + Duration::from_secs(1);
            for (keys, _) in &nodes {
                loop {
                    let r = keys
                        .verifier()
                        .verify(Credential::new(live.token.expose()), &ctx)
                        .await;
                    if r.as_ref().err().map(Rejection::kind) == Some(RejectionKind::TooManyFailures)
                    {
                        break;
                    }
                    assert!(
                        std::time::Instant::now() < deadline,
                        "a node still serves the blocked network"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
    drop(cluster);
}
