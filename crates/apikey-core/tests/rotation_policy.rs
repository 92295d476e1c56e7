//! Rotation policies under the `keys.rotation` job: the most specific policy applies, a notify
//! policy records one notice per key, a rotate policy rotates once per period across three
//! instances and hands each new token to the sink (and only there), and a sink that refuses
//! undoes the rotation so a later run tries again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::catalog::{PolicyTarget, RotationMode, RotationPolicy};
use apikey_core::jobs::Scheduler;
use apikey_core::jobs::builtin::{RotationJob, TokenSink};
use apikey_core::{
    ApiKeys, AuditFilter, AuditStore, Change, Credential, EventType, KeyFilter, KeyRecord,
    KeyState, KeyStore, ManualClock, NewKey, Peppers, RequestContext, Result, TenantScope, Token,
};
use apikey_memory::MemoryStore;
use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Default)]
struct Inbox {
    tokens: Mutex<Vec<(apikey_core::KeyId, String)>>,
    refuse: Mutex<bool>,
}

#[async_trait]
impl TokenSink for Inbox {
    async fn deliver(&self, key: &KeyRecord, token: &Token) -> Result<()> {
        if *self.refuse.lock().unwrap() {
            return Err(apikey_core::Error::unavailable("the inbox is down"));
        }
        self.tokens
            .lock()
            .unwrap()
            .push((key.id, token.expose().to_owned()));
        Ok(())
    }
}

struct World {
    store: MemoryStore,
    clock: ManualClock,
    keys: ApiKeys,
    inbox: Arc<Inbox>,
    schedulers: Vec<Scheduler>,
}

fn world() -> World {
    let store = MemoryStore::new();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap());
    let peppers = Peppers::single("p", b"a pepper for rotation policy tests".to_vec()).unwrap();
    let inbox = Arc::new(Inbox::default());
    let build = || {
        ApiKeys::builder(Arc::new(store.clone()))
            .peppers(peppers.clone())
            .clock(Arc::new(clock.clone()))
            .catalog(Arc::new(store.clone()))
            .build()
            .unwrap()
    };
    let keys = build();
    let schedulers = (0..3)
        .map(|n| {
            let instance = build();
            let sink: Arc<dyn TokenSink> = inbox.clone();
            let job = RotationJob::new(
                instance.manager().clone(),
                Arc::new(store.clone()),
                Some(sink),
                DAY,
            );
            Scheduler::builder(Arc::new(store.clone()), Arc::new(clock.clone()))
                .holder(format!("i{n}"))
                .job(job)
                .build()
                .unwrap()
        })
        .collect();
    World {
        store,
        clock,
        keys,
        inbox,
        schedulers,
    }
}

impl World {
    async fn days(&self, n: u32) {
        for _ in 0..n {
            let [a, b, c] = [
                &self.schedulers[0],
                &self.schedulers[1],
                &self.schedulers[2],
            ];
            tokio::join!(a.tick(), b.tick(), c.tick());
            self.clock.advance(TimeDelta::days(1));
        }
    }

    async fn events(&self, t: EventType) -> usize {
        let f = AuditFilter {
            types: vec![t],
            limit: 1000,
            ..AuditFilter::default()
        };
        AuditStore::query(&self.store, &TenantScope::All, &f)
            .await
            .unwrap()
            .len()
    }
}

fn every(days: u32, mode: RotationMode) -> RotationPolicy {
    RotationPolicy {
        every_days: days,
        grace_days: 2,
        mode,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_specific_policy_applies_once_per_period_across_instances() {
    let w = world();
    let m = w.keys.manager();
    let plain = m.create(NewKey::new("plain")).await.unwrap().record;
    let pay = m.create(NewKey::new("pay").group("payments")).await;
    assert!(pay.is_err(), "the group must exist first");
    m.save_preset(
        None,
        apikey_core::Preset::new(apikey_core::CatalogKind::Group, "payments"),
        0,
        Change::new(),
    )
    .await
    .unwrap();
    let pay = m
        .create(NewKey::new("pay").group("payments"))
        .await
        .unwrap()
        .record;
    let special = m
        .create(NewKey::new("special").group("payments"))
        .await
        .unwrap()
        .record;
    m.set_policy(
        None,
        &PolicyTarget::Tenant,
        every(30, RotationMode::Notify),
        Change::by("ops"),
    )
    .await
    .unwrap();
    m.set_policy(
        None,
        &PolicyTarget::Group("payments".into()),
        every(10, RotationMode::Rotate),
        Change::new(),
    )
    .await
    .unwrap();
    m.set_policy(
        None,
        &PolicyTarget::Key(special.id),
        every(45, RotationMode::Notify),
        Change::new(),
    )
    .await
    .unwrap();
    assert_eq!(m.policies(None).await.unwrap().len(), 3);

    w.days(50).await;

    // `pay` rotates on days 10, 20, 30, 40 (and 50 is not run yet): four tokens, each working.
    let tokens = w.inbox.tokens.lock().unwrap().clone();
    assert_eq!(
        tokens.len(),
        4,
        "one rotation per period, whichever instance ran it"
    );
    let lineage: Vec<KeyRecord> = KeyStore::query(
        &w.store,
        &TenantScope::All,
        &KeyFilter {
            group: Some("payments".into()),
            ..KeyFilter::default()
        },
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|r| r.lineage_id == pay.lineage_id)
    .collect();
    assert_eq!(lineage.len(), 5, "the original and four successors");
    let (newest_id, newest_token) = tokens.last().unwrap().clone();
    let ok = w
        .keys
        .verifier()
        .verify(Credential::new(&newest_token), &RequestContext::new())
        .await;
    assert_eq!(ok.expect("the delivered token works").key_id(), newest_id);
    // `special` is notified once (day 45), not rotated by its group's policy; `plain` by the
    // tenant's at day 30 — one notice each, never repeated.
    assert_eq!(w.events(EventType::RotationDue).await, 2);
    let special_now = m.get(&TenantScope::All, special.id).await.unwrap();
    assert_eq!(
        special_now.rotated_to, None,
        "the key's own policy wins over its group's"
    );
    assert_eq!(
        m.get(&TenantScope::All, plain.id).await.unwrap().state,
        KeyState::Active
    );
    assert_eq!(
        w.events(EventType::Rotated).await,
        8,
        "four rotations, two events each (old and new)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_undoes_the_rotation_and_a_later_run_retries() {
    let w = world();
    let m = w.keys.manager();
    let k = m.create(NewKey::new("k")).await.unwrap().record;
    m.set_policy(
        None,
        &PolicyTarget::Key(k.id),
        every(5, RotationMode::Rotate),
        Change::new(),
    )
    .await
    .unwrap();
    *w.inbox.refuse.lock().unwrap() = true;
    w.days(6).await;
    let old = m.get(&TenantScope::All, k.id).await.unwrap();
    assert_eq!(
        (old.rotated_to, old.grace_until),
        (None, None),
        "the rotation was undone"
    );
    let all = KeyStore::query(&w.store, &TenantScope::All, &KeyFilter::default())
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1, "the undelivered key was erased");
    let status = w.schedulers[0].status().await.unwrap();
    assert!(
        status[0]
            .state
            .as_ref()
            .and_then(|s| s.last_error.as_deref())
            .is_some_and(|e| e.contains("inbox")),
        "the run reports it"
    );

    *w.inbox.refuse.lock().unwrap() = false;
    w.days(1).await;
    assert_eq!(
        w.inbox.tokens.lock().unwrap().len(),
        1,
        "the next run rotates and delivers"
    );
    assert!(
        m.get(&TenantScope::All, k.id)
            .await
            .unwrap()
            .rotated_to
            .is_some()
    );
}

#[tokio::test]
async fn policies_validate_their_target_and_periods() {
    let w = world();
    let m = w.keys.manager();
    let err = m
        .set_policy(
            None,
            &PolicyTarget::Tenant,
            every(0, RotationMode::Notify),
            Change::new(),
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("every_days"), "{err}");
    let ghost = apikey_core::KeyId::new();
    let err = m
        .set_policy(
            None,
            &PolicyTarget::Key(ghost),
            every(5, RotationMode::Notify),
            Change::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), apikey_core::ErrorKind::NotFound);
    m.set_policy(
        None,
        &PolicyTarget::Tenant,
        every(5, RotationMode::Notify),
        Change::new(),
    )
    .await
    .unwrap();
    m.set_policy(
        None,
        &PolicyTarget::Tenant,
        every(6, RotationMode::Notify),
        Change::new(),
    )
    .await
    .expect("replaced");
    assert_eq!(m.policies(None).await.unwrap()[0].1.every_days, 6);
    m.remove_policy(None, &PolicyTarget::Tenant, Change::new())
        .await
        .unwrap();
    assert!(m.policies(None).await.unwrap().is_empty());
    assert_eq!(w.events(EventType::PolicySaved).await, 2);
}
