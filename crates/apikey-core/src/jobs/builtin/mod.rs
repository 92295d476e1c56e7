//! The jobs the toolkit ships, shared by `apikey jobs run` and a long-running service.

mod expiry;
mod retention;
mod rotation;

pub use expiry::{DEFAULT_EXPIRY_THRESHOLDS, ExpiryConfig, ExpiryMonitor};
pub use retention::{AuditRetention, DEFAULT_AUDIT_RETENTION};
pub use rotation::{RotationJob, TokenSink};
