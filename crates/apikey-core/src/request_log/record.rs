//! [`RequestRecord`]: one guarded request as the request log keeps it.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{KeyId, TenantId};
use crate::verify::RejectionKind;

/// Longest method kept (bytes).
pub const MAX_METHOD_LEN: usize = 16;
/// Longest route template kept (bytes).
pub const MAX_ROUTE_LEN: usize = 256;
/// Longest path kept (bytes; the query string is never kept).
pub const MAX_PATH_LEN: usize = 1024;
/// Longest request id kept (bytes).
pub const MAX_REQUEST_ID_LEN: usize = 128;
/// Longest user agent kept (bytes).
pub const MAX_USER_AGENT_LEN: usize = 256;

/// The outcome text of an admitted request.
pub const ADMITTED: &str = "admitted";
/// The outcome text of a request a [`RequestCheck`](crate::http::RequestCheck) refused.
pub const CHECK_REFUSED: &str = "check_refused";

/// One request through a guard: who called what, from where, with what outcome. Never a token,
/// a secret, a query string or a body.
///
/// Build it with [`RequestRecord::new`], which truncates every text to its maximum (on a
/// character boundary) and drops the query from the path, so a store can rely on the limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Unique, time-ordered (UUIDv7); a batch retried after a failure is not stored twice.
    pub id: Uuid,
    /// When the request arrived (millisecond precision).
    pub at: DateTime<Utc>,
    /// The key, when one verified (or was identified before being refused).
    pub key_id: Option<KeyId>,
    /// The key's tenant.
    pub tenant_id: Option<TenantId>,
    /// The client address as the guard resolved it (trusted proxies applied).
    pub client_ip: Option<IpAddr>,
    /// `GET`, `POST`, … (gRPC: `POST`).
    pub method: String,
    /// The route template (`/projects/{id}`; gRPC: the method path), when the framework knows it.
    pub route: Option<String>,
    /// The request path, without its query.
    pub path: String,
    /// The response status (gRPC: the HTTP status of the response, 200 with a grpc-status).
    pub status: u16,
    /// [`ADMITTED`], a [`RejectionKind::code`], or [`CHECK_REFUSED`].
    pub outcome: String,
    /// From the configured header, or generated.
    pub request_id: String,
    /// From the start of the guard to the response head.
    pub latency_us: u64,
    /// The `User-Agent`, truncated.
    pub user_agent: Option<String>,
    /// When retention removes it (set from the tenant's settings when it is logged).
    pub expires_at: DateTime<Utc>,
}

/// What a guard knows about a request when it finishes, for [`RequestRecord::new`].
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// Method.
    pub method: &'a str,
    /// Route template, if known.
    pub route: Option<&'a str>,
    /// Path, possibly with a query (dropped).
    pub path: &'a str,
    /// Client address.
    pub client_ip: Option<IpAddr>,
    /// Request id.
    pub request_id: &'a str,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl RequestRecord {
    /// A record of `facts`, bounded and without the query string.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        at: DateTime<Utc>,
        key_id: Option<KeyId>,
        tenant_id: Option<TenantId>,
        facts: &RequestFacts<'_>,
        status: u16,
        outcome: &str,
        latency_us: u64,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let path = facts.path.split('?').next().unwrap_or_default();
        Self {
            id: Uuid::now_v7(),
            at: crate::clock::truncate_ms(at),
            key_id,
            tenant_id,
            client_ip: facts.client_ip,
            method: truncate(facts.method, MAX_METHOD_LEN),
            route: facts.route.map(|r| truncate(r, MAX_ROUTE_LEN)),
            path: truncate(path, MAX_PATH_LEN),
            status,
            outcome: truncate(outcome, 64),
            request_id: truncate(facts.request_id, MAX_REQUEST_ID_LEN),
            latency_us,
            user_agent: facts.user_agent.map(|u| truncate(u, MAX_USER_AGENT_LEN)),
            expires_at: crate::clock::truncate_ms(expires_at),
        }
    }

    /// Whether the guard admitted the request.
    pub fn admitted(&self) -> bool {
        self.outcome == ADMITTED
    }

    /// The outcome text of a rejection.
    pub fn outcome_of(kind: RejectionKind) -> &'static str {
        kind.code()
    }
}

/// The client address as 16 bytes (IPv4 as IPv4-mapped IPv6), the form stores index so a
/// network is one byte range.
pub fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The first and last address of `net` in [`ip_bytes`] form.
pub fn network_bounds(net: &ipnet::IpNet) -> ([u8; 16], [u8; 16]) {
    (ip_bytes(net.network()), ip_bytes(net.broadcast()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(path: &str) -> RequestFacts<'_> {
        RequestFacts {
            method: "GET",
            route: Some("/projects/{id}"),
            path,
            client_ip: None,
            request_id: "r1",
            user_agent: Some("curl/8"),
        }
    }

    #[test]
    fn the_query_never_reaches_a_record() {
        let r = RequestRecord::new(
            Utc::now(),
            None,
            None,
            &facts("/projects/7?api_key=sk_live_secret&x=1"),
            401,
            "missing",
            10,
            Utc::now(),
        );
        assert_eq!(r.path, "/projects/7");
        assert!(!format!("{r:?}").contains("secret"));
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let ua = "é".repeat(300);
        let mut f = facts("/");
        f.user_agent = Some(&ua);
        let r = RequestRecord::new(Utc::now(), None, None, &f, 200, ADMITTED, 1, Utc::now());
        let kept = r.user_agent.clone().unwrap();
        assert!(kept.len() <= MAX_USER_AGENT_LEN && kept.chars().all(|c| c == 'é'));
        assert!(r.admitted());
    }

    #[test]
    fn networks_are_byte_ranges_in_one_family_space() {
        let net: ipnet::IpNet = "203.0.113.0/24".parse().unwrap();
        let (lo, hi) = network_bounds(&net);
        let inside = ip_bytes("203.0.113.7".parse().unwrap());
        let outside = ip_bytes("203.0.114.1".parse().unwrap());
        assert!(lo <= inside && inside <= hi);
        assert!(!(lo <= outside && outside <= hi));
        let v6 = ip_bytes("2001:db8::1".parse().unwrap());
        assert!(!(lo <= v6 && v6 <= hi));
    }
}
