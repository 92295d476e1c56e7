//! The key service over real HTTP on loopback: admin keys only at the door, scopes and tenants
//! enforced, verification for other stacks, bad input answered with problem+json and nothing
//! changed, and the OpenAPI document kept current by a committed snapshot.

mod common;

use apikey_core::Peppers;
use apikey_memory::MemoryStore;
use apikey_server::ADMIN_SCOPES;
use common::{build, start};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_stacks_create_and_verify_keys_with_admin_keys_only() {
    let s = start().await;
    let body = json!({"name": "billing", "scopes": ["invoices:read"], "owner": "acme"}).to_string();
    let (status, created) = s.call("POST", "/v1/keys", &s.root, Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    assert!(created["key"].get("hash").is_none(), "the public view only");

    let verify = |t: &str, scopes: Value| json!({"token": t, "scopes": scopes}).to_string();
    let (status, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&verify(&token, json!(["invoices:read"]))),
        )
        .await;
    assert_eq!((status, v["valid"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(v["key"]["name"], "billing");
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&verify(&token, json!(["invoices:write"]))),
        )
        .await;
    assert_eq!(
        (
            v["valid"].as_bool(),
            v["kind"].as_str(),
            v["status"].as_u64()
        ),
        (Some(false), Some("insufficient_scope"), Some(403))
    );
    assert_eq!(v["missing_scope"], "invoices:write");

    // A customer's key never opens the service; the root key never passes as a customer's.
    let (status, _) = s.call("GET", "/v1/keys", &token, None).await;
    assert_eq!(status, 401);
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&verify(&s.root, json!([]))),
        )
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["kind"].as_str()),
        (Some(false), Some("unknown"))
    );
    assert!(
        s.keys
            .verifier()
            .verify(
                apikey_core::Credential::new(&s.root),
                &apikey_core::RequestContext::new()
            )
            .await
            .is_err(),
        "an admin key is refused by every verifier but the service's"
    );
    assert!(
        s.admin
            .verifier()
            .verify(
                apikey_core::Credential::new(&token),
                &apikey_core::RequestContext::new()
            )
            .await
            .is_err(),
        "and the service's verifier refuses every other key"
    );

    // The root key is not managed through /v1/keys.
    let root_id = s
        .admin
        .verifier()
        .verify(
            apikey_core::Credential::new(&s.root),
            &apikey_core::RequestContext::new(),
        )
        .await
        .unwrap()
        .key_id();
    let (status, _) = s
        .call("POST", &format!("/v1/keys/{root_id}/revoke"), &s.root, None)
        .await;
    assert_eq!(
        status, 404,
        "the root key cannot be revoked through /v1/keys"
    );

    // Read, list, revoke; the revoked key verifies as revoked.
    let (status, got) = s
        .call("GET", &format!("/v1/keys/{id}"), &s.root, None)
        .await;
    assert_eq!((status, got["name"].as_str()), (200, Some("billing")));
    let (_, page) = s.call("GET", "/v1/keys?owner=acme", &s.root, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let (status, revoked) = s
        .call(
            "POST",
            &format!("/v1/keys/{id}/revoke"),
            &s.root,
            Some(r#"{"reason": "leaked"}"#),
        )
        .await;
    assert_eq!(
        (status, revoked["state"].as_str()),
        (200, Some("revoked")),
        "{revoked}"
    );
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&verify(&token, json!([]))),
        )
        .await;
    assert_eq!(v["kind"], "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_unsuspend_revoke_restore_and_rotate_over_http() {
    let s = start().await;
    let (_, created) = s
        .call("POST", "/v1/keys", &s.root, Some(r#"{"name": "life"}"#))
        .await;
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    let kind = |t: &str| {
        let body = json!({"token": t}).to_string();
        let s = &s;
        async move {
            let (_, v) = s
                .call("POST", "/v1/keys/verify", &s.root, Some(&body))
                .await;
            v["kind"].as_str().map_or("valid".to_owned(), str::to_owned)
        }
    };
    let post = |op: &str| format!("/v1/keys/{id}/{op}");
    assert_eq!(
        s.call(
            "POST",
            &post("suspend"),
            &s.root,
            Some(r#"{"reason": "audit"}"#)
        )
        .await
        .0,
        200
    );
    assert_eq!(kind(&token).await, "suspended");
    let (status, p) = s.call("POST", &post("suspend"), &s.root, None).await;
    assert_eq!(status, 409, "suspending a suspended key: {p}");
    assert_eq!(p["code"], "invalid_state");
    assert!(p["detail"].as_str().unwrap().contains("suspended"), "{p}");
    assert_eq!(
        s.call("POST", &post("unsuspend"), &s.root, None).await.0,
        200
    );
    assert_eq!(kind(&token).await, "valid");
    assert_eq!(s.call("POST", &post("revoke"), &s.root, None).await.0, 200);
    assert_eq!(kind(&token).await, "revoked");
    assert_eq!(s.call("POST", &post("restore"), &s.root, None).await.0, 200);
    assert_eq!(kind(&token).await, "valid");

    let (status, rotated) = s
        .call(
            "POST",
            &post("rotate"),
            &s.root,
            Some(r#"{"grace_secs": 3600}"#),
        )
        .await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["replaces"]["id"], id.as_str());
    let new_token = rotated["token"].as_str().unwrap();
    assert_eq!(kind(new_token).await, "valid");
    assert_eq!(
        kind(&token).await,
        "valid",
        "the old key works for the grace period"
    );
    let (status, _) = s
        .call(
            "POST",
            &post("rotate"),
            &s.root,
            Some(r#"{"grace_secs": "soon"}"#),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_and_tenants_bound_each_admin_key() {
    let s = start().await;
    let verifier = s.admin_key(&["keys:verify"], None).await;
    let (status, p) = s
        .call("POST", "/v1/keys", &verifier, Some(r#"{"name": "x"}"#))
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (403, Some("insufficient_scope"))
    );

    let a = s
        .admin_key(&["keys:read", "keys:write", "keys:verify"], Some("a"))
        .await;
    let (_, in_a) = s
        .call("POST", "/v1/keys", &a, Some(r#"{"name": "in-a"}"#))
        .await;
    assert_eq!(in_a["key"]["tenant_id"], "a", "{in_a}");
    let (status, _) = s
        .call(
            "POST",
            "/v1/keys",
            &a,
            Some(r#"{"name": "x", "tenant": "b"}"#),
        )
        .await;
    assert_eq!(status, 403);
    let (_, in_b) = s
        .call(
            "POST",
            "/v1/keys",
            &s.root,
            Some(r#"{"name": "in-b", "tenant": "b"}"#),
        )
        .await;
    let b_id = in_b["key"]["id"].as_str().unwrap();
    let (status, p) = s.call("GET", &format!("/v1/keys/{b_id}"), &a, None).await;
    assert_eq!((status, p["code"].as_str()), (404, Some("not_found")));
    let (_, page) = s.call("GET", "/v1/keys", &a, None).await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["in-a"]);
    let (status, _) = s
        .call("POST", &format!("/v1/keys/{b_id}/revoke"), &a, None)
        .await;
    assert_eq!(status, 404, "another tenant's key cannot be revoked");
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &a,
            Some(&json!({"token": in_b["token"]}).to_string()),
        )
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["kind"].as_str()),
        (Some(false), Some("unknown"))
    );
    // ...and charged nothing: with a quota of one, b's key still has its one request left.
    let quota = json!({"quota": {"limit": 1, "period": "day"}}).to_string();
    let (status, _) = s
        .call("PATCH", &format!("/v1/keys/{b_id}"), &s.root, Some(&quota))
        .await;
    assert_eq!(status, 200);
    let b_token = json!({"token": in_b["token"]}).to_string();
    for _ in 0..3 {
        let (_, v) = s.call("POST", "/v1/keys/verify", &a, Some(&b_token)).await;
        assert_eq!(v["kind"], "unknown");
        assert!(
            v["key_id"].is_null(),
            "nothing about another tenant's key: {v}"
        );
    }
    let (_, v) = s
        .call("POST", "/v1/keys/verify", &s.root, Some(&b_token))
        .await;
    assert_eq!(
        v["valid"], true,
        "not charged by another tenant's admin key: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_reason_and_changes_nothing() {
    let s = start().await;
    let cases: [(&str, &str, Option<&str>, u16); 12] = [
        ("POST", "/v1/keys", Some("{not json"), 400),
        (
            "POST",
            "/v1/keys",
            Some(r#"{"name": "x", "colour": "red"}"#),
            422,
        ),
        ("POST", "/v1/keys", Some(r#"{"name": 7}"#), 422),
        (
            "POST",
            "/v1/keys",
            Some(r#"{"name": "x", "scopes": ["nocolon"]}"#),
            422,
        ),
        (
            "POST",
            "/v1/keys",
            Some(r#"{"name": "x", "tenant": "apikey.admin"}"#),
            400,
        ),
        ("GET", "/v1/keys/not-a-uuid", None, 400),
        ("GET", "/v1/keys?after=garbage", None, 400),
        ("GET", "/v1/keys?limit=0", None, 400),
        (
            "POST",
            "/v1/keys/verify",
            Some(r#"{"token": "x", "cost": -1}"#),
            422,
        ),
        (
            "POST",
            "/v1/keys/verify",
            Some(r#"{"token": "x", "cost": 1.5}"#),
            422,
        ),
        (
            "POST",
            "/v1/keys/verify",
            Some(r#"{"token": "x", "cost": 4294967296}"#),
            422,
        ),
        (
            "POST",
            "/v1/keys/verify",
            Some(r#"{"token": "x", "scopes": [" a:b"]}"#),
            422,
        ),
    ];
    for (method, path, body, want) in cases {
        let (status, p) = s.call(method, path, &s.root, body).await;
        assert_eq!(status, want, "{method} {path} {body:?}: {p}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
    }
    let (_, page) = s.call("GET", "/v1/keys", &s.root, None).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
    // JSON Schema's integers include 2.0: so does the service.
    let (status, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(r#"{"token": "x", "cost": 2.0}"#),
        )
        .await;
    assert_eq!((status, &v["kind"]), (200, &json!("malformed")), "{v}");
}

/// Failed verifications are counted against the caller, so a caller cannot dodge the block by
/// changing the `ip` it reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_count_against_the_caller_not_the_reported_ip() {
    let s = start().await;
    // One well-formed token of no key, tried over and over: each try is a failure.
    let (_, wrong) = s.keys.verifier().token_format().generate();
    let wrong = wrong.expose().to_owned();
    let mut blocked = false;
    for i in 0..25 {
        let body = json!({"token": wrong, "ip": format!("198.51.100.{i}")}).to_string();
        let (_, v) = s
            .call("POST", "/v1/keys/verify", &s.root, Some(&body))
            .await;
        blocked |= v["kind"] == "too_many_failures";
    }
    assert!(
        blocked,
        "20 failures from one caller block it, whatever ip it reports"
    );
}

#[test]
fn the_openapi_snapshot_is_current() {
    let store = MemoryStore::new();
    let admin = build(&store, &Peppers::random(), true);
    let doc = apikey_server::openapi(&admin)
        .unwrap()
        .to_pretty_json()
        .unwrap()
        + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("APIKEY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "openapi.json is stale: run with APIKEY_UPDATE_SNAPSHOTS=1 and commit it"
    );
    let v: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["paths"]["/v1/keys/verify"]["post"]["security"].is_array());
    let _ = ADMIN_SCOPES;
}

/// The document passes `openapi-spec-validator` (an implementation we did not write; installed by
/// `source .ci/python-tools.sh`, required under `CI=true`).
#[test]
#[allow(clippy::print_stderr)]
fn the_openapi_document_is_valid_openapi() {
    let validator = match std::env::var_os("APIKEY_OPENAPI_VALIDATOR") {
        Some(p) if std::path::Path::new(&p).exists() => p,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "APIKEY_OPENAPI_VALIDATOR is not set: `source .ci/python-tools.sh` installs it"
            );
            eprintln!("skipped: `source .ci/python-tools.sh` installs openapi-spec-validator");
            return;
        }
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let out = std::process::Command::new(validator)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
