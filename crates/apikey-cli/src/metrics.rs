//! The Prometheus recorder `apikey serve` installs for its `/metrics`, before the `ApiKeys` are
//! built (their metric handles register at build time).

use apikey_core::metrics::VERIFY_SLOW_SECONDS;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::CliError;

/// Slow-path latency buckets, in seconds: a store read on a LAN is a few milliseconds, an
/// argon2id hash tens, a database in trouble seconds.
const SLOW_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Installs the recorder as the `metrics` facade's and describes apikey's metrics.
pub(crate) fn install() -> Result<PrometheusHandle, CliError> {
    let failed = |e: metrics_exporter_prometheus::BuildError| {
        CliError::new(
            crate::error::Exit::Failure,
            format!("cannot install the metrics recorder: {e}"),
        )
    };
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(VERIFY_SLOW_SECONDS.to_owned()), &SLOW_BUCKETS)
        .map_err(failed)?
        .install_recorder()
        .map_err(failed)?;
    apikey_core::metrics::describe();
    Ok(handle)
}
