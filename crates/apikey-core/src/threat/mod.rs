//! Threat detection that acts: four detectors, each with a policy — report only, block the
//! client network for a period, or suspend the key — configured through
//! [`VerifierConfig::threats`](crate::VerifierConfig::threats).
//!
//! | detector | fed from | fires on | may |
//! |---|---|---|---|
//! | [`CredentialStuffing`] | the failed-auth table (a new failing network and id pair) | many ids failing from one network | block the network |
//! | [`RevokedKeyUse`] | refusals of revoked and expired keys | many such uses from one network | block the network |
//! | [`NetworkSpread`] | the usage flush (a network sketch per key) | one key used from many networks | suspend the key |
//! | [`RateSurge`] | the usage flush (requests per key) | a key's rate far above its own baseline | suspend the key |
//!
//! None of them adds a store or Redis call to a verification: the network detectors count on
//! refusal paths, in process; the key detectors read what the usage cells already count, once
//! per flush. A network block lives in the failed-auth table beside the brute-force blocks and
//! is checked at the start of every verification (one atomic load while no block is active).
//! A suspension is an ordinary audited change through the manager, so it reaches every
//! instance's cache and an operator undoes it with `unsuspend`.
//!
//! Every detection is a [`KeyEventKind::ThreatDetected`](crate::KeyEventKind::ThreatDetected)
//! event, which [`ThreatLog`](crate::audit::ThreatLog) writes into the audit log as
//! `threat.detected` (and so to webhooks), once per detector, subject and hour across instances.
//!
//! Per tenant: a tenant's settings ([`TenantThreats`] in its
//! [`TenantSettings`](crate::TenantSettings)) turn a per-key detector off for its keys, change
//! what it does, or move its threshold; the verifier reads them at the flush, every row at once,
//! at most once a minute.
//!
//! Across instances ([`SharedThreatCounts`], `apikey_redis::RedisThreatShare`): the network
//! detectors' counts are added up at every usage flush, so an attack spread over the instances
//! behind a load balancer is judged on its whole, and a block one instance makes is applied by
//! every other; the network-spread detector's sketches are merged the same way. Without it, each
//! instance judges what it sees. The rate-surge detector compares each instance's share of a
//! key's rate with that instance's own baseline (a ratio a steady load balancer keeps).

mod finding;
pub(crate) mod keys;
pub(crate) mod networks;
mod policy;
mod shared;
pub(crate) mod sketch;
mod tenant;
pub(crate) mod tenants;

pub(crate) use finding::Threat;
pub use finding::{Detector, Response};
pub use policy::{
    CredentialStuffing, KeyAction, MAX_KEY_WINDOW, MAX_NETWORK_WINDOW, NetworkAction,
    NetworkSpread, RateSurge, RevokedKeyUse, ThreatPolicy,
};
pub use shared::{KeySketch, NetworkTally, SharedThreatCounts};
pub use tenant::{KeyDetectorSetting, TenantThreatAction, TenantThreats};
