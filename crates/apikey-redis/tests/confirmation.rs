//! Confirmed revocation on a real Redis: every live listener acknowledges; a listener that cannot
//! answer is named, then counted as departed once its presence runs out; a listener that missed
//! the request applies it when it resubscribes; an instance cut off from Redis stops answering
//! from its cache after its trust window; a fill racing the revocation stays refused.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::{
    ApiKeys, AuditEvent, Change, Credential, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId,
    ManualClock, NewKey, Page, Peppers, RequestContext, Result, TenantScope, UsageBatchId,
    UsageUpdate, Verifier,
};
use apikey_memory::MemoryStore;
use apikey_redis::{
    KeyPrefix, RedisCache, RedisConfirmer, RedisConnection, RedisInstances, RevocationListener,
};
use async_trait::async_trait;
use common::proxy::{Mode, Proxy, RedisUrl};
use tokio::sync::Semaphore;

struct Node {
    keys: ApiKeys,
    listener: RevocationListener,
}

fn confirmer(conn: &RedisConnection, prefix: &KeyPrefix) -> Arc<RedisConfirmer> {
    Arc::new(RedisConfirmer::new(
        RedisInstances::new(conn.clone()).with_prefix(prefix.clone()),
    ))
}

async fn node(
    url: &str,
    prefix: &KeyPrefix,
    store: &Arc<dyn KeyStore>,
    peppers: &Peppers,
    presence_ttl: Duration,
) -> Node {
    let conn = common::connect(url).await;
    let cache = RedisCache::new(conn.clone(), peppers).with_prefix(prefix.clone());
    let keys = ApiKeys::builder(Arc::clone(store))
        .peppers(peppers.clone())
        .shared_cache(Arc::new(cache.clone()))
        .confirmer(confirmer(&conn, prefix))
        .build()
        .expect("build");
    let listener = RevocationListener::builder(&conn, &cache, keys.verifier().clone())
        .ping_every(Duration::from_millis(100))
        .trust_window(Duration::from_millis(400))
        .presence_ttl(presence_ttl)
        .spawn()
        .expect("listener");
    assert!(listener.wait_subscribed(1, Duration::from_secs(5)).await);
    Node { keys, listener }
}

async fn accepts(v: &Verifier, token: &str) -> bool {
    v.verify(Credential::new(token), &RequestContext::new())
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_live_instance_acknowledges_and_none_accepts_afterwards() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(&url, &prefix, &store, &peppers, Duration::from_secs(10)).await);
    }
    let registry = RedisInstances::new(common::connect(&url).await).with_prefix(prefix.clone());
    let listed = registry.list().await.unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    for n in &nodes {
        assert!(listed.iter().any(|i| i.id == n.listener.instance_id()));
    }

    let created = nodes[0]
        .keys
        .manager()
        .create(NewKey::new("shared"))
        .await
        .unwrap();
    let token = created.token.expose().to_owned();
    for n in &nodes {
        assert!(accepts(n.keys.verifier(), &token).await);
    }
    let done = nodes[1]
        .keys
        .manager()
        .revoke_confirmed(
            &TenantScope::All,
            created.record.id,
            Change::new().because("leaked"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(done.confirmation.is_complete(), "{:?}", done.confirmation);
    assert_eq!(done.confirmation.acknowledged.len(), 3);
    for n in &nodes {
        assert!(!accepts(n.keys.verifier(), &token).await);
        assert_eq!(n.listener.acknowledged(), 1);
    }

    // A graceful shutdown leaves at once.
    let gone = nodes.pop().unwrap();
    let gone_id = gone.listener.instance_id().to_owned();
    gone.listener.shutdown().await;
    let listed = registry.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i.id != gone_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_instance_is_named_then_counted_as_departed_when_its_presence_runs_out() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let live = node(&url, &prefix, &store, &peppers, Duration::from_secs(2)).await;
    let silent = node(&url, &prefix, &store, &peppers, Duration::from_secs(2)).await;
    let silent_id = silent.listener.instance_id().to_owned();
    // Its task stops without leaving: to the registry it looks like a paused process.
    drop(silent.listener);

    let m = live.keys.manager();
    let a = m.create(NewKey::new("a")).await.unwrap();
    let done = m
        .revoke_confirmed(
            &TenantScope::All,
            a.record.id,
            Change::new(),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    assert!(!done.confirmation.is_complete());
    assert_eq!(done.confirmation.acknowledged.len(), 1);
    assert_eq!(done.confirmation.missing.len(), 1);
    assert_eq!(done.confirmation.missing[0].id, silent_id);

    let b = m.create(NewKey::new("b")).await.unwrap();
    let done = m
        .revoke_confirmed(
            &TenantScope::All,
            b.record.id,
            Change::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(done.confirmation.is_complete(), "{:?}", done.confirmation);
    assert_eq!(
        done.confirmation.departed.len(),
        1,
        "its 2 s presence ran out"
    );
    assert_eq!(done.confirmation.departed[0].id, silent_id);
    assert!(done.confirmation.elapsed < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_missed_the_request_applies_it_when_it_resubscribes() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let peppers = Peppers::random();
    let a = node(&url, &prefix, &store, &peppers, Duration::from_secs(10)).await;

    // b subscribes through a proxy the test controls; its registry calls go direct.
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    let conn = common::connect(&url).await;
    let cache = RedisCache::new(conn.clone(), &peppers).with_prefix(prefix.clone());
    let b = ApiKeys::builder(Arc::clone(&store))
        .peppers(peppers.clone())
        .build()
        .unwrap();
    let lb = RevocationListener::builder(&conn, &cache, b.verifier().clone())
        .pubsub_client(redis::Client::open(proxy.url()).unwrap())
        .ping_every(Duration::from_millis(100))
        .trust_window(Duration::from_millis(400))
        .spawn()
        .unwrap();
    assert!(lb.wait_subscribed(1, Duration::from_secs(5)).await);
    let created = a.keys.manager().create(NewKey::new("k")).await.unwrap();
    let token = created.token.expose().to_owned();
    assert!(accepts(b.verifier(), &token).await);

    proxy.set(Mode::Cut);
    let m = a.keys.manager().clone();
    let id = created.record.id;
    let revoke = tokio::spawn(async move {
        m.revoke_confirmed(
            &TenantScope::All,
            id,
            Change::new(),
            Duration::from_secs(10),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!revoke.is_finished(), "b has not answered yet");
    proxy.set(Mode::Pass);
    let done = revoke.await.unwrap().unwrap();
    assert!(done.confirmation.is_complete(), "{:?}", done.confirmation);
    assert_eq!(done.confirmation.acknowledged.len(), 2);
    assert!(lb.subscriptions() >= 2);
    assert!(!accepts(b.verifier(), &token).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_from_redis_an_instance_stops_answering_from_its_cache_after_the_window() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let memory = Arc::new(MemoryStore::new());
    let store: Arc<dyn KeyStore> = memory.clone();
    let peppers = Peppers::random();
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    // Everything b says to Redis goes through the proxy; no shared cache, so a miss reads the store.
    let conn = common::connect(&proxy.url()).await;
    let cache = RedisCache::new(conn.clone(), &peppers).with_prefix(prefix.clone());
    let clock = ManualClock::fixed();
    let b = ApiKeys::builder(Arc::clone(&store))
        .peppers(peppers.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    // The window is read on the injected clock, but a failed ping (real time) also drops the
    // cache, earlier. A ping every 100 ms made "still answered within the window" a race a
    // loaded CI machine lost; with no ping due during the test only the window decides.
    let lb = RevocationListener::builder(&conn, &cache, b.verifier().clone())
        .ping_every(Duration::from_secs(60))
        .trust_window(Duration::from_secs(120))
        .presence_ttl(Duration::from_secs(180))
        .spawn()
        .unwrap();
    assert!(lb.wait_subscribed(1, Duration::from_secs(5)).await);
    let created = b.manager().create(NewKey::new("k")).await.unwrap();
    let token = created.token.expose().to_owned();
    assert!(accepts(b.verifier(), &token).await);

    // A silent partition: the connections stay open and carry nothing. (A cut the listener sees
    // clears the cache at once, which raced the assertion below; the window is for the loss it
    // cannot see.)
    proxy.set(Mode::Pause);
    // Revoked behind b's back (another instance whose invalidation b cannot hear).
    let mut revoked: KeyRecord = created.record.clone();
    let before = revoked.version;
    revoked.version += 1;
    revoked.state = apikey_core::KeyState::Revoked;
    let event = AuditEvent::key_change(
        apikey_core::audit::EventType::Revoked,
        Some(&created.record),
        Some(&revoked),
        apikey_core::Clock::now(&clock),
    )
    .unwrap();
    memory
        .update(&TenantScope::All, before, &revoked, &event)
        .await
        .unwrap();
    assert!(
        accepts(b.verifier(), &token).await,
        "within the window the cache is still answered from"
    );
    clock.advance(chrono::Duration::seconds(120));
    assert!(
        !accepts(b.verifier(), &token).await,
        "past the window the store is read"
    );
}

/// A store whose lookups read, then wait at a gate before answering (a slow fill).
#[derive(Debug)]
struct Gated {
    inner: MemoryStore,
    gate: Semaphore,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl KeyStore for Gated {
    async fn insert(&self, r: &KeyRecord, e: &AuditEvent) -> Result<()> {
        self.inner.insert(r, e).await
    }
    async fn get(&self, t: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        self.inner.get(t, id).await
    }
    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        let snapshot = self.inner.find_by_lookup_id(lookup).await;
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.gate.acquire().await.expect("gate").forget();
        }
        snapshot
    }
    async fn update(&self, t: &TenantScope, v: u64, r: &KeyRecord, e: &AuditEvent) -> Result<()> {
        self.inner.update(t, v, r, e).await
    }
    async fn record_usage(&self, b: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        self.inner.record_usage(b, items).await
    }
    async fn query(&self, t: &TenantScope, f: &KeyFilter) -> Result<Page<KeyRecord>> {
        self.inner.query(t, f).await
    }
    async fn delete(&self, t: &TenantScope, id: KeyId, e: &AuditEvent) -> Result<bool> {
        self.inner.delete(t, id, e).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_racing_a_confirmed_revocation_stays_refused_on_both_levels() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let gated = Arc::new(Gated {
        inner: MemoryStore::new(),
        gate: Semaphore::new(0),
        armed: false.into(),
    });
    let store: Arc<dyn KeyStore> = gated.clone();
    let peppers = Peppers::random();
    let a = node(&url, &prefix, &store, &peppers, Duration::from_secs(10)).await;
    let b = node(&url, &prefix, &store, &peppers, Duration::from_secs(10)).await;
    let created = a.keys.manager().create(NewKey::new("k")).await.unwrap();
    let token = created.token.expose().to_owned();

    // b reads the active record from the store, then stalls before filling its caches.
    gated.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let vb = b.keys.verifier().clone();
    let t = token.clone();
    let racing = tokio::spawn(async move { accepts(&vb, &t).await });
    while gated.armed.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    let done = a
        .keys
        .manager()
        .revoke_confirmed(
            &TenantScope::All,
            created.record.id,
            Change::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(done.confirmation.is_complete());
    gated.gate.add_permits(1);
    // The stalled request was decided on what it read before the revocation.
    let _ = racing.await.unwrap();
    assert!(
        !accepts(b.keys.verifier(), &token).await,
        "the stale fill was refused by b's tombstone and the shared cache's"
    );
    assert!(!accepts(a.keys.verifier(), &token).await);
}
