//! The [`RequestLogStore`] implementation of [`MemoryStore`]: records ordered newest first by
//! (time, id), filtered by a scan (the memory store is for tests and single processes).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use apikey_core::request_log::{
    OutcomeFilter, RequestFilter, RequestLogStore, RequestRecord, ip_bytes, network_bounds,
};
use apikey_core::{KeyId, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryStore;

/// Records by (time, id) descending, so iteration is newest first.
pub(super) type RequestTable = BTreeMap<Reverse<(DateTime<Utc>, Uuid)>, RequestRecord>;

fn matches(r: &RequestRecord, tenant: &TenantScope, f: &RequestFilter) -> bool {
    if !tenant.admits(r.tenant_id.as_ref()) {
        return false;
    }
    if f.key.is_some() && r.key_id != f.key {
        return false;
    }
    if let Some(net) = &f.network {
        let (lo, hi) = network_bounds(net);
        match r.client_ip.map(ip_bytes) {
            Some(b) if lo <= b && b <= hi => {}
            _ => return false,
        }
    }
    if f.route.is_some() && r.route != f.route {
        return false;
    }
    match &f.outcome {
        Some(OutcomeFilter::Admitted) if !r.admitted() => return false,
        Some(OutcomeFilter::Rejected) if r.admitted() => return false,
        Some(OutcomeFilter::Exactly(o)) if &r.outcome != o => return false,
        _ => {}
    }
    if f.since.is_some_and(|s| r.at < s) || f.until.is_some_and(|u| r.at >= u) {
        return false;
    }
    if let Some(c) = &f.before
        && (r.at, r.id) >= (c.at, c.id)
    {
        return false;
    }
    true
}

#[async_trait]
impl RequestLogStore for MemoryStore {
    async fn append_requests(&self, records: &[RequestRecord]) -> Result<u64> {
        let mut t = self.tables.write();
        let mut new = 0;
        for r in records {
            if let std::collections::btree_map::Entry::Vacant(slot) =
                t.requests.entry(Reverse((r.at, r.id)))
            {
                slot.insert(r.clone());
                new += 1;
            }
        }
        Ok(new)
    }

    async fn requests(
        &self,
        tenant: &TenantScope,
        filter: &RequestFilter,
    ) -> Result<Vec<RequestRecord>> {
        filter.validate()?;
        let t = self.tables.read();
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        Ok(t.requests
            .values()
            .filter(|r| matches(r, tenant, filter))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn purge_requests(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut t = self.tables.write();
        let before = t.requests.len();
        t.requests.retain(|_, r| r.expires_at > now);
        Ok((before - t.requests.len()) as u64)
    }

    async fn erase_requests_of(&self, keys: &[KeyId]) -> Result<u64> {
        let mut t = self.tables.write();
        let before = t.requests.len();
        t.requests
            .retain(|_, r| r.key_id.is_none_or(|k| !keys.contains(&k)));
        Ok((before - t.requests.len()) as u64)
    }
}
