//! Deliveries end to end on the memory store: a real key change becomes a signed POST that the
//! Standard Webhooks reference library accepts; retries, dead letters, redelivery, rotation,
//! pings, filters and tenant isolation.

mod common;

use std::time::Duration;

use apikey_core::webhook::{DeliveryFilter, DeliveryState, EventFilter};
use apikey_core::{Change, Clock, NewKey, TenantId, TenantScope};
use apikey_webhooks::NewSubscription;
use common::{Receiver, fixture, local};
use standardwebhooks::Webhook;

fn reference_accepts(secret: &str, r: &common::Received) -> bool {
    Webhook::new(secret)
        .unwrap()
        .verify(&r.body, &r.headers)
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_change_arrives_signed_and_the_reference_verifier_accepts_it() {
    let rx = Receiver::start().await;
    let f = fixture();
    let (sub, secret) = f.hooks.create(local(&rx)).await.unwrap();
    let key = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    f.keys
        .manager()
        .revoke(&TenantScope::All, key.record.id, Change::by("alice"))
        .await
        .unwrap();

    let report = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!((report.enqueued, report.delivered), (2, 2), "{report:?}");
    // Sent concurrently: arrival order is not event order (receivers order by timestamp).
    let mut types = rx.types();
    types.sort();
    assert_eq!(types, ["key.created", "key.revoked"]);
    let mut got = rx.got();
    got.sort_by_key(|r| r.body.windows(11).any(|w| w == b"key.revoked"));
    for r in &got {
        assert!(reference_accepts(&secret.expose(), r), "reference verifier");
        assert!(!reference_accepts(
            &apikey_core::webhook::WebhookSecret::generate()
                .unwrap()
                .expose(),
            r
        ));
    }
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["schema_version"], 1);
    assert_eq!(body["data"]["actor"], "alice");
    assert_eq!(body["data"]["key"]["state"], "revoked");
    assert_eq!(body["data"]["previous"]["state"], "active");
    assert_eq!(body["data"]["key"]["id"], key.record.id.to_string());
    let id = got[1].headers["webhook-id"].to_str().unwrap();
    assert_eq!(body["data"]["event_id"], id, "webhook-id is the event id");
    let text = String::from_utf8(got[1].body.to_vec()).unwrap();
    assert!(!text.contains(key.token.expose()), "no token in a payload");
    assert!(!text.contains("hash"), "no hash field in a payload: {text}");

    let deliveries = f
        .hooks
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered && d.subscription_id == sub.id)
    );
    assert!(
        f.dispatcher.run_until_idle().await.unwrap().is_idle(),
        "nothing twice"
    );
    assert_eq!(rx.got().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_with_backoff_then_dead_letter_and_redeliver() {
    let rx = Receiver::start().await;
    let f = fixture();
    f.hooks.create(local(&rx)).await.unwrap();
    rx.answer(&[500, 503]);
    f.keys.manager().create(NewKey::new("a")).await.unwrap();

    let first = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!((first.attempts, first.retrying), (1, 1), "{first:?}");
    assert_eq!(f.dispatcher.pending().await.unwrap(), 1);
    let d = &f
        .hooks
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(d.last_status, Some(500));
    assert_eq!(d.last_error.as_deref(), Some("receiver answered 500"));
    // Stored instants are whole milliseconds and the clock's is not, so a wait drawn at the 1 s
    // floor can read up to 1 ms short of it.
    let wait = d.next_attempt_at.unwrap() - f.clock.now();
    assert!(
        wait > chrono::Duration::milliseconds(999) && wait <= chrono::Duration::seconds(5),
        "first wait within the first bound: {wait}"
    );

    // Not due yet: nothing is sent.
    assert!(f.dispatcher.run_until_idle().await.unwrap().is_idle());
    f.clock.advance(chrono::Duration::seconds(6));
    let second = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!((second.attempts, second.retrying), (1, 1), "503 retried");
    f.clock.advance(chrono::Duration::seconds(11));
    let third = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!(third.delivered, 1, "{third:?}");
    assert_eq!(rx.got().len(), 3);
    let ids: std::collections::HashSet<_> = rx
        .got()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same webhook-id");

    // A receiver down past the maximum age: dead letter, then a manual redeliver.
    rx.answer(&[500; 64]);
    f.keys.manager().create(NewKey::new("b")).await.unwrap();
    f.dispatcher.run_until_idle().await.unwrap();
    for _ in 0..40 {
        f.clock.advance(chrono::Duration::seconds(2 * 60 * 60));
        f.dispatcher.run_until_idle().await.unwrap();
    }
    let failed = f
        .hooks
        .deliveries(
            &TenantScope::All,
            &DeliveryFilter {
                state: Some(DeliveryState::Failed),
                ..DeliveryFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "dead-lettered after three days");
    assert!(failed[0].attempts > 3);
    assert_eq!(f.dispatcher.pending().await.unwrap(), 0);
    rx.succeed();
    f.hooks
        .redeliver(&TenantScope::All, failed[0].id)
        .await
        .unwrap();
    let again = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!(again.delivered, 1, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_beside_the_old_one_for_the_grace_period() {
    let rx = Receiver::start().await;
    let f = fixture();
    let (sub, old) = f.hooks.create(local(&rx)).await.unwrap();
    let new = f
        .hooks
        .rotate(&TenantScope::All, sub.id, Duration::from_secs(60))
        .await
        .unwrap();
    f.hooks.ping(&TenantScope::All, sub.id).await.unwrap();
    f.dispatcher.run_until_idle().await.unwrap();
    let r = &rx.got()[0];
    assert_eq!(
        r.headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    assert!(reference_accepts(&old.expose(), r), "old secret in grace");
    assert!(reference_accepts(&new.expose(), r), "new secret");

    // Within the reference verifier's five-minute tolerance of the wall clock.
    f.clock.advance(chrono::Duration::seconds(61));
    f.hooks.ping(&TenantScope::All, sub.id).await.unwrap();
    f.dispatcher.run_until_idle().await.unwrap();
    let r = &rx.got()[1];
    assert!(!reference_accepts(&old.expose(), r), "grace over");
    assert!(reference_accepts(&new.expose(), r));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "ping");
    assert_eq!(body["data"]["subscription_id"], sub.id.to_string());
    let shown = format!(
        "{:?}",
        f.hooks.get(&TenantScope::All, sub.id).await.unwrap()
    );
    assert!(
        !shown.contains(&*new.expose()) && shown.contains("<sealed>"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_tenants_and_disabled_subscriptions() {
    let rx = Receiver::start().await;
    let other = Receiver::start().await;
    let f = fixture();
    let acme = TenantId::new("acme").unwrap();
    let (only_revoked, _) = f
        .hooks
        .create(NewSubscription {
            events: EventFilter::only(["key.revoked"]).unwrap(),
            tenant: Some(acme.clone()),
            ..local(&rx)
        })
        .await
        .unwrap();
    let (globex_sub, _) = f
        .hooks
        .create(NewSubscription {
            tenant: Some(TenantId::new("globex").unwrap()),
            ..local(&other)
        })
        .await
        .unwrap();
    let m = f.keys.manager();
    let k = m
        .create(NewKey::new("svc").tenant(acme.clone()))
        .await
        .unwrap();
    m.revoke(
        &TenantScope::Tenant(acme.clone()),
        k.record.id,
        Change::new(),
    )
    .await
    .unwrap();
    f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!(rx.types(), ["key.revoked"], "filtered by type");
    assert!(
        other.got().is_empty(),
        "another tenant's events never reach it"
    );

    let acme_scope = TenantScope::Tenant(acme.clone());
    assert_eq!(f.hooks.list(&acme_scope).await.unwrap().len(), 1);
    assert!(
        f.hooks.get(&acme_scope, globex_sub.id).await.is_err(),
        "a tenant cannot see another's subscription"
    );
    assert!(f.hooks.remove(&acme_scope, globex_sub.id).await.is_err());
    assert!(
        f.hooks
            .deliveries(
                &TenantScope::Tenant(TenantId::new("globex").unwrap()),
                &DeliveryFilter::default()
            )
            .await
            .unwrap()
            .is_empty()
    );

    f.hooks
        .set_enabled(&acme_scope, only_revoked.id, false)
        .await
        .unwrap();
    let k2 = m
        .create(NewKey::new("svc2").tenant(acme.clone()))
        .await
        .unwrap();
    m.revoke(&acme_scope, k2.record.id, Change::new())
        .await
        .unwrap();
    f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!(
        rx.got().len(),
        1,
        "a disabled subscription gets nothing new"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_does_not_stall_the_others() {
    let slow = Receiver::start().await;
    let fast = Receiver::start().await;
    let f = fixture();
    slow.delay(Duration::from_secs(5));
    f.hooks.create(local(&slow)).await.unwrap();
    f.hooks.create(local(&fast)).await.unwrap();
    f.keys.manager().create(NewKey::new("a")).await.unwrap();
    let r = f.dispatcher.pump().await.unwrap();
    assert_eq!((r.delivered, r.retrying), (1, 1), "{r:?}");
    assert_eq!(fast.got().len(), 1);
    let d = f
        .hooks
        .deliveries(
            &TenantScope::All,
            &DeliveryFilter {
                state: Some(DeliveryState::Pending),
                ..DeliveryFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert!(
        d[0].last_error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        d[0].last_error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_finished_deliveries_but_never_pending_ones() {
    use apikey_core::jobs::Scheduler;
    use apikey_webhooks::DeliveryRetention;
    use std::sync::Arc;

    let rx = Receiver::start().await;
    let down = Receiver::start().await;
    let f = fixture();
    f.hooks.create(local(&rx)).await.unwrap();
    f.hooks.create(local(&down)).await.unwrap();
    down.answer(&[500; 8]);
    f.keys.manager().create(NewKey::new("a")).await.unwrap();
    f.dispatcher.run_until_idle().await.unwrap();
    let all = |f: &common::Fixture| {
        let hooks = f.hooks.clone();
        async move {
            hooks
                .deliveries(&TenantScope::All, &DeliveryFilter::default())
                .await
                .unwrap()
        }
    };
    assert_eq!(all(&f).await.len(), 2);
    let job = DeliveryRetention::new(
        Arc::new(f.store.clone()),
        Arc::new(f.clock.clone()),
        Duration::from_secs(24 * 60 * 60),
    )
    .unwrap();
    let scheduler = Scheduler::builder(Arc::new(f.store.clone()), Arc::new(f.clock.clone()))
        .job(job)
        .build()
        .unwrap();
    f.clock.advance(chrono::Duration::days(2));
    assert_eq!(scheduler.tick().await.ran().count(), 1);
    let left = all(&f).await;
    assert_eq!(left.len(), 1, "the delivered one went");
    assert_eq!(
        left[0].state,
        DeliveryState::Pending,
        "the pending one stays"
    );
}
