//! Aliases are unique per tenant: the store refuses, on insert and on update, an alias another
//! key of the same tenant holds (keys without a tenant share one alias space) and writes nothing.

use apikey_core::{
    AuditStore, ErrorKind, EventType, KeyId, KeyRecord, KeyStore, TenantId, TenantScope,
};
use chrono::TimeDelta;

use super::events_of;
use crate::fixtures::{base_time, created, next_version, record, tenant, updated};

fn aliased(t: Option<&TenantId>, aliases: &[&str], n: i64) -> KeyRecord {
    let mut r = record(t, base_time() + TimeDelta::seconds(n));
    r.aliases = aliases.iter().map(|a| (*a).to_owned()).collect();
    r
}

async fn exists<S: KeyStore + ?Sized>(store: &S, id: KeyId) -> bool {
    store
        .get(&TenantScope::All, id)
        .await
        .expect("get")
        .is_some()
}

/// A second key of the same tenant with a held alias is `Conflict`, and neither it nor its event
/// is stored; another tenant may use the alias; keys without a tenant collide with each other.
pub async fn aliases_unique_on_insert<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let first = aliased(Some(&acme), &["billing", "ops 🔑"], 1);
    store.insert(&first, &created(&first)).await.expect("first");
    let clash = aliased(Some(&acme), &["zzz", "billing"], 2);
    let err = store.insert(&clash, &created(&clash)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.message().contains("billing"),
        "the error names the alias: {}",
        err.message()
    );
    assert!(
        !exists(store, clash.id).await,
        "a refused insert writes nothing"
    );
    assert_eq!(
        events_of(store, &[EventType::Created]).await.len(),
        1,
        "nor its event"
    );

    let elsewhere = aliased(Some(&globex), &["billing"], 3);
    store
        .insert(&elsewhere, &created(&elsewhere))
        .await
        .expect("another tenant may use it");
    let case = aliased(Some(&acme), &["Billing"], 4);
    store
        .insert(&case, &created(&case))
        .await
        .expect("aliases are case-sensitive");

    let none1 = aliased(None, &["shared"], 5);
    store
        .insert(&none1, &created(&none1))
        .await
        .expect("no tenant");
    let none2 = aliased(None, &["shared"], 6);
    let err = store.insert(&none2, &created(&none2)).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "keys without a tenant share one alias space"
    );
    let tenanted = aliased(Some(&acme), &["shared"], 7);
    store
        .insert(&tenanted, &created(&tenanted))
        .await
        .expect("a tenant is not 'no tenant'");
}

/// An update that takes another key's alias is `Conflict` and leaves the key at its version; a
/// key keeps its own aliases across updates; an alias let go is free for another key.
pub async fn aliases_unique_on_update<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let t = tenant("t");
    let scope = TenantScope::Tenant(t.clone());
    let a = aliased(Some(&t), &["a1"], 1);
    let b = aliased(Some(&t), &["b1"], 2);
    for r in [&a, &b] {
        store.insert(r, &created(r)).await.expect("insert");
    }
    let mut grab = next_version(&b, base_time() + TimeDelta::seconds(10));
    grab.aliases = vec!["a1".to_owned(), "b1".to_owned()];
    let err = store
        .update(&scope, 1, &grab, &updated(&b, &grab))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let stored = store.get(&scope, b.id).await.expect("get").expect("b");
    assert_eq!(
        (stored.version, stored.aliases.clone()),
        (1, vec!["b1".to_owned()]),
        "unchanged"
    );

    let mut keep = next_version(&a, base_time() + TimeDelta::seconds(11));
    keep.aliases = vec!["a1".to_owned(), "a2".to_owned()];
    store
        .update(&scope, 1, &keep, &updated(&a, &keep))
        .await
        .expect("a key keeps its own alias");

    let mut drop = next_version(&keep, base_time() + TimeDelta::seconds(12));
    drop.aliases = vec!["a2".to_owned()];
    store
        .update(&scope, 2, &drop, &updated(&keep, &drop))
        .await
        .expect("let a1 go");
    store
        .update(&scope, 1, &grab, &updated(&b, &grab))
        .await
        .expect("a1 is free now");

    let c = aliased(Some(&t), &["a2"], 3);
    assert_eq!(
        store.insert(&c, &created(&c)).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
    let gone = crate::fixtures::deleted(&drop, base_time() + TimeDelta::seconds(13));
    assert!(store.delete(&scope, a.id, &gone).await.expect("delete"));
    store
        .insert(&c, &created(&c))
        .await
        .expect("a deleted key's alias is free");
}
