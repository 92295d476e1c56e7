//! Usage analytics end to end: three verifiers (instances) over one store count their
//! verifications by outcome and flush them; the store's buckets hold the sum, random tokens
//! create no rows, and a flush with nothing new adds nothing.

use std::future::Future;
use std::sync::Arc;

use apikey_core::analytics::{
    AnalyticsStore, Ranking, Resolution, SeriesQuery, TopQuery, UsageRange, UsageSubject, total,
};
use apikey_core::{
    ApiKeys, Change, Credential, KeyId, KeyStore, ManualClock, NewKey, Peppers, RequestContext,
    Scope, ScopeSet, TenantScope,
};
use chrono::TimeDelta;

use crate::fixtures::base_time;

async fn sum<S: AnalyticsStore>(
    store: &S,
    subject: UsageSubject,
) -> apikey_core::analytics::UsageCounts {
    let since = Resolution::Day.bucket(base_time());
    let points = store
        .usage_series(
            &TenantScope::All,
            &SeriesQuery {
                subject,
                resolution: Resolution::Hour,
                range: UsageRange {
                    since,
                    until: since + TimeDelta::days(1),
                },
            },
        )
        .await
        .expect("series");
    total(&points)
}

/// Three instances verify one key (admitted, refused for scope), a revoked key and garbage;
/// after their flushes the store holds exactly the sum.
pub async fn three_verifiers_add_up<S, F, Fut>(connect: F)
where
    S: KeyStore + AnalyticsStore,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    let clock = ManualClock::new(base_time());
    let peppers = Peppers::single("usage", b"a pepper for the usage analytics case".to_vec())
        .expect("peppers");
    let mut instances = Vec::new();
    for _ in 0..3 {
        let store = connect().await;
        let keys = ApiKeys::builder(store)
            .peppers(peppers.clone())
            .clock(Arc::new(clock.clone()))
            .build()
            .expect("keys");
        instances.push(keys);
    }
    let m = instances[0].manager();
    let mut new = NewKey::new("reader");
    new.scopes = ScopeSet::parse(["docs:read"]).expect("scopes");
    let live = m.create(new).await.expect("create");
    let gone = m.create(NewKey::new("gone")).await.expect("create");
    m.revoke(&TenantScope::All, gone.record.id, Change::new())
        .await
        .expect("revoke");
    let write = [Scope::new("docs:write").expect("scope")];
    for (i, keys) in instances.iter().enumerate() {
        let v = keys.verifier();
        for _ in 0..=i {
            let ctx = RequestContext::new().cost(2);
            assert!(
                v.verify(Credential::new(live.token.expose()), &ctx)
                    .await
                    .is_ok()
            );
        }
        let ctx = RequestContext::new().scopes(&write);
        assert!(
            v.verify(Credential::new(live.token.expose()), &ctx)
                .await
                .is_err()
        );
        assert!(
            v.verify(Credential::new(gone.token.expose()), &RequestContext::new())
                .await
                .is_err()
        );
        for n in 0..5 {
            let garbage = format!("not-a-token-{i}-{n}");
            assert!(
                v.verify(Credential::new(&garbage), &RequestContext::new())
                    .await
                    .is_err()
            );
        }
    }
    let store = connect().await;
    for _ in 0..2 {
        for keys in &instances {
            keys.verifier().flush_usage().await.expect("flush");
            assert_eq!(keys.verifier().unflushed_usage(), 0);
        }
        let live_sum = sum(&*store, UsageSubject::Key(live.record.id)).await;
        assert_eq!(live_sum.success, 6, "1 + 2 + 3 admissions");
        assert_eq!(live_sum.cost, 12, "each charged 2");
        assert_eq!(live_sum.scope, 3);
        assert_eq!(live_sum.rejected(), 3);
        let gone_sum = sum(&*store, UsageSubject::Key(gone.record.id)).await;
        assert_eq!(gone_sum.state, 3);
        assert_eq!(gone_sum.success, 0);
        let garbage = sum(&*store, UsageSubject::Unattributed).await;
        assert_eq!(garbage.invalid, 15);
    }
    let since = Resolution::Day.bucket(base_time());
    let top = store
        .top_keys(
            &TenantScope::All,
            &TopQuery {
                by: Ranking::Rejections,
                resolution: Resolution::Day,
                range: UsageRange {
                    since,
                    until: since + TimeDelta::days(1),
                },
                limit: 100,
            },
        )
        .await
        .expect("top");
    let ranked: Vec<KeyId> = top.iter().map(|k| k.key_id).collect();
    assert_eq!(
        ranked.len(),
        2,
        "garbage tokens make no key rows: {ranked:?}"
    );
    assert!(ranked.contains(&live.record.id) && ranked.contains(&gone.record.id));
    let stored = store
        .get(&TenantScope::All, live.record.id)
        .await
        .expect("get")
        .expect("the key");
    assert_eq!(
        stored.usage_count, 6,
        "the key store's count is admissions only"
    );
}
