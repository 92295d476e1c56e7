//! The tamper-evident audit chain on a real store: what a manager writes (creations, updates with
//! awkward metadata, lifecycle changes, transfers, rotations, system events) reads back with every
//! hash intact and verifies, checkpoints and all; a record inserted into a key's chain is named;
//! a checkpoint forged under another KEK is refused; retention keeps each live key's newest record
//! and the checkpoints, records what it purged, and leaves the log verifiable; the audit filter
//! matches actors exactly.
//!
//! Run with the rest of the audit cases by [`audit_store_suite!`](crate::audit_store_suite). The
//! edit-a-row-in-the-database tests live with each backend (they need its own SQL or driver);
//! [`seed`] and [`assert_found`] are for them.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::audit::chain::{
    self, AuditCheckpointJob, ChainReport, Checkpoint, Covered, Problem,
};
use apikey_core::jobs::builtin::AuditRetention;
use apikey_core::secret_box::{Keks, SecretBox};
use apikey_core::{
    ApiKeys, AuditEvent, AuditFilter, AuditStore, Change, Clock, EventType, KeyId, KeyStore,
    KeyUpdate, ManualClock, Metadata, NewKey, Peppers, ScopeSet, TenantScope,
};
use chrono::TimeDelta;
use serde_json::json;

use crate::fixtures::base_time;

/// A secret box under a fixed test KEK.
pub fn test_box() -> SecretBox {
    SecretBox::new(
        Keks::from_spec("chain=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("test KEK"),
    )
}

/// What [`seed`] wrote.
#[allow(missing_debug_implementations)]
pub struct Seeded {
    /// The keys over the store, its audit log wired.
    pub keys: ApiKeys,
    /// Their clock.
    pub clock: ManualClock,
    /// The key with the longest history.
    pub key: KeyId,
    /// The last position the checkpoint covers.
    pub through: u64,
}

fn keys_over<S>(store: &S, clock: &ManualClock) -> ApiKeys
where
    S: KeyStore + AuditStore + Clone,
{
    let peppers =
        Peppers::single("chain", b"a pepper for the audit chain cases".to_vec()).expect("peppers");
    ApiKeys::builder(Arc::new(store.clone()))
        .peppers(peppers)
        .clock(Arc::new(clock.clone()))
        .audit(Arc::new(store.clone()))
        .build()
        .expect("keys")
}

fn checkpoint_job<S>(store: &S, clock: &ManualClock) -> AuditCheckpointJob
where
    S: AuditStore + Clone,
{
    AuditCheckpointJob::new(Arc::new(store.clone()), Arc::new(clock.clone()), test_box())
        .gap_timeout(Duration::ZERO)
}

/// Metadata that databases like to rewrite: floats, an integral float, a large integer,
/// nesting, non-ASCII text, an empty string and a null.
fn awkward_metadata() -> Metadata {
    Metadata::from_value(json!({
        "ratio": 0.1,
        "integral": 2.0,
        "big": 1.0e16,
        "huge": 18_446_744_073_709_551_615_u64,
        "negative": -3,
        "nested": { "b": [1, 2.5, "x"], "a": true },
        "text": "é😀 \"quoted\" \\ back",
        "empty": "",
        "nothing": null
    }))
    .expect("metadata")
}

/// Writes a history through the manager and one checkpoint over it: two keys, one with awkward
/// metadata changed, suspended and unsuspended, transferred and rotated; a system event with a
/// float payload.
pub async fn seed<S>(store: &S) -> Seeded
where
    S: KeyStore + AuditStore + Clone,
{
    let clock = ManualClock::new(base_time());
    let keys = keys_over(store, &clock);
    let m = keys.manager();
    let all = TenantScope::All;
    let mut new = NewKey::new("alpha");
    new.owner = Some("alice".into());
    new.metadata = awkward_metadata();
    new.scopes = ScopeSet::parse(["docs:read"]).expect("scopes");
    let alpha = m
        .create_as(new, Change::by("admin@example.com"))
        .await
        .expect("create");
    let key = alpha.record.id;
    m.create(NewKey::new("beta")).await.expect("create");
    clock.advance(TimeDelta::seconds(60));
    let update = KeyUpdate {
        name: Some("alpha, renamed".into()),
        metadata: Some(awkward_metadata()),
        ..KeyUpdate::default()
    };
    m.update(
        &all,
        key,
        update,
        Change::by("admin@example.com").because("tidy"),
    )
    .await
    .expect("update");
    m.suspend(&all, key, Change::by("ops").because("investigating"))
        .await
        .expect("suspend");
    m.unsuspend(&all, key, Change::by("ops"))
        .await
        .expect("unsuspend");
    m.transfer(&all, key, "carol", Change::by("ops"))
        .await
        .expect("transfer");
    m.rotate(&all, key, TimeDelta::hours(1), Change::by("ops"))
        .await
        .expect("rotate");
    let system = AuditEvent::system(
        EventType::QuotaThreshold,
        None,
        None,
        clock.now(),
        Some(json!({ "percent": 80, "ratio": 0.8, "big": 1.0e16 })),
        &["chain-seed"],
    );
    assert!(store.append(&system).await.expect("append"));
    let made = checkpoint_job(store, &clock)
        .checkpoint_now()
        .await
        .expect("checkpoint");
    assert!(made >= 1, "a checkpoint over the seeded history");
    let through = store.last_position().await.expect("last position") - 1;
    Seeded {
        keys,
        clock,
        key,
        through,
    }
}

/// Verifies `store`'s log with the test box and asserts it is intact.
pub async fn assert_intact<S: AuditStore>(store: &S) -> ChainReport {
    let sbox = test_box();
    let report = chain::verify(store, Some(&sbox)).await.expect("verify");
    assert!(
        report.is_intact(),
        "the log should verify: {:#?}",
        report.findings
    );
    report
}

/// Verifies `store`'s log and asserts that the first finding is `problem` at `position`.
pub async fn assert_found<S: AuditStore>(
    store: &S,
    problem: Problem,
    position: u64,
) -> ChainReport {
    let sbox = test_box();
    let report = chain::verify(store, Some(&sbox)).await.expect("verify");
    let first = report
        .first()
        .unwrap_or_else(|| panic!("expected {problem} at {position}, the log verified"));
    assert_eq!(
        (first.problem, first.position),
        (problem, Some(position)),
        "{:#?}",
        report.findings
    );
    report
}

/// The position of the stored event of `key` at `version` (its newest at that version).
pub async fn position_of<S: AuditStore>(store: &S, key: KeyId, version: u64) -> u64 {
    let events = AuditStore::query(store, &TenantScope::All, &AuditFilter::key(key))
        .await
        .expect("query");
    events
        .iter()
        .filter(|e| e.version == version)
        .filter_map(|e| e.position)
        .max()
        .expect("an event at that version")
}

/// Everything the manager writes reads back with its hash, links to its key's previous event,
/// and is covered by the checkpoint; a later change is consistent but not yet anchored.
pub async fn a_managed_history_verifies<S>(store: &S)
where
    S: KeyStore + AuditStore + Clone,
{
    let seeded = seed(store).await;
    let report = assert_intact(store).await;
    assert_eq!(report.unchained, 0, "every event is sealed");
    assert_eq!(report.chained, report.events);
    assert_eq!(
        report.covered, report.events,
        "the checkpoint covers them all"
    );
    assert_eq!(report.checkpoints, 1);
    assert!(report.checkpoints_verified);
    assert_eq!(report.keys, 3, "alpha, beta and alpha's replacement");
    // Every event of alpha is sealed, and each links to the one before it.
    let history = AuditStore::query(store, &TenantScope::All, &AuditFilter::key(seeded.key))
        .await
        .expect("history");
    let mut chain_events: Vec<_> = history.iter().filter(|e| e.version > 0).collect();
    chain_events.sort_by_key(|e| e.version);
    for pair in chain_events.windows(2) {
        let (a, b) = (pair[0].chain.as_ref(), pair[1].chain.as_ref());
        assert_eq!(b.expect("sealed").prev, a.expect("sealed").hash);
    }
    seeded
        .keys
        .manager()
        .revoke(
            &TenantScope::All,
            seeded.key,
            Change::by("ops").because("done"),
        )
        .await
        .expect("revoke");
    let report = assert_intact(store).await;
    assert_eq!(
        report.unanchored, 1,
        "the revocation is after the checkpoint"
    );
    // What the next change links to: the event at the key's current version.
    let record = KeyStore::get(store, &TenantScope::All, seeded.key)
        .await
        .expect("get")
        .expect("alpha");
    let newest = store
        .newest_change(seeded.key)
        .await
        .expect("newest")
        .expect("an event");
    assert_eq!(
        (newest.version, newest.event_type),
        (record.version, EventType::Revoked)
    );
    assert!(
        store
            .newest_change(KeyId::new())
            .await
            .expect("none")
            .is_none()
    );
}

/// A record added to a key's chain for a version it already has is named as inserted; the real
/// record after it is not blamed.
pub async fn an_inserted_record_is_named<S>(store: &S)
where
    S: KeyStore + AuditStore + Clone,
{
    let seeded = seed(store).await;
    let at = position_of(store, seeded.key, 2).await;
    let original = store
        .read_after(at - 1, 1)
        .await
        .expect("read")
        .pop()
        .expect("the event");
    let mut forged = original.clone();
    forged.id = uuid::Uuid::now_v7();
    forged.position = None;
    forged.reason = Some("approved by the board".into());
    let prev = original.chain.as_ref().expect("sealed").prev;
    chain::seal(&mut forged, prev).expect("seal");
    assert!(store.append(&forged).await.expect("append"));
    let last = store.last_position().await.expect("last");
    let report = assert_found(store, Problem::Inserted, last).await;
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
}

/// A checkpoint sealed under a KEK the deployment does not hold is refused, and what it lists is
/// not taken as covered.
pub async fn a_forged_checkpoint_is_found<S>(store: &S)
where
    S: KeyStore + AuditStore + Clone,
{
    let seeded = seed(store).await;
    seeded
        .keys
        .manager()
        .revoke(&TenantScope::All, seeded.key, Change::by("ops"))
        .await
        .expect("revoke");
    let last = store.last_position().await.expect("last");
    let revoked = store
        .read_after(last - 1, 1)
        .await
        .expect("read")
        .pop()
        .expect("event");
    let other = SecretBox::new(
        Keks::from_spec("evil=HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=").expect("KEK"),
    );
    let previous = chain::last_checkpoint(store)
        .await
        .expect("last")
        .expect("one");
    let forged = Checkpoint::seal(
        &other,
        previous.seq + 1,
        Some(previous.mac),
        seeded.clock.now().timestamp_millis(),
        last,
        vec![Covered(
            last,
            revoked.id,
            revoked.at.timestamp_millis(),
            chain::digest(&revoked).expect("digest"),
        )],
    )
    .expect("seal");
    let event = AuditEvent::system(
        EventType::AuditCheckpoint,
        None,
        None,
        seeded.clock.now(),
        Some(serde_json::to_value(&forged).expect("json")),
        &["forged"],
    );
    assert!(store.append(&event).await.expect("append"));
    let report = assert_found(store, Problem::CheckpointInvalid, last + 1).await;
    assert_eq!(report.last_checkpoint.expect("valid one").seq, previous.seq);
    assert_eq!(
        report.unanchored, 1,
        "the forged checkpoint vouches for nothing"
    );
}

/// Retention deletes old events but keeps each live key's newest record and every checkpoint,
/// records the horizon, and the log still verifies: purged events are told from removed ones,
/// and a chain cut by retention starts where a checkpoint vouches.
pub async fn retention_keeps_live_keys_and_checkpoints<S>(store: &S)
where
    S: KeyStore + AuditStore + Clone,
{
    let seeded = seed(store).await;
    let before = store.read_after(0, 1000).await.expect("read");
    seeded.clock.advance(TimeDelta::days(400));
    let job = AuditRetention::new(
        Arc::new(store.clone()),
        Arc::new(seeded.clock.clone()),
        Duration::from_secs(365 * 24 * 60 * 60),
    )
    .expect("job");
    let run = apikey_core::jobs::JobRun {
        job: AuditRetention::NAME.into(),
        period: 0,
        start: seeded.clock.now(),
        end: seeded.clock.now(),
        fence: 1,
    };
    apikey_core::jobs::Job::run(&job, &run)
        .await
        .expect("purge");
    let after = store.read_after(0, 1000).await.expect("read");
    let kept = |t: EventType| after.iter().filter(|e| e.event_type == t).count();
    assert_eq!(kept(EventType::AuditCheckpoint), 1, "checkpoints stay");
    assert_eq!(kept(EventType::AuditPurged), 1, "the horizon is recorded");
    for id in before
        .iter()
        .filter_map(AuditEvent::key_id)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let Some(record) = store.get(&TenantScope::All, id).await.expect("get") else {
            continue;
        };
        assert!(
            after
                .iter()
                .any(|e| e.key_id() == Some(id) && e.version == record.version),
            "the newest record of live key {id} is kept"
        );
    }
    let alpha_events = after
        .iter()
        .filter(|e| e.key_id() == Some(seeded.key))
        .count();
    assert_eq!(alpha_events, 1, "alpha's older records went");
    let report = assert_intact(store).await;
    assert!(report.purged > 0, "{report:#?}");
    assert!(report.purged_before.is_some());
}

/// The actor filter matches exactly: no prefix, no case folding.
pub async fn actor_filter_matches_exactly<S>(store: &S)
where
    S: KeyStore + AuditStore + Clone,
{
    seed(store).await;
    let by = |actor: &str| AuditFilter {
        actor: Some(actor.to_owned()),
        limit: 1000,
        ..AuditFilter::default()
    };
    let ops = AuditStore::query(store, &TenantScope::All, &by("ops"))
        .await
        .expect("query");
    assert!(ops.len() >= 4, "{ops:#?}");
    assert!(ops.iter().all(|e| e.actor.as_deref() == Some("ops")));
    for miss in ["op", "OPS", "ops ", "%"] {
        assert!(
            AuditStore::query(store, &TenantScope::All, &by(miss))
                .await
                .expect("query")
                .is_empty(),
            "{miss:?} matches nothing"
        );
    }
    let admin = AuditStore::query(store, &TenantScope::All, &by("admin@example.com"))
        .await
        .expect("query");
    assert_eq!(admin.len(), 2, "the creation and the update");
}

/// Erasing an owner revokes their key, blanks its personal fields and the personal fields of
/// every event about it — after a checkpoint covered them — and the log still verifies; the other
/// owner's events keep theirs; a dry run changes nothing.
pub async fn erasure_keeps_the_chain_verifiable<S>(store: &S)
where
    S: KeyStore + AuditStore + Clone,
{
    use apikey_core::compliance::{ERASED_NAME, ErasureStores, erase_owner};
    let seeded = seed(store).await;
    let m = seeded.keys.manager();
    let all = TenantScope::All;
    let stores = ErasureStores {
        audit: store,
        analytics: None,
        requests: None,
    };
    let before = store.read_after(0, 1000).await.expect("read");
    let dry = erase_owner(m, stores, &all, "carol", Change::by("dpo"), true)
        .await
        .expect("dry run");
    // Alpha, transferred to carol, and its rotation's replacement, made after the transfer.
    assert!(
        dry.dry_run && dry.keys.len() == 2 && dry.keys.contains(&seeded.key),
        "{dry:?}"
    );
    assert_eq!(
        store.read_after(0, 1000).await.expect("read"),
        before,
        "a dry run changes nothing"
    );

    let report = erase_owner(
        m,
        stores,
        &all,
        "carol",
        Change::by("dpo").because("request 42"),
        false,
    )
    .await
    .expect("erase");
    assert_eq!(report.keys, dry.keys);
    assert_eq!(
        report.audit_events, dry.audit_events,
        "the dry run counted right"
    );
    assert_eq!(report.unchained_kept, 0);
    let key = KeyStore::get(store, &all, seeded.key)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        (key.owner.as_deref(), key.name.as_str(), key.state),
        (None, ERASED_NAME, apikey_core::KeyState::Revoked)
    );
    let mut events = Vec::new();
    for id in &report.keys {
        events.extend(
            AuditStore::query(store, &all, &AuditFilter::key(*id))
                .await
                .expect("query"),
        );
    }
    let text = serde_json::to_string(&events).expect("json");
    for personal in [
        "alice",
        "carol",
        "admin@example.com",
        "investigating",
        "tidy",
        "\"ratio\"",
    ] {
        assert!(
            !text.contains(personal),
            "{personal:?} survived the erasure"
        );
    }
    let report = assert_intact(store).await;
    assert!(report.erased >= 7, "{report:#?}");
    let erasure = AuditStore::query(
        store,
        &all,
        &AuditFilter {
            types: vec![EventType::Erased],
            limit: 1000,
            ..AuditFilter::default()
        },
    )
    .await
    .expect("query");
    assert!(
        erasure
            .iter()
            .any(|e| e.subject.is_none() && e.actor.as_deref() == Some("dpo")),
        "the erasure is recorded without naming the owner: {erasure:#?}"
    );
    // Erasing again finds the key and erases nothing more.
    let again = erase_owner(m, stores, &all, "carol", Change::by("dpo"), false).await;
    assert!(
        again.expect("again").keys.is_empty(),
        "the key has no owner any more"
    );
}
