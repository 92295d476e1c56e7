//! `GET /metrics`: the Prometheus text of the recorder the binary installed, parsed by
//! `prometheus_client` (Python, `APIKEY_PROMETHEUS_PYTHON` from `.ci/python-tools.sh`), with the
//! verifications the service answered counted by outcome; `usage:read` only.
//!
//! A test binary of its own: it installs the process's global recorder before the service's
//! verifiers are built.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/prometheus.py");

/// The venv's Python, or `None` (with a note) outside CI; under `CI=true` a missing tool fails.
#[allow(clippy::print_stderr)]
fn python() -> Option<String> {
    match std::env::var("APIKEY_PROMETHEUS_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("APIKEY_PROMETHEUS_PYTHON is not set: source .ci/python-tools.sh")
        }
        _ => {
            eprintln!(
                "note: APIKEY_PROMETHEUS_PYTHON not set (source .ci/python-tools.sh); skipped"
            );
            None
        }
    }
}

fn parse(python: &str, text: &str) -> Value {
    let mut child = Command::new(python)
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the parser refused the text:\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sample(parsed: &Value, name: &str, label: Option<(&str, &str)>) -> f64 {
    parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s[0] == name)
        .filter(|s| label.is_none_or(|(k, v)| s[1][k] == v))
        .map(|s| s[2].as_f64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_verifications_in_a_format_prometheus_reads() {
    let Some(python) = python() else { return };
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    apikey_core::metrics::describe();
    let s = common::start_on(|_, svc| svc.metrics(handle.clone())).await;
    let writer = s.admin_key(&["keys:write", "keys:verify"], None).await;
    let body = json!({"name": "k"}).to_string();
    let (_, made) = s.call("POST", "/v1/keys", &writer, Some(&body)).await;
    let token = made["token"].as_str().unwrap().to_owned();
    for t in [token.as_str(), token.as_str(), "garbage"] {
        let body = json!({ "token": t }).to_string();
        let (status, _) = s
            .call("POST", "/v1/keys/verify", &writer, Some(&body))
            .await;
        assert_eq!(status, 200);
    }

    let reader = s.admin_key(&["usage:read"], None).await;
    let res = reqwest::Client::new()
        .get(format!("http://{}/metrics", s.addr))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = res.text().await.unwrap();
    let parsed = parse(&python, &text);
    assert_eq!(
        parsed["families"]["apikey_verifications"], "counter",
        "{text}"
    );
    // The served keys' verifier counted two admissions and a malformed token; the service's
    // own guard (another verifier, same names) admitted each admin call.
    assert!(
        sample(
            &parsed,
            "apikey_verifications_total",
            Some(("outcome", "admitted"))
        ) >= 2.0
    );
    assert!(
        sample(
            &parsed,
            "apikey_verifications_total",
            Some(("outcome", "malformed"))
        ) >= 1.0
    );
    assert!(sample(&parsed, "apikey_cache_misses_total", None) >= 1.0);

    let (status, _) = s.call("GET", "/metrics", &writer, None).await;
    assert_eq!(status, 403, "usage:read only");
}
