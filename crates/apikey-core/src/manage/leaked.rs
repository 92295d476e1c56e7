//! Leak reports: a token someone found in public (a secret-scanning partner, a user's report) is
//! revoked only when it is a real key's whole token.
//!
//! The lookup id is public and the checksum is a CRC anyone can compute, so a report that named a
//! key by those alone would let anyone revoke any key. The secret is checked against the stored
//! hash as a verification would, whatever state the key is in.

use crate::audit::EventType;
use crate::error::Result;
use crate::event::KeyEventKind;
use crate::ids::TenantScope;
use crate::manage::{Change, KeyManager};
use crate::record::KeyRecord;
use crate::state::KeyState;
use crate::token::ParsedToken;

/// Where a leaked token was found is kept in the revocation reason up to this many characters.
const MAX_WHERE_LEN: usize = 500;

/// What a leak report found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LeakOutcome {
    /// Not a whole token of a stored key: malformed, unknown lookup id, or the wrong secret.
    /// Nothing changed.
    NotAKey,
    /// A real key, revoked now (audited as `key.leaked`, fanned out like any revocation).
    Revoked(Box<KeyRecord>),
    /// A real key that was revoked already; left as it was.
    AlreadyRevoked(Box<KeyRecord>),
}

impl LeakOutcome {
    /// Whether the token was a real key's.
    pub fn is_key(&self) -> bool {
        !matches!(self, Self::NotAKey)
    }
}

impl KeyManager {
    /// Revokes the key whose whole token is `token`, reported found at `found_at` (a URL or a
    /// short description), in any tenant.
    ///
    /// The token must verify in full (format, checksum, lookup id, and secret against the stored
    /// hash); anything less is [`LeakOutcome::NotAKey`] and changes nothing. The reason recorded
    /// is `leaked: <found_at>`, the audit event `key.leaked`, the event a revocation.
    ///
    /// # Errors
    ///
    /// The store's or the hasher's errors; the actor's or reason's validation.
    pub async fn revoke_leaked(
        &self,
        token: &str,
        found_at: &str,
        change: Change,
    ) -> Result<LeakOutcome> {
        let Some(ParsedToken::Current(t)) = self.inner.format.parse(token) else {
            return Ok(LeakOutcome::NotAKey);
        };
        let Some(record) = self.inner.store.find_by_lookup_id(&t.lookup).await? else {
            return Ok(LeakOutcome::NotAKey);
        };
        if !self.inner.hasher.accepts(&record.hash, false) {
            return Ok(LeakOutcome::NotAKey);
        }
        let matched = match self.inner.hasher.verify_fast(t.secret(), &record.hash) {
            Some(v) => v.matched,
            None => {
                self.inner
                    .hasher
                    .verify(t.secret(), &record.hash)
                    .await?
                    .matched
            }
        };
        if !matched {
            return Ok(LeakOutcome::NotAKey);
        }
        if record.state == KeyState::Revoked {
            return Ok(LeakOutcome::AlreadyRevoked(Box::new(record)));
        }
        let found_at: String = found_at.chars().take(MAX_WHERE_LEN).collect();
        let reason = format!("leaked: {found_at}");
        let who = Change {
            actor: change.actor,
            reason: Some(match change.reason {
                Some(r) => format!("{reason} ({r})"),
                None => reason,
            }),
        };
        let kind = KeyEventKind::Revoked {
            reason: who.reason.clone(),
        };
        let revoked = self
            .modify(
                &TenantScope::All,
                record.id,
                EventType::Leaked,
                &who,
                kind,
                |r| {
                    r.state = KeyState::Revoked;
                    r.state_reason.clone_from(&who.reason);
                    Ok(())
                },
            )
            .await?;
        Ok(LeakOutcome::Revoked(Box::new(revoked)))
    }
}
