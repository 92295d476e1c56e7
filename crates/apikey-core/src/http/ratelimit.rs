//! `RateLimit` / `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers-09).

use std::time::Duration;

use crate::limit::LimitStatus;

/// The draft the `RateLimit` fields follow.
pub const RATELIMIT_DRAFT: &str = "draft-ietf-httpapi-ratelimit-headers-09";

pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The `RateLimit` and `RateLimit-Policy` fields for one limit (the tightest), in structured-field
/// syntax: `("ratelimit", "\"rate\";r=1;t=1")`, `("ratelimit-policy", "\"rate\";q=2;w=1")`.
/// `r` is the remaining budget, `t` the seconds until it is whole again (quotas: until the period
/// resets), `q` the limit and `w` the window in seconds (at least 1), all rounded up.
pub fn rate_limit_fields(limit: &LimitStatus) -> [(&'static str, String); 2] {
    let name = limit.kind.as_str();
    [
        (
            "ratelimit",
            format!(
                "\"{name}\";r={};t={}",
                limit.remaining,
                ceil_secs(limit.reset_after)
            ),
        ),
        (
            "ratelimit-policy",
            format!(
                "\"{name}\";q={};w={}",
                limit.limit,
                ceil_secs(limit.window).max(1)
            ),
        ),
    ]
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
}
