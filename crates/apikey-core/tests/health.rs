//! Health: liveness needs nothing, readiness runs each check within its timeout, and the report
//! is the draft's `application/health+json`.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::ApiKeys;
use apikey_core::health::{Health, HealthCheck, Status};
use async_trait::async_trait;
use serde_json::Value;

struct Fixed(&'static str, Result<Option<String>, String>);

#[async_trait]
impl HealthCheck for Fixed {
    fn name(&self) -> &str {
        self.0
    }
    async fn check(&self) -> Result<Option<String>, String> {
        self.1.clone()
    }
}

struct Slow;

#[async_trait]
impl HealthCheck for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    async fn check(&self) -> Result<Option<String>, String> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(None)
    }
}

#[tokio::test]
async fn the_service_health_checks_its_store_and_reports_the_draft_format() {
    let keys = ApiKeys::builder(Arc::new(apikey_memory::MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let report = keys.health().ready().await;
    assert_eq!(report.status, Status::Pass);
    assert_eq!(report.http_status(), 200);
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["status"], "pass");
    let store = &json["checks"]["store:responseTime"][0];
    assert_eq!(store["componentType"], "datastore");
    assert_eq!(store["status"], "pass");
    assert_eq!(store["observedUnit"], "ms");
    assert!(store["observedValue"].as_f64().unwrap() >= 0.0);
    assert!(store.get("output").is_none());
    assert_eq!(
        keys.health().live().to_json(),
        r#"{"status":"pass","checks":{}}"#
    );
}

#[tokio::test]
async fn the_worst_check_decides_and_a_failure_is_503() {
    let warn = Health::new()
        .with_check(Arc::new(Fixed("a", Ok(None))))
        .with_check(Arc::new(Fixed("b", Ok(Some("lagging".into())))));
    let r = warn.ready().await;
    assert_eq!((r.status, r.http_status()), (Status::Warn, 200));
    let fail = warn.with_check(Arc::new(Fixed("c", Err("down".into()))));
    let r = fail.ready().await;
    assert_eq!((r.status, r.http_status()), (Status::Fail, 503));
    let json: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["checks"]["c:responseTime"][0]["output"], "down");
    assert_eq!(json["checks"]["b:responseTime"][0]["status"], "warn");
    // Liveness does not look at dependencies.
    assert_eq!(fail.live().status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn a_check_that_hangs_fails_at_the_timeout() {
    let h = Health::new()
        .with_check(Arc::new(Slow))
        .timeout(Duration::from_millis(250));
    let r = h.ready().await;
    assert_eq!(r.status, Status::Fail);
    assert_eq!(
        r.checks[0].output.as_deref(),
        Some("timed out after 250 ms")
    );
}
