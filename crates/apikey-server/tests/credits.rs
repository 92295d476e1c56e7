//! `GET|POST /v1/keys/{id}/credits` and `credits` on creation: a balance read, topped up and set
//! over HTTP and spent by verifications; a service without balances says so with a 409.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_are_given_spent_topped_up_and_set() {
    let s = start().await;
    let body = json!({"name": "metered", "credits": 2}).to_string();
    let (status, created) = s.call("POST", "/v1/keys", &s.root, Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let verify = json!({"token": created["token"]}).to_string();
    let path = format!("/v1/keys/{id}/credits");

    let (_, c) = s.call("GET", &path, &s.root, None).await;
    assert_eq!(
        (c["balance"].as_u64(), &c["next_refill"]),
        (Some(2), &json!(null))
    );
    for _ in 0..2 {
        let (_, v) = s
            .call("POST", "/v1/keys/verify", &s.root, Some(&verify))
            .await;
        assert_eq!(v["valid"], true, "{v}");
    }
    let (_, v) = s
        .call("POST", "/v1/keys/verify", &s.root, Some(&verify))
        .await;
    assert_eq!(v["kind"], "credits_exhausted", "{v}");

    let top_up = json!({"action": "top_up", "amount": 5, "reason": "invoice 42 paid"}).to_string();
    let (status, c) = s.call("POST", &path, &s.root, Some(&top_up)).await;
    assert_eq!((status, c["balance"].as_u64()), (200, Some(5)), "{c}");
    let (_, v) = s
        .call("POST", "/v1/keys/verify", &s.root, Some(&verify))
        .await;
    assert_eq!(v["valid"], true);
    let (_, c) = s
        .call(
            "POST",
            &path,
            &s.root,
            Some(&json!({"action": "set", "amount": 100}).to_string()),
        )
        .await;
    assert_eq!(c["balance"], 100);
    let (_, log) = s
        .call(
            "GET",
            &format!("/v1/audit?key={id}&type=credits.adjusted"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");

    for bad in [
        json!({}),
        json!({"action": "double", "amount": 2}),
        json!({"action": "set", "amount": -1}),
        json!({"action": "set", "amount": 1, "extra": true}),
    ] {
        let (status, _) = s.call("POST", &path, &s.root, Some(&bad.to_string())).await;
        assert_eq!(status, 422, "{bad}");
    }
    let (_, c) = s.call("GET", &path, &s.root, None).await;
    assert_eq!(c["balance"], 100, "nothing changed");
    let (_, plain) = s
        .call(
            "POST",
            "/v1/keys",
            &s.root,
            Some(&json!({"name": "plain"}).to_string()),
        )
        .await;
    let plain_id = plain["key"]["id"].as_str().unwrap();
    let (status, _) = s
        .call(
            "GET",
            &format!("/v1/keys/{plain_id}/credits"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(status, 404, "a key without credits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_without_balances_says_so_and_makes_no_key() {
    let store = apikey_memory::MemoryStore::new();
    let peppers = apikey_core::Peppers::random();
    let admin = common::build_with(&store, &peppers, true, false);
    let keys = common::build_with(&store, &peppers, false, false);
    let root = apikey_server::create_root_key(&keys).await.unwrap();
    let app = apikey_server::Service::new(admin, keys.clone())
        .unwrap()
        .into_router()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/v1/keys"))
        .header("authorization", format!("Bearer {}", root.token.expose()))
        .json(&json!({"name": "metered", "credits": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let p: serde_json::Value = res.json().await.unwrap();
    assert_eq!(p["code"], "credits_unavailable", "{p}");
    let page = keys
        .manager()
        .query(
            &apikey_core::TenantScope::All,
            &apikey_core::KeyFilter::default(),
        )
        .await
        .unwrap();
    let live: Vec<_> = page
        .items
        .iter()
        .filter(|k| k.name == "metered" && k.state == apikey_core::KeyState::Active)
        .collect();
    assert!(live.is_empty(), "the key was revoked again");
    task.abort();
}
