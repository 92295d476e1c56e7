//! `Idempotency-Key` on creation: a retry with the same key and body gets the first answer (the
//! same key and token, `Idempotent-Replayed: true`) and creates nothing; another body is a 422;
//! another caller's key is its own; failures are not remembered.

mod common;

use common::{Service, start};
use serde_json::{Value, json};

async fn post(
    s: &Service,
    path: &str,
    admin: &str,
    idem: &str,
    body: &Value,
) -> (u16, bool, Value) {
    let res = reqwest::Client::new()
        .post(format!("http://{}{path}", s.addr))
        .header("authorization", format!("Bearer {admin}"))
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    (status, replayed, res.json().await.unwrap())
}

async fn count(s: &Service) -> usize {
    let (_, page) = s.call("GET", "/v1/keys", &s.root, None).await;
    page["items"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_answers_the_same_key_once() {
    let s = start().await;
    let body = json!({"name": "billing", "scopes": ["a:read"]});
    let (status, replayed, first) = post(&s, "/v1/keys", &s.root, "req-1", &body).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = post(&s, "/v1/keys", &s.root, "req-1", &body).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first, "the same key and token");
    assert_eq!(count(&s).await, 1);

    // The same key with another body: refused, nothing made.
    let other = json!({"name": "other"});
    let (status, _, p) = post(&s, "/v1/keys", &s.root, "req-1", &other).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(count(&s).await, 1);

    // Another caller's identical key is its own.
    let writer = s.admin_key(&["keys:write"], None).await;
    let (status, replayed, theirs) = post(&s, "/v1/keys", &writer, "req-1", &body).await;
    assert_eq!((status, replayed), (201, false));
    assert_ne!(theirs["token"], first["token"]);
    assert_eq!(count(&s).await, 2);

    // A failure is not remembered: fixed and sent again with the same key, it runs.
    let bad = json!({"name": "x", "scopes": ["nocolon"]});
    let (status, _, _) = post(&s, "/v1/keys", &s.root, "req-2", &bad).await;
    assert_eq!(status, 422);
    let (status, _, p) = post(&s, "/v1/keys", &s.root, "req-2", &bad).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (422, Some("invalid_input")),
        "ran again: {p}"
    );

    // A malformed key is refused before anything runs.
    let (status, _, _) = post(&s, "/v1/keys", &s.root, "has space", &body).await;
    assert_eq!(status, 400);
    assert_eq!(count(&s).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_rotation_rotates_once() {
    let s = start().await;
    let (_, created) = s
        .call(
            "POST",
            "/v1/keys",
            &s.root,
            Some(&json!({"name": "k"}).to_string()),
        )
        .await;
    let id = created["key"]["id"].as_str().unwrap();
    let path = format!("/v1/keys/{id}/rotate");
    let body = json!({"grace_secs": 60});
    let (status, _, first) = post(&s, &path, &s.root, "rot-1", &body).await;
    assert_eq!(status, 201, "{first}");
    let (status, replayed, again) = post(&s, &path, &s.root, "rot-1", &body).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again["token"], first["token"]);
    assert_eq!(count(&s).await, 2, "the old key and one new one");
}
