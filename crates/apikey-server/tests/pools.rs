//! `/v1/pools…`: shared pools saved, enforced at verification, their credits read and adjusted,
//! removed; credits with a refill on `POST /v1/keys`.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_is_shared_by_its_keys_and_its_credits_are_adjusted() {
    let s = start().await;
    let pool = json!({"name": "owner:acme", "rate": {"requests": 2, "per_secs": 3600}});
    let (status, p) = s
        .call("PUT", "/v1/pools", &s.root, Some(&pool.to_string()))
        .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["limits"]["rate"]["requests"], 2, "{p}");

    // Two keys of acme share two requests an hour.
    let mut tokens = Vec::new();
    for name in ["a", "b"] {
        let body = json!({"name": name, "owner": "acme"});
        let (_, k) = s
            .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
            .await;
        tokens.push(k["token"].as_str().unwrap().to_owned());
    }
    let verify = |t: &str| json!({ "token": t }).to_string();
    let mut valid = Vec::new();
    for t in [&tokens[0], &tokens[1], &tokens[0]] {
        let (_, v) = s
            .call("POST", "/v1/keys/verify", &s.root, Some(&verify(t)))
            .await;
        valid.push(v["valid"].as_bool().unwrap());
    }
    assert_eq!(
        valid,
        [true, true, false],
        "the third request is over the pool"
    );

    let credits = json!({"name": "group:free", "credits": {
        "initial": 5, "refill": {"every": "month", "day": 1, "amount": 5, "time_zone": "Europe/Paris"},
    }});
    let (status, p) = s
        .call("PUT", "/v1/pools", &s.root, Some(&credits.to_string()))
        .await;
    assert_eq!(status, 201, "{p}");
    let (status, c) = s
        .call("GET", "/v1/pools/credits?name=group:free", &s.root, None)
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["balance"], 5);
    assert!(c["next_refill"].is_string(), "{c}");
    let adjust = json!({"name": "group:free", "action": "top_up", "amount": 10});
    let (_, c) = s
        .call(
            "POST",
            "/v1/pools/credits",
            &s.root,
            Some(&adjust.to_string()),
        )
        .await;
    assert_eq!(c["balance"], 15, "{c}");

    let (_, list) = s.call("GET", "/v1/pools", &s.root, None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["group:free", "owner:acme"]);

    for bad in [
        json!({"name": "nope:x", "rate": {"requests": 1, "per_secs": 1}}),
        json!({"name": "tenant"}),
        json!({"name": "tenant", "credits": {"initial": 1, "refill": {"every": "day", "day": 3, "amount": 1}}}),
        json!({"name": "tenant", "credits": {"initial": 1, "refill": {"every": "day", "amount": 1, "time_zone": "Mars/Olympus"}}}),
    ] {
        let (status, p) = s
            .call("PUT", "/v1/pools", &s.root, Some(&bad.to_string()))
            .await;
        assert_eq!(status, 422, "{bad}: {p}");
    }
    let (status, _) = s
        .call("DELETE", "/v1/pools?name=owner:acme", &s.root, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .call("DELETE", "/v1/pools?name=owner:acme", &s.root, None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s.call("DELETE", "/v1/pools", &s.root, None).await;
    assert_eq!(status, 400, "a name is needed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_gets_credits_that_refill() {
    let s = start().await;
    let body =
        json!({"name": "metered", "credits": 100, "refill": {"every": "day", "amount": 100}});
    let (status, k) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(status, 201, "{k}");
    let id = k["key"]["id"].as_str().unwrap();
    let (_, c) = s
        .call("GET", &format!("/v1/keys/{id}/credits"), &s.root, None)
        .await;
    assert_eq!(c["balance"], 100);
    assert!(c["next_refill"].is_string(), "{c}");
    let (status, _) = s
        .call(
            "POST",
            "/v1/keys",
            &s.root,
            Some(&json!({"name": "x", "refill": {"every": "day", "amount": 1}}).to_string()),
        )
        .await;
    assert_eq!(status, 422, "a refill needs credits");
}
