//! The request log on the guard's path: what every integration calls, so they only read their
//! framework's request and response.
//!
//! With no [`RequestLog`] on the guard the integrations skip all of it (one `Option` check). With
//! one, [`GuardSettings::log_admitted`] asks the log whether this key's request is kept (a
//! look-up in memory; `None` for a tenant or key whose mode is off, and nothing is allocated)
//! and returns an [`OpenLog`] that the integration finishes with the response status;
//! [`GuardSettings::log_refused`] writes a refusal at once.

use std::net::IpAddr;
use std::time::Instant;

use crate::ids::{KeyId, TenantId};
use crate::request_log::{ADMITTED, CHECK_REFUSED, RequestFacts, RequestLog, StartedRequest};
use crate::verify::{Rejection, Verified};

use super::guard::GuardSettings;

/// The request as the log records it, borrowed from the framework's request.
#[derive(Debug, Clone, Copy)]
pub struct LogHead<'a> {
    /// Method.
    pub method: &'a str,
    /// Route template, when the framework knows it.
    pub route: Option<&'a str>,
    /// Path (a query is dropped).
    pub path: &'a str,
    /// The client address the guard resolved.
    pub client_ip: Option<IpAddr>,
    /// The value of the request-id header ([`RequestLog::request_id_header`]), if any.
    pub request_id: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// An admitted request being logged: finish it with the response's status.
#[derive(Debug)]
#[must_use = "finish it with the response status"]
pub struct OpenLog {
    log: RequestLog,
    started: StartedRequest,
    method: String,
    route: Option<String>,
    path: String,
    client_ip: Option<IpAddr>,
    request_id: String,
    user_agent: Option<String>,
}

impl OpenLog {
    /// Writes the record with `status` (kept by a sampled mode when 400 or above).
    pub fn finish(self, status: u16) {
        self.finish_as(status, ADMITTED);
    }

    /// Writes the record of a request a check refused.
    pub fn finish_refused(self, status: u16) {
        self.finish_as(status, CHECK_REFUSED);
    }

    fn finish_as(self, status: u16, outcome: &str) {
        let facts = RequestFacts {
            method: &self.method,
            route: self.route.as_deref(),
            path: &self.path,
            client_ip: self.client_ip,
            request_id: &self.request_id,
            user_agent: self.user_agent.as_deref(),
        };
        self.log.finish(self.started, &facts, status, outcome);
    }
}

fn request_id(head: &LogHead<'_>) -> String {
    match head.request_id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => uuid::Uuid::new_v4().simple().to_string(),
    }
}

impl GuardSettings {
    /// Logs this guard's requests to `log` (see [`crate::request_log`]).
    pub fn set_request_log(&mut self, log: RequestLog) {
        self.request_log = Some(log);
    }

    /// The request log, if one is configured.
    pub fn request_log(&self) -> Option<&RequestLog> {
        self.request_log.as_ref()
    }

    /// `Some(now)` when a request log is configured: the instant latency is measured from.
    /// Integrations call it first thing, and skip every other log call on `None`.
    #[inline]
    pub fn log_began(&self) -> Option<Instant> {
        self.request_log.as_ref().map(|_| Instant::now())
    }

    /// Starts the record of an admitted request, when its key's mode keeps it. `head` is only
    /// called then, so a tenant whose mode is off costs the mode look-up and nothing more.
    pub fn log_admitted<'s, 'h>(
        &'s self,
        began: Option<Instant>,
        key: &Verified,
        head: impl FnOnce(&'s RequestLog) -> LogHead<'h>,
    ) -> Option<OpenLog> {
        let (log, began) = (self.request_log.as_ref()?, began?);
        let started = log.start(began, key.tenant_id(), Some(key.key_id()))?;
        let head = head(log);
        Some(OpenLog {
            log: log.clone(),
            started,
            method: head.method.to_owned(),
            route: head.route.map(str::to_owned),
            path: head.path.to_owned(),
            client_ip: head.client_ip,
            request_id: request_id(&head),
            user_agent: head.user_agent.map(str::to_owned),
        })
    }

    /// Writes the record of a request the guard refused (with the refusal's status and kind),
    /// when its mode keeps it: refusals of a known key under its tenant's mode, the others under
    /// the default row's. `head` is only called when the record is kept.
    pub fn log_refused<'s, 'h>(
        &'s self,
        began: Option<Instant>,
        rejection: &Rejection,
        head: impl FnOnce(&'s RequestLog) -> LogHead<'h>,
    ) {
        self.log_refusal(
            began,
            rejection.tenant_id(),
            rejection.key_id(),
            head,
            rejection.status(),
            rejection.kind().code(),
        );
    }

    fn log_refusal<'s, 'h>(
        &'s self,
        began: Option<Instant>,
        tenant: Option<&TenantId>,
        key: Option<KeyId>,
        head: impl FnOnce(&'s RequestLog) -> LogHead<'h>,
        status: u16,
        outcome: &str,
    ) {
        let (Some(log), Some(began)) = (self.request_log.as_ref(), began) else {
            return;
        };
        let Some(started) = log.start(began, tenant, key) else {
            return;
        };
        let head = head(log);
        let id = request_id(&head);
        let facts = RequestFacts {
            method: head.method,
            route: head.route,
            path: head.path,
            client_ip: head.client_ip,
            request_id: &id,
            user_agent: head.user_agent,
        };
        log.finish(started, &facts, status, outcome);
    }
}
