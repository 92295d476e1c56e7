//! `/v1/policies`: rotation policies set, listed and removed per target, within the tenant.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_set_per_target_and_removed() {
    let s = start().await;
    let (_, k) = s
        .call("POST", "/v1/keys", &s.root, Some(r#"{"name": "k"}"#))
        .await;
    let id = k["key"]["id"].as_str().unwrap().to_owned();
    for body in [
        json!({"target": "tenant", "every_days": 90, "mode": "notify"}),
        json!({"target": format!("key:{id}"), "every_days": 30, "grace_days": 7, "mode": "rotate"}),
    ] {
        let (status, p) = s
            .call("PUT", "/v1/policies", &s.root, Some(&body.to_string()))
            .await;
        assert_eq!(status, 200, "{p}");
    }
    let (_, list) = s.call("GET", "/v1/policies", &s.root, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list["items"][0]["target"], format!("key:{id}"));
    assert_eq!(list["items"][0]["grace_days"], 7);

    for (bad, want) in [
        (
            json!({"target": "planet:mars", "every_days": 1, "mode": "notify"}),
            422,
        ),
        (
            json!({"target": "tenant", "every_days": 0, "mode": "notify"}),
            422,
        ),
        (
            json!({"target": format!("key:{}", uuid_like()), "every_days": 1, "mode": "notify"}),
            404,
        ),
    ] {
        let (status, p) = s
            .call("PUT", "/v1/policies", &s.root, Some(&bad.to_string()))
            .await;
        assert_eq!(status, want, "{bad}: {p}");
    }
    // Another tenant's admin sees none of them.
    let acme = s
        .admin_key(&["keys:read", "keys:write"], Some("acme"))
        .await;
    let (_, list) = s.call("GET", "/v1/policies", &acme, None).await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = s
        .call("DELETE", "/v1/policies?target=tenant", &acme, None)
        .await;
    assert_eq!(status, 404);

    let (status, _) = s
        .call("DELETE", "/v1/policies?target=tenant", &s.root, None)
        .await;
    assert_eq!(status, 204);
    let (_, list) = s.call("GET", "/v1/policies", &s.root, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

fn uuid_like() -> &'static str {
    "0190f0c4-7a2b-7cde-8f01-23456789abcd"
}
