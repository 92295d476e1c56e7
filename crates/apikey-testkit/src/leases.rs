//! The [`LeaseStore`] conformance suite: the rules the scheduler relies on to run each job once
//! per period across N instances — one live lease per job, takeover only after `until`, a fence
//! that locks a taken-over holder out, completed periods that never run again, failures that
//! stay due — and the storage rules every backend shares (millisecond instants, names stored
//! byte for byte).
//!
//! Every case takes a fresh, empty store and passes time in explicitly (no sleeping), so a
//! backend must compare leases against the caller's `now`, never its own clock. Run them all
//! with [`lease_store_suite!`](crate::lease_store_suite).

use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use apikey_core::{ErrorKind, Result};
use chrono::{DateTime, TimeDelta, Utc};

use crate::fixtures::base_time;

/// `base_time()` + `ms` milliseconds: every instant of the suite is a whole millisecond, which
/// is what stores keep.
fn at(ms: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::milliseconds(ms)
}

/// How long the suite's leases run: 30 s.
const TTL: i64 = 30_000;

async fn claim<S: LeaseStore + ?Sized>(
    store: &S,
    job: &str,
    period: Period,
    holder: &str,
    now_ms: i64,
) -> Option<Lease> {
    store
        .try_claim(job, period, holder, at(now_ms), at(now_ms + TTL))
        .await
        .expect("try_claim")
}

async fn state<S: LeaseStore + ?Sized>(store: &S, job: &str) -> JobState {
    store
        .jobs()
        .await
        .expect("jobs")
        .into_iter()
        .find(|s| s.job == job)
        .unwrap_or_else(|| panic!("job {job:?} is listed"))
}

/// The first claimer of a job gets a lease that says what it claimed; a second claimer at the
/// same instant gets `None` and changes nothing.
pub async fn first_claim_wins<S: LeaseStore + ?Sized>(store: &S) {
    let a = claim(store, "expiry", 7, "a", 0)
        .await
        .expect("the first claim wins");
    assert_eq!(
        (a.job.as_str(), a.holder.as_str(), a.period, a.until),
        ("expiry", "a", 7, at(TTL))
    );
    assert!(a.fence >= 1, "the first claim bumps the fence from 0");
    assert_eq!(claim(store, "expiry", 7, "b", 0).await, None);
    assert_eq!(
        claim(store, "expiry", 7, "b", TTL - 1).await,
        None,
        "live until the last millisecond before `until`"
    );
    let s = state(store, "expiry").await;
    assert_eq!(s.holder.as_deref(), Some("a"));
    assert_eq!(s.lease_until, Some(at(TTL)));
    assert_eq!(s.fence, a.fence, "a refused claim does not bump the fence");
    assert_eq!(
        (s.last_period, s.last_run_at, s.last_error),
        (None, None, None)
    );
}

/// A lease is not live at `until` itself: a claim then is a takeover with a higher fence.
pub async fn claim_after_until_is_a_takeover<S: LeaseStore + ?Sized>(store: &S) {
    let a = claim(store, "expiry", 7, "a", 0).await.expect("claim");
    let b = claim(store, "expiry", 7, "b", TTL)
        .await
        .expect("a lease that ran out is taken over");
    assert!(
        b.fence > a.fence,
        "takeover fences {} > {}",
        b.fence,
        a.fence
    );
    let c = claim(store, "expiry", 7, "c", 3 * TTL)
        .await
        .expect("and again");
    assert!(c.fence > b.fence);
    let s = state(store, "expiry").await;
    assert_eq!((s.holder.as_deref(), s.fence), (Some("c"), c.fence));
}

/// A holder that was taken over can neither renew, finish nor release its successor's lease —
/// even when the successor reuses its holder id (only the fence tells them apart).
pub async fn taken_over_holder_is_fenced_out<S: LeaseStore + ?Sized>(store: &S) {
    let old = claim(store, "expiry", 7, "a", 0).await.expect("claim");
    let other = claim(store, "expiry", 7, "b", TTL).await.expect("takeover");
    let same_id = claim(store, "expiry", 7, "a", 2 * TTL + 5)
        .await
        .expect("the first holder's id takes it back");
    assert!(same_id.fence > other.fence);
    for stale in [&old, &other] {
        assert!(
            !store.renew(stale, at(10 * TTL)).await.expect("renew"),
            "a stale lease (fence {}) is not renewed",
            stale.fence
        );
        assert!(
            !store
                .finish(stale, at(2 * TTL + 10), &JobOutcome::Ok)
                .await
                .expect("finish"),
            "a stale lease (fence {}) does not finish",
            stale.fence
        );
        assert!(
            !store
                .finish(stale, at(2 * TTL + 10), &JobOutcome::Failed("stale".into()))
                .await
                .expect("finish"),
        );
        store.release(stale).await.expect("release");
    }
    let s = state(store, "expiry").await;
    assert_eq!(s.holder.as_deref(), Some("a"));
    assert_eq!(s.fence, same_id.fence);
    assert_eq!(
        s.lease_until,
        Some(same_id.until),
        "not renewed by a stale holder"
    );
    assert_eq!(
        (s.last_period, s.last_run_at, s.last_error),
        (None, None, None),
        "nothing written by a stale finish"
    );
    assert_eq!(
        claim(store, "expiry", 7, "b", 2 * TTL + 20).await,
        None,
        "the successor still holds its lease"
    );
    assert!(
        store
            .finish(&same_id, at(2 * TTL + 30), &JobOutcome::Ok)
            .await
            .expect("finish")
    );
}

/// `finish(Ok)` completes the period: it is recorded with the end of the run, the holder is
/// cleared, and neither it nor an earlier period can be claimed again; a later one can.
pub async fn finish_ok_completes_the_period<S: LeaseStore + ?Sized>(store: &S) {
    let a = claim(store, "expiry", 7, "a", 0).await.expect("claim");
    assert!(
        store
            .finish(&a, at(1_234), &JobOutcome::Ok)
            .await
            .expect("finish")
    );
    let s = state(store, "expiry").await;
    assert_eq!(s.last_period, Some(7));
    assert_eq!(s.last_run_at, Some(at(1_234)));
    assert_eq!((s.holder, s.lease_until, s.last_error), (None, None, None));
    assert_eq!(s.fence, a.fence, "finishing is not a claim");
    assert_eq!(claim(store, "expiry", 7, "b", 2_000).await, None, "done");
    assert_eq!(claim(store, "expiry", 6, "b", 2_000).await, None, "earlier");
    assert!(
        !store
            .finish(&a, at(2_000), &JobOutcome::Ok)
            .await
            .expect("finish"),
        "a finished lease is no longer held"
    );
    let next = claim(store, "expiry", 8, "b", 2_000)
        .await
        .expect("the next period is due");
    assert!(next.fence > a.fence);
}

/// `finish(Failed)` keeps the period due and stores the message; a later success clears it.
pub async fn finish_failed_keeps_the_period_due<S: LeaseStore + ?Sized>(store: &S) {
    let a = claim(store, "expiry", 7, "a", 0).await.expect("claim");
    let failed = JobOutcome::Failed("database down: it's 'gone'".into());
    assert!(store.finish(&a, at(500), &failed).await.expect("finish"));
    let s = state(store, "expiry").await;
    assert_eq!(s.last_period, None, "a failed period is not completed");
    assert_eq!(s.last_run_at, Some(at(500)));
    assert_eq!(s.last_error.as_deref(), Some("database down: it's 'gone'"));
    assert_eq!((s.holder, s.lease_until), (None, None));

    let b = claim(store, "expiry", 7, "b", 600)
        .await
        .expect("the failed period is due again at once");
    assert!(b.fence > a.fence);
    assert!(
        store
            .finish(&b, at(900), &JobOutcome::Ok)
            .await
            .expect("finish")
    );
    let s = state(store, "expiry").await;
    assert_eq!(s.last_period, Some(7));
    assert_eq!(s.last_run_at, Some(at(900)));
    assert_eq!(s.last_error, None, "a success clears the error");
}

/// Periods compare exactly over the whole `i64` range (a store comparing them as doubles would
/// take `i64::MAX - 1` for `i64::MAX`), negative ones included.
pub async fn periods_compare_exactly<S: LeaseStore + ?Sized>(store: &S) {
    for (job, done, earlier, later) in [
        ("top", i64::MAX - 1, i64::MAX - 2, i64::MAX),
        ("bottom", i64::MIN + 1, i64::MIN, i64::MIN + 2),
        ("sign", -1, -2, 0),
        ("digits", 99, 9, 100),
    ] {
        let a = claim(store, job, done, "a", 0).await.expect("claim");
        assert!(
            store
                .finish(&a, at(1), &JobOutcome::Ok)
                .await
                .expect("finish")
        );
        assert_eq!(state(store, job).await.last_period, Some(done), "{job}");
        assert_eq!(claim(store, job, done, "b", 2).await, None, "{job}: done");
        assert_eq!(
            claim(store, job, earlier, "b", 2).await,
            None,
            "{job}: earlier"
        );
        let b = claim(store, job, later, "b", 2)
            .await
            .unwrap_or_else(|| panic!("{job}: the next period is due"));
        assert!(
            store
                .finish(&b, at(3), &JobOutcome::Ok)
                .await
                .expect("finish")
        );
        assert_eq!(state(store, job).await.last_period, Some(later), "{job}");
    }
}

/// `release` gives the lease up without a result: the period stays due for anyone at once.
pub async fn release_leaves_the_period_due<S: LeaseStore + ?Sized>(store: &S) {
    let a = claim(store, "expiry", 7, "a", 0).await.expect("claim");
    store.release(&a).await.expect("release");
    let s = state(store, "expiry").await;
    assert_eq!((s.holder, s.lease_until), (None, None));
    assert_eq!(
        (s.last_period, s.last_run_at, s.last_error),
        (None, None, None)
    );
    assert!(
        !store
            .finish(&a, at(10), &JobOutcome::Ok)
            .await
            .expect("finish"),
        "a released lease cannot finish"
    );
    let b = claim(store, "expiry", 7, "b", 1)
        .await
        .expect("a released period is claimed before the old `until`");
    assert!(b.fence > a.fence);
}

/// `renew` moves `until`: a claim before the new `until` fails, one at it succeeds.
pub async fn renew_extends_the_lease<S: LeaseStore + ?Sized>(store: &S) {
    let a = claim(store, "expiry", 7, "a", 0).await.expect("claim");
    let until = at(3 * TTL + 7);
    assert!(store.renew(&a, until).await.expect("renew"));
    assert!(
        store.renew(&a, until).await.expect("renew"),
        "renewing to the same instant still holds"
    );
    assert_eq!(state(store, "expiry").await.lease_until, Some(until));
    assert_eq!(
        claim(store, "expiry", 7, "b", TTL).await,
        None,
        "live past the original `until`"
    );
    assert_eq!(claim(store, "expiry", 7, "b", 3 * TTL + 6).await, None);
    let a_renewed = Lease { until, ..a.clone() };
    assert!(
        store
            .finish(&a_renewed, at(TTL), &JobOutcome::Ok)
            .await
            .expect("finish"),
        "the renewed lease is still the holder's"
    );
    let b = claim(store, "expiry", 8, "b", 3 * TTL + 7)
        .await
        .expect("next period");
    assert!(b.fence > a.fence);
    assert!(!store.renew(&a, at(10 * TTL)).await.expect("renew"));
}

/// Eight instances claim the same job and period at once: exactly one wins. Run on a
/// multi-thread runtime, so the claims overlap in the backend.
pub async fn concurrent_claims_admit_exactly_one<S: LeaseStore + ?Sized>(store: &S) {
    let c = |i: u32| async move {
        store
            .try_claim("expiry", 7, &format!("instance-{i}"), at(0), at(TTL))
            .await
    };
    let outcomes: [Result<Option<Lease>>; 8] = {
        let (a, b, c2, d, e, f, g, h) =
            tokio::join!(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7));
        [a, b, c2, d, e, f, g, h]
    };
    let winners: Vec<Lease> = outcomes
        .into_iter()
        .flat_map(|o| o.expect("a losing claim is None, not an error"))
        .collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let s = state(store, "expiry").await;
    assert_eq!(s.holder.as_deref(), Some(winners[0].holder.as_str()));
    assert_eq!(s.fence, winners[0].fence);
}

/// `jobs()` lists every job the store has seen, ordered by name, each with its own state:
/// a lease on one job says nothing about another.
pub async fn jobs_lists_every_job<S: LeaseStore + ?Sized>(store: &S) {
    assert_eq!(store.jobs().await.expect("jobs"), vec![], "empty at first");
    let held = claim(store, "rotation", 3, "a", 0).await.expect("claim");
    let done = claim(store, "expiry", 7, "a", 0)
        .await
        .expect("another job is not held by the first one's lease");
    assert!(
        store
            .finish(&done, at(100), &JobOutcome::Ok)
            .await
            .expect("finish")
    );
    let failed = claim(store, "retention", 1, "b", 0).await.expect("claim");
    let outcome = JobOutcome::Failed("boom".into());
    assert!(
        store
            .finish(&failed, at(200), &outcome)
            .await
            .expect("finish")
    );
    assert_eq!(
        store.jobs().await.expect("jobs"),
        vec![
            JobState {
                job: "expiry".into(),
                last_period: Some(7),
                last_run_at: Some(at(100)),
                last_error: None,
                holder: None,
                lease_until: None,
                fence: done.fence,
            },
            JobState {
                job: "retention".into(),
                last_period: None,
                last_run_at: Some(at(200)),
                last_error: Some("boom".into()),
                holder: None,
                lease_until: None,
                fence: failed.fence,
            },
            JobState {
                job: "rotation".into(),
                last_period: None,
                last_run_at: None,
                last_error: None,
                holder: Some("a".into()),
                lease_until: Some(at(TTL)),
                fence: held.fence,
            },
        ]
    );
}

/// Instants come back to the millisecond (a store keeping seconds would lose the `.123`), and
/// the comparisons of leases are exact to it.
pub async fn instants_round_trip_at_millisecond_precision<S: LeaseStore + ?Sized>(store: &S) {
    let now = at(1_001);
    let until = at(1_999);
    let a = store
        .try_claim("expiry", 7, "a", now, until)
        .await
        .expect("claim")
        .expect("claimed");
    assert_eq!(a.until, until);
    assert_eq!(state(store, "expiry").await.lease_until, Some(until));
    let refused = store
        .try_claim("expiry", 7, "b", at(1_998), at(5_000))
        .await
        .expect("claim");
    assert_eq!(refused, None, "live one millisecond before `until`");
    let renewed = at(2_345);
    assert!(store.renew(&a, renewed).await.expect("renew"));
    assert_eq!(state(store, "expiry").await.lease_until, Some(renewed));
    assert!(
        store
            .finish(&a, at(2_001), &JobOutcome::Ok)
            .await
            .expect("finish")
    );
    assert_eq!(state(store, "expiry").await.last_run_at, Some(at(2_001)));
}

/// Job names and holder ids the suite tries: quotes, placeholders, unicode, a trailing space,
/// case variants, 200 characters. Each is a different job (names compare byte for byte).
pub const HOSTILE_NAMES: &[&str] = &[
    "'; DROP TABLE apikey_job_leases; --",
    "\" OR \"1\"=\"1",
    "it's",
    "a%b_c\\",
    "$1 ? :name @p1",
    "{\"$gt\": \"\"}",
    "{job}",
    "日本語 🔑 مرحبا e\u{301} \u{202e}rtl",
    "expiry",
    "Expiry",
    "expiry ",
    "\t\n\r",
];

/// 200 characters (400 bytes) mixing ASCII, a quote and multi-byte characters.
fn long_name() -> String {
    (0..200).map(|i| ['x', '\'', 'é', '🔑'][i % 4]).collect()
}

/// Hostile job names, holder ids and error messages are stored and compared verbatim (a NUL,
/// which some databases cannot store, may instead be refused with `InvalidInput`).
pub async fn hostile_names_are_stored_verbatim<S: LeaseStore + ?Sized>(store: &S) {
    let mut names: Vec<String> = HOSTILE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    names.push(long_name());
    for (i, name) in names.iter().enumerate() {
        let lease = store
            .try_claim(name, 1, name, at(0), at(TTL))
            .await
            .expect("claim")
            .unwrap_or_else(|| panic!("{name:?} is a job of its own"));
        assert_eq!((&lease.job, &lease.holder), (name, name));
        let period = i64::try_from(i).expect("small");
        if i % 2 == 0 {
            let outcome = JobOutcome::Failed(name.clone());
            assert!(store.finish(&lease, at(1), &outcome).await.expect("finish"));
        } else {
            assert!(store.renew(&lease, at(TTL + period)).await.expect("renew"));
        }
    }
    let jobs = store.jobs().await.expect("jobs");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        jobs.iter().map(|s| s.job.clone()).collect::<Vec<_>>(),
        sorted,
        "every name is its own job, listed in byte order"
    );
    for (i, name) in names.iter().enumerate() {
        let s = jobs.iter().find(|s| s.job == *name).expect("listed");
        if i % 2 == 0 {
            assert_eq!(s.last_error.as_deref(), Some(name.as_str()));
            assert_eq!(s.holder, None);
        } else {
            assert_eq!(s.holder.as_deref(), Some(name.as_str()));
            let period = i64::try_from(i).expect("small");
            assert_eq!(s.lease_until, Some(at(TTL + period)));
        }
    }
    match store.try_claim("nul\0job", 1, "a", at(0), at(TTL)).await {
        Ok(Some(lease)) => {
            assert_eq!(lease.job, "nul\0job");
            assert!(
                store
                    .jobs()
                    .await
                    .expect("jobs")
                    .iter()
                    .any(|s| s.job == "nul\0job")
            );
        }
        Ok(None) => panic!("a new job is claimable"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
    }
}
