//! `quota.threshold` end to end: a key with a daily quota of 10 raises 80 % and 100 % once each
//! per day, through the verifier, the audit log and a webhook delivery.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::audit::QuotaThresholdLog;
use apikey_core::event::{CollectingSink, FanOut};
use apikey_core::limit::{Quota, QuotaPeriod};
use apikey_core::{ApiKeys, Clock, Credential, NewKey, Peppers, RequestContext};
use apikey_memory::MemoryLimiter;
use common::{Receiver, fixture, local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_and_a_hundred_percent_once_per_period() {
    let rx = Receiver::start().await;
    let f = fixture();
    f.hooks.create(local(&rx)).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(f.clock.clone());
    let seen = Arc::new(CollectingSink::default());
    let keys = ApiKeys::builder(Arc::new(f.store.clone()))
        .peppers(Peppers::random())
        .clock(clock.clone())
        .limiter(Arc::new(MemoryLimiter::new(clock.clone())))
        .events(Arc::new(FanOut(vec![
            Arc::new(QuotaThresholdLog::new(Arc::new(f.store.clone()))),
            seen.clone(),
        ])))
        .build()
        .unwrap();
    let key = keys
        .manager()
        .create(NewKey::new("metered").quota(Quota {
            limit: 10,
            period: QuotaPeriod::Day,
        }))
        .await
        .unwrap();
    let verify = || async {
        keys.verifier()
            .verify(Credential::new(key.token.expose()), &RequestContext::new())
            .await
    };
    // The verifier reports from spawned tasks, and the fan-out calls the audit sink before the
    // collecting one: once the collector has n reports, n appends are done.
    let wait_for = |n: usize| {
        let seen = seen.clone();
        async move {
            for _ in 0..400 {
                let got = seen
                    .events()
                    .iter()
                    .filter(|e| e.kind.name() == "quota.threshold")
                    .count();
                if got >= n {
                    return got;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            0
        }
    };
    for _ in 0..10 {
        assert!(verify().await.is_ok());
    }
    assert!(verify().await.is_err(), "the 11th is over the quota");
    assert_eq!(wait_for(2).await, 2);
    f.dispatcher.run_until_idle().await.unwrap();
    let mut got: Vec<(String, u64, u64)> = rx
        .got()
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .filter(|v| v["type"] == "quota.threshold")
        .map(|v| {
            let d = &v["data"]["details"];
            assert_eq!(v["data"]["subject"]["id"], key.record.id.to_string());
            (
                d["period_start"].as_str().unwrap().to_owned(),
                d["percent"].as_u64().unwrap(),
                d["used"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].1, got[0].2), (80, 8));
    assert_eq!((got[1].1, got[1].2), (100, 10));

    // The next day: a new period, a new 80 %.
    f.clock.advance(chrono::Duration::days(1));
    for _ in 0..8 {
        assert!(verify().await.is_ok());
    }
    assert_eq!(wait_for(3).await, 3);
    let r = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
}
