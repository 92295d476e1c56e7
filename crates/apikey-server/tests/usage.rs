//! `GET /v1/usage` and `GET /v1/usage/top`: counts written by the served keys' verifications
//! (through `POST /v1/keys/verify`) and flushed, read back per key, per owner, for every key,
//! ranked, within the admin key's tenant; bad ranges refused; `usage:read` only.

mod common;

use std::sync::Arc;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_read_per_key_owner_and_tenant_and_ranked() {
    let s = common::start_on(|store, svc| svc.analytics(Arc::new(store.clone()))).await;
    let writer = s.admin_key(&["keys:write", "keys:verify"], None).await;
    let mut tokens = Vec::new();
    for (owner, tenant) in [("ann", "acme"), ("ann", "acme"), ("bob", "globex")] {
        let body = json!({"name": "k", "owner": owner, "tenant": tenant, "scopes": ["docs:read"]});
        let (status, made) = s
            .call("POST", "/v1/keys", &writer, Some(&body.to_string()))
            .await;
        assert_eq!(status, 201, "{made}");
        tokens.push((
            made["key"]["id"].as_str().unwrap().to_owned(),
            made["token"].as_str().unwrap().to_owned(),
        ));
    }
    for (i, (_, token)) in tokens.iter().enumerate() {
        for _ in 0..=i {
            let (status, v) = s
                .call(
                    "POST",
                    "/v1/keys/verify",
                    &writer,
                    Some(&json!({"token": token}).to_string()),
                )
                .await;
            assert_eq!(v["valid"], true, "{status} {v}");
        }
    }
    let (_, refused) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &writer,
            Some(&json!({"token": tokens[0].1, "scopes": ["docs:write"]}).to_string()),
        )
        .await;
    assert_eq!(refused["valid"], false);
    s.keys.verifier().flush_usage().await.unwrap();

    let reader = s.admin_key(&["usage:read"], None).await;
    let (status, one) = s
        .call(
            "GET",
            &format!("/v1/usage?key={}", tokens[2].0),
            &reader,
            None,
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["total"]["success"], 3);
    assert_eq!(one["resolution"], "hour");
    assert_eq!(one["points"].as_array().unwrap().len(), 1);
    assert_eq!(one["unattributed"], json!(null));

    let (_, ann) = s.call("GET", "/v1/usage?owner=ann", &reader, None).await;
    assert_eq!(ann["total"]["success"], 3, "1 + 2: {ann}");
    assert_eq!(ann["total"]["scope"], 1);

    let (_, all) = s
        .call("GET", "/v1/usage?resolution=day", &reader, None)
        .await;
    assert_eq!(all["total"]["success"], 6);
    assert!(all["unattributed"].is_object(), "{all}");

    let acme = s.admin_key(&["usage:read"], Some("acme")).await;
    let (_, mine) = s.call("GET", "/v1/usage", &acme, None).await;
    assert_eq!(mine["total"]["success"], 3, "acme's keys only: {mine}");
    assert_eq!(mine["unattributed"], json!(null));
    let (_, theirs) = s
        .call(
            "GET",
            &format!("/v1/usage?key={}", tokens[2].0),
            &acme,
            None,
        )
        .await;
    assert_eq!(
        theirs["total"]["success"], 0,
        "another tenant's key reads as empty"
    );

    let (_, top) = s.call("GET", "/v1/usage/top?limit=2", &reader, None).await;
    let keys = top["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["key_id"], tokens[2].0.as_str());
    let (_, by_refusals) = s
        .call("GET", "/v1/usage/top?by=rejections", &reader, None)
        .await;
    assert_eq!(by_refusals["keys"][0]["key_id"], tokens[0].0.as_str());

    for impossible in [
        "/v1/usage?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z",
        "/v1/usage?since=2020-01-01T00:00:00Z&resolution=minute",
        "/v1/usage?key=k&owner=ann",
        "/v1/usage?since=2999-01-01T00:00:00Z&until=2999-01-02T00:00:00Z",
    ] {
        let (status, problem) = s.call("GET", impossible, &reader, None).await;
        assert_eq!(status, 422, "{impossible}: {problem}");
    }
    for bad in ["/v1/usage/top?limit=0", "/v1/usage?resolution=week"] {
        let (status, problem) = s.call("GET", bad, &reader, None).await;
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    let (status, _) = s.call("GET", "/v1/usage", &writer, None).await;
    assert_eq!(status, 403, "usage:read only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_analytics_the_routes_answer_404() {
    let s = common::start_on(|_, svc| svc).await;
    let (status, problem) = s.call("GET", "/v1/usage", &s.root, None).await;
    assert_eq!(status, 404, "{problem}");
}
