//! Canary keys in the verifier: a canary whose full secret verified is refused exactly as an
//! unknown id is (same kind, same failure count, same 401 body), and reported as
//! `canary.tripped` at most once per key and [`INCIDENT`] in this process.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Verifier;
use super::config::CanaryPolicy;
use super::context::RequestContext;
use super::failures::FailSubject;
use super::rejection::{Rejection, RejectionKind};
use crate::audit::SYSTEM_ACTOR;
use crate::event::{KeyEvent, KeyEventKind};
use crate::ids::KeyId;
use crate::ids::{TenantId, TenantScope};
use crate::manage::{BulkAction, BulkOptions, Change, KeyManager};
use crate::record::KeyRecord;
use crate::state::KeyState;
use crate::store::KeyFilter;

/// How long one trip counts as the same incident: further uses within it are refused alike but
/// not reported again (an attacker replaying the key must not flood the audit log).
pub const INCIDENT: std::time::Duration = std::time::Duration::from_secs(3600);

/// The longest `User-Agent` kept in an event.
const MAX_USER_AGENT: usize = 256;

/// When each canary last reported, by key.
#[derive(Debug, Default)]
pub(crate) struct CanaryTrips(Mutex<HashMap<KeyId, i64>>);

impl CanaryTrips {
    /// Whether a trip of `key` at `now_us` starts a new incident (and records it).
    fn new_incident(&self, key: KeyId, now_us: i64) -> bool {
        let window = i64::try_from(INCIDENT.as_micros()).unwrap_or(i64::MAX);
        let mut trips = self.0.lock();
        match trips.get(&key) {
            Some(last) if now_us - last < window => false,
            _ => {
                trips.insert(key, now_us);
                true
            }
        }
    }
}

fn truncated(s: &str) -> String {
    let mut end = s.len().min(MAX_USER_AGENT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl Verifier {
    /// The answer to a canary whose secret verified; reports the trip.
    #[cold]
    pub(super) fn canary_tripped(
        &self,
        r: &KeyRecord,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> Rejection {
        let inner = &*self.inner;
        let new = inner.canaries.new_incident(r.id, now_us);
        #[cfg(feature = "metrics")]
        if new {
            inner.metrics.canary_trips.increment(1);
        }
        if new && let Ok(rt) = tokio::runtime::Handle::try_current() {
            let event = KeyEvent {
                kind: KeyEventKind::CanaryTripped {
                    client_ip: ctx.client_ip,
                    user_agent: ctx.user_agent.map(truncated),
                    route: ctx.endpoint.map(str::to_owned),
                },
                key_id: Some(r.id),
                tenant_id: r.tenant_id.clone(),
                actor: None,
                at: inner.clock.now(),
            };
            let events = Arc::clone(&inner.events);
            rt.spawn(async move { events.emit(&event).await });
            if inner.config.canary == CanaryPolicy::SuspendOwnerKeys
                && let Some(owner) = r.owner.clone()
            {
                rt.spawn(suspend_owner(
                    self.clone(),
                    r.id,
                    r.tenant_id.clone(),
                    owner,
                ));
            }
        }
        // What an unknown id gets, counted the same way.
        self.failed(
            RejectionKind::Unknown,
            ctx,
            FailSubject::Lookup(r.lookup_id),
            now_us,
        )
    }
}

/// [`CanaryPolicy::SuspendOwnerKeys`]: suspends the owner's active keys through the manager, so
/// each suspension is an ordinary audited change that reaches every instance's cache.
async fn suspend_owner(verifier: Verifier, canary: KeyId, tenant: Option<TenantId>, owner: String) {
    let manager = KeyManager::new(&verifier, None, None, None, None, None);
    let scope = tenant.map_or(TenantScope::All, TenantScope::Tenant);
    let filter = KeyFilter {
        owner: Some(owner),
        states: vec![KeyState::Active],
        ..KeyFilter::default()
    };
    let change = Change::new()
        .with_actor(Some(SYSTEM_ACTOR.to_owned()))
        .with_reason(Some(format!("canary key {canary} tripped")));
    match manager
        .bulk_change(
            &scope,
            &filter,
            &BulkAction::Suspend,
            &BulkOptions::default(),
            change,
        )
        .await
    {
        Ok(done) => {
            tracing::warn!(%canary, suspended = done.changed.len(), failed = done.failed.len(), "canary tripped: the owner's keys are suspended")
        }
        Err(e) => {
            tracing::error!(%canary, error = %e, "canary tripped but the owner's keys could not be suspended")
        }
    }
}
