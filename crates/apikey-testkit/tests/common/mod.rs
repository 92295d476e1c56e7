//! What the mutant tests share.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Timelike, Utc};

/// Runs `f` and asserts that it panicked (the suite caught the bug). The panic messages show in
/// the captured output; `--nocapture` prints which assertion caught each bug.
pub(crate) fn caught(what: &str, f: impl FnOnce()) {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(f));
    assert!(outcome.is_err(), "the suite did not catch: {what}");
}

/// `t` truncated to the second: what a store that loses sub-second precision gives back.
#[allow(
    dead_code,
    reason = "each test crate includes this module; not all use it"
)]
pub(crate) fn seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).expect("valid")
}
