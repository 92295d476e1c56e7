//! The two halves of every creation (single, clone, bulk): [`prepare`](KeyManager::prepare) turns
//! a [`NewKey`] into a record and its token, and [`commit_new`](KeyManager::commit_new) inserts
//! records under the tenant's key-count limits, then clears caches and emits events.

use super::catalog::PresetCache;
use super::{Change, CreatedKey, KeyManager, NewKey};
use crate::audit::{AuditEvent, EventType};
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{KeyId, TenantId};
use crate::record::KeyRecord;
use crate::secret::Token;
use crate::state::KeyState;
use crate::tenant::{CountLimits, TenantSettings};

/// A record ready to insert, with its token and the data of its creation event.
pub(crate) struct Prepared {
    pub(crate) record: KeyRecord,
    pub(crate) token: Token,
    pub(crate) signing_secret: Option<crate::signing::SigningSecret>,
    pub(crate) data: Option<serde_json::Value>,
}

impl KeyManager {
    /// Applies the key's template and group, validates, and builds the record (hashing its new
    /// secret). Writes nothing.
    pub(crate) async fn prepare(
        &self,
        mut new: NewKey,
        change: &Change,
        settings: &TenantSettings,
        presets: &mut PresetCache,
    ) -> Result<Prepared> {
        let now = truncate_ms(self.inner.clock.now());
        self.apply_presets(&mut new, now, presets).await?;
        new.validate(now)?;
        let (lookup_id, token) = self.inner.format.generate();
        let hash = self.inner.hasher.hash(self.secret_of(&token)).await?;
        let id = KeyId::new();
        let state = if new.require_approval || settings.approval_required {
            KeyState::Pending
        } else {
            KeyState::Active
        };
        let mut record = KeyRecord {
            id,
            tenant_id: new.tenant,
            lookup_id,
            legacy_lookup: None,
            hash,
            name: new.name,
            description: new.description,
            owner: new.owner,
            group: new.group,
            environment: new.environment,
            tags: new.tags,
            aliases: new.aliases,
            scopes: new.scopes,
            state,
            state_reason: None,
            state_changed_at: None,
            approved_by: None,
            not_before: new.not_before.map(truncate_ms),
            expires_at: new.expires_at.map(truncate_ms),
            ip_rules: new.ip_rules,
            rate_limit: new.rate_limit,
            endpoint_limits: new.endpoint_limits,
            quota: new.quota,
            metadata: new.metadata,
            rotated_from: None,
            rotated_to: None,
            grace_until: None,
            lineage_id: id,
            template: new.template,
            created_by: change.actor.clone(),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            usage_count: 0,
            version: 1,
            protection: crate::signing::Protection {
                signing: None,
                canary: new.canary,
            },
        };
        let signing_secret = match new.signing {
            None => None,
            Some(mode) => {
                let (signing, secret) = self.issue_signing(id, mode)?;
                record.protection.signing = Some(signing);
                Some(secret)
            }
        };
        Ok(Prepared {
            record,
            token,
            signing_secret,
            data: None,
        })
    }

    /// Inserts `items` (all of `tenant`), all or none, under the key-count limits of `settings`:
    /// atomically on a store with [`CheckedInsert`](crate::tenant::CheckedInsert); otherwise a
    /// count, then one insert (several are refused: nothing could make them all-or-none).
    pub(crate) async fn commit_new(
        &self,
        tenant: Option<&TenantId>,
        items: Vec<Prepared>,
        settings: &TenantSettings,
        change: &Change,
    ) -> Result<Vec<CreatedKey>> {
        self.try_commit(tenant, items, settings, change)
            .await
            .map_err(|(e, _)| e)
    }

    /// [`commit_new`](Self::commit_new), giving the items back on failure (tokens cannot be
    /// cloned, so a caller that retries row by row needs them returned).
    pub(crate) async fn try_commit(
        &self,
        tenant: Option<&TenantId>,
        items: Vec<Prepared>,
        settings: &TenantSettings,
        change: &Change,
    ) -> std::result::Result<Vec<CreatedKey>, (Error, Vec<Prepared>)> {
        let limits = CountLimits::of(settings);
        let rows: Vec<(KeyRecord, AuditEvent)> = items
            .iter()
            .map(|p| {
                let mut event = self.audit_event(None, Some(&p.record), EventType::Created, change);
                event.data.clone_from(&p.data);
                (p.record.clone(), event)
            })
            .collect();
        let written = if let Some(checked) = self.inner.store.checked() {
            checked.insert_checked(tenant, &rows, &limits).await
        } else if let [(record, event)] = rows.as_slice() {
            match self.check_limits(settings, tenant, record).await {
                Ok(()) => self.inner.store.insert(record, event).await,
                Err(e) => Err(e),
            }
        } else {
            Err(Error::new(
                ErrorKind::Config,
                "this key store cannot insert several keys all-or-none (no CheckedInsert capability)",
            ))
        };
        if let Err(e) = written {
            return Err((e, items));
        }
        let mut created = Vec::with_capacity(items.len());
        for p in items {
            self.after_insert(&p.record, change.actor.clone(), KeyEventKind::Created)
                .await;
            created.push(CreatedKey {
                record: p.record,
                token: p.token,
                signing_secret: p.signing_secret,
                not_propagated: None,
            });
        }
        Ok(created)
    }

    /// What follows a committed insert: a negative cache entry for the lookup id (someone
    /// probing it before it existed) must not outlive the key's creation, and the event goes out.
    pub(crate) async fn after_insert(
        &self,
        record: &KeyRecord,
        actor: Option<String>,
        kind: KeyEventKind,
    ) {
        if let Err(e) = self.invalidate(record).await {
            // Only a negative entry for the new id could be left elsewhere: it ends within the
            // negative ttl.
            tracing::warn!(error = %e, key = %record.id, "could not clear the shared cache for a new key");
        }
        self.emit(kind, record, actor).await;
    }
}
