//! Health: a liveness answer that depends on nothing but the process, and a readiness answer from
//! cheap checks of what a verification needs (the store, the shared cache, and whatever the
//! service adds), each bounded by a timeout — never a scan of the keys.
//!
//! Reports serialize as `application/health+json` (the IETF draft "Health Check Response Format
//! for HTTP APIs", which Kubernetes probes, Consul and most dashboards read): a `status` of
//! `pass`, `warn` or `fail`, and per check its component type, observed response time and, on
//! failure, a short output that never holds a secret. [`HealthReport::http_status`] is 200 unless
//! something failed (503), so a load balancer can use the status code alone.
//!
//! The integrations serve them (`/health/live`, `/health/ready`) as public routes; get the
//! [`Health`] of a service from [`ApiKeys::health`](crate::ApiKeys::health) and add checks of
//! your own with [`Health::with_check`].

mod checks;
mod scheduler_check;
mod webhook_check;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

pub use checks::{CacheCheck, StoreCheck};
pub use scheduler_check::SchedulerCheck;
pub use webhook_check::WebhookBacklogCheck;

/// The default bound on one check.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency a readiness answer checks.
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    /// The component name in the report (`store`, `cache`, `redis`, …).
    fn name(&self) -> &str;
    /// The draft's `componentType` (`datastore`, `component`, `system`).
    fn component_type(&self) -> &'static str {
        "component"
    }
    /// Checks once: `Ok` passes (a `Some` note makes it a warning), `Err` fails with a short
    /// message that must not hold a secret.
    async fn check(&self) -> Result<Option<String>, String>;
}

/// A check's (and a report's) verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Healthy with a concern.
    Warn,
    /// Unhealthy.
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The component name.
    #[serde(skip)]
    pub name: String,
    /// The component type.
    pub component_type: &'static str,
    /// Its verdict.
    pub status: Status,
    /// How long it took, in milliseconds.
    pub observed_value: f64,
    /// Always `ms`.
    pub observed_unit: &'static str,
    /// When it ran.
    pub time: DateTime<Utc>,
    /// Why it warned or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// A liveness or readiness answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// The worst status of its checks (`pass` with none).
    pub status: Status,
    /// Each check, in the order they were added.
    pub checks: Vec<CheckResult>,
}

impl HealthReport {
    /// 200 for `pass` and `warn`, 503 for `fail`.
    pub fn http_status(&self) -> u16 {
        if self.status == Status::Fail {
            503
        } else {
            200
        }
    }

    /// The report as `application/health+json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"status":"fail"}"#.to_owned())
    }
}

/// `{"status": …, "checks": {"<name>:responseTime": [ … ]}}`, as the draft lays it out.
impl Serialize for HealthReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Checks<'a>(&'a [CheckResult]);
        impl Serialize for Checks<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for c in self.0 {
                    m.serialize_entry(&format!("{}:responseTime", c.name), &[c])?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("checks", &Checks(&self.checks))?;
        m.end()
    }
}

/// The checks of a service's readiness, each bounded by a timeout.
#[derive(Clone)]
pub struct Health {
    checks: Vec<Arc<dyn HealthCheck>>,
    timeout: Duration,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("Health")
            .field("checks", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// No checks; each later one bounded by [`DEFAULT_CHECK_TIMEOUT`].
    pub fn new() -> Self {
        Self {
            checks: Vec::new(),
            timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }

    /// Adds a check to readiness.
    #[must_use]
    pub fn with_check(mut self, check: Arc<dyn HealthCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Bounds each check (a check that takes longer fails with "timed out").
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Liveness: the process answers. It checks no dependency, so an orchestrator never restarts
    /// a healthy process because its database is down (that is readiness's business).
    pub fn live(&self) -> HealthReport {
        HealthReport {
            status: Status::Pass,
            checks: Vec::new(),
        }
    }

    /// Readiness: every check, one after the other, each within the timeout.
    pub async fn ready(&self) -> HealthReport {
        let mut results = Vec::with_capacity(self.checks.len());
        for check in &self.checks {
            let time = Utc::now();
            let began = Instant::now();
            let outcome = tokio::time::timeout(self.timeout, check.check()).await;
            let elapsed = began.elapsed();
            let (status, output) = match outcome {
                Ok(Ok(None)) => (Status::Pass, None),
                Ok(Ok(Some(note))) => (Status::Warn, Some(note)),
                Ok(Err(e)) => (Status::Fail, Some(e)),
                Err(_) => (
                    Status::Fail,
                    Some(format!("timed out after {} ms", self.timeout.as_millis())),
                ),
            };
            results.push(CheckResult {
                name: check.name().to_owned(),
                component_type: check.component_type(),
                status,
                observed_value: elapsed.as_secs_f64() * 1000.0,
                observed_unit: "ms",
                time,
                output,
            });
        }
        HealthReport {
            status: results
                .iter()
                .map(|r| r.status)
                .max()
                .unwrap_or(Status::Pass),
            checks: results,
        }
    }
}
