//! Where a deployment's KEKs come from: `APIKEY_KEK`, in the form `APIKEY_PEPPER` has, so one
//! place decides what the variable means for every binary.

use std::fmt;

use zeroize::Zeroizing;

use super::kek::Keks;
use crate::error::{Error, ErrorKind};

/// The environment variable holding the KEKs: `id=base64key[,…]`, 32-byte keys, the first current.
pub const KEK_ENV: &str = "APIKEY_KEK";

/// How to set a KEK, for error messages.
const KEK_HOW: &str = "APIKEY_KEK=k1=$(openssl rand -base64 32)";

/// How a process finds its KEKs. `Debug` never shows the value.
#[derive(Clone)]
pub struct KekConfig {
    spec: Option<Zeroizing<String>>,
}

impl KekConfig {
    /// Reads `APIKEY_KEK`.
    pub fn from_env() -> Self {
        Self::with_spec(std::env::var(KEK_ENV).ok())
    }

    /// As [`from_env`](Self::from_env), with the value given (`None`: unset).
    pub fn with_spec(spec: Option<String>) -> Self {
        Self {
            spec: spec.filter(|s| !s.trim().is_empty()).map(Zeroizing::new),
        }
    }

    /// Whether a value was given; a deployment that stores no recoverable secret needs none.
    pub fn is_set(&self) -> bool {
        self.spec.is_some()
    }

    /// The KEKs. Unset or invalid is a configuration error naming the variable, never its value.
    pub fn load(&self) -> Result<Keks, Error> {
        let spec = self.spec.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("no KEK: set {KEK_ENV} (e.g. {KEK_HOW}); losing it makes every sealed secret unrecoverable"),
            )
        })?;
        Keks::from_spec(spec).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{KEK_ENV} is not valid: {}; expected id=base64key[,id=base64key...] (32 bytes each, the first is current), e.g. {KEK_HOW}",
                    e.message()
                ),
            )
        })
    }
}

impl fmt::Debug for KekConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KekConfig")
            .field("spec", &self.spec.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_invalid_name_the_variable_not_the_value() {
        let err = KekConfig::with_spec(None).load().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains(KEK_ENV));

        let config = KekConfig::with_spec(Some("k1=c2hvcnQta2V5".into()));
        let err = config.load().unwrap_err();
        assert!(err.message().contains("exactly 32 bytes"), "{err}");
        assert!(!err.to_string().contains("c2hvcnQta2V5"));
        assert!(!format!("{config:?}").contains("c2hvcnQta2V5"));

        let good = format!("k1={}", "A".repeat(43) + "=");
        assert_eq!(
            KekConfig::with_spec(Some(good))
                .load()
                .unwrap()
                .current_id()
                .as_str(),
            "k1"
        );
    }
}
