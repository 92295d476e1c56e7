//! Periodic work that runs once per period across every instance: leases in a shared backend
//! ([`LeaseStore`]) so that N instances run each job once, with time taken from the injected
//! [`Clock`](crate::Clock), never from in-memory timers.
//!
//! A lease alone gives at-least-once: a holder that dies mid-run is taken over when its lease
//! runs out, and the job runs that period again. Jobs make their effects exactly-once with
//! deterministic ids (a warning for key K at threshold T has one id, see
//! [`JobRun::effect_id`]) and idempotent inserts.
//!
//! [`Scheduler`] is the loop over the seam; [`builtin`] holds the jobs the toolkit ships.

pub mod builtin;

mod builder;
mod job;
mod lease;
mod report;
mod scheduler;
mod status;
mod unwind;

pub use builder::{DEFAULT_LEASE_TTL, MIN_LEASE_TTL, SchedulerBuilder};
pub use job::{Job, JobRun};
pub use lease::{JobOutcome, JobState, Lease, LeaseStore, Period};
pub use report::{JobReport, RunStatus, TickReport};
pub use scheduler::Scheduler;
pub use status::JobStatus;
