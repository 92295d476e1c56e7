//! [`PendingVerification`]: a verification that needs I/O, carrying everything
//! [`Verifier::verify_now`](crate::Verifier::verify_now) already worked out, so
//! [`Verifier::finish`](crate::Verifier::finish) takes nothing else: no second parse, credential
//! extraction or cache probe, and a future that owns its state (as tower-http's
//! `AsyncRequireAuthorization` future does) rather than borrowing the request again.
//!
//! Only the slow paths build one, so the copies it makes (the secret, zeroized on drop; the
//! endpoint and required scopes) cost nothing on a cache hit.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::ids::LookupId;
use crate::scope::Scope;
use crate::verify::context::RequestContext;
use crate::verify::local_cache::CachedEntry;
use crate::verify::usage::UsageCell;

/// A verification waiting for I/O; complete it with [`Verifier::finish`](crate::Verifier::finish).
/// `Debug` shows which step is pending, never the secret.
pub struct PendingVerification(pub(crate) Resume);

pub(crate) enum Resume {
    /// A current-format token missed the first-level cache.
    Miss {
        lookup: LookupId,
        secret: Zeroizing<Box<str>>,
        /// The usage cell of an expired entry, so a refill keeps counting into it.
        usage: Option<Arc<UsageCell>>,
        request: OwnedRequest,
    },
    /// A legacy token (the whole token is its secret) not in the cache.
    Legacy {
        token: Zeroizing<Box<str>>,
        request: OwnedRequest,
    },
    /// No token: a signature's `keyid` names the key (the guard checks the signature after).
    Signed {
        lookup: LookupId,
        request: OwnedRequest,
    },
    /// The secret matched this entry and every check but the limit passed; the limiter needs I/O.
    Limiter {
        entry: Arc<CachedEntry>,
        endpoint: Option<Box<str>>,
        cost: u32,
        reserve: Option<u64>,
    },
}

/// A [`RequestContext`] that owns what it borrowed.
pub(crate) struct OwnedRequest {
    client_ip: Option<IpAddr>,
    endpoint: Option<Box<str>>,
    scopes: Box<[Scope]>,
    cost: u32,
    user_agent: Option<Box<str>>,
    reserve: Option<u64>,
    failures_from: Option<IpAddr>,
    tenant: Option<crate::TenantId>,
}

impl OwnedRequest {
    pub(crate) fn new(ctx: &RequestContext<'_>) -> Self {
        Self {
            client_ip: ctx.client_ip,
            endpoint: ctx.endpoint.map(Box::from),
            scopes: ctx.required_scopes.into(),
            cost: ctx.cost,
            user_agent: ctx.user_agent.map(Box::from),
            reserve: ctx.reserve,
            failures_from: ctx.failures_from,
            tenant: ctx.tenant.cloned(),
        }
    }

    pub(crate) fn context(&self) -> RequestContext<'_> {
        RequestContext {
            client_ip: self.client_ip,
            endpoint: self.endpoint.as_deref(),
            required_scopes: &self.scopes,
            cost: self.cost,
            user_agent: self.user_agent.as_deref(),
            reserve: self.reserve,
            failures_from: self.failures_from,
            tenant: self.tenant.as_ref(),
        }
    }
}

impl fmt::Debug for PendingVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match &self.0 {
            Resume::Miss { lookup, .. } => format!("store fetch for {lookup}"),
            Resume::Legacy { .. } => "legacy lookup".to_owned(),
            Resume::Signed { lookup, .. } => format!("signed request for {lookup}"),
            Resume::Limiter { entry, .. } => format!("limiter for key {}", entry.record.id),
        };
        f.debug_tuple("PendingVerification").field(&step).finish()
    }
}
