//! The jobs the toolkit ships, shared by `apikey jobs run` and a long-running service.

mod retention;

pub use retention::{AuditRetention, DEFAULT_AUDIT_RETENTION};
