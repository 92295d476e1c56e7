//! What a usage bucket counts: requests by outcome, and cost units.

use serde::{Deserialize, Serialize};

use crate::limit::LimitKind;
use crate::verify::{Rejection, RejectionKind};

/// The outcome classes a bucket counts. A key's rejections are told apart by why; every
/// rejection before a key is known (malformed, unknown, wrong secret, too many failures) is
/// [`Invalid`](Self::Invalid) and counted without a key, so random tokens create no rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Admitted.
    Success,
    /// Refused for a missing scope.
    Scope,
    /// Refused by the key's address rules (or the client's address was unknown).
    Ip,
    /// Refused for the key's state: revoked, expired, suspended, pending approval, not yet valid.
    State,
    /// Refused by a rate (the key's, an endpoint's or a pool's).
    RateLimited,
    /// Refused by a calendar quota or exhausted credits.
    Quota,
    /// Refused because a dependency (store, limiter, pools) did not answer.
    Unavailable,
    /// Refused before any key was known.
    Invalid,
}

impl Outcome {
    /// Every outcome, in column order.
    pub const ALL: [Self; 8] = [
        Self::Success,
        Self::Scope,
        Self::Ip,
        Self::State,
        Self::RateLimited,
        Self::Quota,
        Self::Unavailable,
        Self::Invalid,
    ];

    /// The outcome's name, as stores spell its column and reports its label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Scope => "scope",
            Self::Ip => "ip",
            Self::State => "state",
            Self::RateLimited => "rate_limited",
            Self::Quota => "quota",
            Self::Unavailable => "unavailable",
            Self::Invalid => "invalid",
        }
    }

    /// The class of a rejection.
    pub fn of(rejection: &Rejection) -> Self {
        match rejection.kind() {
            RejectionKind::InsufficientScope => Self::Scope,
            RejectionKind::IpDenied | RejectionKind::ClientIpUnknown => Self::Ip,
            RejectionKind::Revoked
            | RejectionKind::Expired
            | RejectionKind::Suspended
            | RejectionKind::PendingApproval
            | RejectionKind::NotYetValid => Self::State,
            RejectionKind::CreditsExhausted => Self::Quota,
            RejectionKind::RateLimited => match rejection.limit().map(|l| l.kind) {
                Some(LimitKind::Quota | LimitKind::PoolQuota(_) | LimitKind::Credits(_)) => {
                    Self::Quota
                }
                _ => Self::RateLimited,
            },
            RejectionKind::Unavailable => Self::Unavailable,
            _ => Self::Invalid,
        }
    }

    /// Position in [`ALL`](Self::ALL).
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// Requests by outcome and the cost units admitted requests charged, over one bucket or a sum
/// of buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCounts {
    /// Admitted requests.
    pub success: u64,
    /// Refused for a missing scope.
    pub scope: u64,
    /// Refused by address rules.
    pub ip: u64,
    /// Refused for the key's state.
    pub state: u64,
    /// Refused by a rate.
    pub rate_limited: u64,
    /// Refused by a quota or exhausted credits.
    pub quota: u64,
    /// Refused because a dependency did not answer.
    pub unavailable: u64,
    /// Refused before a key was known (only in rows without a key).
    pub invalid: u64,
    /// Cost units of the admitted requests (1 each unless the guard charged more).
    pub cost: u64,
}

impl UsageCounts {
    /// The count of one outcome.
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Success => self.success,
            Outcome::Scope => self.scope,
            Outcome::Ip => self.ip,
            Outcome::State => self.state,
            Outcome::RateLimited => self.rate_limited,
            Outcome::Quota => self.quota,
            Outcome::Unavailable => self.unavailable,
            Outcome::Invalid => self.invalid,
        }
    }

    /// A mutable handle on one outcome's count.
    pub fn get_mut(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Success => &mut self.success,
            Outcome::Scope => &mut self.scope,
            Outcome::Ip => &mut self.ip,
            Outcome::State => &mut self.state,
            Outcome::RateLimited => &mut self.rate_limited,
            Outcome::Quota => &mut self.quota,
            Outcome::Unavailable => &mut self.unavailable,
            Outcome::Invalid => &mut self.invalid,
        }
    }

    /// Every request, admitted or not.
    pub fn requests(&self) -> u64 {
        Outcome::ALL
            .iter()
            .fold(0u64, |n, o| n.saturating_add(self.get(*o)))
    }

    /// Every refused request.
    pub fn rejected(&self) -> u64 {
        self.requests().saturating_sub(self.success)
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.requests() == 0 && self.cost == 0
    }

    /// Adds `other` into `self` (saturating).
    pub fn add(&mut self, other: &Self) {
        for o in Outcome::ALL {
            let n = self.get_mut(o);
            *n = n.saturating_add(other.get(o));
        }
        self.cost = self.cost.saturating_add(other.cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_field_and_sums_add_up() {
        let mut c = UsageCounts::default();
        for (i, o) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(o.index(), i);
            *c.get_mut(o) += (i as u64) + 1;
        }
        assert_eq!(c.requests(), (1..=8).sum::<u64>());
        assert_eq!(c.rejected(), c.requests() - 1);
        let mut twice = c;
        twice.add(&c);
        assert_eq!(twice.requests(), 2 * c.requests());
        let names: std::collections::HashSet<_> = Outcome::ALL.map(Outcome::as_str).into();
        assert_eq!(names.len(), Outcome::ALL.len());
    }

    #[test]
    fn rejections_are_classed_by_why() {
        assert_eq!(
            Outcome::of(&Rejection::new(RejectionKind::Revoked)),
            Outcome::State
        );
        assert_eq!(
            Outcome::of(&Rejection::new(RejectionKind::InsufficientScope)),
            Outcome::Scope
        );
        assert_eq!(
            Outcome::of(&Rejection::new(RejectionKind::Unknown)),
            Outcome::Invalid
        );
        assert_eq!(
            Outcome::of(&Rejection::new(RejectionKind::RateLimited)),
            Outcome::RateLimited
        );
        assert_eq!(
            Outcome::of(&Rejection::new(RejectionKind::CreditsExhausted)),
            Outcome::Quota
        );
    }
}
