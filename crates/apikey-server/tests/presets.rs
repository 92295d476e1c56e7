//! `/v1/templates` and `/v1/groups`: saved by compare-and-set, read, removed, applied at creation
//! (creator, then template, then group), and kept within the admin key's tenant.

mod common;

use common::start;
use serde_json::{Value, json};

fn save(defaults: &Value) -> String {
    json!({ "description": "for tests", "defaults": defaults }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_and_a_group_fill_what_the_creator_leaves_out() {
    let s = start().await;
    let (status, t) = s
        .call(
            "PUT",
            "/v1/templates/read-only",
            &s.root,
            Some(&save(&json!({
                "scopes": ["projects:read"],
                "rate_limit": {"requests": 10, "per_secs": 60},
                "tags": ["from-template"],
                "expires_in_days": 30,
            }))),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["version"], 1);
    assert_eq!(t["kind"], "template");
    assert_eq!(t["defaults"]["scopes"], json!(["projects:read"]));
    let (status, g) = s
        .call(
            "PUT",
            "/v1/groups/partners",
            &s.root,
            Some(&save(&json!({
                "scopes": ["partners:read"],
                "quota": {"limit": 1000, "period": "month"},
                "environment": "live",
            }))),
        )
        .await;
    assert_eq!(status, 201, "{g}");

    // Template over group; the group fills what the template leaves out.
    let body = json!({"name": "a", "template": "read-only", "group": "partners"});
    let (status, k) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(status, 201, "{k}");
    let k = &k["key"];
    assert_eq!(k["scopes"], json!(["projects:read"]), "template over group");
    assert_eq!(k["rate_limit"]["per_ms"], 60_000);
    assert_eq!(k["quota"]["limit"], 1000, "from the group");
    assert_eq!(k["environment"], "live");
    assert_eq!(k["tags"], json!(["from-template"]));
    assert_eq!(k["template"], "read-only");
    assert!(k["expires_at"].is_string(), "{k}");

    // The creator over both.
    let body = json!({"name": "b", "template": "read-only", "scopes": ["own:write"]});
    let (_, k) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(k["key"]["scopes"], json!(["own:write"]));

    // An unknown template is named, and no key is made.
    let body = json!({"name": "c", "template": "nope"});
    let (status, p) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(status, 404, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("nope"), "{p}");
    let (_, page) = s.call("GET", "/v1/keys", &s.root, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);

    let (_, list) = s.call("GET", "/v1/templates", &s.root, None).await;
    assert_eq!(list["items"][0]["name"], "read-only");
    let (_, list) = s.call("GET", "/v1/groups", &s.root, None).await;
    assert_eq!(list["items"][0]["name"], "partners");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_is_compare_and_set_and_removal_is_final() {
    let s = start().await;
    let path = "/v1/templates/ci%2Fdeploy";
    let put = |v: Value| v.to_string();
    let (status, _) = s
        .call(
            "PUT",
            path,
            &s.root,
            Some(&put(json!({"defaults": {"scopes": ["a:read"]}}))),
        )
        .await;
    assert_eq!(status, 201);
    let (_, t) = s.call("GET", path, &s.root, None).await;
    assert_eq!(t["name"], "ci/deploy", "a slash travels encoded");

    // A stale version changes nothing.
    let (status, p) = s
        .call(
            "PUT",
            path,
            &s.root,
            Some(&put(
                json!({"expected_version": 0, "defaults": {"scopes": ["b:read"]}}),
            )),
        )
        .await;
    assert_eq!(status, 409, "{p}");
    let (status, t) = s
        .call(
            "PUT",
            path,
            &s.root,
            Some(&put(
                json!({"expected_version": 1, "defaults": {"scopes": ["b:read"]}}),
            )),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["version"], 2);
    assert_eq!(t["defaults"]["scopes"], json!(["b:read"]));

    // Bad input is refused and changes nothing.
    for (bad, want) in [
        (json!({"defaults": {"scopes": ["nocolon"]}}), 422),
        (json!({"defaults": {"colour": "red"}}), 422),
        (json!({"defaults": {"expires_in_days": 0}}), 422),
    ] {
        let (status, p) = s.call("PUT", path, &s.root, Some(&put(bad))).await;
        assert_eq!(status, want, "{p}");
    }
    let (_, t) = s.call("GET", path, &s.root, None).await;
    assert_eq!(t["version"], 2);
    for name in ["%20.%20", "..."] {
        let (status, _) = s
            .call("GET", &format!("/v1/templates/{name}"), &s.root, None)
            .await;
        assert_eq!(status, 400, "{name}");
    }

    let (status, _) = s.call("DELETE", path, &s.root, None).await;
    assert_eq!(status, 204);
    let (status, _) = s.call("GET", path, &s.root, None).await;
    assert_eq!(status, 404);
    let (status, _) = s.call("DELETE", path, &s.root, None).await;
    assert_eq!(status, 404);
    // The audit log has each change.
    let (_, a) = s
        .call("GET", "/v1/audit?type=template.saved", &s.root, None)
        .await;
    assert_eq!(a["items"].as_array().unwrap().len(), 2, "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_stay_within_the_admin_keys_tenant_and_scopes() {
    let s = start().await;
    let acme = s
        .admin_key(&["keys:read", "keys:write"], Some("acme"))
        .await;
    let reader = s.admin_key(&["keys:read"], None).await;
    let body = save(&json!({"scopes": ["acme:read"]}));
    let (status, t) = s.call("PUT", "/v1/templates/std", &acme, Some(&body)).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["tenant"], "acme", "its own tenant by default");

    // Another tenant's are out of reach; the root key names the tenant.
    let (status, _) = s
        .call("GET", "/v1/templates?tenant=globex", &acme, None)
        .await;
    assert_eq!(status, 403);
    let (_, none) = s.call("GET", "/v1/templates", &s.root, None).await;
    assert_eq!(
        none["items"],
        json!([]),
        "the keys without a tenant have none"
    );
    let (status, t) = s
        .call("GET", "/v1/templates/std?tenant=acme", &s.root, None)
        .await;
    assert_eq!(status, 200, "{t}");
    let (status, _) = s
        .call(
            "GET",
            "/v1/templates/std?tenant=apikey.admin",
            &s.root,
            None,
        )
        .await;
    assert_eq!(status, 400, "the admin tenant is not a customer's");

    // Its keys get the template.
    let (status, k) = s
        .call(
            "POST",
            "/v1/keys",
            &acme,
            Some(&json!({"name": "k", "template": "std"}).to_string()),
        )
        .await;
    assert_eq!(status, 201, "{k}");
    assert_eq!(k["key"]["scopes"], json!(["acme:read"]));
    assert_eq!(k["key"]["tenant_id"], "acme");

    // keys:read reads and does not write.
    let (status, _) = s.call("GET", "/v1/groups", &reader, None).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .call("PUT", "/v1/groups/g", &reader, Some(&save(&json!({}))))
        .await;
    assert_eq!(status, 403);
    let (status, _) = s.call("DELETE", "/v1/templates/std", &reader, None).await;
    assert_eq!(status, 403);
}
