//! `GET /v1/keys/{id}/history`, `POST /v1/keys/{id}/rollback` and `GET /v1/audit` over HTTP:
//! versions read back from the audit log, a rollback that is itself a version, and the log within
//! the admin key's tenants.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_rollback_and_the_audit_log() {
    let s = start().await;
    let body = json!({"name": "v1-name", "tenant": "acme", "scopes": ["a:read"]}).to_string();
    let (_, created) = s.call("POST", "/v1/keys", &s.root, Some(&body)).await;
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let patch = json!({"name": "v2-name", "scopes": ["a:read", "a:write"]}).to_string();
    let (status, _) = s
        .call("PATCH", &format!("/v1/keys/{id}"), &s.root, Some(&patch))
        .await;
    assert_eq!(status, 200);

    let (status, h) = s
        .call("GET", &format!("/v1/keys/{id}/history"), &s.root, None)
        .await;
    assert_eq!(status, 200, "{h}");
    let steps: Vec<(u64, &str)> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["event_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, [(1, "key.created"), (2, "key.updated")]);
    assert_eq!(h["items"][1]["after"]["name"], "v2-name");
    assert!(
        h["items"][1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("admin key ")
    );

    let back = json!({"to_version": 1, "reason": "bad change"}).to_string();
    let (status, k) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/rollback"),
            &s.root,
            Some(&back),
        )
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(
        (k["name"].as_str(), k["version"].as_u64()),
        (Some("v1-name"), Some(3))
    );
    assert_eq!(k["scopes"], json!(["a:read"]));
    let (status, _) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/rollback"),
            &s.root,
            Some(&back),
        )
        .await;
    assert_eq!(status, 422, "it has version 1's settings already");
    let missing = json!({"to_version": 99}).to_string();
    let (status, _) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/rollback"),
            &s.root,
            Some(&missing),
        )
        .await;
    assert_eq!(status, 404);

    // The audit log: the key's three events, in pages of two.
    let (status, page) = s
        .call("GET", &format!("/v1/audit?key={id}&limit=2"), &s.root, None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = s
        .call(
            "GET",
            &format!("/v1/audit?key={id}&limit=2&after={next}"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(
        rest["items"][0]["reason"],
        "rollback to version 1: bad change"
    );
    let (_, updates) = s
        .call(
            "GET",
            &format!("/v1/audit?key={id}&type=key.updated"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(updates["items"].as_array().unwrap().len(), 2);

    // Scopes and tenants: keys:read is not audit:read; another tenant's admin sees none of it.
    let reader = s.admin_key(&["keys:read"], None).await;
    let (status, _) = s.call("GET", "/v1/audit", &reader, None).await;
    assert_eq!(status, 403);
    let globex = s
        .admin_key(&["audit:read", "keys:read"], Some("globex"))
        .await;
    let (_, theirs) = s
        .call("GET", &format!("/v1/audit?key={id}"), &globex, None)
        .await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0, "{theirs}");
    let (status, _) = s
        .call("GET", &format!("/v1/keys/{id}/history"), &globex, None)
        .await;
    assert_eq!(status, 404);

    for bad in ["type=nonsense", "key=nope", "after=garbage", "limit=0"] {
        let (status, _) = s
            .call("GET", &format!("/v1/audit?{bad}"), &s.root, None)
            .await;
        assert_eq!(status, 400, "{bad}");
    }
}
