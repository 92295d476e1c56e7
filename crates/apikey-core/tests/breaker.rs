//! The store circuit breaker's state machine on an injected clock: it opens after N unavailable
//! answers in a row, refuses without calling while open, lets one probe through after the
//! cool-down, and closes or re-opens on that probe's answer. Other errors show the store is up.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::breaker::{Breaker, BreakerConfig, BreakerState};
use apikey_core::{Error, ErrorKind, ManualClock, Result};
use chrono::Utc;

fn breaker() -> (Breaker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let b = Breaker::new(
        BreakerConfig {
            failures: 3,
            cool_down: Duration::from_secs(10),
        },
        clock.clone(),
    )
    .unwrap();
    (b, clock)
}

fn down() -> Result<()> {
    Err(Error::unavailable("connection refused"))
}

fn call(b: &Breaker, result: Result<()>) -> Result<()> {
    let permit = b.admit()?;
    b.finish(permit, &result);
    result
}

#[test]
fn it_opens_after_n_failures_in_a_row_and_then_refuses_at_once() {
    let (b, _) = breaker();
    call(&b, down()).unwrap_err();
    call(&b, down()).unwrap_err();
    assert_eq!(b.state(), BreakerState::Closed { failures: 2 });
    call(&b, down()).unwrap_err();
    assert!(matches!(b.state(), BreakerState::Open { .. }));
    let refused = b.admit().unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable);
    assert_eq!(b.counts(), (1, 1));
}

#[test]
fn answers_and_non_outage_errors_reset_the_count() {
    let (b, _) = breaker();
    call(&b, down()).unwrap_err();
    call(&b, down()).unwrap_err();
    call(&b, Err(Error::not_found("key"))).unwrap_err();
    assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    call(&b, down()).unwrap_err();
    call(&b, Ok(())).unwrap();
    assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
}

#[test]
fn after_the_cool_down_one_probe_decides() {
    let (b, clock) = breaker();
    for _ in 0..3 {
        call(&b, down()).unwrap_err();
    }
    clock.advance(chrono::Duration::seconds(9));
    assert!(b.admit().is_err(), "still cooling down");
    clock.advance(chrono::Duration::seconds(1));
    let probe = b.admit().expect("the probe goes through");
    assert_eq!(b.state(), BreakerState::HalfOpen);
    assert!(b.admit().is_err(), "one probe at a time");
    b.finish(probe, &down());
    assert!(
        matches!(b.state(), BreakerState::Open { .. }),
        "a failed probe re-opens"
    );
    assert_eq!(b.counts().0, 2);

    clock.advance(chrono::Duration::seconds(10));
    call(&b, Ok(())).unwrap();
    assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
}

#[test]
fn a_late_answer_from_before_the_opening_changes_nothing() {
    let (b, _) = breaker();
    let late = b.admit().unwrap();
    for _ in 0..3 {
        call(&b, down()).unwrap_err();
    }
    b.finish(late, &Ok(()));
    assert!(matches!(b.state(), BreakerState::Open { .. }));
}

#[test]
fn a_breaker_that_could_never_work_is_refused() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    for config in [
        BreakerConfig {
            failures: 0,
            ..BreakerConfig::default()
        },
        BreakerConfig {
            cool_down: Duration::ZERO,
            ..BreakerConfig::default()
        },
    ] {
        assert!(Breaker::new(config, clock.clone()).is_err());
    }
}
