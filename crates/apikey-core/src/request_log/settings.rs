//! [`RequestLogSettings`]: whether a tenant's requests are logged, and for how long; part of the
//! [tenant settings](crate::TenantSettings), so it is versioned and audited like them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::KeyId;

/// How long records are kept by default.
pub const DEFAULT_REQUEST_RETENTION_DAYS: u32 = 30;
/// The longest retention the settings accept.
pub const MAX_REQUEST_RETENTION_DAYS: u32 = 3650;
/// Most per-key overrides one tenant may have.
pub const MAX_KEY_OVERRIDES: usize = 1000;

/// Which requests are logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestLogMode {
    /// None (the default: the request log is opt-in).
    #[default]
    Off,
    /// One admitted request in `one_in`, and every refused or failed one (status 400 and up).
    Sampled {
        /// 2 or more.
        one_in: u32,
    },
    /// Every request.
    Full,
}

/// The request log settings of one tenant (or of the default row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestLogSettings {
    /// The tenant's mode.
    pub mode: RequestLogMode,
    /// Days a record is kept (1..=[`MAX_REQUEST_RETENTION_DAYS`]); applies to records written
    /// after it is set.
    pub retention_days: u32,
    /// Keys whose mode differs from the tenant's.
    pub keys: BTreeMap<KeyId, RequestLogMode>,
}

impl Default for RequestLogSettings {
    fn default() -> Self {
        Self {
            mode: RequestLogMode::Off,
            retention_days: DEFAULT_REQUEST_RETENTION_DAYS,
            keys: BTreeMap::new(),
        }
    }
}

impl RequestLogSettings {
    /// The mode for `key` (its override, or the tenant's).
    pub fn mode_for(&self, key: Option<KeyId>) -> RequestLogMode {
        key.and_then(|k| self.keys.get(&k).copied())
            .unwrap_or(self.mode)
    }

    /// Refuses settings that mean nothing: sampling one in fewer than two, a retention of zero
    /// days or beyond the maximum, too many overrides.
    pub fn validate(&self) -> Result<()> {
        let check = |mode: &RequestLogMode, what: &'static str| match mode {
            RequestLogMode::Sampled { one_in } if *one_in < 2 => Err(Error::invalid(
                what,
                "sampling needs one_in of 2 or more (1 is mode full)",
            )),
            _ => Ok(()),
        };
        check(&self.mode, "request_log.mode")?;
        for mode in self.keys.values() {
            check(mode, "request_log.keys")?;
        }
        if !(1..=MAX_REQUEST_RETENTION_DAYS).contains(&self.retention_days) {
            return Err(Error::invalid(
                "request_log.retention_days",
                format_args!("must be 1..={MAX_REQUEST_RETENTION_DAYS}"),
            ));
        }
        if self.keys.len() > MAX_KEY_OVERRIDES {
            return Err(Error::invalid(
                "request_log.keys",
                format_args!("at most {MAX_KEY_OVERRIDES} overrides"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_means_off_for_thirty_days() {
        let s: RequestLogSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, RequestLogSettings::default());
        assert_eq!(s.mode_for(None), RequestLogMode::Off);
    }

    #[test]
    fn a_key_override_wins_and_round_trips() {
        let k = KeyId::new();
        let mut s = RequestLogSettings {
            mode: RequestLogMode::Sampled { one_in: 10 },
            ..RequestLogSettings::default()
        };
        s.keys.insert(k, RequestLogMode::Full);
        let json = serde_json::to_string(&s).unwrap();
        let back: RequestLogSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.mode_for(Some(k)), RequestLogMode::Full);
        assert_eq!(
            back.mode_for(Some(KeyId::new())),
            RequestLogMode::Sampled { one_in: 10 }
        );
        assert!(json.contains(r#""mode":"sampled","one_in":10"#), "{json}");
    }

    #[test]
    fn meaningless_settings_are_refused() {
        for bad in [
            RequestLogSettings {
                mode: RequestLogMode::Sampled { one_in: 1 },
                ..RequestLogSettings::default()
            },
            RequestLogSettings {
                retention_days: 0,
                ..RequestLogSettings::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
