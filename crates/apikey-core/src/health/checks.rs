//! The bundled checks: one read of a random lookup id from the store and from the shared cache.
//! A random id is never found, so the check costs one indexed point read and touches no key.

use std::sync::Arc;

use async_trait::async_trait;

use super::HealthCheck;
use crate::{Cache, KeyStore, LookupId};

/// The key store answers a point read.
pub struct StoreCheck(pub Arc<dyn KeyStore>);

impl std::fmt::Debug for StoreCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreCheck")
    }
}

#[async_trait]
impl HealthCheck for StoreCheck {
    fn name(&self) -> &str {
        "store"
    }

    fn component_type(&self) -> &'static str {
        "datastore"
    }

    async fn check(&self) -> Result<Option<String>, String> {
        self.0
            .find_by_lookup_id(&LookupId::generate())
            .await
            .map(|_| None)
            .map_err(|e| format!("store: {}", e.kind()))
    }
}

/// The shared (second-level) cache answers a read.
pub struct CacheCheck(pub Arc<dyn Cache>);

impl std::fmt::Debug for CacheCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCheck")
    }
}

#[async_trait]
impl HealthCheck for CacheCheck {
    fn name(&self) -> &str {
        "cache"
    }

    fn component_type(&self) -> &'static str {
        "datastore"
    }

    async fn check(&self) -> Result<Option<String>, String> {
        self.0
            .get(&LookupId::generate())
            .await
            .map(|_| None)
            .map_err(|e| format!("shared cache: {}", e.kind()))
    }
}
