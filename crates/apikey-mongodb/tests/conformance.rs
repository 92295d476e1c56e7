//! Every `apikey-testkit` store, audit, lease, tenant settings and webhook case on a MongoDB-wire
//! server. Needs `APIKEY_TEST_MONGODB_URL` (skipped without it, except in CI); each case runs on a
//! database of its own, one case at a time.

mod common;

apikey_testkit::key_store_suite!(
    {
        let Some(url) = common::url() else { return };
        common::store(url)
    },
    legacy
);
apikey_testkit::audit_store_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
apikey_testkit::tenant_settings_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
apikey_testkit::webhook_store_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
apikey_testkit::request_log_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
apikey_testkit::analytics_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
// BriskDB refuses parallel writers (resets, "database is busy"), so the suite's concurrency case
// is replaced by `concurrent_claims_apply_at_most_one` below.
apikey_testkit::lease_store_suite!(
    {
        let Some(url) = common::url() else { return };
        common::store(url)
    },
    serial_writes
);

/// Eight overlapping claims of one job and period: at most one wins, and exactly one was ever
/// applied — the fence counts applied claims, so it is 1 even if the server refused some claims
/// or lost the winner's reply. Refusals are allowed as `Unavailable` only (BriskDB's answer to
/// parallel writers); on MongoDB every claim answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_apply_at_most_one() {
    use apikey_core::ErrorKind;
    use apikey_core::jobs::LeaseStore;
    use apikey_testkit::fixtures::base_time;

    let Some(url) = common::url() else { return };
    let store = common::store(url).await;
    let until = base_time() + chrono::TimeDelta::seconds(30);
    let claim = |i: u32| {
        let store = &store;
        async move {
            store
                .try_claim("expiry", 7, &format!("instance-{i}"), base_time(), until)
                .await
        }
    };
    let (a, b, c, d, e, f, g, h) = tokio::join!(
        claim(0),
        claim(1),
        claim(2),
        claim(3),
        claim(4),
        claim(5),
        claim(6),
        claim(7)
    );
    let mut winners = Vec::new();
    for outcome in [a, b, c, d, e, f, g, h] {
        match outcome {
            Ok(Some(lease)) => winners.push(lease),
            Ok(None) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}"),
        }
    }
    assert!(winners.len() <= 1, "winners: {winners:?}");
    let jobs = store.jobs().await.expect("jobs");
    assert!(jobs.len() <= 1);
    if let Some(state) = jobs.first() {
        assert_eq!(state.fence, 1, "exactly one claim applied: {state:?}");
    }
    if let Some(winner) = winners.first() {
        assert_eq!(jobs[0].holder.as_deref(), Some(winner.holder.as_str()));
    }
}

/// Three verifiers (instances) over one database: their flushed usage adds up.
#[tokio::test]
async fn usage_from_three_verifiers_adds_up() {
    let Some(url) = common::url() else { return };
    let store = std::sync::Arc::new(common::store(url).await);
    apikey_testkit::analytics_flush::three_verifiers_add_up(|| {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}
