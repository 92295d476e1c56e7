//! The flow against a scripted [`Driver`]: which statements a write runs, in which order, and
//! whether it commits or rolls back — the part of a store's behaviour that no longer depends on
//! its driver, checked without a database.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use apikey_core::{ErrorKind, Result, UsageBatchId, UsageUpdate};
use apikey_testkit::fixtures::{base_time, created, next_version, record, updated};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{checked, read, tenant, webhooks, write};
use crate::codec::{DecodeSource, Row};
use crate::driver::{Decode, Driver};
use crate::sql::{Placeholder, Sql};

/// What the fake database answers: rows affected by a statement starting with a given text
/// (default 1), and how many rows every query returns.
#[derive(Clone, Default)]
struct Script {
    affected: Vec<(&'static str, u64)>,
    rows: usize,
}

/// One connection: the script, and the log every store connection appends to.
struct Conn {
    script: Script,
    log: Arc<Mutex<Vec<String>>>,
}

#[derive(Default)]
struct Fake {
    script: Script,
    log: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn new(script: Script) -> Self {
        Self {
            script,
            log: Arc::default(),
        }
    }

    fn conn(&self) -> Box<Conn> {
        Box::new(Conn {
            script: self.script.clone(),
            log: self.log.clone(),
        })
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Conn {
    fn note(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

/// Every column holds the nil UUID or 0: enough for the flow's own row types.
struct FakeRow;

impl Row for FakeRow {
    type Error = apikey_core::Error;

    fn text(&self, _: &str) -> Result<Option<String>> {
        Ok(None)
    }
    fn int(&self, _: &str) -> Result<Option<i64>> {
        Ok(Some(0))
    }
    fn time(&self, _: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(None)
    }
    fn uuid(&self, _: &str) -> Result<Option<Uuid>> {
        Ok(Some(Uuid::nil()))
    }
    fn json(&self, _: &str) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
    fn corrupt(&self, col: &str, source: DecodeSource) -> apikey_core::Error {
        apikey_core::Error::backend(format!("column {col}"), source)
    }
}

impl Driver for Fake {
    type Conn = Conn;
    type Reader = Box<Conn>;
    type Writer = Box<Conn>;

    const PLACEHOLDER: Placeholder = Placeholder::Question;
    const DATABASE: crate::driver::Database = crate::driver::Database::Sqlite;
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON CONFLICT (id) DO NOTHING";
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON CONFLICT (job) DO NOTHING";

    async fn reader(&self) -> Result<Box<Conn>> {
        Ok(self.conn())
    }

    async fn begin(&self) -> Result<Box<Conn>> {
        let conn = self.conn();
        conn.note("BEGIN".into());
        Ok(conn)
    }

    async fn commit(&self, tx: Box<Conn>, what: &'static str) -> Result<()> {
        tx.note(format!("COMMIT ({what})"));
        Ok(())
    }

    async fn rollback(&self, tx: Box<Conn>) {
        tx.note("ROLLBACK".into());
    }

    async fn execute(conn: &mut Conn, sql: Sql, what: &'static str) -> Result<u64> {
        conn.note(what.into());
        let n = conn
            .script
            .affected
            .iter()
            .find(|(prefix, _)| sql.text().starts_with(prefix))
            .map_or(1, |(_, n)| *n);
        Ok(n)
    }

    async fn fetch<T: Decode>(conn: &mut Conn, _: Sql, what: &'static str) -> Result<Vec<T>> {
        conn.note(what.into());
        (0..conn.script.rows).map(|_| T::decode(&FakeRow)).collect()
    }
}

/// Runs a future of the fake, which never waits.
fn now<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the fake driver never waits"),
    }
}

#[test]
fn insert_writes_key_labels_and_event_in_one_transaction() {
    let mut r = record(None, base_time());
    r.tags = vec!["a".into(), "a".into(), "b".into()];
    let store = Fake::default();
    now(write::insert(&store, &r, &created(&r))).unwrap();
    assert_eq!(
        store.log(),
        [
            "BEGIN",
            "insert key",
            "insert key labels",
            "append audit event",
            "COMMIT (commit insert)"
        ]
    );
}

#[test]
fn a_compare_and_set_that_changes_nothing_is_stale_or_missing_and_rolls_back() {
    let before = record(None, base_time());
    let after = next_version(&before, base_time());
    let event = updated(&before, &after);
    for (rows, kind) in [(1, ErrorKind::Conflict), (0, ErrorKind::NotFound)] {
        let store = Fake::new(Script {
            affected: vec![("UPDATE apikey_keys", 0)],
            rows,
        });
        let tenant = apikey_core::TenantScope::All;
        let e = now(write::update(&store, &tenant, 1, &after, &event)).unwrap_err();
        assert_eq!(e.kind(), kind);
        assert_eq!(
            store.log(),
            ["BEGIN", "update key", "check key", "ROLLBACK"]
        );
    }
}

#[test]
fn a_usage_item_already_marked_adds_nothing() {
    let store = Fake::new(Script {
        affected: vec![
            ("UPDATE apikey_usage_marks", 0),
            ("INSERT INTO apikey_usage_marks", 0),
        ],
        rows: 0,
    });
    let batch = UsageBatchId {
        flusher: Uuid::nil(),
        seq: 1,
        at: base_time(),
    };
    let item = UsageUpdate {
        id: apikey_core::KeyId::new(),
        last_used_at: base_time(),
        count: 1,
    };
    now(write::usage(&store, &batch, &[item])).unwrap();
    assert_eq!(
        store.log(),
        [
            "BEGIN",
            "purge usage marks",
            "mark usage",
            "mark usage",
            "COMMIT (commit usage)"
        ]
    );
    now(write::usage(&store, &batch, &[])).unwrap();
    assert_eq!(store.log().len(), 5, "an empty batch opens no transaction");
}

#[test]
fn a_filter_no_stored_value_can_match_asks_nothing() {
    let store = Fake::default();
    let filter = apikey_core::KeyFilter {
        owner: Some("a\0b".into()),
        ..Default::default()
    };
    let page = now(read::page(&store, &apikey_core::TenantScope::All, &filter)).unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    assert!(store.log().is_empty());
}

#[test]
fn tenant_settings_write_and_event_commit_together_and_a_refusal_rolls_back() {
    use apikey_core::tenant::{TenantSettings, settings_event};
    let t = apikey_testkit::fixtures::tenant("acme");
    let s = TenantSettings::default();
    let event = settings_event(Some(&t), 1, &s, base_time(), None, None).unwrap();
    let store = Fake::default();
    assert_eq!(
        now(tenant::put(&store, Some(&t), 0, &s, &event)).unwrap(),
        1
    );
    assert_eq!(
        store.log(),
        [
            "BEGIN",
            "write tenant settings",
            "append audit event",
            "COMMIT (commit tenant settings)"
        ]
    );
    for (prefix, expected) in [
        ("INSERT INTO apikey_tenant_settings", 0),
        ("UPDATE apikey_tenant_settings", 4),
    ] {
        let store = Fake::new(Script {
            affected: vec![(prefix, 0)],
            rows: 0,
        });
        let e = now(tenant::put(&store, None, expected, &s, &event)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(
            store.log(),
            ["BEGIN", "write tenant settings", "ROLLBACK"],
            "no event without the row"
        );
    }
}

#[test]
fn a_count_no_stored_value_can_match_asks_nothing() {
    let store = Fake::default();
    let filter = apikey_core::KeyFilter {
        owner: Some("a\0b".into()),
        ..Default::default()
    };
    assert_eq!(now(read::count(&store, None, &filter)).unwrap(), 0);
    assert!(store.log().is_empty());
}

#[test]
fn a_checked_insert_locks_counts_and_writes_each_table_in_one_statement() {
    use apikey_core::tenant::CountLimits;
    let t = apikey_testkit::fixtures::tenant("acme");
    let items: Vec<_> = (0..3)
        .map(|_| {
            let mut r = record(Some(&t), base_time());
            r.tags = vec!["x".into()];
            let e = created(&r);
            (r, e)
        })
        .collect();
    let limits = |max| CountLimits {
        max_per_tenant: Some(max),
        ..CountLimits::of(&apikey_core::TenantSettings::default())
    };
    let counting = || {
        Fake::new(Script {
            affected: Vec::new(),
            rows: 1,
        })
    };
    let store = counting();
    now(checked::insert(&store, Some(&t), &items, &limits(3))).unwrap();
    assert_eq!(
        store.log(),
        [
            "create tenant lock",
            "BEGIN",
            "lock tenant",
            "count keys",
            "insert keys",
            "insert key labels",
            "append audit events",
            "COMMIT (commit checked insert)"
        ],
        "one statement per table for the whole batch"
    );

    let store = counting();
    let e = now(checked::insert(&store, Some(&t), &items, &limits(2))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitReached);
    assert_eq!(
        store.log(),
        [
            "create tenant lock",
            "BEGIN",
            "lock tenant",
            "count keys",
            "ROLLBACK"
        ],
        "nothing written past the limit"
    );

    let store = Fake::default();
    now(checked::insert(
        &store,
        Some(&t),
        &items,
        &CountLimits::none(),
    ))
    .unwrap();
    assert_eq!(
        store.log()[..2],
        ["BEGIN", "insert keys"],
        "no lock and no count without limits"
    );

    let mut twins = items.clone();
    twins[0].0.aliases = vec!["a".into()];
    twins[2].0.aliases = vec!["a".into()];
    let store = Fake::default();
    let e = now(checked::insert(
        &store,
        Some(&t),
        &twins,
        &CountLimits::none(),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        store.log().is_empty(),
        "refused before the transaction opens"
    );
}

fn webhook_fixtures() -> (
    apikey_core::webhook::Subscription,
    Vec<apikey_core::webhook::Delivery>,
) {
    let sub = apikey_testkit::webhooks::subscription(Some("acme"), 0);
    let ds = (0..3)
        .map(|i| apikey_testkit::webhooks::delivery(&sub, i))
        .collect();
    (sub, ds)
}

#[test]
fn an_enqueue_is_one_transaction_counting_only_new_rows() {
    let (_, ds) = webhook_fixtures();
    let store = Fake::default();
    assert_eq!(now(webhooks::enqueue(&store, &ds)).unwrap(), 3);
    assert_eq!(
        store.log(),
        [
            "BEGIN",
            "enqueue webhook delivery",
            "enqueue webhook delivery",
            "enqueue webhook delivery",
            "COMMIT (commit webhook deliveries)"
        ]
    );
    let stored = Fake::new(Script {
        affected: vec![("INSERT INTO apikey_webhook_deliveries", 0)],
        rows: 0,
    });
    assert_eq!(
        now(webhooks::enqueue(&stored, &ds)).unwrap(),
        0,
        "all stored"
    );
    now(webhooks::enqueue(&Fake::default(), &[])).unwrap();

    // One body no database can store refuses the whole batch before anything runs.
    let mut bad = ds.clone();
    bad[2].payload = "{\"a\":\"\u{0}\"}".into();
    let store = Fake::default();
    let e = now(webhooks::enqueue(&store, &bad)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(store.log().is_empty(), "nothing written: all or none");
}

#[test]
fn a_subscription_removal_takes_its_deliveries_in_the_same_transaction() {
    let (sub, _) = webhook_fixtures();
    let scope = apikey_core::TenantScope::All;
    let store = Fake::default();
    assert!(now(webhooks::remove_subscription(&store, &scope, sub.id)).unwrap());
    assert_eq!(
        store.log(),
        [
            "BEGIN",
            "delete webhook subscription",
            "delete webhook deliveries",
            "COMMIT (commit webhook subscription removal)"
        ]
    );
    let absent = Fake::new(Script {
        affected: vec![("DELETE FROM apikey_webhook_subscriptions", 0)],
        rows: 0,
    });
    assert!(!now(webhooks::remove_subscription(&absent, &scope, sub.id)).unwrap());
    assert_eq!(
        absent.log(),
        [
            "BEGIN",
            "delete webhook subscription",
            "COMMIT (commit webhook subscription removal)"
        ],
        "another tenant's or a gone subscription: its deliveries are not touched"
    );
}

#[test]
fn a_refused_subscription_never_names_its_secret() {
    let (mut sub, _) = webhook_fixtures();
    sub.secret = format!("{}\u{0}", sub.secret);
    let store = Fake::default();
    let e = now(webhooks::insert_subscription(&store, &sub)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("sealed"), "{shown}");
    assert!(store.log().is_empty());
    let e = now(webhooks::update_subscription(&store, &sub, 1)).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("sealed"));
}

#[test]
fn webhook_statements_scope_by_tenant_key_only_for_a_tenant() {
    use crate::webhooks::{deliveries, subscriptions};
    let (sub, ds) = webhook_fixtures();
    let t = apikey_core::TenantScope::Tenant(apikey_testkit::fixtures::tenant("acme"));
    let all = apikey_core::TenantScope::All;
    let p = Placeholder::Question;
    assert!(
        subscriptions::get(p, &t, sub.id)
            .text()
            .contains("AND tenant_key = ?")
    );
    assert!(
        !subscriptions::get(p, &all, sub.id)
            .text()
            .contains("AND tenant_key")
    );
    assert!(
        subscriptions::delete(p, &t, sub.id)
            .text()
            .contains("AND tenant_key = ?")
    );
    let f = apikey_core::webhook::DeliveryFilter::default();
    assert!(
        deliveries::list(p, &t, &f)
            .text()
            .contains("AND tenant_key = ?")
    );
    assert!(
        !deliveries::list(p, &all, &f)
            .text()
            .contains("AND tenant_key")
    );
    let redeliver = deliveries::redeliver(p, &t, ds[0].id, base_time(), base_time());
    assert!(redeliver.text().contains("AND tenant_key = ?"));
    assert!(
        subscriptions::update(p, &sub, 1)
            .unwrap()
            .text()
            .contains("AND tenant_key = ?"),
        "an update never moves a subscription to another tenant"
    );
}
