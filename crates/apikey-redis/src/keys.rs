//! The key layout. Every key of one rotation lineage carries the lineage id as its hash tag, so in
//! a Redis Cluster a key's rate, its endpoint rates and the lineage quota sit in one slot and one
//! script can touch them together:
//!
//! ```text
//! <prefix>:{<lineage uuid>}:rate:<key uuid>
//! <prefix>:{<lineage uuid>}:ep:<key uuid>:=<endpoint>        (endpoints up to 128 bytes)
//! <prefix>:{<lineage uuid>}:ep:<key uuid>:#<sha-256 hex>     (longer endpoints)
//! <prefix>:{<lineage uuid>}:quota:<day|month|year>:<window id>
//! <prefix>:{p:<tenant>}:rate:<key uuid>                     (a pooled key: every key that
//! <prefix>:{p:<tenant>}:ep:<key uuid>:=<endpoint>              belongs to a pool or holds credits
//! <prefix>:{p:<tenant>}:quota:<lineage>:<period>:<window id>   shares its tenant's tag, "-"
//! <prefix>:{p:<tenant>}:pool:=<name>:rate | :quota:<period>:<window id> | :credits
//!                                                            without one; names over 128 bytes
//!                                                            by their SHA-256)
//! <prefix>:cache:{<lookup id>}                               (shared cache entry or tombstone)
//! <prefix>:{leases}:job:<job name>                           (a job's lease and history)
//! <prefix>:{leases}:jobs                                     (every job name)
//! <prefix>:{instances}:live                                 (live verifiers by presence deadline)
//! <prefix>:{instances}:info                                 (each one's name and start)
//! <prefix>:{instances}:pending                              (open confirmation requests)
//! <prefix>:{instances}:want:<request> / :ack:<request>      (who was asked / who answered)
//! <prefix>:nonce:{<keyid>}:<sha-256 hex>                     (a signature nonce, until it expires)
//! <prefix>:invalidations                                     (pub/sub channel)
//! ```

use std::fmt::Write as _;

use apikey_core::limit::QuotaPeriod;
use apikey_core::{Error, KeyId, LookupId, Result, TenantId};
use sha2::{Digest, Sha256};

/// Endpoints longer than this are stored by their SHA-256.
const MAX_VERBATIM_ENDPOINT: usize = 128;

/// Appends `=name`, or `#<sha-256 hex>` for a name over [`MAX_VERBATIM_ENDPOINT`] bytes.
fn push_name(k: &mut String, name: &str) {
    if name.len() <= MAX_VERBATIM_ENDPOINT {
        k.push('=');
        k.push_str(name);
    } else {
        k.push('#');
        for b in Sha256::digest(name.as_bytes()) {
            let _ = write!(k, "{b:02x}");
        }
    }
}

/// A validated key prefix (default `apikey`): 1–64 characters, no `{`, `}` or whitespace, so it
/// can never become the hash tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Validates `prefix`.
    pub fn new(prefix: &str) -> Result<Self> {
        let ok = (1..=64).contains(&prefix.len())
            && !prefix
                .chars()
                .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(Error::invalid(
                "redis key prefix",
                "1-64 characters without braces or whitespace",
            ))
        }
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn rate(&self, lineage: KeyId, key: KeyId) -> String {
        self.tagged_rate(&lineage.to_string(), key)
    }

    pub(crate) fn endpoint(&self, lineage: KeyId, key: KeyId, endpoint: &str) -> String {
        self.tagged_endpoint(&lineage.to_string(), key, endpoint)
    }

    /// The hash tag of every key of a pooled decision in `tenant`.
    pub(crate) fn pool_root(tenant: Option<&TenantId>) -> String {
        format!("p:{}", tenant.map_or("-", TenantId::as_str))
    }

    pub(crate) fn tagged_rate(&self, tag: &str, key: KeyId) -> String {
        format!("{}:{{{tag}}}:rate:{key}", self.0)
    }

    pub(crate) fn tagged_endpoint(&self, tag: &str, key: KeyId, endpoint: &str) -> String {
        let mut k = format!("{}:{{{tag}}}:ep:{key}:", self.0);
        push_name(&mut k, endpoint);
        k
    }

    /// A pooled key's own quota: its lineage is in the name, since the tag is the tenant's.
    pub(crate) fn pooled_quota(
        &self,
        root: &str,
        lineage: KeyId,
        period: QuotaPeriod,
        window: i64,
    ) -> String {
        format!("{}:{{{root}}}:quota:{lineage}:{period}:{window}", self.0)
    }

    /// One counter of pool `name` (`what`: `rate`, `quota:<period>:<window>`, `credits`).
    pub(crate) fn pool(&self, root: &str, name: &str, what: &str) -> String {
        let mut k = format!("{}:{{{root}}}:pool:", self.0);
        push_name(&mut k, name);
        k.push(':');
        k.push_str(what);
        k
    }

    pub(crate) fn quota(&self, lineage: KeyId, period: QuotaPeriod, window: i64) -> String {
        format!("{}:{{{lineage}}}:quota:{period}:{window}", self.0)
    }

    pub(crate) fn cache(&self, lookup: &LookupId) -> String {
        format!("{}:cache:{{{lookup}}}", self.0)
    }

    /// A job's lease hash. The tag is fixed and comes first, so a job name (which may hold
    /// braces) never picks the slot, and every lease key shares one slot with the name set.
    pub(crate) fn lease(&self, job: &str) -> String {
        format!("{}:{{leases}}:job:{job}", self.0)
    }

    /// The set of every job name.
    pub(crate) fn lease_jobs(&self) -> String {
        format!("{}:{{leases}}:jobs", self.0)
    }

    /// A key of the instance registry; all of them share the tag `{instances}` (one slot), so
    /// one script reads the live set and a request's answers together.
    pub(crate) fn instances(&self, what: &str) -> String {
        format!("{}:{{instances}}:{what}", self.0)
    }

    pub(crate) fn channel(&self) -> String {
        format!("{}:invalidations", self.0)
    }

    /// The shared network blocks of the threat detectors (network → end in ms).
    pub(crate) fn threat_blocks(&self) -> String {
        format!("{}:threat_blocks", self.0)
    }

    /// One shared window of a network threat detector (a counter, or a HyperLogLog of failing
    /// ids). All share the tag `{threats}` (one slot), so one pipeline adds a flush's tallies
    /// on a cluster too.
    pub(crate) fn threat_count(&self, detector: &str, network: &str, start_ms: i64) -> String {
        format!("{}:{{threats}}:{detector}:{network}:{start_ms}", self.0)
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("apikey".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lineage_key_shares_one_hash_tag() {
        let p = KeyPrefix::default();
        let (l, k) = (KeyId::new(), KeyId::new());
        let tag = format!("{{{l}}}");
        for key in [
            p.rate(l, k),
            p.endpoint(l, k, "GET /x"),
            p.endpoint(l, k, &"a".repeat(500)),
            p.quota(l, QuotaPeriod::Month, 24_360),
        ] {
            assert_eq!(key.find('{'), key.find(&tag), "{key}");
        }
        assert!(p.endpoint(l, k, &"a".repeat(500)).len() < 200);
    }

    #[test]
    fn every_key_of_a_pooled_decision_shares_the_tenants_tag() {
        let p = KeyPrefix::default();
        let t = TenantId::new("acme").unwrap();
        let root = KeyPrefix::pool_root(Some(&t));
        let (l, k) = (KeyId::new(), KeyId::new());
        for key in [
            p.tagged_rate(&root, k),
            p.tagged_endpoint(&root, k, "GET /x"),
            p.pooled_quota(&root, l, QuotaPeriod::Day, 7),
            p.pool(&root, "owner:a}{b", "rate"),
            p.pool(&root, &"o".repeat(300), "credits"),
        ] {
            assert_eq!(key.find('{'), key.find("{p:acme}"), "{key}");
        }
        assert_eq!(KeyPrefix::pool_root(None), "p:-");
    }

    #[test]
    fn every_lease_key_shares_one_hash_tag_whatever_the_job_name() {
        let p = KeyPrefix::default();
        for key in [p.lease("{x}"), p.lease("a}b{c"), p.lease_jobs()] {
            assert_eq!(key.find('{'), key.find("{leases}"), "{key}");
        }
    }

    #[test]
    fn prefixes_with_braces_are_refused() {
        assert!(KeyPrefix::new("a{b").is_err());
        assert!(KeyPrefix::new("").is_err());
        assert!(KeyPrefix::new("svc-1:apikey").is_ok());
    }
}
