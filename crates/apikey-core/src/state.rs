//! Key lifecycle states. Only the lifecycle state is stored; "expired" is derived from `expires_at`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The stored lifecycle state of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Created, waiting for approval; cannot authenticate yet.
    Pending,
    /// Usable (subject to expiry and `not_before`).
    Active,
    /// Temporarily disabled by its owner or an operator; can be unsuspended.
    Suspended,
    /// Permanently disabled (revoked, or rejected at approval); can only be restored by an operator.
    Revoked,
}

impl KeyState {
    /// The stable lowercase name stored in databases.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Every state.
    pub const ALL: [KeyState; 4] = [Self::Pending, Self::Active, Self::Suspended, Self::Revoked];
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::invalid("state", "expected pending, active, suspended or revoked")
            })
    }
}

/// The state a caller sees: the stored state, with `Expired` derived from the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveState {
    /// See [`KeyState::Pending`].
    Pending,
    /// Active and within its validity window.
    Active,
    /// See [`KeyState::Suspended`].
    Suspended,
    /// Past `expires_at` (plus any grace), or past the rotation grace deadline.
    Expired,
    /// See [`KeyState::Revoked`].
    Revoked,
}

impl fmt::Display for EffectiveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        })
    }
}
