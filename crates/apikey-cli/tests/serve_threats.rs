//! `apikey serve` runs the threat detectors for the keys it verifies: a client that keeps
//! presenting a revoked key (the `ip` its caller reports) is blocked for every key, another
//! client is not, the block is a `threat.detected` event in the audit log, and `--threats off`
//! blocks nothing.

mod common;

use common::PEPPER;
use common::serve::Served;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    root: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.root)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn verify(&self, token: &str, ip: &str) -> Value {
        self.post("/v1/keys/verify", json!({"token": token, "ip": ip}))
            .await
    }

    /// A key, and a second one revoked.
    async fn keys(&self) -> (String, String) {
        let live = self.post("/v1/keys", json!({"name": "live"})).await;
        let dead = self.post("/v1/keys", json!({"name": "leaked"})).await;
        let id = dead["key"]["id"].as_str().unwrap();
        self.post(
            &format!("/v1/keys/{id}/revoke"),
            json!({"reason": "leaked"}),
        )
        .await;
        (
            live["token"].as_str().unwrap().to_owned(),
            dead["token"].as_str().unwrap().to_owned(),
        )
    }
}

fn api(served: &Served) -> Api {
    Api {
        http: reqwest::Client::new(),
        base: served.base.clone(),
        root: served.root.clone().unwrap(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_client_replaying_a_revoked_key_is_blocked_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--init"], &[("APIKEY_PEPPER", PEPPER)]);
    let api = api(&served);
    runtime().block_on(async {
        let (live, dead) = api.keys().await;
        assert_eq!(api.verify(&live, "203.0.113.50").await["valid"], true);
        for _ in 0..20 {
            let v = api.verify(&dead, "203.0.113.50").await;
            assert_eq!(v["valid"], false, "{v}");
        }
        let v = api.verify(&live, "203.0.113.50").await;
        assert_eq!(
            v["valid"], false,
            "the client is blocked for every key: {v}"
        );
        assert_eq!(v["kind"], "too_many_failures", "{v}");
        assert!(v["retry_after_secs"].as_f64().unwrap() > 3000.0, "{v}");
        assert_eq!(
            api.verify(&live, "198.51.100.1").await["valid"],
            true,
            "another client is not"
        );
        let mut found = Value::Null;
        for _ in 0..50 {
            let page: Value = api
                .http
                .get(format!("{}/v1/audit?type=threat.detected", api.base))
                .bearer_auth(&api.root)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(e) = page["items"].as_array().and_then(|i| i.first()) {
                found = e.clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(found["data"]["detector"], "revoked_key_use", "{found}");
        assert_eq!(found["data"]["network"], "203.0.113.50/32", "{found}");
        assert_eq!(found["data"]["response"]["action"], "blocked", "{found}");
    });
    assert_eq!(served.stop(), Some(0));
}

#[test]
fn with_threats_off_nothing_is_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        dir.path(),
        &["--init", "--threats", "off"],
        &[("APIKEY_PEPPER", PEPPER)],
    );
    let api = api(&served);
    runtime().block_on(async {
        let (live, dead) = api.keys().await;
        for _ in 0..30 {
            api.verify(&dead, "203.0.113.50").await;
        }
        assert_eq!(api.verify(&live, "203.0.113.50").await["valid"], true);
    });
    assert_eq!(served.stop(), Some(0));
}
