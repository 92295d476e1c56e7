//! What each detector watches for, its threshold, and what it does when it fires.

use std::time::Duration;

use crate::error::{Error, Result};

/// The longest window a per-key detector looks back over: its minute ring holds an hour.
pub const MAX_KEY_WINDOW: Duration = Duration::from_secs(3600);

/// The longest a per-network window or block may be.
pub const MAX_NETWORK_WINDOW: Duration = Duration::from_secs(86_400);

/// What a detector that watches client networks does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkAction {
    /// Report only (`threat.detected`).
    Observe,
    /// Report, and refuse every request from the network for this long, whatever key it
    /// presents (`too_many_failures` with `Retry-After`). The block is kept in the failed-auth
    /// table beside the brute-force blocks, so a full table never drops it.
    Block(Duration),
}

/// What a detector that watches one key does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAction {
    /// Report only (`threat.detected`).
    Observe,
    /// Report, and suspend the key through the manager as the `system` actor (an audited change
    /// that reaches every instance's cache); an operator unsuspends it.
    Suspend,
}

/// Many different lookup ids failing from one client network: someone trying a list of
/// leaked or guessed tokens. Counted from the failed-auth table (one per new network and id
/// pair), so it costs nothing on an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialStuffing {
    /// Distinct failing ids from one network within `window` that fire the detector.
    pub distinct_ids: u32,
    /// The window.
    pub window: Duration,
    /// What firing does.
    pub action: NetworkAction,
}

impl Default for CredentialStuffing {
    fn default() -> Self {
        Self {
            distinct_ids: 30,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(3600)),
        }
    }
}

/// Revoked or expired keys presented again and again from one network: a leaked key list
/// still being tried, or a client that holds stolen keys. A key expired within its grace
/// period still works and is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedKeyUse {
    /// Uses of revoked or expired keys from one network within `window` that fire it.
    pub uses: u32,
    /// The window.
    pub window: Duration,
    /// What firing does.
    pub action: NetworkAction,
}

impl Default for RevokedKeyUse {
    fn default() -> Self {
        Self {
            uses: 20,
            window: Duration::from_secs(600),
            action: NetworkAction::Block(Duration::from_secs(3600)),
        }
    }
}

/// One key used from many client networks within a window: the sign of a key that leaked
/// and is being used by several parties. Networks are counted per key in a 64-bit sketch in
/// its usage cell (no allocation, no lock), so an estimate: exact within a few networks up to
/// about 30, and saturating near 250.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkSpread {
    /// Networks that fire the detector (2..=200).
    pub networks: u32,
    /// The window, in whole minutes up to [`MAX_KEY_WINDOW`].
    pub window: Duration,
    /// IPv4 clients are counted per network of this prefix length (24).
    pub ipv4_prefix: u8,
    /// IPv6 clients are counted per network of this prefix length (48).
    pub ipv6_prefix: u8,
    /// What firing does.
    pub action: KeyAction,
}

impl Default for NetworkSpread {
    fn default() -> Self {
        Self {
            networks: 20,
            window: Duration::from_secs(3600),
            ipv4_prefix: 24,
            ipv6_prefix: 48,
            action: KeyAction::Observe,
        }
    }
}

/// A key's request rate far above its own recent baseline: a leaked key being drained, or a
/// client gone into a loop. The baseline is the key's mean rate over up to the last 24 whole
/// hours: those this process saw, and before them what the usage analytics hold (read when the
/// process starts seeing the key, so a restart does not blind the detector); the rate is its
/// mean over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSurge {
    /// How many times the baseline the recent rate must reach (2 or more).
    pub factor: u32,
    /// And at least this many requests per minute, so a quiet key's few requests never fire it.
    pub min_per_minute: u64,
    /// The recent window, in whole minutes up to [`MAX_KEY_WINDOW`].
    pub window: Duration,
    /// How much baseline a key needs before it is judged (whole hours of 1..=23): a new key, or
    /// one this process has just started seeing with no usage analytics to read, is never a
    /// surge.
    pub min_history: Duration,
    /// What firing does.
    pub action: KeyAction,
}

impl Default for RateSurge {
    fn default() -> Self {
        Self {
            factor: 10,
            min_per_minute: 100,
            window: Duration::from_secs(300),
            min_history: Duration::from_secs(3600),
            action: KeyAction::Observe,
        }
    }
}

/// The threat detectors of a verifier ([`VerifierConfig::threats`](crate::VerifierConfig)).
/// Each is off when `None`; [`Default`] is all off, [`recommended`](Self::recommended) all on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreatPolicy {
    /// Many lookup ids failing from one network.
    pub credential_stuffing: Option<CredentialStuffing>,
    /// Revoked or expired keys used again and again from one network.
    pub revoked_key_use: Option<RevokedKeyUse>,
    /// One key used from many networks.
    pub network_spread: Option<NetworkSpread>,
    /// One key's rate far above its baseline.
    pub rate_surge: Option<RateSurge>,
    /// Most networks, and most keys, tracked at once (each bound separately). Past it, new
    /// ones are not tracked until old ones age out (a flood of fresh networks cannot evict an
    /// open count); a key tracked for the per-key detectors costs about 2 KiB.
    pub max_tracked: usize,
}

impl Default for ThreatPolicy {
    fn default() -> Self {
        Self {
            credential_stuffing: None,
            revoked_key_use: None,
            network_spread: None,
            rate_surge: None,
            max_tracked: 50_000,
        }
    }
}

impl ThreatPolicy {
    /// Every detector with its default: the two network detectors block for an hour, the two
    /// key detectors report (suspending a customer's key on a statistical signal is a choice
    /// to make knowingly: set [`KeyAction::Suspend`]).
    pub fn recommended() -> Self {
        Self {
            credential_stuffing: Some(CredentialStuffing::default()),
            revoked_key_use: Some(RevokedKeyUse::default()),
            network_spread: Some(NetworkSpread::default()),
            rate_surge: Some(RateSurge::default()),
            ..Self::default()
        }
    }

    /// Whether any detector is on.
    pub fn any(&self) -> bool {
        self.credential_stuffing.is_some()
            || self.revoked_key_use.is_some()
            || self.network_spread.is_some()
            || self.rate_surge.is_some()
    }

    /// Whether a per-key detector is on (the usage cells then sketch networks).
    pub(crate) fn watches_keys(&self) -> bool {
        self.network_spread.is_some() || self.rate_surge.is_some()
    }

    /// Checks every detector; the error names the first bad field.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = &self.credential_stuffing {
            positive("credential_stuffing.distinct_ids", d.distinct_ids.into())?;
            network_window("credential_stuffing.window", d.window)?;
            network_action("credential_stuffing.action", d.action)?;
        }
        if let Some(d) = &self.revoked_key_use {
            positive("revoked_key_use.uses", d.uses.into())?;
            network_window("revoked_key_use.window", d.window)?;
            network_action("revoked_key_use.action", d.action)?;
        }
        if let Some(d) = &self.network_spread {
            if !(2..=200).contains(&d.networks) {
                return Err(Error::invalid(
                    "network_spread.networks",
                    "must be 2..=200 (the sketch saturates above)",
                ));
            }
            key_window("network_spread.window", d.window)?;
            if d.ipv4_prefix > 32 || d.ipv6_prefix > 128 {
                return Err(Error::invalid(
                    "network_spread prefixes",
                    "must be within the address length",
                ));
            }
        }
        if let Some(d) = &self.rate_surge {
            if d.factor < 2 {
                return Err(Error::invalid("rate_surge.factor", "must be 2 or more"));
            }
            positive("rate_surge.min_per_minute", d.min_per_minute)?;
            key_window("rate_surge.window", d.window)?;
            let h = d.min_history.as_secs();
            if !h.is_multiple_of(3600) || !(1..=23).contains(&(h / 3600)) {
                return Err(Error::invalid(
                    "rate_surge.min_history",
                    "must be whole hours, 1 to 23",
                ));
            }
        }
        if self.max_tracked == 0 {
            return Err(Error::invalid("threats.max_tracked", "must be at least 1"));
        }
        Ok(())
    }
}

fn positive(field: &'static str, n: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(field, "must be at least 1"));
    }
    Ok(())
}

fn network_window(field: &'static str, w: Duration) -> Result<()> {
    if w < Duration::from_secs(1) || w > MAX_NETWORK_WINDOW {
        return Err(Error::invalid(field, "must be between 1 s and 24 h"));
    }
    Ok(())
}

fn network_action(field: &'static str, a: NetworkAction) -> Result<()> {
    match a {
        NetworkAction::Block(d) if d < Duration::from_secs(1) || d > MAX_NETWORK_WINDOW => Err(
            Error::invalid(field, "a block must last between 1 s and 24 h"),
        ),
        _ => Ok(()),
    }
}

fn key_window(field: &'static str, w: Duration) -> Result<()> {
    let s = w.as_secs();
    if !s.is_multiple_of(60) || w.subsec_nanos() != 0 || s == 0 || w > MAX_KEY_WINDOW {
        return Err(Error::invalid(field, "must be whole minutes, 1 to 60"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recommended_policy_is_valid_and_bad_fields_are_named() {
        ThreatPolicy::recommended().validate().unwrap();
        ThreatPolicy::default().validate().unwrap();
        assert!(!ThreatPolicy::default().any());
        let mut p = ThreatPolicy::recommended();
        p.rate_surge = Some(RateSurge {
            window: Duration::from_secs(90),
            ..RateSurge::default()
        });
        let e = p.validate().unwrap_err();
        assert!(e.to_string().contains("rate_surge.window"), "{e}");
        let mut p = ThreatPolicy::recommended();
        p.network_spread = Some(NetworkSpread {
            networks: 500,
            ..NetworkSpread::default()
        });
        assert!(p.validate().unwrap_err().to_string().contains("networks"));
        let mut p = ThreatPolicy::recommended();
        p.credential_stuffing = Some(CredentialStuffing {
            action: NetworkAction::Block(Duration::from_secs(7 * 86_400)),
            ..CredentialStuffing::default()
        });
        assert!(p.validate().is_err());
    }
}
