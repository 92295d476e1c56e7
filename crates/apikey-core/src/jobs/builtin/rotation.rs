//! `keys.rotation`: applies rotation policies. A due key under a `notify` policy gets one
//! `key.rotation_due` event (per key: its successor after a rotation is a new key); under a
//! `rotate` policy it is rotated with the policy's grace, and the new token goes to the job's
//! [`TokenSink`] — never to a log or the audit log.
//!
//! Once across instances: a rotation is a compare-and-set on the old key (a second instance finds
//! it already rotated and skips it), and a notice's id is derived from the key, so
//! [`AuditStore::append`] stores it once and only the instance that stored it emits the event.
//! A token the sink refuses is not lost silently: the rotation is undone (the new key erased, the
//! old one's successor cleared) and the run fails, so the next run rotates again.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;

use crate::audit::{AuditEvent, AuditStore, EventSubject, EventType, SYSTEM_ACTOR};
use crate::catalog::{PolicyTarget, RotationMode, RotationPolicy};
use crate::clock::truncate_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::event::KeyEventKind;
use crate::ids::{TenantId, TenantScope};
use crate::jobs::{Job, JobRun};
use crate::manage::{Change, KeyManager};
use crate::record::KeyRecord;
use crate::secret::Token;
use crate::state::KeyState;
use crate::store::{KeyFilter, MAX_PAGE_SIZE};

/// Where a policy rotation's new token goes: the owner's inbox, a secrets manager, an encrypted
/// event for the owner. Called once per rotation, after the rotation is committed; an error
/// undoes the rotation.
#[async_trait]
pub trait TokenSink: Send + Sync + fmt::Debug + 'static {
    /// Hands `token`, the new key `key`'s, to whoever must use it.
    async fn deliver(&self, key: &KeyRecord, token: &Token) -> Result<()>;
}

/// The `keys.rotation` job: see the [module](self).
#[derive(Debug)]
pub struct RotationJob {
    manager: KeyManager,
    audit: Arc<dyn AuditStore>,
    sink: Option<Arc<dyn TokenSink>>,
    every: Duration,
}

impl RotationJob {
    /// The job's name, as `apikey jobs run` takes it.
    pub const NAME: &'static str = "keys.rotation";

    /// A job over `manager`'s keys and catalog (wire one with `ApiKeysBuilder::catalog`),
    /// writing notices to `audit`, running every `every`. Without a `sink`, keys under a
    /// `rotate` policy fail the run instead of being rotated with no one to receive the token.
    pub fn new(
        manager: KeyManager,
        audit: Arc<dyn AuditStore>,
        sink: Option<Arc<dyn TokenSink>>,
        every: Duration,
    ) -> Self {
        Self {
            manager,
            audit,
            sink,
            every,
        }
    }

    async fn notify(
        &self,
        key: &KeyRecord,
        target: &PolicyTarget,
        p: &RotationPolicy,
    ) -> Result<()> {
        let now = truncate_ms(self.manager.now());
        let id = key.id.to_string();
        let event = AuditEvent::system(
            EventType::RotationDue,
            Some(EventSubject::Key(key.id)),
            key.tenant_id.clone(),
            now,
            Some(serde_json::json!({ "policy": target.to_string(), "every_days": p.every_days })),
            &[&id],
        );
        if self.audit.append(&event).await? {
            let kind = KeyEventKind::RotationDue {
                every_days: p.every_days,
            };
            self.manager
                .emit_system(kind, key, Some(SYSTEM_ACTOR.to_owned()))
                .await;
        }
        Ok(())
    }

    async fn rotate(
        &self,
        key: &KeyRecord,
        target: &PolicyTarget,
        p: &RotationPolicy,
    ) -> Result<()> {
        let sink = self.sink.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("policy {target} rotates keys, but the rotation job has no token sink"),
            )
        })?;
        let who = Change::by(SYSTEM_ACTOR).because(format!(
            "rotation policy {target}: every {} days",
            p.every_days
        ));
        let grace = TimeDelta::days(i64::from(p.grace_days));
        let created = match self
            .manager
            .rotate(&TenantScope::All, key.id, grace, who)
            .await
        {
            Ok(c) => c,
            // Another instance rotated it first, or it changed state meanwhile.
            Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::InvalidInput) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if let Err(e) = sink.deliver(&created.record, &created.token).await {
            return Err(self.manager.abandon_rotation(&created, e).await);
        }
        Ok(())
    }
}

#[async_trait]
impl Job for RotationJob {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        self.every
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let now = self.manager.now();
        let mut policies: HashMap<Option<TenantId>, _> = HashMap::new();
        let mut filter = KeyFilter {
            states: vec![KeyState::Active],
            limit: MAX_PAGE_SIZE,
            ..KeyFilter::default()
        };
        let mut first_error = None;
        let mut acted = 0u64;
        loop {
            let page = self.manager.query(&TenantScope::All, &filter).await?;
            for key in &page.items {
                if key.rotated_to.is_some() {
                    continue;
                }
                if !policies.contains_key(&key.tenant_id) {
                    let found = self.manager.tenant_policies(key.tenant_id.as_ref()).await?;
                    policies.insert(key.tenant_id.clone(), found);
                }
                let of_tenant = &policies[&key.tenant_id];
                let targets = [
                    Some(PolicyTarget::Key(key.id)),
                    key.group.clone().map(PolicyTarget::Group),
                    Some(PolicyTarget::Tenant),
                ];
                let Some((target, p)) = targets
                    .into_iter()
                    .flatten()
                    .find_map(|t| of_tenant.get(&t).map(|p| (t, *p)))
                else {
                    continue;
                };
                if now < key.created_at + TimeDelta::days(i64::from(p.every_days)) {
                    continue;
                }
                let done = match p.mode {
                    RotationMode::Notify => self.notify(key, &target, &p).await,
                    RotationMode::Rotate => self.rotate(key, &target, &p).await,
                };
                match done {
                    Ok(()) => acted += 1,
                    // One key's failure does not stop the others; the run reports it.
                    Err(e) => {
                        tracing::warn!(job = Self::NAME, key = %key.id, error = %e, "rotation policy failed");
                        first_error.get_or_insert(e);
                    }
                }
            }
            match page.next {
                Some(next) => filter.after = Some(next),
                None => break,
            }
        }
        tracing::info!(
            job = Self::NAME,
            period = run.period,
            acted,
            "rotation policies applied"
        );
        first_error.map_or(Ok(()), Err)
    }
}
