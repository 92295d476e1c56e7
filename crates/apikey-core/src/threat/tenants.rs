//! The verifier's copy of each tenant's [`TenantThreats`](super::TenantThreats), read from the
//! tenant settings store at the usage flush (never on a verification), at most once a minute
//! per tenant.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::policy::{KeyAction, ThreatPolicy};
use crate::ids::TenantId;
use crate::tenant::{TenantSettingsStore, effective};

/// How long a tenant's settings are used before they are read again: a change made through
/// the manager (on any instance) is in force within this.
pub(crate) const REFRESH_MS: i64 = 60_000;

#[derive(Debug, Default)]
pub(crate) struct TenantPolicies {
    store: OnceLock<Arc<dyn TenantSettingsStore>>,
    /// Tenant → (when read, its policy).
    read: Mutex<HashMap<Option<TenantId>, (i64, ThreatPolicy)>>,
}

impl TenantPolicies {
    /// Where the settings are read from; the first store set stays.
    pub(crate) fn set_store(&self, store: Arc<dyn TenantSettingsStore>) {
        let _ = self.store.set(store);
    }

    /// The policy of each of `tenants`: `base` with the tenant's settings applied, read again
    /// when older than [`REFRESH_MS`]. Without a settings store, `base` for all. When a read
    /// fails, the last policy read stands; with none, `base` downgraded to reporting (a key is
    /// not suspended on a rule its tenant may have turned off).
    pub(crate) async fn resolve(
        &self,
        base: &ThreatPolicy,
        tenants: Vec<Option<TenantId>>,
        now_ms: i64,
    ) -> Vec<(Option<TenantId>, ThreatPolicy)> {
        let Some(store) = self.store.get() else {
            return tenants.into_iter().map(|t| (t, *base)).collect();
        };
        let mut out = Vec::with_capacity(tenants.len());
        for t in tenants {
            let cached = self.read.lock().get(&t).copied();
            if let Some((at, p)) = cached
                && now_ms - at < REFRESH_MS
                && now_ms >= at
            {
                out.push((t, p));
                continue;
            }
            let p = match effective(store.as_ref(), t.as_ref()).await {
                Ok(settings) => {
                    let p = settings.threats.apply(base);
                    self.read.lock().insert(t.clone(), (now_ms, p));
                    p
                }
                Err(e) => {
                    tracing::warn!(tenant = ?t, error = %e, "tenant threat settings unreadable; judging by the last read, or reporting only");
                    cached.map_or_else(|| observe_only(base), |(_, p)| p)
                }
            };
            out.push((t, p));
        }
        out
    }
}

fn observe_only(base: &ThreatPolicy) -> ThreatPolicy {
    let mut p = *base;
    if let Some(d) = p.network_spread.as_mut() {
        d.action = KeyAction::Observe;
    }
    if let Some(d) = p.rate_surge.as_mut() {
        d.action = KeyAction::Observe;
    }
    p
}
