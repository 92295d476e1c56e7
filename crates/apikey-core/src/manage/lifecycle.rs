//! Lifecycle transitions: revoke, suspend, unsuspend, restore, approve, reject, rotate.

use chrono::Duration;

use crate::audit::EventType;
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{KeyId, TenantScope};
use crate::manage::{Change, CreatedKey, KeyManager};
use crate::record::KeyRecord;
use crate::state::KeyState;

fn require(r: &KeyRecord, allowed: &[KeyState], op: &str) -> Result<()> {
    if allowed.contains(&r.state) {
        Ok(())
    } else {
        Err(Error::wrong_state(format_args!(
            "cannot {op} a {} key",
            r.state
        )))
    }
}

/// Longest rotation grace period.
pub const MAX_ROTATION_GRACE_DAYS: i64 = 365;

/// One lifecycle state change: which states it starts from, where it leads, how it is recorded.
struct Transition {
    op: &'static str,
    from: &'static [KeyState],
    to: KeyState,
    action: EventType,
    /// Approval decisions record who made them.
    records_approver: bool,
}

const REVOKE: Transition = Transition {
    op: "revoke",
    from: &[KeyState::Active, KeyState::Suspended, KeyState::Pending],
    to: KeyState::Revoked,
    action: EventType::Revoked,
    records_approver: false,
};
const SUSPEND: Transition = Transition {
    op: "suspend",
    from: &[KeyState::Active],
    to: KeyState::Suspended,
    action: EventType::Suspended,
    records_approver: false,
};
const UNSUSPEND: Transition = Transition {
    op: "unsuspend",
    from: &[KeyState::Suspended],
    to: KeyState::Active,
    action: EventType::Unsuspended,
    records_approver: false,
};
const RESTORE: Transition = Transition {
    op: "restore",
    from: &[KeyState::Revoked],
    to: KeyState::Active,
    action: EventType::Restored,
    records_approver: false,
};
const APPROVE: Transition = Transition {
    op: "approve",
    from: &[KeyState::Pending],
    to: KeyState::Active,
    action: EventType::Approved,
    records_approver: true,
};
const REJECT: Transition = Transition {
    op: "reject",
    from: &[KeyState::Pending],
    to: KeyState::Revoked,
    action: EventType::Rejected,
    records_approver: true,
};

impl KeyManager {
    async fn transition(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        t: &Transition,
        who: Change,
        kind: KeyEventKind,
    ) -> Result<KeyRecord> {
        self.modify(tenant, id, t.action, &who, kind, |r| {
            require(r, t.from, t.op)?;
            r.state = t.to;
            r.state_reason.clone_from(&who.reason);
            if t.records_approver {
                r.approved_by.clone_from(&who.actor);
            }
            Ok(())
        })
        .await
    }

    /// Revokes a key for good (an operator can still [`restore`](Self::restore) it).
    pub async fn revoke(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        let kind = KeyEventKind::Revoked {
            reason: change.reason.clone(),
        };
        self.transition(tenant, id, &REVOKE, change, kind).await
    }

    /// Suspends an active key.
    pub async fn suspend(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        let kind = KeyEventKind::Suspended {
            reason: change.reason.clone(),
        };
        self.transition(tenant, id, &SUSPEND, change, kind).await
    }

    /// Makes a suspended key active again.
    pub async fn unsuspend(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        self.transition(tenant, id, &UNSUSPEND, change, KeyEventKind::Unsuspended)
            .await
    }

    /// Makes a revoked key active again.
    pub async fn restore(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        self.transition(tenant, id, &RESTORE, change, KeyEventKind::Restored)
            .await
    }

    /// Approves a pending key.
    pub async fn approve(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        self.transition(tenant, id, &APPROVE, change, KeyEventKind::Approved)
            .await
    }

    /// Rejects a pending key (it becomes revoked with the reason).
    pub async fn reject(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        change: Change,
    ) -> Result<KeyRecord> {
        let kind = KeyEventKind::Rejected {
            reason: change.reason.clone(),
        };
        self.transition(tenant, id, &REJECT, change, kind).await
    }

    /// Replaces a key with a new one carrying the same scopes, limits, rules, metadata, tags, owner
    /// and tenant. The old key keeps working until `now + grace` (stored on it, so a restart does not
    /// lose it); both are linked, and the quota follows the lineage.
    ///
    /// The new key is inserted first; if the old key then turns out to have changed concurrently, the
    /// new key is deleted again and the call fails with `Conflict`.
    ///
    /// Rotation bypasses the key-count limits of the tenant settings: it replaces a key, and a
    /// tenant at its limit must still be able to rotate a leaked one.
    pub async fn rotate(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        grace: Duration,
        change: Change,
    ) -> Result<CreatedKey> {
        if grace < Duration::zero() || grace > Duration::days(MAX_ROTATION_GRACE_DAYS) {
            return Err(Error::invalid(
                "grace",
                format_args!("must be 0 to {MAX_ROTATION_GRACE_DAYS} days"),
            ));
        }
        // Checked before the replacement is inserted, so a bad change writes nothing.
        change.validate()?;
        let old = self.get(tenant, id).await?;
        require(&old, &[KeyState::Active], "rotate")?;
        if old.rotated_to.is_some() {
            return Err(Error::wrong_state("key was already rotated"));
        }
        let now = truncate_ms(self.inner.clock.now());
        let (lookup_id, token) = self.inner.format.generate();
        let hash = self.inner.hasher.hash(self.secret_of(&token)).await?;
        let new_id = KeyId::new();
        let new = KeyRecord {
            id: new_id,
            lookup_id,
            legacy_lookup: None,
            hash,
            aliases: Vec::new(),
            state: KeyState::Active,
            state_reason: None,
            state_changed_at: None,
            rotated_from: Some(old.id),
            rotated_to: None,
            grace_until: None,
            created_by: change.actor.clone(),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            usage_count: 0,
            version: 1,
            protection: self.carry_protection(&old, new_id)?,
            ..old.clone()
        };
        // The rotation's own reason names the other key; the caller's, if any, comes first.
        let because = |what: String| match &change.reason {
            Some(r) => format!("{r} ({what})"),
            None => what,
        };
        let who = Change {
            actor: change.actor.clone(),
            reason: Some(because(format!("rotated from {}", old.id))),
        };
        let grace_until = truncate_ms(now + grace);
        let kind = KeyEventKind::Rotated {
            new_key: new_id,
            grace_until: Some(grace_until),
        };
        let created = self
            .insert(
                new,
                token,
                EventType::Rotated,
                who.clone(),
                KeyEventKind::Created,
            )
            .await?;
        let who_old = Change {
            actor: who.actor,
            reason: Some(because(format!("rotated to {new_id}"))),
        };
        let expected = old.version;
        let result = self
            .modify(tenant, id, EventType::Rotated, &who_old, kind, |r| {
                if r.version != expected || r.rotated_to.is_some() || r.state != KeyState::Active {
                    return Err(Error::stale(format_args!("key {id}")));
                }
                r.rotated_to = Some(new_id);
                r.grace_until = Some(grace_until);
                Ok(())
            })
            .await;
        match result {
            Ok(_) => Ok(created),
            // Committed: the caller must get the new token, and learn that others were not told.
            Err(e) if e.kind() == ErrorKind::NotPropagated => Ok(CreatedKey {
                not_propagated: Some(e),
                ..created
            }),
            Err(e) => Err(self.undo_rotation(tenant, &created, e).await),
        }
    }

    /// Removes the replacement of a rotation whose second half failed; returns that failure.
    async fn undo_rotation(&self, tenant: &TenantScope, created: &CreatedKey, e: Error) -> Error {
        let new_id = created.record.id;
        let mut undo = self.audit_event(
            Some(&created.record),
            None,
            crate::audit::EventType::Deleted,
            &Change::default(),
        );
        if let Err(link_err) = self.link(&mut undo).await {
            tracing::warn!(error = %link_err, key = %new_id, "could not link the undo of a failed rotation; written unlinked");
        }
        if let Err(undo_err) = self.inner.store.delete(tenant, new_id, &undo).await {
            tracing::error!(error = %undo_err, key = %new_id, "could not remove the replacement of a failed rotation");
        }
        e
    }
}
