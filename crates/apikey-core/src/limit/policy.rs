//! What a key may spend: a rate with burst, per-endpoint rates, and a calendar quota.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::limit::window::QuotaPeriod;

/// A GCRA rate: `requests` per `per_ms` milliseconds, with up to `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rate {
    /// Requests replenished per window.
    pub requests: u32,
    /// The window, in milliseconds.
    pub per_ms: u64,
    /// Requests that may arrive back to back.
    pub burst: u32,
}

/// Largest window a rate may have: one year.
pub const MAX_RATE_WINDOW_MS: u64 = 366 * 24 * 3600 * 1000;

/// Largest GCRA capacity (`burst × window / requests`): a century, in microseconds. Beyond it the
/// limiter's timestamps would leave the range every backend can store.
pub const MAX_CAPACITY_US: i64 = 100 * 366 * 24 * 3600 * 1_000_000;

impl Rate {
    /// `requests` per `per`, with a burst equal to `requests`.
    pub fn new(requests: u32, per: Duration) -> Result<Self, Error> {
        Self::with_burst(requests, per, requests)
    }

    /// `requests` per `per`, with an explicit burst.
    pub fn with_burst(requests: u32, per: Duration, burst: u32) -> Result<Self, Error> {
        let rate = Self {
            requests,
            per_ms: u64::try_from(per.as_millis()).unwrap_or(u64::MAX),
            burst,
        };
        rate.validate()?;
        Ok(rate)
    }

    /// Checks the ranges: 1..=10⁹ requests and burst, a window of 1 ms to one year, at most one
    /// request per microsecond, and a capacity of at most [`MAX_CAPACITY_US`].
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=1_000_000_000).contains(&self.requests) {
            return Err(Error::invalid(
                "rate limit",
                "requests must be 1..=1000000000",
            ));
        }
        if !(1..=1_000_000_000).contains(&self.burst) {
            return Err(Error::invalid("rate limit", "burst must be 1..=1000000000"));
        }
        if !(1..=MAX_RATE_WINDOW_MS).contains(&self.per_ms) {
            return Err(Error::invalid(
                "rate limit",
                "window must be 1 ms to 366 days",
            ));
        }
        if self.per_ms * 1000 < u64::from(self.requests) {
            return Err(Error::invalid(
                "rate limit",
                "at most one request per microsecond",
            ));
        }
        if i128::from(self.interval_us()) * i128::from(self.burst) > i128::from(MAX_CAPACITY_US) {
            return Err(Error::invalid(
                "rate limit",
                "burst × window / requests must be at most 100 years",
            ));
        }
        Ok(())
    }

    /// The GCRA emission interval in microseconds.
    pub fn interval_us(&self) -> i64 {
        i64::try_from(self.per_ms * 1000 / u64::from(self.requests))
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.per_ms)
    }
}

/// The name of an endpoint, in its one canonical form.
///
/// Integrations name HTTP endpoints `"{METHOD} {route template}"` (`"GET /projects/{id}"`) and
/// gRPC ones by their path (`"/pkg.Service/Method"`). The canonical form of any text is: surrounding
/// whitespace removed; then, if it starts with a method (an RFC 9110 token: letters, digits and
/// ``!#$%&'*+-.^_`|~``) followed by whitespace, the method in ASCII upper case, one space and the
/// rest (the path) as given; otherwise the text as given. So `"get  /projects/{id} "` and
/// `"GET /projects/{id}"` are one endpoint, while paths stay case-sensitive and byte-exact.
///
/// Every way in — [`Endpoint::new`], `From`, deserialisation — canonicalises, so a stored or
/// imported limit names its endpoint the way a new one does; [`Endpoint::matches`] compares a
/// request's endpoint by the same rule without allocating.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Endpoint(String);

/// `s` without surrounding whitespace, split into the method and the path when it starts with a
/// method token (RFC 9110 `tchar`s, so never a path) followed by whitespace; otherwise `(s, None)`.
fn split_endpoint(s: &str) -> (&str, Option<&str>) {
    let s = s.trim();
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let head = s.bytes().take_while(|&b| is_tchar(b)).count();
    match s[head..].strip_prefix(char::is_whitespace) {
        Some(rest) if head > 0 => (&s[..head], Some(rest.trim_start())),
        _ => (s, None),
    }
}

impl Endpoint {
    /// The canonical form of `s` (see the type's documentation). Infallible: emptiness, length and
    /// control characters are checked where limits enter a key.
    pub fn new(s: &str) -> Self {
        match split_endpoint(s) {
            (method, Some(path)) => {
                let mut text = String::with_capacity(method.len() + 1 + path.len());
                text.push_str(method);
                text.make_ascii_uppercase();
                text.push(' ');
                text.push_str(path);
                Self(text)
            }
            (whole, None) => Self(whole.to_owned()),
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `endpoint`, as an integration passed it, names this endpoint: the same as
    /// `Endpoint::new(endpoint) == *self`, without allocating.
    #[inline]
    pub fn matches(&self, endpoint: &str) -> bool {
        let ours = self.0.as_bytes();
        match split_endpoint(endpoint) {
            (whole, None) => ours == whole.as_bytes(),
            (method, Some(path)) => {
                let (m, p) = (method.len(), path.len());
                ours.len() == m + 1 + p
                    && ours[..m].eq_ignore_ascii_case(method.as_bytes())
                    && ours[m] == b' '
                    && &ours[m + 1..] == path.as_bytes()
            }
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl From<&str> for Endpoint {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Endpoint {
    fn from(s: String) -> Self {
        Self::new(&s)
    }
}

impl AsRef<str> for Endpoint {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

/// A limit on the requests of one endpoint (`"GET /projects"`, a gRPC path, …) for one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndpointLimit {
    /// The endpoint as the integration names it (for HTTP: `METHOD /route/template`), canonical.
    pub endpoint: Endpoint,
    /// Its rate.
    pub rate: Rate,
}

impl EndpointLimit {
    /// A limit of `rate` on `endpoint` (canonicalised).
    pub fn new(endpoint: impl Into<Endpoint>, rate: Rate) -> Self {
        Self {
            endpoint: endpoint.into(),
            rate,
        }
    }
}

/// A quota: at most `limit` requests in each calendar `period` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    /// Requests allowed per period.
    pub limit: u64,
    /// The calendar period.
    pub period: QuotaPeriod,
}

impl Quota {
    /// Checks `limit` is at least 1.
    pub fn validate(&self) -> Result<(), Error> {
        if self.limit == 0 || self.limit > 1_000_000_000_000 {
            return Err(Error::invalid("quota", "limit must be 1..=10^12"));
        }
        Ok(())
    }
}

/// The limits one decision checks together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitPolicy {
    /// The key's own rate.
    pub rate: Option<Rate>,
    /// The rate of the endpoint being called, for this key.
    pub endpoint: Option<Rate>,
    /// The key's quota (counted per rotation lineage).
    pub quota: Option<Quota>,
}

impl LimitPolicy {
    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.rate.is_none() && self.endpoint.is_none() && self.quota.is_none()
    }
}

/// What to do when the limiter's backend is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FailurePolicy {
    /// Refuse the request (503).
    #[default]
    FailClosed,
    /// Let the request through uncounted.
    FailOpen,
    /// Count in process, allowing `share` (0 < share ≤ 1) of each rate. Quotas cannot use this: a
    /// share of a monthly quota means nothing, so they fall back to closed.
    LocalFallback {
        /// Fraction of the configured rate each instance may admit alone.
        share: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_have_one_canonical_form() {
        for spelling in [
            "GET /projects/{id}",
            "get /projects/{id}",
            " Get \t /projects/{id} ",
        ] {
            let e = Endpoint::new(spelling);
            assert_eq!(e.as_str(), "GET /projects/{id}", "{spelling:?}");
            assert!(e.matches("GET /projects/{id}"));
            assert!(e.matches(spelling));
        }
        let e = Endpoint::new("GET /projects/{id}");
        assert!(!e.matches("GET /Projects/{id}"));
        assert!(!e.matches("GET /projects/{id}/x"));
        assert!(!e.matches("POST /projects/{id}"));
        assert!(!e.matches("GET/projects/{id}"));
        let grpc = Endpoint::new(" /pkg.Service/Method");
        assert_eq!(grpc.as_str(), "/pkg.Service/Method");
        assert!(grpc.matches("/pkg.Service/Method"));
        assert!(!grpc.matches("/pkg.service/method"));
        let json: Endpoint = serde_json::from_str(r#""post   /x""#).unwrap();
        assert_eq!(json, Endpoint::new("POST /x"));
        assert_eq!(serde_json::to_string(&json).unwrap(), r#""POST /x""#);
    }
}
