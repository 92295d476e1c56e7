//! `GET|PUT /v1/settings` (a tenant's settings, written only by an admin key of every tenant),
//! `GET /v1/keys/{id}/diff`, and aliases on create and PATCH.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_settings_are_saved_by_compare_and_set_and_enforced() {
    let s = start().await;
    let (status, v) = s
        .call("GET", "/v1/settings?tenant=acme", &s.root, None)
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], 0);
    assert_eq!(v["effective"]["approval_required"], false);

    let body = json!({
        "approval_required": true, "max_keys_per_tenant": 1, "audit_retention_days": 90,
        "usage_retention_days": 400,
        "threats": {"network_spread": {"action": "suspend", "threshold": 5}, "rate_surge": {"action": "off"}},
        "request_log": {"mode": "sampled", "one_in": 10, "retention_days": 7},
    });
    let (status, v) = s
        .call(
            "PUT",
            "/v1/settings?tenant=acme",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["settings"]["max_keys_per_tenant"], 1);
    assert_eq!(v["settings"]["retention"]["usage_days"], 400, "{v}");
    assert_eq!(
        v["settings"]["threats"]["network_spread"],
        json!({"action": "suspend", "threshold": 5})
    );
    assert_eq!(v["effective"]["threats"]["rate_surge"]["action"], "off");
    assert_eq!(v["effective"]["request_log"]["mode"]["one_in"], 10, "{v}");

    // In force: new keys of acme are pending, and only one may exist.
    let acme = s
        .admin_key(&["keys:read", "keys:write"], Some("acme"))
        .await;
    let (status, k) = s
        .call("POST", "/v1/keys", &acme, Some(r#"{"name": "a"}"#))
        .await;
    assert_eq!(status, 201, "{k}");
    assert_eq!(k["key"]["state"], "pending");
    let (status, p) = s
        .call("POST", "/v1/keys", &acme, Some(r#"{"name": "b"}"#))
        .await;
    assert_eq!(status, 409, "{p}");

    // The tenant's admin reads its own, and changes nothing.
    let (status, v) = s.call("GET", "/v1/settings", &acme, None).await;
    assert_eq!((status, v["tenant"].as_str()), (200, Some("acme")));
    let (status, p) = s
        .call(
            "PUT",
            "/v1/settings",
            &acme,
            Some(r#"{"max_keys_per_tenant": 1000}"#),
        )
        .await;
    assert_eq!(status, 403, "{p}");

    // A stale version, and bad input, change nothing.
    for (bad, want) in [
        (json!({"expected_version": 0}), 409),
        (json!({"request_log": {"mode": "full", "one_in": 3}}), 422),
        (
            json!({"request_log": {"mode": "sampled", "one_in": 1}}),
            422,
        ),
        (json!({"colour": "red"}), 422),
        (
            json!({"threats": {"network_spread": {"action": "suspend", "threshold": 500}}}),
            422,
        ),
        (
            json!({"threats": {"credential_stuffing": {"action": "off"}}}),
            422,
        ),
        (json!({"threats": [null, null]}), 422),
        (json!({"threats": {"rate_surge": ["off", 3]}}), 422),
        (json!({"request_log": ["full"]}), 422),
    ] {
        let (status, p) = s
            .call(
                "PUT",
                "/v1/settings?tenant=acme",
                &s.root,
                Some(&bad.to_string()),
            )
            .await;
        assert_eq!(status, want, "{bad}: {p}");
    }
    let (_, v) = s
        .call("GET", "/v1/settings?tenant=acme", &s.root, None)
        .await;
    assert_eq!(v["version"], 1);
    let (_, a) = s
        .call(
            "GET",
            "/v1/audit?type=tenant.settings_updated",
            &s.root,
            None,
        )
        .await;
    assert_eq!(a["items"].as_array().map(Vec::len), Some(1), "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_names_what_changed_and_aliases_are_kept() {
    let s = start().await;
    let body = json!({"name": "billing", "scopes": ["a:read"], "aliases": ["billing-prod"]});
    let (status, k) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(status, 201, "{k}");
    assert_eq!(k["key"]["aliases"], json!(["billing-prod"]));
    let id = k["key"]["id"].as_str().unwrap().to_owned();
    let patch = json!({"scopes": ["a:read", "b:write"], "aliases": ["billing"]});
    let (status, k) = s
        .call(
            "PATCH",
            &format!("/v1/keys/{id}"),
            &s.root,
            Some(&patch.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["aliases"], json!(["billing"]));

    let (status, d) = s
        .call(
            "GET",
            &format!("/v1/keys/{id}/diff?from=1&to=2"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    let fields: Vec<&str> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["aliases", "scopes"]);
    assert_eq!(d["changes"][1]["to"], json!(["a:read", "b:write"]));
    let (status, _) = s
        .call(
            "GET",
            &format!("/v1/keys/{id}/diff?from=1&to=9"),
            &s.root,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // An alias is unique in the tenant, and never a UUID.
    let taken = json!({"name": "other", "aliases": ["billing"]});
    let (status, p) = s
        .call("POST", "/v1/keys", &s.root, Some(&taken.to_string()))
        .await;
    assert_eq!(status, 409, "{p}");
    let uuid = json!({"name": "other", "aliases": [id]});
    let (status, p) = s
        .call("POST", "/v1/keys", &s.root, Some(&uuid.to_string()))
        .await;
    assert_eq!(status, 422, "{p}");
}
