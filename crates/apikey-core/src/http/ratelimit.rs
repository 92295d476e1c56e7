//! `RateLimit` / `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers-09).

use std::time::Duration;

use crate::limit::LimitStatus;

/// The draft the `RateLimit` fields follow.
pub const RATELIMIT_DRAFT: &str = "draft-ietf-httpapi-ratelimit-headers-09";

pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// The `RateLimit` and `RateLimit-Policy` fields for one limit (the tightest), in structured-field
/// syntax: `("ratelimit", "\"rate\";r=1;t=1")`, `("ratelimit-policy", "\"rate\";q=2;w=1")`.
/// `r` is the remaining budget, `t` the seconds until it is whole again (quotas: until the period
/// resets), `q` the limit and `w` the window in seconds (at least 1), all rounded up.
pub fn rate_limit_fields(limit: &LimitStatus) -> [(&'static str, String); 2] {
    rate_limit_values(limit).map(|(name, value)| (name, value.as_str().to_owned()))
}

/// [`rate_limit_fields`] formatted on the stack: integrations copy the bytes straight into their
/// header value, so an admitted request pays no `format!` and no intermediate `String`.
pub fn rate_limit_values(limit: &LimitStatus) -> [(&'static str, FieldValue); 2] {
    let name = limit.kind.as_str();
    [
        (
            "ratelimit",
            FieldValue::new(
                name,
                b";r=",
                limit.remaining,
                b";t=",
                ceil_secs(limit.reset_after),
            ),
        ),
        (
            "ratelimit-policy",
            FieldValue::new(
                name,
                b";q=",
                limit.limit,
                b";w=",
                ceil_secs(limit.window).max(1),
            ),
        ),
    ]
}

/// One `RateLimit*` field value, `"name";a=1;b=2`, in a fixed buffer (the longest possible value,
/// two `u64::MAX`s and the longest limit name, fits).
#[derive(Clone, Copy)]
pub struct FieldValue {
    buf: [u8; 64],
    len: usize,
}

impl FieldValue {
    fn new(name: &str, a: &[u8], x: u64, b: &[u8], y: u64) -> Self {
        let mut v = Self {
            buf: [0; 64],
            len: 0,
        };
        let mut ints = itoa::Buffer::new();
        v.push(b"\"");
        v.push(name.as_bytes());
        v.push(b"\"");
        v.push(a);
        v.push(ints.format(x).as_bytes());
        v.push(b);
        v.push(ints.format(y).as_bytes());
        v
    }

    fn push(&mut self, bytes: &[u8]) {
        // Cannot overflow: at most 14 bytes of name (`tenant-credits`), 8 of separators and
        // quotes, 2 × 20 digits.
        let end = self.len + bytes.len();
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }

    /// The value's bytes (visible ASCII, valid in any header).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII was pushed.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl std::fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::LimitKind;

    #[test]
    fn structured_fields() {
        let s = LimitStatus {
            kind: LimitKind::Quota,
            limit: 100,
            remaining: 0,
            reset_after: Duration::from_millis(29_001),
            window: Duration::from_secs(86_400),
        };
        let [(a, av), (b, bv)] = rate_limit_fields(&s);
        assert_eq!((a, av.as_str()), ("ratelimit", "\"quota\";r=0;t=30"));
        assert_eq!(
            (b, bv.as_str()),
            ("ratelimit-policy", "\"quota\";q=100;w=86400")
        );
    }

    #[test]
    fn largest_values_fit() {
        let s = LimitStatus {
            kind: LimitKind::Endpoint,
            limit: u64::MAX,
            remaining: u64::MAX,
            reset_after: Duration::MAX,
            window: Duration::MAX,
        };
        let [(_, r), (_, p)] = rate_limit_values(&s);
        assert_eq!(
            r.as_str(),
            format!(
                "\"{}\";r={};t={}",
                LimitKind::Endpoint.as_str(),
                u64::MAX,
                u64::MAX
            )
        );
        assert!(p.as_str().ends_with(&format!(";w={}", u64::MAX)));
    }
}
