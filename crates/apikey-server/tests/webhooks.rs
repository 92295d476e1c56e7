//! `/v1/webhooks…`: subscriptions made, read, toggled, rotated and removed over HTTP, their
//! secret shown once; a key change becomes a delivery that the Standard Webhooks reference
//! library accepts with that secret; tenants kept apart; private networks for all-tenant keys only.

mod common;

use std::sync::{Arc, Mutex};

use apikey_core::secret_box::{Keks, SecretBox};
use apikey_webhooks::{DispatchConfig, Dispatcher, Webhooks};
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::json;

type Got = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on loopback that answers 200 and keeps what it got.
async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: HeaderMap, b: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((h, b));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

async fn start() -> (common::Service, Webhooks) {
    let slot = Arc::new(Mutex::new(None));
    let keep = slot.clone();
    let s = common::start_on(move |store, svc| {
        let hooks = Webhooks::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            Arc::new(SecretBox::new(Keks::random())),
            Arc::new(apikey_core::SystemClock),
        );
        *keep.lock().unwrap() = Some(hooks.clone());
        svc.webhooks(hooks)
    })
    .await;
    let hooks = slot.lock().unwrap().take().unwrap();
    (s, hooks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_made_over_http_receives_signed_events() {
    let (s, hooks) = start().await;
    let (url, got) = receiver().await;
    let body = json!({
        "url": url, "events": ["key.created", "key.revoked"],
        "allow_http": true, "allow_private_network": true, "description": "billing",
    });
    let (status, made) = s
        .call("POST", "/v1/webhooks", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{made}");
    let id = made["subscription"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        made["subscription"]["events"],
        json!(["key.created", "key.revoked"])
    );

    // The secret is never shown again.
    let (_, one) = s
        .call("GET", &format!("/v1/webhooks/{id}"), &s.root, None)
        .await;
    let (_, all) = s.call("GET", "/v1/webhooks", &s.root, None).await;
    for v in [&one, &all] {
        assert!(!v.to_string().contains(&secret[6..]), "{v}");
        assert!(
            !v.to_string().contains("sb1."),
            "no sealed secret either: {v}"
        );
    }
    assert_eq!(all["items"][0]["id"], id.as_str());

    // A key change is delivered, signed with that secret.
    let (_, k) = s
        .call("POST", "/v1/keys", &s.root, Some(r#"{"name": "svc"}"#))
        .await;
    let dispatcher = Dispatcher::new(hooks, DispatchConfig::default()).unwrap();
    let report = dispatcher.run_until_idle().await.unwrap();
    assert!(report.delivered >= 1, "{report:?}");
    let received = got.lock().unwrap().clone();
    let created = received
        .iter()
        .find(|(_, b)| String::from_utf8_lossy(b).contains("key.created"))
        .expect("key.created delivered");
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&created.1, &created.0)
        .expect("the reference verifier accepts it");
    assert!(String::from_utf8_lossy(&created.1).contains(k["key"]["id"].as_str().unwrap()));

    let (status, ds) = s
        .call(
            "GET",
            &format!("/v1/webhooks/deliveries?subscription={id}&state=delivered"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(status, 200, "{ds}");
    let delivery = ds["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(ds["items"][0]["last_status"], 200);
    assert!(ds["items"][0].get("payload").is_none());
    let (status, _) = s
        .call(
            "POST",
            &format!("/v1/webhooks/deliveries/{delivery}/redeliver"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(status, 202);

    // Rotation: a new secret, shown once; the old one signs beside it for the grace.
    let (status, r) = s
        .call(
            "POST",
            &format!("/v1/webhooks/{id}/rotate"),
            &s.root,
            Some(r#"{"grace_secs": 3600}"#),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_ne!(r["secret"], secret.as_str());
    assert!(
        r["subscription"]["previous_secret_until"].is_string(),
        "{r}"
    );

    // Disable, ping, enable, remove.
    let (_, d) = s
        .call("POST", &format!("/v1/webhooks/{id}/disable"), &s.root, None)
        .await;
    assert_eq!(d["enabled"], false);
    let (status, p) = s
        .call("POST", &format!("/v1/webhooks/{id}/ping"), &s.root, None)
        .await;
    assert_eq!(status, 202, "{p}");
    assert_eq!(p["event_type"], "ping");
    let (_, e) = s
        .call("POST", &format!("/v1/webhooks/{id}/enable"), &s.root, None)
        .await;
    assert_eq!(e["enabled"], true);
    let (status, _) = s
        .call("DELETE", &format!("/v1/webhooks/{id}"), &s.root, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .call("GET", &format!("/v1/webhooks/{id}"), &s.root, None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_kept_apart_and_private_networks_need_every_tenant() {
    let (s, _) = start().await;
    let (url, _) = receiver().await;
    let acme = s
        .admin_key(&["webhooks:read", "webhooks:write"], Some("acme"))
        .await;
    let reader = s.admin_key(&["webhooks:read"], None).await;

    // A tenant's admin may not aim the service at its own network.
    let private = json!({"url": url, "allow_http": true, "allow_private_network": true});
    let (status, p) = s
        .call("POST", "/v1/webhooks", &acme, Some(&private.to_string()))
        .await;
    assert_eq!(status, 403, "{p}");
    let plain = json!({"url": url, "allow_http": true});
    let (status, p) = s
        .call("POST", "/v1/webhooks", &acme, Some(&plain.to_string()))
        .await;
    assert_eq!(status, 422, "loopback is refused without the flag: {p}");

    let (status, made) = s
        .call("POST", "/v1/webhooks", &s.root, Some(&private.to_string()))
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["subscription"]["id"].as_str().unwrap();
    assert_eq!(made["subscription"]["tenant_id"], json!(null));

    // Another tenant's admin sees nothing of it.
    let (_, list) = s.call("GET", "/v1/webhooks", &acme, None).await;
    assert_eq!(list["items"], json!([]));
    for (method, path) in [
        ("GET", format!("/v1/webhooks/{id}")),
        ("DELETE", format!("/v1/webhooks/{id}")),
        ("POST", format!("/v1/webhooks/{id}/disable")),
    ] {
        let (status, _) = s.call(method, &path, &acme, None).await;
        assert_eq!(status, 404, "{method} {path}");
    }

    // webhooks:read reads, and does not write.
    let (status, _) = s.call("GET", "/v1/webhooks", &reader, None).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .call("POST", &format!("/v1/webhooks/{id}/rotate"), &reader, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = s
        .call(
            "POST",
            "/v1/webhooks",
            &s.root,
            Some(&json!({"url": url, "events": ["key.nope"]}).to_string()),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_webhooks_configured_the_routes_say_so() {
    let s = common::start().await;
    let (status, p) = s.call("GET", "/v1/webhooks", &s.root, None).await;
    assert_eq!(status, 404);
    assert!(
        p["detail"].as_str().unwrap().contains("not configured"),
        "{p}"
    );
}
