//! The expiry-monitor case: three instances — each its own connection to one backend, its own
//! [`ApiKeys`], [`Scheduler`] and [`ExpiryMonitor`] — share a [`ManualClock`] that moves through
//! 40 days a day at a time over 1,000 keys expiring across that span. Every warning (the tightest
//! threshold reached at each run) and every expiry is an audit event exactly once, and exactly
//! one instance emits its [`KeyEvent`].
//!
//! `connect` is called once per instance and returns a handle to the *same* backend (a new pool
//! on one database), implementing [`KeyStore`], [`AuditStore`] and [`LeaseStore`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::jobs::builtin::{ExpiryConfig, ExpiryMonitor};
use apikey_core::jobs::{LeaseStore, Scheduler};
use apikey_core::{
    ApiKeys, AuditStore, BulkOptions, Change, EventSink, EventType, KeyEvent, KeyEventKind, KeyId,
    KeyStore, ManualClock, NewKey, Peppers,
};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

/// Keys in the case.
pub const KEYS: usize = 1_000;
/// Days the clock moves through.
pub const DAYS: i64 = 40;

/// Counts the key events every instance emits, by (key, event name, days).
#[derive(Debug, Default)]
struct Emitted(Mutex<Counts>);

#[async_trait]
impl EventSink for Emitted {
    async fn emit(&self, event: &KeyEvent) {
        let what = match &event.kind {
            KeyEventKind::Expiring { days } => format!("expiring/{days}"),
            KeyEventKind::Expired => "expired/0".to_owned(),
            _ => return,
        };
        *self
            .0
            .lock()
            .expect("emitted")
            .entry((event.key_id, what))
            .or_default() += 1;
    }
}

fn start() -> DateTime<Utc> {
    // Midnight: every daily tick is the first of its period.
    Utc.with_ymd_and_hms(2031, 3, 1, 0, 0, 0)
        .single()
        .expect("date")
}

/// When key `i` expires (`None` for every tenth key): spread from 12 hours to 38 days ahead.
fn expiry(i: usize) -> Option<DateTime<Utc>> {
    (!i.is_multiple_of(10)).then(|| {
        let span = TimeDelta::days(38) - TimeDelta::hours(12);
        let step = span / i32::try_from(KEYS).expect("small");
        start() + TimeDelta::hours(12) + step * i32::try_from(i).expect("small")
    })
}

/// What the monitor must record for a key expiring at `e`, sampled at each daily run: the
/// tightest of 30/7/1 days reached, or 0 once expired.
fn expected(e: DateTime<Utc>) -> Vec<u32> {
    let mut out = Vec::new();
    for day in 0..=DAYS {
        let now = start() + TimeDelta::days(day);
        let t = if e <= now {
            0
        } else {
            match [1u32, 7, 30]
                .into_iter()
                .find(|d| e - now <= TimeDelta::days(i64::from(*d)))
            {
                Some(d) => d,
                None => continue,
            }
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Runs the case; see the [module](self).
pub async fn three_instances_record_each_warning_once<F, Fut, S>(mut connect: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<S>>,
    S: KeyStore + AuditStore + LeaseStore,
{
    let clock = ManualClock::new(start());
    let emitted = Arc::new(Emitted::default());
    let peppers = Peppers::single("expiry", b"a pepper for the expiry monitor case".to_vec())
        .expect("peppers");
    let mut instances = Vec::new();
    let mut first_keys = None;
    for n in 0..3 {
        let store = connect().await;
        let keys = ApiKeys::builder(store.clone())
            .peppers(peppers.clone())
            .clock(Arc::new(clock.clone()))
            .events(emitted.clone())
            .build()
            .expect("keys");
        let config = ExpiryConfig {
            every: Duration::from_secs(24 * 60 * 60),
            ..ExpiryConfig::default()
        };
        let monitor = ExpiryMonitor::new(keys.manager(), store.clone(), config).expect("monitor");
        let scheduler = Scheduler::builder(store.clone(), Arc::new(clock.clone()))
            .holder(format!("instance-{n}"))
            .job(monitor)
            .build()
            .expect("scheduler");
        if first_keys.is_none() {
            first_keys = Some((keys.clone(), store.clone()));
        }
        instances.push(scheduler);
    }
    let (keys, store) = first_keys.expect("three instances");
    let rows: Vec<NewKey> = (0..KEYS)
        .map(|i| {
            let mut k = NewKey::new(format!("key {i}"));
            k.expires_at = expiry(i);
            k
        })
        .collect();
    let created = keys
        .manager()
        .bulk_create(rows, &BulkOptions::default(), Change::by("setup"))
        .await
        .expect("bulk create");
    let mut want = Counts::new();
    for (i, row) in created.rows.iter().enumerate() {
        let id = row.as_ref().expect("created").record.id;
        for t in expiry(i).map(expected).unwrap_or_default() {
            let name = if t == 0 {
                "expired".to_owned()
            } else {
                "expiring".to_owned()
            };
            want.insert((Some(id), format!("{name}/{t}")), 1);
        }
    }

    for _ in 0..=DAYS {
        let [a, b, c] = [&instances[0], &instances[1], &instances[2]];
        tokio::join!(a.tick(), b.tick(), c.tick());
        clock.advance(TimeDelta::days(1));
    }

    let got = emitted.0.lock().expect("emitted").clone();
    assert_eq!(got.len(), want.len(), "one key event per key and threshold");
    assert_eq!(
        got, want,
        "each warning and expiry emitted exactly once, by one instance"
    );

    let mut stored = Counts::new();
    let mut after = 0;
    loop {
        let page = store.read_after(after, 1000).await.expect("read the log");
        let Some(last) = page.last() else { break };
        after = last.position.expect("positioned");
        for e in &page {
            let key = e.key_id();
            let data = e.data.as_ref();
            let what = match e.event_type {
                EventType::Expiring => format!(
                    "expiring/{}",
                    data.and_then(|d| d["threshold_days"].as_u64())
                        .expect("threshold")
                ),
                EventType::Expired => "expired/0".to_owned(),
                _ => continue,
            };
            assert_eq!(e.actor.as_deref(), Some("system"));
            *stored.entry((key, what)).or_default() += 1;
        }
    }
    same(&stored, &want, "audit events stored");
}

type Counts = BTreeMap<(Option<KeyId>, String), u32>;

/// Fails naming how many entries differ and the first few, not the thousands that agree.
fn same(got: &Counts, want: &Counts, what: &str) {
    let diff: Vec<String> = want
        .keys()
        .chain(got.keys())
        .filter(|k| got.get(*k) != want.get(*k))
        .take(5)
        .map(|k| format!("{k:?}: {:?} instead of {:?}", got.get(k), want.get(k)))
        .collect();
    assert!(
        diff.is_empty(),
        "{what}: {} entries, {} expected (each exactly once); first differences: {diff:#?}",
        got.len(),
        want.len()
    );
}
