//! A tenant's own say over the per-key detectors ([`TenantThreats`], kept in its
//! [`TenantSettings`](crate::TenantSettings)): turn one off for its keys, report instead of
//! suspending (or the reverse), or move its threshold.
//!
//! Only the per-key detectors are a tenant's to set. The network detectors protect the service
//! as a whole: a failing lookup id belongs to no tenant, and a network block refuses every
//! tenant's keys, so their policy stays with the operator
//! ([`VerifierConfig::threats`](crate::VerifierConfig::threats)). Likewise a tenant tunes the
//! detectors the verifier runs; it cannot start one the operator left off (the verifier would
//! not be collecting what it reads).

use serde::{Deserialize, Serialize};

use super::policy::{KeyAction, ThreatPolicy};
use crate::error::{Error, Result};

/// The per-key detectors as one tenant wants them; `None` fields follow the verifier's policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantThreats {
    /// One key used from many networks; `threshold` is the networks that fire it (2..=200).
    pub network_spread: Option<KeyDetectorSetting>,
    /// A key's rate far above its baseline; `threshold` is the factor (2..=1000).
    pub rate_surge: Option<KeyDetectorSetting>,
}

/// One per-key detector, for one tenant's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDetectorSetting {
    /// What firing does for this tenant's keys.
    pub action: TenantThreatAction,
    /// The detector's threshold for them (absent: the verifier's).
    #[serde(default)]
    pub threshold: Option<u32>,
}

/// What a per-key detector does for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TenantThreatAction {
    /// Not judged at all.
    Off,
    /// Report only (`threat.detected`).
    Observe,
    /// Report and suspend the key.
    Suspend,
}

impl TenantThreats {
    /// Checks the thresholds; the error names the field.
    pub fn validate(&self) -> Result<()> {
        check(
            "threats.network_spread.threshold",
            self.network_spread,
            2..=200,
        )?;
        check("threats.rate_surge.threshold", self.rate_surge, 2..=1000)
    }

    /// `base` (the verifier's policy) with this tenant's settings applied to its per-key
    /// detectors; a detector `base` leaves off stays off.
    pub fn apply(&self, base: &ThreatPolicy) -> ThreatPolicy {
        let mut p = *base;
        if let (Some(d), Some(s)) = (p.network_spread.as_mut(), self.network_spread) {
            d.networks = s.threshold.unwrap_or(d.networks);
            if let Some(a) = s.action.key_action() {
                d.action = a;
            } else {
                p.network_spread = None;
            }
        }
        if let (Some(d), Some(s)) = (p.rate_surge.as_mut(), self.rate_surge) {
            d.factor = s.threshold.unwrap_or(d.factor);
            if let Some(a) = s.action.key_action() {
                d.action = a;
            } else {
                p.rate_surge = None;
            }
        }
        p
    }

    /// Whether any detector is set.
    pub fn is_empty(&self) -> bool {
        self.network_spread.is_none() && self.rate_surge.is_none()
    }
}

impl TenantThreatAction {
    const fn key_action(self) -> Option<KeyAction> {
        match self {
            Self::Off => None,
            Self::Observe => Some(KeyAction::Observe),
            Self::Suspend => Some(KeyAction::Suspend),
        }
    }
}

fn check(
    field: &'static str,
    setting: Option<KeyDetectorSetting>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<()> {
    match setting.and_then(|s| s.threshold) {
        Some(t) if !range.contains(&t) => Err(Error::invalid(
            field,
            format_args!("must be {}..={}", range.start(), range.end()),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_tunes_what_the_verifier_runs_and_nothing_more() {
        let base = ThreatPolicy::recommended();
        let t: TenantThreats = serde_json::from_str(
            r#"{"network_spread": {"action": "suspend", "threshold": 5},
                "rate_surge": {"action": "off"}}"#,
        )
        .unwrap();
        t.validate().unwrap();
        let p = t.apply(&base);
        let spread = p.network_spread.unwrap();
        assert_eq!((spread.networks, spread.action), (5, KeyAction::Suspend));
        assert_eq!(p.rate_surge, None);
        assert_eq!(p.credential_stuffing, base.credential_stuffing);
        // A detector the verifier leaves off stays off.
        let off = ThreatPolicy {
            network_spread: None,
            ..base
        };
        assert_eq!(t.apply(&off).network_spread, None);
        assert_eq!(TenantThreats::default().apply(&base), base);
        let bad = TenantThreats {
            rate_surge: Some(KeyDetectorSetting {
                action: TenantThreatAction::Observe,
                threshold: Some(1),
            }),
            ..TenantThreats::default()
        };
        assert!(bad.validate().unwrap_err().message().contains("rate_surge"));
        assert!(serde_json::from_str::<TenantThreats>(r#"{"credential_stuffing": {}}"#).is_err());
    }
}
