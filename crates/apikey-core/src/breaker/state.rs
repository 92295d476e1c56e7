//! [`Breaker`]: closed, open until an instant, or half-open with one probe in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::{Clock, Error, ErrorKind, Result};

/// When the circuit opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive unavailable answers that open the circuit (default 5, at least 1).
    pub failures: u32,
    /// How long it stays open before a probe (default 10 s).
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: 5,
            cool_down: Duration::from_secs(10),
        }
    }
}

/// Where the circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; this many unavailable answers in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls are refused until this instant.
    Open {
        /// When a probe may go through.
        until: DateTime<Utc>,
    },
    /// One probe is in flight; other calls are refused until it answers.
    HalfOpen,
}

/// The breaker's state machine.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<BreakerState>,
    opened: AtomicU64,
    refused: AtomicU64,
}

/// Leave to make one call; [`Breaker::finish`] reports how it went.
#[derive(Debug)]
#[must_use]
pub struct Permit {
    probe: bool,
}

impl Breaker {
    /// A closed breaker.
    ///
    /// # Errors
    ///
    /// `failures` of 0 or a zero `cool_down` (a breaker that could never close or never open).
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        if config.failures == 0 || config.cool_down.is_zero() {
            return Err(Error::invalid(
                "breaker",
                "failures and cool_down must be above zero",
            ));
        }
        Ok(Self {
            config,
            clock,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
            opened: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        *self.state.lock()
    }

    /// How many times the circuit opened, and how many calls it refused.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.opened.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }

    /// Leave for one call, or the `Unavailable` error to answer with at once.
    ///
    /// # Errors
    ///
    /// While open, or half-open with the probe still out.
    pub fn admit(&self) -> Result<Permit> {
        let mut state = self.state.lock();
        match *state {
            BreakerState::Closed { .. } => Ok(Permit { probe: false }),
            BreakerState::Open { until } if self.clock.now() >= until => {
                *state = BreakerState::HalfOpen;
                Ok(Permit { probe: true })
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(Error::unavailable(
                    "the key store's circuit is open after repeated failures",
                ))
            }
        }
    }

    /// Reports the call `permit` allowed: an `Unavailable` error counts against the store,
    /// anything else (an answer, a missing key, a conflict) shows it is up.
    // By value: a permit is spent by the one `finish` that reports its call.
    #[allow(clippy::needless_pass_by_value)]
    pub fn finish<T>(&self, permit: Permit, result: &Result<T>) {
        let probe = permit.probe;
        let failed = matches!(result, Err(e) if e.kind() == ErrorKind::Unavailable);
        let mut state = self.state.lock();
        let next = match (*state, failed) {
            (BreakerState::HalfOpen, false) if probe => {
                tracing::info!("key store circuit closed: the probe succeeded");
                BreakerState::Closed { failures: 0 }
            }
            (BreakerState::HalfOpen, true) if probe => self.open(),
            (BreakerState::Closed { .. }, false) => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, true) => {
                if failures + 1 >= self.config.failures {
                    self.open()
                } else {
                    BreakerState::Closed {
                        failures: failures + 1,
                    }
                }
            }
            // A call admitted before the circuit opened answers late: it changes nothing.
            (other, _) => other,
        };
        *state = next;
    }

    fn open(&self) -> BreakerState {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let until = self.clock.now()
            + chrono::Duration::from_std(self.config.cool_down).unwrap_or(chrono::Duration::MAX);
        tracing::warn!(
            cool_down_ms = self.config.cool_down.as_millis() as u64,
            "key store circuit open: calls fail fast until a probe succeeds"
        );
        BreakerState::Open { until }
    }
}
