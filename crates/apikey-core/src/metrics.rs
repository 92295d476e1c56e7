//! Metric names (feature `metrics`), recorded through the [`metrics`] facade so any exporter
//! works — `metrics-exporter-prometheus` for a `/metrics` page, for one.
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `apikey_verifications_total` | counter | `outcome`: `admitted` or a rejection code (`unknown`, `revoked`, `rate_limited`, …) | every verification |
//! | `apikey_cache_hits_total` | counter | — | verifications answered from the in-process cache |
//! | `apikey_cache_misses_total` | counter | — | verifications that went to the shared cache or store |
//! | `apikey_verify_slow_seconds` | histogram | — | the duration of verifications that needed I/O (a store read, a limiter round trip) |
//! | `apikey_store_errors_total` | counter | — | store reads that failed on the request path |
//! | `apikey_limiter_decisions_total` | counter | `result`: `allowed` or `limited` | the rate limiter's answers (keys without limits never ask it; a failed call is neither) |
//! | `apikey_limiter_round_trip_seconds` | histogram | — | the duration of limiter calls that went out (a Redis round trip; a local lease or the in-memory limiter answers without one and is not timed) |
//! | `apikey_webhook_deliveries_pending` | gauge | — | deliveries pending after each dispatcher run (`apikey-webhooks`, feature `metrics`) |
//! | `apikey_request_log_written_total` | counter | — | request-log records stored |
//! | `apikey_request_log_dropped_total` | counter | — | request-log records dropped (queue full or log shut down) |
//! | `apikey_signature_checks_total` | counter | `result`: `accepted`, `refused` or `unavailable` | request signatures checked by `SignatureCheck` (`unavailable`: the nonce store did not answer) |
//! | `apikey_canary_trips_total` | counter | — | canary incidents (one per key and incident window per process) |
//! | `apikey_usage_unflushed` | gauge | — | verifications counted in memory and not yet written, after each interval flush (flush lag: it grows while the store refuses) |
//! | `apikey_usage_flush_failures_total` | counter | — | interval flushes of usage that failed (their counts are kept and sent again) |
//!
//! The handles are registered once, when the verifier is built (the request log's when it is
//! spawned), so **install the recorder before building `ApiKeys`**; recording is then an atomic
//! add on a handle (no allocation, no map look-up), which keeps the cache-hit path
//! allocation-free (`tests/no_alloc.rs` runs with a recorder installed). Labels never carry a
//! token, a lookup id or a client address: their values come from a fixed list.
//!
//! `metrics` was chosen because it is a facade with no exporter of its own (the service picks
//! one) and handles that cost an atomic once registered.

/// Every verification, labelled by `outcome`.
pub const VERIFICATIONS: &str = "apikey_verifications_total";
/// Verifications answered from the in-process cache.
pub const CACHE_HITS: &str = "apikey_cache_hits_total";
/// Verifications that missed the in-process cache.
pub const CACHE_MISSES: &str = "apikey_cache_misses_total";
/// Duration of the verifications that needed I/O, in seconds.
pub const VERIFY_SLOW_SECONDS: &str = "apikey_verify_slow_seconds";
/// Store reads that failed on the request path.
pub const STORE_ERRORS: &str = "apikey_store_errors_total";
/// The rate limiter's decisions, labelled by `result`.
pub const LIMITER_DECISIONS: &str = "apikey_limiter_decisions_total";
/// Duration of limiter calls that went out (a round trip), in seconds.
pub const LIMITER_ROUND_TRIP_SECONDS: &str = "apikey_limiter_round_trip_seconds";
/// Request-log records stored.
pub const REQUEST_LOG_WRITTEN: &str = "apikey_request_log_written_total";
/// Request-log records dropped because the queue was full or closed.
pub const REQUEST_LOG_DROPPED: &str = "apikey_request_log_dropped_total";

/// Request signatures checked, labelled by `result`.
pub const SIGNATURE_CHECKS: &str = "apikey_signature_checks_total";
/// Canary incidents.
pub const CANARY_TRIPS: &str = "apikey_canary_trips_total";
/// Verifications counted in memory and not yet written, after each interval flush.
pub const USAGE_UNFLUSHED: &str = "apikey_usage_unflushed";
/// Interval flushes of usage that failed.
pub const USAGE_FLUSH_FAILURES: &str = "apikey_usage_flush_failures_total";
/// Registers the descriptions and units of every metric with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(VERIFICATIONS, "Verifications by outcome.");
    metrics::describe_counter!(
        CACHE_HITS,
        "Verifications answered from the in-process cache."
    );
    metrics::describe_counter!(
        CACHE_MISSES,
        "Verifications that missed the in-process cache."
    );
    metrics::describe_histogram!(
        VERIFY_SLOW_SECONDS,
        metrics::Unit::Seconds,
        "Duration of verifications that needed I/O."
    );
    metrics::describe_counter!(STORE_ERRORS, "Store reads that failed on the request path.");
    metrics::describe_counter!(
        LIMITER_DECISIONS,
        "Rate limiter decisions by result (allowed, limited)."
    );
    metrics::describe_histogram!(
        LIMITER_ROUND_TRIP_SECONDS,
        metrics::Unit::Seconds,
        "Duration of rate-limiter calls that went out (a round trip)."
    );
    metrics::describe_counter!(REQUEST_LOG_WRITTEN, "Request-log records stored.");
    metrics::describe_counter!(
        SIGNATURE_CHECKS,
        "Request signatures checked by result (accepted, refused, unavailable)."
    );
    metrics::describe_counter!(CANARY_TRIPS, "Canary key incidents.");
    metrics::describe_gauge!(
        USAGE_UNFLUSHED,
        "Verifications counted in memory and not yet written, after each interval flush."
    );
    metrics::describe_counter!(
        USAGE_FLUSH_FAILURES,
        "Interval flushes of usage that failed (their counts are sent again)."
    );
    metrics::describe_counter!(
        REQUEST_LOG_DROPPED,
        "Request-log records dropped because the queue was full or closed."
    );
}
