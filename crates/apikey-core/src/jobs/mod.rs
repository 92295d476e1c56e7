//! Periodic work that runs once per period across every instance: leases in a shared backend
//! ([`LeaseStore`]) so that N instances run each job once, with time taken from the injected
//! [`Clock`](crate::Clock), never from in-memory timers.
//!
//! A lease alone gives at-least-once: a holder that dies mid-run is taken over when its lease
//! runs out, and the job runs that period again. Jobs make their effects exactly-once with
//! deterministic ids (a warning for key K at threshold T has one id) and idempotent inserts.

mod lease;

pub use lease::{JobOutcome, JobState, Lease, LeaseStore, Period};
