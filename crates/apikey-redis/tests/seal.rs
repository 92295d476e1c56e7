//! Shared-cache entries are sealed: whoever can write to Redis but lacks the pepper cannot make a
//! verifier trust a record the store does not hold (here: un-revoke a leaked, revoked key).

mod common;

use apikey_core::Change;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::hash::Sealer;
use apikey_core::{
    ApiKeys, Cache, Credential, KeyRecord, KeyState, KeyStore, NewKey, Peppers, RequestContext,
    TenantScope,
};
use apikey_memory::MemoryStore;
use apikey_redis::{KeyPrefix, RedisCache};

/// Writes an entry the way an attacker with Redis access (and no pepper) would.
async fn plant(url: &str, prefix: &KeyPrefix, record: &KeyRecord, seal: Option<String>) {
    let mut raw = common::raw(url).await;
    let key = format!("{}:cache:{{{}}}", prefix.as_str(), record.lookup_id);
    let deadline = chrono::Utc::now().timestamp_micros() + 3_600_000_000;
    let mut cmd = redis::cmd("HSET");
    cmd.arg(&key)
        .arg("v")
        .arg(record.version)
        .arg("d")
        .arg(deadline)
        .arg("r")
        .arg(serde_json::to_string(record).expect("json"));
    if let Some(seal) = seal {
        cmd.arg("s").arg(seal);
    }
    let _: i64 = cmd.query_async(&mut raw).await.expect("hset");
}

#[tokio::test]
async fn a_forged_entry_is_ignored_and_the_store_decides() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let peppers = Peppers::random();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let cache = RedisCache::new(common::connect(&url).await, &peppers).with_prefix(prefix.clone());
    let keys = ApiKeys::builder(Arc::clone(&store))
        .peppers(peppers.clone())
        .shared_cache(Arc::new(cache.clone()))
        .build()
        .expect("build");
    let created = keys
        .manager()
        .create(NewKey::new("leaked"))
        .await
        .expect("create");
    let revoked = keys
        .manager()
        .revoke(
            &TenantScope::All,
            created.record.id,
            Change::new().because("leaked"),
        )
        .await
        .expect("revoke");
    let token = created.token.expose().to_owned();
    let verify = || async {
        keys.verifier()
            .verify(Credential::new(&token), &RequestContext::new())
            .await
    };

    // The attacker copies the revoked record, marks it active and writes it to the cache, first
    // without a seal, then with a seal under a pepper of their own.
    let mut forged = revoked.clone();
    forged.state = KeyState::Active;
    forged.version += 1;
    plant(&url, &prefix, &forged, None).await;
    assert!(verify().await.is_err(), "an unsealed entry is not trusted");
    assert_eq!(cache.rejected_entries(), 1);

    let theirs = Sealer::new(&Peppers::random(), "redis-cache");
    let d = "0".to_owned();
    plant(&url, &prefix, &forged, Some(theirs.seal(&[d.as_bytes()]))).await;
    keys.verifier().clear_cache();
    assert!(
        verify().await.is_err(),
        "a seal under another pepper is not trusted"
    );
    assert_eq!(cache.rejected_entries(), 2);

    // An honest entry reads back with its remaining life.
    let live = keys
        .manager()
        .create(NewKey::new("live"))
        .await
        .expect("create");
    cache
        .put(&live.record, Duration::from_secs(30))
        .await
        .expect("put");
    let hit = cache
        .get(&live.record.lookup_id)
        .await
        .expect("get")
        .expect("hit");
    assert_eq!(hit.record, live.record);
    assert!(hit.expires_in <= Duration::from_secs(30) && hit.expires_in > Duration::from_secs(25));
    assert_eq!(
        cache.rejected_entries(),
        2,
        "sealed entries are not counted"
    );

    // Altering any byte of an honest entry (here: its state) breaks its seal.
    let mut raw = common::raw(&url).await;
    let key = format!("{}:cache:{{{}}}", prefix.as_str(), live.record.lookup_id);
    let json: String = redis::cmd("HGET")
        .arg(&key)
        .arg("r")
        .query_async(&mut raw)
        .await
        .expect("hget");
    let altered = json.replace("\"active\"", "\"suspended\"");
    assert_ne!(altered, json, "the record's state is in its JSON");
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg("r")
        .arg(altered)
        .query_async(&mut raw)
        .await
        .expect("hset");
    assert_eq!(cache.get(&live.record.lookup_id).await.expect("get"), None);
    assert_eq!(cache.rejected_entries(), 3);
}
