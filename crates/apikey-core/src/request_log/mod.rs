//! The request log: who called what, from where, with what outcome — opt-in per tenant or key,
//! written behind the request path in batches, queryable, and removed by retention.
//!
//! - [`RequestRecord`]: one request (time, key, tenant, client address, method, route template
//!   and path, status, outcome, request id, latency, user agent); never a token, a secret, a
//!   query string or a body.
//! - [`RequestLogSettings`] in the [tenant settings](crate::TenantSettings): off (the default),
//!   sampled (one admitted request in N, every refused or failed one) or full, per tenant with
//!   per-key overrides, and the retention in days.
//! - [`RequestLog`]: what the guards call ([`start`](RequestLog::start) once the key is known,
//!   [`finish`](RequestLog::finish) with the status) and the background writer behind a bounded
//!   queue that drops and counts rather than block.
//! - [`RequestLogStore`]: the capability a backend implements (idempotent appends, keyset-paged
//!   queries by key, network, route, outcome and time, purge by expiry, erasure by key), with
//!   the conformance suite `apikey_testkit::request_log_suite!`.
//! - [`RequestLogRetention`]: the scheduler job that purges expired records.

#[cfg(feature = "metrics")]
mod metrics;
mod record;
mod retention;
mod settings;
mod store;
mod writer;

pub use record::{
    ADMITTED, CHECK_REFUSED, MAX_METHOD_LEN, MAX_PATH_LEN, MAX_REQUEST_ID_LEN, MAX_ROUTE_LEN,
    MAX_USER_AGENT_LEN, RequestFacts, RequestRecord, ip_bytes, network_bounds,
};
pub use retention::RequestLogRetention;
pub use settings::{
    DEFAULT_REQUEST_RETENTION_DAYS, MAX_KEY_OVERRIDES, MAX_REQUEST_RETENTION_DAYS, RequestLogMode,
    RequestLogSettings,
};
pub use store::{MAX_REQUEST_PAGE, OutcomeFilter, RequestCursor, RequestFilter, RequestLogStore};
pub use writer::{RequestLog, RequestLogConfig, RequestLogStats, StartedRequest};
