//! Writing one system event into the audit log from an [`EventSink`](crate::EventSink), where
//! there is no caller to hand an error to: a few attempts with doubling waits, then a warning.
//! System events have deterministic ids, so a retry that had in fact succeeded stores nothing
//! twice.

use std::time::Duration;

use super::{AuditEvent, AuditStore};

/// Attempts per event before it is given up: an audit store that is down for longer loses the
/// event, never a request.
const ATTEMPTS: u32 = 4;

/// Appends `event`, retrying after `first_wait` (doubling); `what` names it in the warning.
pub(crate) async fn append_with_retry(
    audit: &dyn AuditStore,
    event: &AuditEvent,
    first_wait: Duration,
    what: &'static str,
) {
    let mut wait = first_wait;
    for attempt in 1..=ATTEMPTS {
        match audit.append(event).await {
            Ok(_) => return,
            Err(err) if attempt == ATTEMPTS => {
                tracing::warn!(error = %err, subject = ?event.subject, event = what, "could not record a system event; given up");
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}
