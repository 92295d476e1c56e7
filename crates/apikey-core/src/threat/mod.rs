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
//! Counts are per process: behind a load balancer each instance sees its share, so thresholds
//! are per instance (a block made by one instance is not seen by the others).

mod finding;
pub(crate) mod keys;
pub(crate) mod networks;
mod policy;
pub(crate) mod sketch;

pub(crate) use finding::Threat;
pub use finding::{Detector, Response};
pub use policy::{
    CredentialStuffing, KeyAction, MAX_KEY_WINDOW, MAX_NETWORK_WINDOW, NetworkAction,
    NetworkSpread, RateSurge, RevokedKeyUse, ThreatPolicy,
};
