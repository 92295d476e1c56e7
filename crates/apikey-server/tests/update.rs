//! `PATCH /v1/keys/{id}` (merge patch: absent stays, `null` clears) and the approval flow
//! (`require_approval`, `approve`, `reject`) over HTTP.

mod common;

use common::start;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_changes_what_is_named_and_nothing_else() {
    let s = start().await;
    let body = json!({"name": "billing", "owner": "acme", "description": "invoices", "scopes": ["a:read"]});
    let (_, created) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    let path = format!("/v1/keys/{id}");
    let patch = |v: Value| v.to_string();

    let (status, k) = s
        .call(
            "PATCH",
            &path,
            &s.root,
            Some(&patch(json!({
                "name": "billing-v2",
                "owner": null,
                "scopes": ["a:read", "b:write"],
                "rate_limit": {"requests": 10, "per_secs": 60},
                "quota": {"limit": 1000, "period": "month"},
            }))),
        )
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["name"], "billing-v2");
    assert_eq!(k["owner"], Value::Null, "null clears");
    assert_eq!(k["description"], "invoices", "absent stays");
    assert_eq!(k["scopes"], json!(["a:read", "b:write"]));
    assert_eq!(k["rate_limit"]["per_ms"], 60_000);
    assert_eq!(k["rate_limit"]["burst"], 10);
    assert_eq!(k["quota"]["period"], "month");
    assert_eq!(k["version"], 2);

    // The new scope is in force at once.
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&json!({"token": token, "scopes": ["b:write"]}).to_string()),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");

    // Bad input changes nothing.
    for (bad, want) in [
        (json!({"expires_at": "2001-01-01T00:00:00Z"}), 422),
        (json!({"colour": "red"}), 422),
        (json!({"scopes": ["nocolon"]}), 422),
        (json!({"rate_limit": {"requests": 0, "per_secs": 1}}), 422),
        (json!({"quota": {"limit": 5, "period": "fortnight"}}), 422),
    ] {
        let (status, p) = s
            .call("PATCH", &path, &s.root, Some(&patch(bad.clone())))
            .await;
        assert_eq!(status, want, "{bad}: {p}");
    }
    let (_, now) = s.call("GET", &path, &s.root, None).await;
    assert_eq!(now["version"], 2, "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_keys_work_once_approved_and_never_once_rejected() {
    let s = start().await;
    let make = |name: &str| json!({"name": name, "require_approval": true}).to_string();
    let verify = |t: &str| json!({"token": t}).to_string();
    let (_, a) = s.call("POST", "/v1/keys", &s.root, Some(&make("a"))).await;
    let (_, b) = s.call("POST", "/v1/keys", &s.root, Some(&make("b"))).await;
    assert_eq!(a["key"]["state"], "pending");
    let (a_id, b_id) = (
        a["key"]["id"].as_str().unwrap(),
        b["key"]["id"].as_str().unwrap(),
    );
    let a_token = a["token"].as_str().unwrap();
    let b_token = b["token"].as_str().unwrap();

    let (_, v) = s
        .call("POST", "/v1/keys/verify", &s.root, Some(&verify(a_token)))
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["kind"].as_str()),
        (Some(false), Some("pending_approval"))
    );

    let (status, k) = s
        .call("POST", &format!("/v1/keys/{a_id}/approve"), &s.root, None)
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["state"], "active");
    assert!(k["approved_by"].as_str().unwrap().starts_with("admin key "));
    let (_, v) = s
        .call("POST", "/v1/keys/verify", &s.root, Some(&verify(a_token)))
        .await;
    assert_eq!(v["valid"], true, "{v}");
    let (status, p) = s
        .call("POST", &format!("/v1/keys/{a_id}/approve"), &s.root, None)
        .await;
    assert_eq!((status, p["code"].as_str()), (409, Some("invalid_state")));

    let (status, k) = s
        .call(
            "POST",
            &format!("/v1/keys/{b_id}/reject"),
            &s.root,
            Some(&json!({"reason": "no business case"}).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(
        (k["state"].as_str(), k["state_reason"].as_str()),
        (Some("revoked"), Some("no business case"))
    );
    let (_, v) = s
        .call("POST", "/v1/keys/verify", &s.root, Some(&verify(b_token)))
        .await;
    assert_eq!(v["kind"], "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_makes_a_twin_and_transfer_hands_a_key_over() {
    let s = start().await;
    let body = json!({"name": "ci", "owner": "alice", "scopes": ["builds:write"]}).to_string();
    let (_, original) = s.call("POST", "/v1/keys", &s.root, Some(&body)).await;
    let id = original["key"]["id"].as_str().unwrap();

    let (status, twin) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/clone"),
            &s.root,
            Some(&json!({"name": "ci-2"}).to_string()),
        )
        .await;
    assert_eq!(status, 201, "{twin}");
    assert_eq!(twin["key"]["name"], "ci-2");
    assert_eq!(twin["key"]["scopes"], json!(["builds:write"]));
    assert_eq!(twin["key"]["owner"], "alice");
    assert_ne!(twin["token"], original["token"]);
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&json!({"token": twin["token"], "scopes": ["builds:write"]}).to_string()),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");

    let to_bob = json!({"owner": "bob", "reason": "alice left"}).to_string();
    let (status, k) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/transfer"),
            &s.root,
            Some(&to_bob),
        )
        .await;
    assert_eq!((status, k["owner"].as_str()), (200, Some("bob")), "{k}");
    let (status, _) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/transfer"),
            &s.root,
            Some(&to_bob),
        )
        .await;
    assert_eq!(status, 422, "bob has it already");
    let (status, _) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/transfer"),
            &s.root,
            Some(&json!({"owner": "  "}).to_string()),
        )
        .await;
    assert_eq!(status, 422, "a blank owner");
}
