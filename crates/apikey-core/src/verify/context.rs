//! What the verifier needs to know about a request besides the credential.

use std::net::IpAddr;

use crate::ids::TenantId;
use crate::scope::Scope;

/// The request being authorised. Built by integrations; borrowed, so building it allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The client address, from [`ClientIpResolver`](crate::ClientIpResolver).
    pub client_ip: Option<IpAddr>,
    /// The endpoint (`"GET /projects"`, `/pkg.Service/Method`) for endpoint limits.
    pub endpoint: Option<&'a str>,
    /// Scopes the route requires (AND).
    pub required_scopes: &'a [Scope],
    /// Budget this request spends (1, the number of operations in a GraphQL batch, or 0 for a
    /// free request: authenticated and authorized, charged nothing).
    pub cost: u32,
    /// Reserve this many credits instead of charging `cost` to them, to settle the real cost
    /// later ([`Verified::reservation`](crate::Verified::reservation)); only for keys with
    /// credits.
    pub reserve: Option<u64>,
    /// The client's `User-Agent`, reported when a canary key trips.
    pub user_agent: Option<&'a str>,
    /// The address failed attempts are counted against, when it is not `client_ip`: a
    /// verification service checks the end client's address (`client_ip`, given by its caller)
    /// against the key's rules, but counts failures against the caller it can see.
    pub failures_from: Option<IpAddr>,
    /// Only keys of this tenant: another tenant's key (or one of none) answers as an unknown
    /// key, before anything is charged to it. For a service that verifies on behalf of one
    /// tenant (a tenant's admin key on `apikey serve`).
    pub tenant: Option<&'a TenantId>,
}

impl<'a> RequestContext<'a> {
    /// No address, no endpoint, no scopes, cost 1.
    pub const fn new() -> Self {
        Self {
            client_ip: None,
            endpoint: None,
            required_scopes: &[],
            cost: 1,
            user_agent: None,
            reserve: None,
            failures_from: None,
            tenant: None,
        }
    }

    /// Sets the client's `User-Agent`.
    #[must_use]
    pub const fn user_agent(mut self, user_agent: Option<&'a str>) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Sets the client address.
    #[must_use]
    pub const fn client_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.client_ip = ip;
        self
    }

    /// Sets the endpoint.
    #[must_use]
    pub const fn endpoint(mut self, endpoint: &'a str) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Sets the required scopes.
    #[must_use]
    pub const fn scopes(mut self, scopes: &'a [Scope]) -> Self {
        self.required_scopes = scopes;
        self
    }

    /// Sets the cost (0: a free request, charged nothing).
    #[must_use]
    pub const fn cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }

    /// Counts failed attempts against `ip` instead of the client address.
    #[must_use]
    pub const fn failures_from(mut self, ip: Option<IpAddr>) -> Self {
        self.failures_from = ip;
        self
    }

    /// Accepts keys of `tenant` only; another tenant's key answers as unknown and is charged
    /// nothing.
    #[must_use]
    pub const fn within_tenant(mut self, tenant: &'a TenantId) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// The address failed attempts are counted against.
    pub(crate) fn failure_ip(&self) -> Option<IpAddr> {
        match self.failures_from {
            Some(ip) => Some(ip),
            None => self.client_ip,
        }
    }

    /// Reserves `estimate` credits instead of charging the cost to them, for a cost known only
    /// after the response: settle it with the [`Reservation`](crate::limit::Reservation) on the
    /// verified key.
    #[must_use]
    pub const fn reserve(mut self, estimate: u64) -> Self {
        self.reserve = Some(estimate);
        self
    }
}

impl Default for RequestContext<'_> {
    fn default() -> Self {
        Self::new()
    }
}
