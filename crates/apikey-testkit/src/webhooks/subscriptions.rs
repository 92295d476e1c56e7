//! Subscription cases: round trip, conflict, compare-and-set, tenants apart, removal.

use apikey_core::webhook::{
    DeliveryFilter, EventFilter, Subscription, SubscriptionId, WebhookStore,
};
use apikey_core::{ErrorKind, TenantScope};

use super::{at, delivery, subscription, subscriptions_in_order, t};

async fn insert<S: WebhookStore + ?Sized>(store: &S, s: &Subscription) {
    store
        .insert_subscription(s)
        .await
        .expect("insert subscription");
}

async fn get<S: WebhookStore + ?Sized>(
    store: &S,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Option<Subscription> {
    store.subscription(scope, id).await.expect("subscription")
}

fn ids(subs: &[Subscription]) -> Vec<SubscriptionId> {
    subs.iter().map(|s| s.id).collect()
}

/// Every field comes back as written (sealed secrets, description, flags, filter, instants to
/// the millisecond), for a tenant's subscription and one without a tenant; absent fields stay
/// absent.
pub async fn subscription_round_trip<S: WebhookStore + ?Sized>(store: &S) {
    let full = subscription(Some("acme"), 0);
    insert(store, &full).await;
    let got = get(store, &TenantScope::All, full.id)
        .await
        .expect("stored");
    assert_eq!(got, full, "every field round-trips");
    assert_eq!(got.secret, full.secret, "sealed secret verbatim");
    assert_eq!(got.previous_secret, full.previous_secret);
    assert_eq!(got.previous_until, Some(at(86_400_000)));
    assert_eq!(got.created_at, at(0), "created_at to the millisecond");
    assert_eq!(got.updated_at, at(1), "updated_at to the millisecond");
    assert_eq!(got.events.types(), ["key.created", "key.revoked"]);
    assert_eq!(got.version, 1);

    let mut bare = subscription(None, 5);
    bare.events = EventFilter::all();
    bare.enabled = false;
    bare.allow_http = false;
    bare.allow_private_network = false;
    bare.description = None;
    bare.previous_secret = None;
    bare.previous_until = None;
    insert(store, &bare).await;
    let got = get(store, &TenantScope::All, bare.id)
        .await
        .expect("stored");
    assert_eq!(got, bare, "flags off, no filter, nothing optional");
    assert!(got.events.types().is_empty());

    let mut flags = subscription(Some("acme"), 9);
    flags.allow_http = false;
    flags.enabled = true;
    flags.allow_private_network = true;
    insert(store, &flags).await;
    let got = get(store, &TenantScope::All, flags.id)
        .await
        .expect("stored");
    assert_eq!(
        (got.enabled, got.allow_http, got.allow_private_network),
        (true, false, true),
        "each flag is its own column"
    );

    assert!(
        get(store, &TenantScope::All, SubscriptionId::generate())
            .await
            .is_none(),
        "an unknown id is None"
    );
}

/// Inserting an id that exists is `Conflict`, and the stored subscription is unchanged.
pub async fn duplicate_subscription_is_conflict<S: WebhookStore + ?Sized>(store: &S) {
    let first = subscription(Some("acme"), 0);
    insert(store, &first).await;
    let mut again = first.clone();
    again.url = "https://elsewhere.example.com/".into();
    again.tenant_id = Some(t("other"));
    let err = store
        .insert_subscription(&again)
        .await
        .expect_err("an existing id is refused");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(
        !err.to_string().contains(&first.secret),
        "no secret in the error"
    );
    let got = get(store, &TenantScope::All, first.id).await.expect("kept");
    assert_eq!(got, first);
}

/// An update at the stored version replaces every field and stores version expected + 1; a
/// stale or future version, or a gone subscription, is `false` and writes nothing.
pub async fn update_is_compare_and_set<S: WebhookStore + ?Sized>(store: &S) {
    let s = subscription(Some("acme"), 0);
    insert(store, &s).await;

    let mut next = s.clone();
    next.url = "https://new.example.com/hook".into();
    next.enabled = false;
    next.allow_http = false;
    next.description = None;
    next.secret = "sb1.rotated".into();
    next.previous_secret = Some(s.secret.clone());
    next.previous_until = Some(at(5_000));
    next.events = EventFilter::only(["key.updated"]).expect("known");
    next.updated_at = at(2_000);
    assert!(store.update_subscription(&next, 1).await.expect("update"));
    let got = get(store, &TenantScope::All, s.id).await.expect("stored");
    let mut want = next.clone();
    want.version = 2;
    assert_eq!(got, want, "every field replaced, version 2");

    // Stale: the store is at 2 now.
    let mut stale = s.clone();
    stale.url = "https://stale.example.com/".into();
    assert!(!store.update_subscription(&stale, 1).await.expect("stale"));
    assert!(!store.update_subscription(&stale, 3).await.expect("ahead"));
    let got = get(store, &TenantScope::All, s.id).await.expect("stored");
    assert_eq!(got, want, "a refused update writes nothing");

    assert!(store.update_subscription(&got, 2).await.expect("again"));
    let got = get(store, &TenantScope::All, s.id).await.expect("stored");
    assert_eq!(got.version, 3, "expected + 1, not whatever the caller sent");

    let gone = subscription(Some("acme"), 0);
    assert!(
        !store.update_subscription(&gone, 1).await.expect("absent"),
        "updating what is not stored is false"
    );
    assert!(get(store, &TenantScope::All, gone.id).await.is_none());
}

/// A tenant sees, lists and removes only its own subscriptions; an update carrying another
/// tenant is refused; `All` sees every one, oldest first; `enabled()` spans tenants and leaves
/// out the disabled.
pub async fn subscriptions_apart_by_tenant<S: WebhookStore + ?Sized>(store: &S) {
    let a = TenantScope::Tenant(t("tenant-a"));
    let b = TenantScope::Tenant(t("tenant-b"));
    let mut subs = subscriptions_in_order(Some("tenant-a"), 4);
    subs[1].tenant_id = Some(t("tenant-b"));
    subs[2].tenant_id = None;
    subs[3].enabled = false;
    for s in &subs {
        insert(store, s).await;
    }
    let (sa, sb, snone, sa_off) = (&subs[0], &subs[1], &subs[2], &subs[3]);

    assert_eq!(get(store, &a, sa.id).await.as_ref(), Some(sa));
    assert!(get(store, &a, sb.id).await.is_none(), "A cannot see B's");
    assert!(get(store, &b, sa.id).await.is_none(), "B cannot see A's");
    assert!(
        get(store, &a, snone.id).await.is_none(),
        "no tenant is not A"
    );
    assert_eq!(
        get(store, &TenantScope::All, snone.id).await.as_ref(),
        Some(snone)
    );

    let list_a = store.subscriptions(&a).await.expect("list a");
    assert_eq!(ids(&list_a), [sa.id, sa_off.id], "A's own, oldest first");
    let list_b = store.subscriptions(&b).await.expect("list b");
    assert_eq!(ids(&list_b), [sb.id]);
    let all = store.subscriptions(&TenantScope::All).await.expect("all");
    assert_eq!(all, subs, "All: every tenant's, oldest first");

    let mut enabled = ids(&store.enabled().await.expect("enabled"));
    enabled.sort();
    let mut want = vec![sa.id, sb.id, snone.id];
    want.sort();
    assert_eq!(
        enabled, want,
        "enabled spans tenants, without the disabled one"
    );

    // An update that would move B's subscription to A is refused and writes nothing.
    let mut moved = sb.clone();
    moved.tenant_id = Some(t("tenant-a"));
    moved.url = "https://a.example.com/".into();
    assert!(!store.update_subscription(&moved, 1).await.expect("move"));
    assert_eq!(
        get(store, &TenantScope::All, sb.id).await.as_ref(),
        Some(sb)
    );
    assert!(get(store, &a, sb.id).await.is_none());

    // A cannot remove B's; B can.
    let d = delivery(sb, 0);
    assert_eq!(
        store
            .enqueue(std::slice::from_ref(&d))
            .await
            .expect("enqueue"),
        1
    );
    assert!(!store.remove_subscription(&a, sb.id).await.expect("remove"));
    assert!(
        get(store, &TenantScope::All, sb.id).await.is_some(),
        "still there"
    );
    assert!(
        store
            .delivery(&TenantScope::All, d.id)
            .await
            .expect("d")
            .is_some(),
        "its deliveries too"
    );
    assert!(store.remove_subscription(&b, sb.id).await.expect("remove"));
    assert!(get(store, &TenantScope::All, sb.id).await.is_none());
    assert!(
        !store.remove_subscription(&b, sb.id).await.expect("again"),
        "removing twice is false"
    );
}

/// Removing a subscription deletes its deliveries (every state) and no other's.
pub async fn remove_deletes_deliveries<S: WebhookStore + ?Sized>(store: &S) {
    let gone = subscription(Some("acme"), 0);
    let kept = subscription(Some("acme"), 1);
    insert(store, &gone).await;
    insert(store, &kept).await;
    let d1 = delivery(&gone, 0);
    let mut d2 = delivery(&gone, 1);
    let d3 = delivery(&kept, 2);
    assert_eq!(
        store
            .enqueue(&[d1.clone(), d2.clone(), d3.clone()])
            .await
            .expect("enqueue"),
        3
    );
    d2.record(
        at(10),
        &apikey_core::webhook::AttemptOutcome::answered(200),
        None,
    );
    assert!(store.record_attempt(&d2).await.expect("record"));

    let scope = TenantScope::Tenant(t("acme"));
    assert!(
        store
            .remove_subscription(&scope, gone.id)
            .await
            .expect("remove")
    );
    for d in [&d1, &d2] {
        assert!(
            store
                .delivery(&TenantScope::All, d.id)
                .await
                .expect("d")
                .is_none(),
            "a removed subscription's delivery is deleted"
        );
    }
    let left = store
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0], d3, "the other subscription's delivery stays");
    let due = store.due(at(1_000_000), 100).await.expect("due");
    assert_eq!(
        due,
        std::slice::from_ref(&d3),
        "nothing of the removed one is due"
    );
    assert_eq!(store.pending_count().await.expect("count"), 1);
}
