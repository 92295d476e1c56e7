//! Management: the [`KeyManager`] creates keys and moves them through their lifecycle.
//!
//! Every change is a versioned update that commits its audit event (record before and after) with
//! it, then invalidates the caches (in process, with a tombstone a racing fill cannot undo, and the
//! shared cache) before the call returns, then emits a [`KeyEvent`].

mod bulk;
mod catalog;
mod change;
mod confirmed;
mod create;
mod credits;
mod history;
mod leaked;
mod lifecycle;
pub(crate) mod new_key;
mod organise;
mod policy;
mod portable;
mod settings;
mod signing;
mod update;
pub(crate) mod validate;

pub use bulk::{BulkAction, BulkChanged, BulkCreated, BulkOptions, BulkRowError, KeyPredicate};
pub use change::Change;
pub use history::{FieldChange, KeyVersion};
pub use leaked::LeakOutcome;
pub use lifecycle::MAX_ROTATION_GRACE_DAYS;
pub use new_key::NewKey;
pub use portable::{EXPORT_FORMAT, Export, ImportReport};
pub use update::KeyUpdate;
pub use validate::{
    MAX_DESCRIPTION_LEN, MAX_ENDPOINT_LIMITS, MAX_LABEL_LEN, MAX_NAME_LEN, MAX_TAGS,
};

use std::sync::Arc;

use crate::audit::{AuditEvent, AuditStore, EventType};
use crate::catalog::CatalogStore;
use crate::clock::truncate_ms;
use crate::confirm::Confirmer;
use crate::error::{Error, ErrorKind, Result};
use crate::event::{KeyEvent, KeyEventKind};
use crate::ids::{KeyId, TenantScope};
use crate::record::KeyRecord;
use crate::secret::Token;
use crate::store::{KeyFilter, Page};
use crate::tenant::TenantSettingsStore;
use crate::verify::{Inner, Verifier};
use catalog::PresetCache;

/// A key just created: the token is shown here once and never again.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored record.
    pub record: KeyRecord,
    /// The whole token, for its owner.
    pub token: Token,
    /// The key's request-signing secret, when it was created with one (the only time it exists
    /// in clear).
    pub signing_secret: Option<crate::signing::SigningSecret>,
    /// For a rotation: set when the old key's change is committed but could not be propagated to
    /// the other instances' caches (an [`ErrorKind::NotPropagated`] error). They may accept the
    /// old key past its grace period for up to their `cache_ttl`.
    pub not_propagated: Option<Error>,
}

/// Creates and manages keys. Cheap to clone; shares the verifier's cache so its changes take effect
/// on the next verification.
#[derive(Debug, Clone)]
pub struct KeyManager {
    inner: Arc<Inner>,
    /// Where tenant settings live, if the deployment has them; without it every tenant has
    /// [`TenantSettings::default()`](crate::TenantSettings).
    settings: Option<Arc<dyn TenantSettingsStore>>,
    /// The audit log to read history from, if wired; the store writes events without it.
    audit: Option<Arc<dyn AuditStore>>,
    /// Templates and groups, if wired.
    catalog: Option<Arc<dyn CatalogStore>>,
    /// Asks the running instances to acknowledge a change, if wired.
    confirmer: Option<Arc<dyn Confirmer>>,
    /// Seals request-signing secrets, if wired (`APIKEY_KEK`).
    secret_box: Option<crate::secret_box::SecretBox>,
}

/// How many times a change is re-applied after losing a version race with another writer.
const CONFLICT_RETRIES: usize = 3;

impl KeyManager {
    pub(crate) fn new(
        verifier: &Verifier,
        settings: Option<Arc<dyn TenantSettingsStore>>,
        audit: Option<Arc<dyn AuditStore>>,
        catalog: Option<Arc<dyn CatalogStore>>,
        confirmer: Option<Arc<dyn Confirmer>>,
        secret_box: Option<crate::secret_box::SecretBox>,
    ) -> Self {
        if let Some(a) = &audit {
            let _ = verifier.inner.audit.set(Arc::clone(a));
        }
        if let (Some(s), Some(t)) = (&settings, verifier.inner.threats.as_ref()) {
            // The per-key detectors read each tenant's own settings at the flush.
            t.tenants.set_store(Arc::clone(s));
        }
        Self {
            inner: Arc::clone(&verifier.inner),
            settings,
            audit,
            catalog,
            confirmer,
            secret_box,
        }
    }

    /// Creates a key and returns its token (the only time the token exists in clear).
    pub async fn create(&self, new: NewKey) -> Result<CreatedKey> {
        self.create_as(new, Change::new()).await
    }

    /// Creates a key on behalf of `change`'s actor (recorded as `created_by` and in the audit log,
    /// with its reason).
    ///
    /// The key's template and group (when a [catalog](crate::catalog) is wired) fill every field
    /// the caller left unset; an unknown one is [`NotFound`](ErrorKind::NotFound) naming it. The
    /// [effective settings](crate::tenant::effective) of the key's tenant apply:
    /// `approval_required` creates it pending, and a key-count limit that is reached refuses it
    /// with [`ErrorKind::LimitReached`] (source: a [`KeyLimitReached`](crate::KeyLimitReached)
    /// naming the limit). On a store with the [`CheckedInsert`](crate::tenant::CheckedInsert)
    /// capability (every bundled one) the limit is checked and the key inserted in one atomic
    /// step; on others, concurrent creations may overshoot a limit by the number in flight.
    pub async fn create_as(&self, new: NewKey, change: Change) -> Result<CreatedKey> {
        change.validate()?;
        let tenant = new.tenant.clone();
        let settings = self.effective_settings(tenant.as_ref()).await?;
        let prepared = self
            .prepare(new, &change, &settings, &mut PresetCache::default())
            .await?;
        let mut created = self
            .commit_new(tenant.as_ref(), vec![prepared], &settings, &change)
            .await?;
        Ok(created.remove(0))
    }

    /// The store, event sink and clock the manager works with, for the jobs that act on keys.
    pub(crate) fn parts(
        &self,
    ) -> (
        Arc<dyn crate::store::KeyStore>,
        Arc<dyn crate::event::EventSink>,
        Arc<dyn crate::clock::Clock>,
    ) {
        (
            Arc::clone(&self.inner.store),
            Arc::clone(&self.inner.events),
            Arc::clone(&self.inner.clock),
        )
    }

    /// The manager's clock reading.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// Emits a system event about `record` (for jobs).
    pub(crate) async fn emit_system(
        &self,
        kind: KeyEventKind,
        record: &KeyRecord,
        actor: Option<String>,
    ) {
        self.emit(kind, record, actor).await;
    }

    pub(crate) fn secret_of<'t>(&self, token: &'t Token) -> &'t str {
        let start = self.inner.format.prefix().len() + crate::ids::LOOKUP_ID_LEN;
        let end = token.expose().len() - crate::token::CHECKSUM_LEN;
        &token.expose()[start..end]
    }

    async fn insert(
        &self,
        record: KeyRecord,
        token: Token,
        action: EventType,
        who: Change,
        kind: KeyEventKind,
    ) -> Result<CreatedKey> {
        let event = self.audit_event(None, Some(&record), action, &who);
        self.inner.store.insert(&record, &event).await?;
        self.after_insert(&record, who.actor, kind).await;
        Ok(CreatedKey {
            record,
            token,
            signing_secret: None,
            not_propagated: None,
        })
    }

    /// The key `id`, if it is in `tenant`.
    pub async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<KeyRecord> {
        self.inner
            .store
            .get(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format_args!("key {id}")))
    }

    /// Keys in `tenant` matching `filter`.
    pub async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        if filter.limit == 0 || filter.limit > crate::store::MAX_PAGE_SIZE {
            return Err(Error::invalid(
                "limit",
                format_args!("must be 1..={}", crate::store::MAX_PAGE_SIZE),
            ));
        }
        self.inner.store.query(tenant, filter).await
    }

    /// Changes descriptive and policy fields.
    pub async fn update(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        update: KeyUpdate,
        change: Change,
    ) -> Result<KeyRecord> {
        let now = self.inner.clock.now();
        self.modify(
            tenant,
            id,
            EventType::Updated,
            &change,
            KeyEventKind::Updated,
            |r| update.apply(r, now),
        )
        .await
    }

    /// Reads, changes and writes back `id` with optimistic concurrency, retrying a lost race a few
    /// times (the change is re-applied to the fresh record, so its checks see the latest state).
    pub(crate) async fn modify<F>(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        action: EventType,
        who: &Change,
        kind: KeyEventKind,
        change: F,
    ) -> Result<KeyRecord>
    where
        F: FnMut(&mut KeyRecord) -> Result<()>,
    {
        self.modify_inner(tenant, id, action, who, kind, None, change)
            .await
    }

    /// [`modify`](Self::modify), with `data` on the audit event.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn modify_with_data<F>(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        action: EventType,
        who: &Change,
        kind: KeyEventKind,
        data: serde_json::Value,
        change: F,
    ) -> Result<KeyRecord>
    where
        F: FnMut(&mut KeyRecord) -> Result<()>,
    {
        self.modify_inner(tenant, id, action, who, kind, Some(data), change)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn modify_inner<F>(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        action: EventType,
        who: &Change,
        kind: KeyEventKind,
        data: Option<serde_json::Value>,
        mut change: F,
    ) -> Result<KeyRecord>
    where
        F: FnMut(&mut KeyRecord) -> Result<()>,
    {
        if let Some(a) = &who.actor {
            validate::label("actor", a)?;
        }
        if let Some(r) = &who.reason {
            validate::text("reason", r, validate::MAX_DESCRIPTION_LEN)?;
        }
        let mut attempt = 0;
        loop {
            let before = self.get(tenant, id).await?;
            let mut after = before.clone();
            change(&mut after)?;
            let now = truncate_ms(self.inner.clock.now());
            after.version = before.version + 1;
            after.updated_at = now;
            if after.state != before.state {
                after.state_changed_at = Some(now);
            }
            let mut event = self.audit_event(Some(&before), Some(&after), action, who);
            event.data.clone_from(&data);
            self.link(&mut event).await?;
            match self
                .inner
                .store
                .update(tenant, before.version, &after, &event)
                .await
            {
                Ok(()) => {
                    let propagated = self.invalidate(&after).await;
                    self.emit(kind, &after, who.actor.clone()).await;
                    propagated?;
                    return Ok(after);
                }
                Err(e) if e.kind() == ErrorKind::Conflict && attempt + 1 < CONFLICT_RETRIES => {
                    attempt += 1
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn audit_event(
        &self,
        before: Option<&KeyRecord>,
        after: Option<&KeyRecord>,
        event_type: EventType,
        who: &Change,
    ) -> AuditEvent {
        let mut event = AuditEvent::key_change(event_type, before, after, self.inner.clock.now())
            .expect("every change has a record")
            .by(who.actor.clone(), who.reason.clone());
        if before.is_none() {
            // A creation starts its key's chain; nothing to read.
            crate::audit::chain::seal(&mut event, crate::audit::chain::ChainHash::GENESIS)
                .expect("an audit event always serializes");
        }
        event
    }

    /// Links `event`, a change of an existing key, into the key's chain (see
    /// [`chain`](crate::audit::chain)).
    pub(crate) async fn link(&self, event: &mut AuditEvent) -> Result<()> {
        crate::audit::chain::link_key_change(self.audit.as_deref(), event).await
    }

    /// Invalidates the in-process cache (tombstone at the new version) and the shared cache. Runs
    /// after the store commit and before the management call returns; a shared cache that cannot
    /// be told is an [`ErrorKind::NotPropagated`] error (the store is already committed, and the
    /// other instances' TTL bounds how long they may still see the old state).
    pub(crate) async fn invalidate(&self, record: &KeyRecord) -> Result<()> {
        let verifier = Verifier::from_inner(Arc::clone(&self.inner));
        verifier.invalidate(record.lookup_id, record.version);
        let Some(l2) = &self.inner.l2 else {
            return Ok(());
        };
        let ttl = self.inner.config.cache_ttl;
        l2.invalidate(&record.lookup_id, record.version, ttl)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, key = %record.id, "could not invalidate the shared cache");
                Error::new(
                    ErrorKind::NotPropagated,
                    format!(
                        "key {} was changed, but other instances could not be told; they may use its old state for up to {}s",
                        record.id,
                        ttl.as_secs()
                    ),
                )
                .with_source(e)
            })
    }

    pub(crate) async fn emit(&self, kind: KeyEventKind, record: &KeyRecord, actor: Option<String>) {
        let event = KeyEvent {
            kind,
            key_id: Some(record.id),
            tenant_id: record.tenant_id.clone(),
            actor,
            at: truncate_ms(self.inner.clock.now()),
        };
        self.inner.events.emit(&event).await;
    }
}
