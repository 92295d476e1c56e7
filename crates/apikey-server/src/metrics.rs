//! `GET /metrics`: the Prometheus text format, rendered from the recorder the binary installed
//! (`usage:read`: counts by outcome are not for everyone who can reach the port).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;

use crate::AppState;
use crate::problem::Problem;

/// The content type of the Prometheus text exposition format 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The service's metrics: verifications by outcome, cache hits and misses, slow-path latency,
/// limiter decisions, store errors, usage not yet flushed, request-log records, webhook
/// signatures (names in `apikey_core::metrics`).
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", responses(
    (status = 200, description = "The Prometheus text format", content_type = "text/plain"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks usage:read (problem+json)"),
    (status = 404, description = "No metrics recorder is installed on this service (problem+json)"),
))]
pub(crate) async fn metrics(
    State(st): State<AppState>,
    _key: apikey_axum::Verified,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), Problem> {
    let handle = st
        .metrics
        .as_ref()
        .ok_or_else(|| Problem::not_found("no metrics recorder is installed on this service"))?;
    Ok(([(CONTENT_TYPE, TEXT_FORMAT)], handle.render()))
}
