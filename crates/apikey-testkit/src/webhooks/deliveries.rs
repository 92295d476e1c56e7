//! Delivery cases: enqueue, due, attempts, listing, redeliver, counting, retention, payloads.

use apikey_core::TenantScope;
use apikey_core::webhook::{
    AttemptOutcome, Delivery, DeliveryFilter, DeliveryState, Subscription, WebhookStore,
};
use uuid::Uuid;

use super::{at, delivery, delivery_with, subscription, t};

async fn sub<S: WebhookStore + ?Sized>(store: &S, tenant: Option<&str>) -> Subscription {
    let s = subscription(tenant, 0);
    store.insert_subscription(&s).await.expect("insert");
    s
}

async fn enqueue<S: WebhookStore + ?Sized>(store: &S, ds: &[Delivery]) -> u64 {
    store.enqueue(ds).await.expect("enqueue")
}

async fn stored<S: WebhookStore + ?Sized>(store: &S, id: Uuid) -> Delivery {
    store
        .delivery(&TenantScope::All, id)
        .await
        .expect("delivery")
        .expect("stored")
}

fn ids(ds: &[Delivery]) -> Vec<Uuid> {
    ds.iter().map(|d| d.id).collect()
}

/// A delivery comes back as enqueued; enqueuing the same id again stores nothing new (0) and
/// leaves the stored state alone, even after an attempt changed it; in a batch only the new
/// ones count.
pub async fn enqueue_is_idempotent<S: WebhookStore + ?Sized>(store: &S) {
    let s = sub(store, Some("acme")).await;
    let d = delivery(&s, 0);
    assert_eq!(enqueue(store, std::slice::from_ref(&d)).await, 1);
    assert_eq!(stored(store, d.id).await, d, "every field round-trips");
    assert_eq!(
        enqueue(store, std::slice::from_ref(&d)).await,
        0,
        "same id again"
    );

    let mut tried = d.clone();
    tried.record(at(50), &AttemptOutcome::answered(503), Some(at(60_000)));
    assert!(store.record_attempt(&tried).await.expect("record"));
    let mut fresh = d.clone();
    fresh.payload = "{\"overwritten\":true}".into();
    assert_eq!(enqueue(store, std::slice::from_ref(&fresh)).await, 0);
    assert_eq!(
        stored(store, d.id).await,
        tried,
        "a second enqueue overwrites neither state nor payload"
    );

    let other = delivery(&s, 1);
    assert_eq!(
        enqueue(store, &[d.clone(), other.clone()]).await,
        1,
        "only the new one"
    );
    assert_eq!(stored(store, other.id).await, other);
    assert_eq!(enqueue(store, &[]).await, 0, "an empty batch");
}

/// `due(now, limit)` gives pending deliveries with `next_attempt_at <= now` (the bound
/// included), earliest first, across tenants, at most `limit`.
pub async fn due_is_ordered_and_limited<S: WebhookStore + ?Sized>(store: &S) {
    let a = sub(store, Some("tenant-a")).await;
    let b = sub(store, Some("tenant-b")).await;
    let none = sub(store, None).await;
    // Enqueued out of order.
    let d3 = delivery(&a, 3_000);
    let d1 = delivery(&b, 1_000);
    let d2 = delivery(&none, 2_000);
    let later = delivery(&a, 9_000);
    let mut done = delivery(&b, 500);
    assert_eq!(
        enqueue(
            store,
            &[
                d3.clone(),
                d1.clone(),
                later.clone(),
                d2.clone(),
                done.clone()
            ]
        )
        .await,
        5
    );
    done.record(at(600), &AttemptOutcome::answered(200), None);
    assert!(store.record_attempt(&done).await.expect("record"));

    assert_eq!(
        ids(&store.due(at(3_000), 100).await.expect("due")),
        [d1.id, d2.id, d3.id]
    );
    assert_eq!(
        ids(&store.due(at(2_999), 100).await.expect("due")),
        [d1.id, d2.id],
        "next_attempt_at after now is not due"
    );
    assert_eq!(
        ids(&store.due(at(3_000), 2).await.expect("due")),
        [d1.id, d2.id],
        "limited, earliest kept"
    );
    assert!(store.due(at(999), 100).await.expect("due").is_empty());
    let all = store.due(at(100_000), 100).await.expect("due");
    assert_eq!(
        ids(&all),
        [d1.id, d2.id, d3.id, later.id],
        "a delivered one is never due"
    );
    assert_eq!(all[1], d2, "due rows decode every field");
}

/// An attempt writes state, attempts, next and last attempt, status, error and delivered-at;
/// a retried delivery moves in the due order, a delivered or failed one is no longer due, and
/// an attempt on a gone delivery is `false`.
pub async fn record_attempt_writes_every_field<S: WebhookStore + ?Sized>(store: &S) {
    let s = sub(store, Some("acme")).await;
    let mut retry = delivery(&s, 0);
    let mut ok = delivery(&s, 1);
    let mut dead = delivery(&s, 2);
    assert_eq!(
        enqueue(store, &[retry.clone(), ok.clone(), dead.clone()]).await,
        3
    );

    retry.record(at(100), &AttemptOutcome::answered(503), Some(at(60_000)));
    assert!(store.record_attempt(&retry).await.expect("record"));
    let got = stored(store, retry.id).await;
    assert_eq!(got, retry, "pending again, every attempt field written");
    assert_eq!(
        (got.attempts, got.last_status, got.next_attempt_at),
        (1, Some(503), Some(at(60_000)))
    );
    assert_eq!(got.last_error.as_deref(), Some("receiver answered 503"));
    assert_eq!(got.last_attempt_at, Some(at(100)));

    ok.record(at(200), &AttemptOutcome::answered(204), None);
    assert!(store.record_attempt(&ok).await.expect("record"));
    let got = stored(store, ok.id).await;
    assert_eq!(got, ok);
    assert_eq!(got.state, DeliveryState::Delivered);
    assert_eq!(got.delivered_at, Some(at(200)));
    assert_eq!((got.next_attempt_at, got.last_error), (None, None));

    dead.record(
        at(300),
        &AttemptOutcome::failed("timed out \u{2014} 'x'"),
        None,
    );
    assert!(store.record_attempt(&dead).await.expect("record"));
    let got = stored(store, dead.id).await;
    assert_eq!(got, dead);
    assert_eq!((got.state, got.last_status), (DeliveryState::Failed, None));

    assert!(store.due(at(59_999), 100).await.expect("due").is_empty());
    assert_eq!(
        ids(&store.due(at(60_000), 100).await.expect("due")),
        [retry.id]
    );

    // The attempt's own fields only: a changed payload in the argument is not written.
    let mut again = retry.clone();
    again.payload = "{}".into();
    again.record(at(61_000), &AttemptOutcome::answered(200), None);
    assert!(store.record_attempt(&again).await.expect("record"));
    let got = stored(store, retry.id).await;
    assert_eq!(got.payload, retry.payload, "the body is fixed at enqueue");
    assert_eq!((got.state, got.attempts), (DeliveryState::Delivered, 2));
    assert!(store.due(at(1_000_000), 100).await.expect("due").is_empty());

    let gone = delivery(&s, 5);
    assert!(
        !store.record_attempt(&gone).await.expect("gone"),
        "absent is false"
    );
    assert!(
        store
            .delivery(&TenantScope::All, gone.id)
            .await
            .expect("d")
            .is_none()
    );
}

/// Listing filters by subscription and state, newest first, at most the limit, within the
/// tenant; a tenant neither sees nor redelivers another's deliveries.
pub async fn deliveries_filter_and_order<S: WebhookStore + ?Sized>(store: &S) {
    let a1 = sub(store, Some("tenant-a")).await;
    let a2 = sub(store, Some("tenant-a")).await;
    let b = sub(store, Some("tenant-b")).await;
    let (d0, d1, d2, d3) = (
        delivery(&a1, 0),
        delivery(&a2, 1_000),
        delivery(&a1, 2_000),
        delivery(&a1, 3_000),
    );
    let db = delivery(&b, 1_500);
    assert_eq!(
        enqueue(
            store,
            &[d2.clone(), d0.clone(), db.clone(), d3.clone(), d1.clone()]
        )
        .await,
        5
    );
    let mut failed = d2.clone();
    failed.record(at(2_100), &AttemptOutcome::failed("refused"), None);
    assert!(store.record_attempt(&failed).await.expect("record"));

    let a = TenantScope::Tenant(t("tenant-a"));
    let list = |f: DeliveryFilter, scope: TenantScope| async move {
        ids(&store.deliveries(&scope, &f).await.expect("deliveries"))
    };
    assert_eq!(
        list(DeliveryFilter::default(), a.clone()).await,
        [d3.id, d2.id, d1.id, d0.id]
    );
    assert_eq!(
        list(DeliveryFilter::default(), TenantScope::All).await,
        [d3.id, d2.id, db.id, d1.id, d0.id],
        "All: every tenant's, newest first"
    );
    let by_sub = DeliveryFilter {
        subscription_id: Some(a1.id),
        ..DeliveryFilter::default()
    };
    assert_eq!(list(by_sub, a.clone()).await, [d3.id, d2.id, d0.id]);
    let by_state = DeliveryFilter {
        state: Some(DeliveryState::Failed),
        ..DeliveryFilter::default()
    };
    assert_eq!(list(by_state, a.clone()).await, [d2.id]);
    let pending_a1 = DeliveryFilter {
        subscription_id: Some(a1.id),
        state: Some(DeliveryState::Pending),
        limit: None,
    };
    assert_eq!(list(pending_a1, a.clone()).await, [d3.id, d0.id]);
    let limited = DeliveryFilter {
        limit: Some(2),
        ..DeliveryFilter::default()
    };
    assert_eq!(
        list(limited, a.clone()).await,
        [d3.id, d2.id],
        "the newest, limited"
    );
    let b_sub_from_a = DeliveryFilter {
        subscription_id: Some(b.id),
        ..DeliveryFilter::default()
    };
    assert!(
        list(b_sub_from_a, a.clone()).await.is_empty(),
        "A cannot list B's"
    );

    let got = store
        .deliveries(&a, &DeliveryFilter::default())
        .await
        .expect("list");
    assert_eq!(got[1], failed, "listed rows decode every field");
    assert!(
        store.delivery(&a, db.id).await.expect("d").is_none(),
        "A cannot see B's"
    );
    assert_eq!(
        store
            .delivery(&TenantScope::Tenant(t("tenant-b")), db.id)
            .await
            .expect("d"),
        Some(db)
    );
}

/// A redeliver makes a failed delivery pending, due at `now`, given up at the new instant,
/// with its attempts kept; it is refused across tenants and for an unknown id.
pub async fn redeliver_makes_failed_due_again<S: WebhookStore + ?Sized>(store: &S) {
    let s = sub(store, Some("tenant-a")).await;
    let mut d = delivery(&s, 0);
    assert_eq!(enqueue(store, std::slice::from_ref(&d)).await, 1);
    d.record(at(100), &AttemptOutcome::answered(500), None);
    assert!(store.record_attempt(&d).await.expect("record"));
    assert!(store.due(at(1_000_000), 10).await.expect("due").is_empty());

    let b = TenantScope::Tenant(t("tenant-b"));
    assert!(
        !store
            .redeliver(&b, d.id, at(5_000), at(90_000))
            .await
            .expect("redeliver"),
        "refused across tenants"
    );
    assert_eq!(stored(store, d.id).await, d, "and nothing changed");
    assert!(
        !store
            .redeliver(&TenantScope::All, Uuid::now_v7(), at(5_000), at(90_000))
            .await
            .expect("unknown"),
    );

    let a = TenantScope::Tenant(t("tenant-a"));
    assert!(
        store
            .redeliver(&a, d.id, at(5_000), at(90_000))
            .await
            .expect("redeliver")
    );
    let got = stored(store, d.id).await;
    assert_eq!(got.state, DeliveryState::Pending);
    assert_eq!(got.next_attempt_at, Some(at(5_000)));
    assert_eq!(got.give_up_at, at(90_000));
    assert_eq!(got.attempts, 1, "attempts are kept");
    assert_eq!(got.last_status, Some(500));
    assert_eq!(
        (got.payload, got.created_at),
        (d.payload.clone(), d.created_at)
    );
    assert!(store.due(at(4_999), 10).await.expect("due").is_empty());
    assert_eq!(ids(&store.due(at(5_000), 10).await.expect("due")), [d.id]);
    assert_eq!(store.pending_count().await.expect("count"), 1);
}

/// The pending count covers every tenant's pending deliveries, due or not, and nothing else.
pub async fn pending_count_counts_pending<S: WebhookStore + ?Sized>(store: &S) {
    assert_eq!(store.pending_count().await.expect("count"), 0);
    let a = sub(store, Some("tenant-a")).await;
    let b = sub(store, None).await;
    let mut ds = vec![
        delivery(&a, 0),
        delivery(&a, 1),
        delivery(&b, 999_999_999),
        delivery(&b, 3),
    ];
    assert_eq!(enqueue(store, &ds).await, 4);
    assert_eq!(store.pending_count().await.expect("count"), 4, "due or not");
    ds[0].record(at(10), &AttemptOutcome::answered(200), None);
    ds[3].record(at(10), &AttemptOutcome::answered(410), None);
    for d in [&ds[0], &ds[3]] {
        assert!(store.record_attempt(d).await.expect("record"));
    }
    assert_eq!(store.pending_count().await.expect("count"), 2);
}

/// Retention deletes delivered and failed deliveries created before the instant (not at it),
/// never a pending one however old; how many.
pub async fn purge_keeps_pending_and_newer<S: WebhookStore + ?Sized>(store: &S) {
    let s = sub(store, Some("acme")).await;
    let old_pending = delivery(&s, 0);
    let mut old_ok = delivery(&s, 1);
    let mut old_failed = delivery(&s, 2);
    let mut at_bound = delivery(&s, 10_000);
    let mut new_ok = delivery(&s, 20_000);
    let all = [
        old_pending.clone(),
        old_ok.clone(),
        old_failed.clone(),
        at_bound.clone(),
        new_ok.clone(),
    ];
    assert_eq!(enqueue(store, &all).await, 5);
    old_ok.record(at(50), &AttemptOutcome::answered(200), None);
    old_failed.record(at(50), &AttemptOutcome::failed("gone"), None);
    at_bound.record(at(10_050), &AttemptOutcome::answered(200), None);
    new_ok.record(at(20_050), &AttemptOutcome::answered(200), None);
    for d in [&old_ok, &old_failed, &at_bound, &new_ok] {
        assert!(store.record_attempt(d).await.expect("record"));
    }

    assert_eq!(store.purge_deliveries(at(10_000)).await.expect("purge"), 2);
    let left = store
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .expect("list");
    assert_eq!(ids(&left), [new_ok.id, at_bound.id, old_pending.id]);
    assert_eq!(
        store.purge_deliveries(at(10_000)).await.expect("purge"),
        0,
        "nothing left to purge"
    );
    assert_eq!(store.pending_count().await.expect("count"), 1);
    assert_eq!(
        ids(&store.due(at(0), 10).await.expect("due")),
        [old_pending.id]
    );
}

/// Payloads with unicode, quotes, backslashes and newlines, and a 64 KiB body, come back byte
/// for byte, as do event types and tenants at the edges.
pub async fn payloads_round_trip<S: WebhookStore + ?Sized>(store: &S) {
    let s = sub(store, Some("t".repeat(64).as_str())).await;
    let unicode = "{\"note\":\"\u{1F511} caf\u{e9} \u{65e5}\u{672c} \\\"q\\\" 'x' \\\\ \\n\",\"k\":\"\u{10FFFF}\"}";
    let d1 = delivery_with(&s, 0, "key.created", unicode.to_owned());
    let big = format!(
        "{{\"blob\":\"{}\"}}",
        "\u{e9}a\u{1F600}b".repeat(64 * 1024 / 8)
    );
    assert!(big.len() >= 64 * 1024, "{}", big.len());
    let d2 = delivery_with(&s, 1, "ping", big.clone());
    assert_eq!(enqueue(store, &[d1.clone(), d2.clone()]).await, 2);
    assert_eq!(stored(store, d1.id).await.payload, unicode);
    let got = stored(store, d2.id).await;
    assert_eq!(got.payload.len(), big.len());
    assert!(got.payload == big, "the 64 KiB body round-trips");
    assert_eq!(got, d2);
    let due = store.due(at(10), 10).await.expect("due");
    assert_eq!(due, [d1, d2]);
}
