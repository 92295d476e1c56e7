//! The verifier's copy of each tenant's [`TenantThreats`](super::TenantThreats), read from the
//! tenant settings store at the usage flush (never on a verification), at most once a minute:
//! every row in one [`list`](TenantSettingsStore::list), or — for a store that cannot list —
//! each tenant seen in the flush by [`effective`].

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::policy::{KeyAction, ThreatPolicy};
use super::tenant::TenantThreats;
use crate::error::ErrorKind;
use crate::ids::TenantId;
use crate::tenant::{TenantSettingsStore, effective};

/// How long settings are used before they are read again: a change made through the manager
/// (on any instance) is in force within this.
pub(crate) const REFRESH_MS: i64 = 60_000;

/// Each tenant's policy (`None`: keys without a tenant).
pub(crate) type Policies = HashMap<Option<TenantId>, ThreatPolicy>;

#[derive(Debug, Default)]
pub(crate) struct TenantPolicies {
    store: OnceLock<Arc<dyn TenantSettingsStore>>,
    read: Mutex<Read>,
}

#[derive(Debug, Default)]
struct Read {
    /// When every row was last listed, and the rows (`None`: the default row).
    listed: Option<(i64, HashMap<Option<TenantId>, TenantThreats>)>,
    /// For a store that cannot list: tenant → (when read, its effective settings).
    each: HashMap<Option<TenantId>, (i64, TenantThreats)>,
    /// The store said it cannot list: read tenant by tenant from then on.
    cannot_list: bool,
}

impl TenantPolicies {
    /// Where the settings are read from; the first store set stays.
    pub(crate) fn set_store(&self, store: Arc<dyn TenantSettingsStore>) {
        let _ = self.store.set(store);
    }

    /// The policy of each of `tenants`: `base` with the tenant's settings applied (its own row,
    /// else the default row), read again when older than [`REFRESH_MS`]. Without a settings
    /// store, `base` for all. When a read fails, the last one read stands; with none, `base`
    /// downgraded to reporting (a key is not suspended on a rule its tenant may have turned off).
    pub(crate) async fn resolve(
        &self,
        base: &ThreatPolicy,
        tenants: Vec<Option<TenantId>>,
        now_ms: i64,
    ) -> Policies {
        let Some(store) = self.store.get() else {
            return tenants.into_iter().map(|t| (t, *base)).collect();
        };
        if tenants.is_empty() {
            return Policies::default();
        }
        let rows = match self.listed(store.as_ref(), now_ms).await {
            Ok(rows) => Some(rows),
            Err(true) => return self.each(store.as_ref(), base, tenants, now_ms).await,
            Err(false) => self.read.lock().listed.as_ref().map(|(_, r)| r.clone()),
        };
        tenants
            .into_iter()
            .map(|t| {
                // As `tenant::effective`: the tenant's own row, else the default row.
                let p = rows.as_ref().map_or_else(
                    || observe_only(base),
                    |rows| {
                        let own = t.as_ref().and_then(|_| rows.get(&t));
                        own.or_else(|| rows.get(&None))
                            .copied()
                            .unwrap_or_default()
                            .apply(base)
                    },
                );
                (t, p)
            })
            .collect()
    }

    /// Every row's threats, listed again when stale. `Err(true)`: the store cannot list (read
    /// tenant by tenant); `Err(false)`: the read failed.
    async fn listed(
        &self,
        store: &dyn TenantSettingsStore,
        now_ms: i64,
    ) -> Result<HashMap<Option<TenantId>, TenantThreats>, bool> {
        {
            let read = self.read.lock();
            if read.cannot_list {
                return Err(true);
            }
            if let Some((at, rows)) = &read.listed
                && (0..REFRESH_MS).contains(&(now_ms - at))
            {
                return Ok(rows.clone());
            }
        }
        match store.list().await {
            Ok(rows) => {
                let rows: HashMap<_, _> = rows
                    .into_iter()
                    .map(|(t, s)| (t, s.settings.threats))
                    .collect();
                self.read.lock().listed = Some((now_ms, rows.clone()));
                Ok(rows)
            }
            Err(e) if e.kind() == ErrorKind::Config => {
                self.read.lock().cannot_list = true;
                Err(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "tenant threat settings unreadable; judging by the last read, or reporting only");
                Err(false)
            }
        }
    }

    async fn each(
        &self,
        store: &dyn TenantSettingsStore,
        base: &ThreatPolicy,
        tenants: Vec<Option<TenantId>>,
        now_ms: i64,
    ) -> Policies {
        let mut out = Policies::default();
        for t in tenants {
            let cached = self.read.lock().each.get(&t).copied();
            let threats = match cached {
                Some((at, threats)) if (0..REFRESH_MS).contains(&(now_ms - at)) => Some(threats),
                _ => match effective(store, t.as_ref()).await {
                    Ok(s) => {
                        self.read.lock().each.insert(t.clone(), (now_ms, s.threats));
                        Some(s.threats)
                    }
                    Err(e) => {
                        tracing::warn!(tenant = ?t, error = %e, "tenant threat settings unreadable; judging by the last read, or reporting only");
                        cached.map(|(_, threats)| threats)
                    }
                },
            };
            let p = threats.map_or_else(|| observe_only(base), |th| th.apply(base));
            out.insert(t, p);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::audit::AuditEvent;
    use crate::error::{Error, Result};
    use crate::tenant::{StoredSettings, TenantSettings};
    use crate::threat::{KeyDetectorSetting, TenantThreatAction};

    /// Rows in memory; `list` fails while `down`, or always when `!can_list`.
    #[derive(Debug, Default)]
    struct Rows {
        rows: Mutex<HashMap<Option<TenantId>, TenantSettings>>,
        down: Mutex<bool>,
        can_list: bool,
        reads: AtomicU32,
    }

    #[async_trait]
    impl TenantSettingsStore for Rows {
        async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            if *self.down.lock() {
                return Err(Error::unavailable("down"));
            }
            Ok(self
                .rows
                .lock()
                .get(&tenant.cloned())
                .map(|s| StoredSettings {
                    settings: s.clone(),
                    version: 1,
                    updated_at: chrono::DateTime::UNIX_EPOCH,
                }))
        }

        async fn put(
            &self,
            _: Option<&TenantId>,
            _: u64,
            _: &TenantSettings,
            _: &AuditEvent,
        ) -> Result<u64> {
            Err(Error::unavailable("read only"))
        }

        async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            if !self.can_list {
                return Err(Error::new(ErrorKind::Config, "cannot list"));
            }
            if *self.down.lock() {
                return Err(Error::unavailable("down"));
            }
            Ok(self
                .rows
                .lock()
                .iter()
                .map(|(t, s)| {
                    let stored = StoredSettings {
                        settings: s.clone(),
                        version: 1,
                        updated_at: chrono::DateTime::UNIX_EPOCH,
                    };
                    (t.clone(), stored)
                })
                .collect())
        }
    }

    fn suspend_past(n: u32) -> TenantSettings {
        TenantSettings {
            threats: TenantThreats {
                network_spread: Some(KeyDetectorSetting {
                    action: TenantThreatAction::Suspend,
                    threshold: Some(n),
                }),
                ..TenantThreats::default()
            },
            ..TenantSettings::default()
        }
    }

    fn spread(p: &ThreatPolicy) -> (u32, KeyAction) {
        let d = p.network_spread.unwrap();
        (d.networks, d.action)
    }

    async fn check(can_list: bool) {
        let acme = TenantId::new("acme").unwrap();
        let store = Arc::new(Rows {
            can_list,
            ..Rows::default()
        });
        store
            .rows
            .lock()
            .insert(Some(acme.clone()), suspend_past(5));
        store.rows.lock().insert(None, suspend_past(9));
        let p = TenantPolicies::default();
        p.set_store(store.clone());
        let base = ThreatPolicy::recommended();
        let tenants = vec![
            Some(acme.clone()),
            Some(TenantId::new("other").unwrap()),
            None,
        ];
        let got = p.resolve(&base, tenants.clone(), 0).await;
        let want = [
            (5, KeyAction::Suspend),
            (9, KeyAction::Suspend),
            (9, KeyAction::Suspend),
        ];
        let in_order = |got: &Policies| tenants.iter().map(|t| spread(&got[t])).collect::<Vec<_>>();
        assert_eq!(in_order(&got), want);
        // Within the minute: no read. After it, with the store down: the last read stands.
        let reads = store.reads.load(Ordering::Relaxed);
        p.resolve(&base, tenants.clone(), 59_999).await;
        assert_eq!(store.reads.load(Ordering::Relaxed), reads, "{can_list}");
        *store.down.lock() = true;
        let got = p.resolve(&base, tenants.clone(), 60_000).await;
        assert_eq!(in_order(&got), want);
        // A fresh verifier with the store down reports only.
        let fresh = TenantPolicies::default();
        fresh.set_store(store.clone());
        let got = fresh.resolve(&base, tenants.clone(), 0).await;
        assert_eq!(got.len(), 3);
        assert!(got.values().all(|p| spread(p).1 == KeyAction::Observe));
    }

    #[tokio::test]
    async fn rows_are_listed_once_a_minute_and_a_failed_read_keeps_the_last() {
        check(true).await;
    }

    #[tokio::test]
    async fn a_store_that_cannot_list_is_read_tenant_by_tenant() {
        check(false).await;
    }
}
