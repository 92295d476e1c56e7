//! Linking a key change into its key's chain when it is written.

use super::canonical::seal;
use super::link::ChainHash;
use crate::audit::{AuditEvent, AuditStore};
use crate::error::Result;

/// Seals `event`, a change of a key: a creation (no record before) starts the key's chain; any
/// other change follows the key's newest event, read from `audit`. The store's version check
/// serialises a key's changes, so the newest event read here is the one the change will follow
/// if it commits; if another change commits first, this one fails its version check and is
/// linked again on retry. Without an audit store to read from, a change is written unlinked
/// (verification counts it as unchained and the next linked change starts afresh).
pub(crate) async fn link_key_change(
    audit: Option<&dyn AuditStore>,
    event: &mut AuditEvent,
) -> Result<()> {
    let key = event.key_id();
    let (Some(audit), Some(key), Some(_)) = (audit, key, event.before.as_ref()) else {
        if event.before.is_none() {
            return seal(event, ChainHash::GENESIS);
        }
        event.chain = None;
        return Ok(());
    };
    let prev = audit
        .newest_change(key)
        .await?
        .and_then(|e| e.chain)
        .map_or(ChainHash::GENESIS, |l| l.hash);
    seal(event, prev)
}
