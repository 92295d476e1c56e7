//! The security score of a key: 0–100 from named factors, each with the points it earned, its
//! weight and what to do about a shortfall; and a summary over many keys.
//!
//! The weights are part of the contract (documented in docs/security.md and pinned by tests), so a
//! score means the same thing from one version to the next:
//!
//! | factor | weight | full marks | part marks |
//! | --- | --- | --- | --- |
//! | `expiry` | 15 | expires within `max_lifetime_days` (365) | expires later: 8 |
//! | `age` | 15 | secret younger than `rotate_after_days` (90) | younger than twice that: 8 |
//! | `scope_breadth` | 15 | 0–3 scopes | 4–10: 8 |
//! | `wildcards` | 15 | no `resource:*` scope | one: 8 |
//! | `ip_restriction` | 15 | an allow list | only a deny list: 5 |
//! | `unused` | 5 | used (or created) within `unused_days` (90) | — |
//! | `hash` | 5 | HMAC-SHA-256 with a pepper | — (a bcrypt or argon2 hash imported from elsewhere) |
//! | `owner` | 5 | an owner is set | — |
//! | `signing` | 10 | requests must be signed (`required` or `instead-of-token`) | optional signing: 5 |
//!
//! A secret's age counts from the key's creation: a rotation creates a new key, so a rotated
//! key's age is the time since its rotation. `signing` joined the factors with signed requests,
//! taking 5 points from `expiry` and 5 from `unused`; a future factor will take its weight from
//! the others the same way, in a documented change, never silently.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::KeyRecord;
use crate::hash::StoredHash;

/// The thresholds the factors compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreConfig {
    /// A key should expire within this many days of now (default 365).
    pub max_lifetime_days: i64,
    /// A secret should be rotated after this many days (default 90).
    pub rotate_after_days: i64,
    /// A key not used for this many days should be revoked (default 90).
    pub unused_days: i64,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            max_lifetime_days: 365,
            rotate_after_days: 90,
            unused_days: 90,
        }
    }
}

/// One factor of a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Factor {
    /// Its name (`expiry`, `age`, `scope_breadth`, `wildcards`, `ip_restriction`, `unused`,
    /// `hash`, `owner`).
    pub name: &'static str,
    /// The points earned.
    pub points: u8,
    /// The most it gives.
    pub weight: u8,
    /// What would earn the missing points; `None` at full marks.
    pub recommendation: Option<String>,
}

/// A key's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyScore {
    /// The sum of the factors' points, 0–100.
    pub score: u8,
    /// Every factor, in the documented order.
    pub factors: Vec<Factor>,
}

fn factor(name: &'static str, points: u8, weight: u8, advice: impl FnOnce() -> String) -> Factor {
    Factor {
        name,
        points,
        weight,
        recommendation: (points < weight).then(advice),
    }
}

/// Scores `record` at `now`.
pub fn score(record: &KeyRecord, now: DateTime<Utc>, config: &ScoreConfig) -> KeyScore {
    let days = |d: i64| chrono::Duration::days(d);
    let expiry = match record.expires_at {
        Some(at) if at <= now + days(config.max_lifetime_days) => 15,
        Some(_) => 8,
        None => 0,
    };
    let age = now - record.created_at;
    let age_points = if age <= days(config.rotate_after_days) {
        15
    } else if age <= days(config.rotate_after_days * 2) {
        8
    } else {
        0
    };
    let scopes = record.scopes.iter().count();
    let breadth = match scopes {
        0..=3 => 15,
        4..=10 => 8,
        _ => 0,
    };
    let wildcards = record.scopes.iter().filter(|s| s.is_wildcard()).count();
    let wildcard_points = match wildcards {
        0 => 15,
        1 => 8,
        _ => 0,
    };
    let ip = if !record.ip_rules.allow().is_empty() {
        15
    } else if !record.ip_rules.deny().is_empty() {
        5
    } else {
        0
    };
    let last_seen = record.last_used_at.unwrap_or(record.created_at);
    let unused = if now - last_seen <= days(config.unused_days) {
        5
    } else {
        0
    };
    let hash = if matches!(record.hash, StoredHash::HmacSha256 { .. }) {
        5
    } else {
        0
    };
    let owner = if record.owner.as_deref().is_some_and(|o| !o.is_empty()) {
        5
    } else {
        0
    };
    let signing = match record.protection.signing_mode() {
        Some(m) if m.requires_signature() => 10,
        Some(_) => 5,
        None => 0,
    };
    let factors = vec![
        factor("expiry", expiry, 15, || {
            format!(
                "set an expiry within {} days (`apikey update ID --expires-in 90d`)",
                config.max_lifetime_days
            )
        }),
        factor("age", age_points, 15, || {
            format!(
                "rotate the secret (`apikey rotate ID`); it is {} days old",
                age.num_days()
            )
        }),
        factor("scope_breadth", breadth, 15, || {
            format!("{scopes} scopes: split the key by what each caller needs")
        }),
        factor("wildcards", wildcard_points, 15, || {
            format!("{wildcards} wildcard scope(s): name the actions instead of resource:*")
        }),
        factor("ip_restriction", ip, 15, || {
            "restrict the key to its callers' networks (`apikey update ID --ip-allow CIDR`)"
                .to_owned()
        }),
        factor("unused", unused, 5, || {
            format!(
                "not used for {} days: revoke it if nobody needs it",
                (now - last_seen).num_days()
            )
        }),
        factor("hash", hash, 5, || {
            "an imported slow hash: rotate the key to move it to HMAC-SHA-256".to_owned()
        }),
        factor("owner", owner, 5, || {
            "set an owner so someone answers for the key (`apikey update ID --owner TEAM`)"
                .to_owned()
        }),
        factor("signing", signing, 10, || {
            "require signed requests (`apikey signing set ID --mode required`)".to_owned()
        }),
    ];
    let score = factors.iter().map(|f| f.points).sum();
    KeyScore { score, factors }
}

/// Scores over many keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreSummary {
    /// How many keys were scored.
    pub keys: usize,
    /// Their mean score (0 with no keys).
    pub average: f64,
    /// The lowest score (`None` with no keys).
    pub lowest: Option<u8>,
    /// How many scored under 50.
    pub below_50: usize,
    /// Per factor, how many keys lost points on it, in the documented order.
    pub short_on: Vec<(&'static str, usize)>,
}

/// Summarises `scores`.
pub fn summarize<'a>(scores: impl IntoIterator<Item = &'a KeyScore>) -> ScoreSummary {
    let mut s = ScoreSummary::default();
    let mut total = 0u64;
    for k in scores {
        s.keys += 1;
        total += u64::from(k.score);
        s.lowest = Some(s.lowest.map_or(k.score, |l| l.min(k.score)));
        if k.score < 50 {
            s.below_50 += 1;
        }
        for f in &k.factors {
            match s.short_on.iter_mut().find(|(n, _)| *n == f.name) {
                Some((_, n)) => *n += usize::from(f.points < f.weight),
                None => s.short_on.push((f.name, usize::from(f.points < f.weight))),
            }
        }
    }
    if s.keys > 0 {
        #[allow(clippy::cast_precision_loss)]
        let avg = total as f64 / s.keys as f64;
        s.average = avg;
    }
    s
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::hash::StoredHash;
    use crate::verify::test_support::record_with_version;
    use crate::{IpRules, ScopeSet};

    fn points(s: &KeyScore, name: &str) -> u8 {
        s.factors.iter().find(|f| f.name == name).unwrap().points
    }

    /// The weights are the contract: they sum to 100 and each has the documented value.
    #[test]
    fn the_weights_are_the_documented_ones() {
        let s = score(&record_with_version(1), Utc::now(), &ScoreConfig::default());
        let weights: Vec<(&str, u8)> = s.factors.iter().map(|f| (f.name, f.weight)).collect();
        assert_eq!(
            weights,
            [
                ("expiry", 15),
                ("age", 15),
                ("scope_breadth", 15),
                ("wildcards", 15),
                ("ip_restriction", 15),
                ("unused", 5),
                ("hash", 5),
                ("owner", 5),
                ("signing", 10)
            ]
        );
        assert_eq!(weights.iter().map(|(_, w)| u32::from(*w)).sum::<u32>(), 100);
    }

    #[test]
    fn a_well_kept_key_scores_100_with_no_advice() {
        let now = Utc::now();
        let mut r = record_with_version(1);
        r.expires_at = Some(now + Duration::days(30));
        r.owner = Some("billing-team".into());
        r.scopes = ScopeSet::parse(["invoices:read"]).unwrap();
        r.ip_rules = IpRules::parse(["203.0.113.0/24"], [] as [&str; 0]).unwrap();
        r.protection.signing = Some(crate::signing::KeySigning {
            mode: crate::signing::SigningMode::Required,
            sealed: String::new(),
            previous: None,
            previous_until: None,
            issued_at: now,
        });
        let s = score(&r, now, &ScoreConfig::default());
        assert_eq!(s.score, 100);
        assert!(s.factors.iter().all(|f| f.recommendation.is_none()));
    }

    #[test]
    fn a_bare_key_loses_what_it_lacks_and_is_told_why() {
        let now = Utc::now();
        let r = record_with_version(1);
        let s = score(&r, now, &ScoreConfig::default());
        // No expiry, IP rules, owner or signing (0); young, narrow, used recently: 55.
        assert_eq!(s.score, 15 + 15 + 15 + 5 + 5);
        let advice: Vec<&str> = s
            .factors
            .iter()
            .filter_map(|f| f.recommendation.as_deref())
            .collect();
        assert_eq!(advice.len(), 4, "{advice:?}");
        assert!(advice[0].contains("--expires-in"));
    }

    #[test]
    fn each_factor_has_its_part_marks() {
        let now = Utc::now();
        let c = ScoreConfig::default();
        let mut r = record_with_version(1);
        r.expires_at = Some(now + Duration::days(400));
        r.created_at = now - Duration::days(100);
        r.last_used_at = Some(now - Duration::days(91));
        r.scopes = ScopeSet::parse(["a:read", "b:read", "c:read", "d:*"]).unwrap();
        r.ip_rules = IpRules::parse([] as [&str; 0], ["198.51.100.0/24"]).unwrap();
        r.hash = StoredHash::Bcrypt("$2b$10$abcdefghijklmnopqrstuu".into());
        let s = score(&r, now, &c);
        assert_eq!(points(&s, "expiry"), 8);
        assert_eq!(points(&s, "age"), 8);
        assert_eq!(points(&s, "scope_breadth"), 8);
        assert_eq!(points(&s, "wildcards"), 8);
        assert_eq!(points(&s, "ip_restriction"), 5);
        assert_eq!(points(&s, "unused"), 0);
        assert_eq!(points(&s, "hash"), 0);
        assert_eq!(s.score, 8 + 8 + 8 + 8 + 5);
        r.created_at = now - Duration::days(181);
        r.scopes = ScopeSet::parse(
            (0..11)
                .map(|i| format!("r{i}:*"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
        .unwrap();
        let s = score(&r, now, &c);
        assert_eq!(points(&s, "age"), 0);
        assert_eq!(points(&s, "scope_breadth"), 0);
        assert_eq!(points(&s, "wildcards"), 0);
    }

    #[test]
    fn a_summary_counts_keys_averages_and_shortfalls() {
        let now = Utc::now();
        let c = ScoreConfig::default();
        let bare = score(&record_with_version(1), now, &c);
        let mut kept = record_with_version(1);
        kept.expires_at = Some(now + Duration::days(30));
        kept.owner = Some("o".into());
        kept.ip_rules = IpRules::parse(["203.0.113.0/24"], [] as [&str; 0]).unwrap();
        let kept = score(&kept, now, &c);
        let mut old = record_with_version(1);
        old.created_at = now - Duration::days(400);
        let old = score(&old, now, &c);
        let s = summarize([&bare, &kept, &old]);
        assert_eq!(s.keys, 3);
        assert_eq!(s.lowest, Some(35));
        assert_eq!(s.below_50, 1);
        assert!((s.average - f64::from(55 + 90 + 35) / 3.0).abs() < 1e-9);
        assert_eq!(s.short_on[0], ("expiry", 2));
        assert_eq!(s.short_on[1], ("age", 1));
        assert_eq!(summarize([]).lowest, None);
    }
}
