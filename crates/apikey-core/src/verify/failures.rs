//! The failed-auth limiter: counts failed verifications per (client address, lookup id) in a fixed
//! window and blocks that pair before any slow hash once it passes the limit. Lookup ids are public,
//! so without it anyone could make the server run argon2 or bcrypt at will.
//!
//! Unknown ids are counted exactly like known ones, so a block reveals nothing about existence.
//! Failures are reported as aggregated events: on the first failure of a window and on blocking.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::ids::LookupId;

/// What the failure counter is keyed by besides the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FailSubject {
    Lookup(LookupId),
    /// A legacy token's 8-character prefix (secret: never logged).
    Legacy([u8; 8]),
}

/// Limits of the failed-auth limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAuthPolicy {
    /// Failures allowed per window before the pair is blocked.
    pub max_failures: u32,
    /// The window.
    pub window: Duration,
    /// Most (address, id) pairs tracked; beyond it, the oldest windows are dropped.
    pub max_tracked: usize,
}

impl Default for FailedAuthPolicy {
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::from_secs(60),
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    failures: u32,
}

/// What recording a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) failures: u32,
    /// Report this one (first failure in the window, or the one that blocked).
    pub(crate) report: bool,
    pub(crate) blocked: bool,
}

#[derive(Debug)]
pub(crate) struct FailedAuth {
    policy: FailedAuthPolicy,
    windows: Mutex<HashMap<(Option<IpAddr>, FailSubject), Window, foldhash::fast::RandomState>>,
    /// Whether any failure was ever recorded: until then the check on every miss takes no lock.
    any: AtomicBool,
}

impl FailedAuth {
    pub(crate) fn new(policy: FailedAuthPolicy) -> Self {
        Self {
            policy,
            windows: Mutex::new(HashMap::default()),
            any: AtomicBool::new(false),
        }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.policy.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// `Some(retry_after)` when the pair is blocked.
    pub(crate) fn blocked(
        &self,
        ip: Option<IpAddr>,
        subject: FailSubject,
        now_ms: i64,
    ) -> Option<Duration> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let windows = self.windows.lock();
        let w = windows.get(&(ip, subject))?;
        let ends = w.start_ms + self.window_ms();
        (w.failures >= self.policy.max_failures && ends > now_ms)
            .then(|| Duration::from_millis(u64::try_from(ends - now_ms).unwrap_or(0)))
    }

    pub(crate) fn record(&self, ip: Option<IpAddr>, subject: FailSubject, now_ms: i64) -> Recorded {
        let window_ms = self.window_ms();
        self.any.store(true, Ordering::Relaxed);
        let mut windows = self.windows.lock();
        if windows.len() >= self.policy.max_tracked {
            windows.retain(|_, w| w.start_ms + window_ms > now_ms);
            if windows.len() >= self.policy.max_tracked {
                windows.clear();
            }
        }
        let w = windows.entry((ip, subject)).or_insert(Window {
            start_ms: now_ms,
            failures: 0,
        });
        if w.start_ms + window_ms <= now_ms {
            *w = Window {
                start_ms: now_ms,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        let blocked = w.failures >= self.policy.max_failures;
        Recorded {
            failures: w.failures,
            report: w.failures == 1 || w.failures == self.policy.max_failures,
            blocked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_window_ends() {
        let f = FailedAuth::new(FailedAuthPolicy {
            max_failures: 3,
            window: Duration::from_secs(10),
            max_tracked: 10,
        });
        let ip = Some("10.0.0.1".parse().unwrap());
        let s = FailSubject::Lookup(LookupId::generate());
        assert!(f.record(ip, s, 0).report);
        assert!(!f.record(ip, s, 1).report);
        assert_eq!(f.blocked(ip, s, 2), None);
        let third = f.record(ip, s, 2);
        assert!(third.blocked && third.report);
        assert_eq!(f.blocked(ip, s, 4_000), Some(Duration::from_secs(6)));
        assert_eq!(
            f.blocked(None, s, 4_000),
            None,
            "other addresses are not affected"
        );
        assert_eq!(f.blocked(ip, s, 10_000), None);
    }
}
