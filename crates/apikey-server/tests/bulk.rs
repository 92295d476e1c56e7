//! `/v1/keys/bulk…`: many keys created (row by row, or all or none), and bulk revoke, suspend and
//! update by filter with a dry run — never reaching the service's own admin keys.

mod common;

use common::start;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_stand_alone_unless_atomic() {
    let s = start().await;
    let rows = json!({"keys": [
        {"name": "a", "owner": "acme", "scopes": ["x:read"]},
        {"name": "b", "scopes": ["nocolon"]},
        {"name": "c", "template": "missing"},
        {"name": "d", "owner": "acme"},
    ]});
    let (status, out) = s
        .call("POST", "/v1/keys/bulk", &s.root, Some(&rows.to_string()))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["created"], 2);
    let r = out["rows"].as_array().unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0]["key"]["name"], "a");
    assert!(r[0]["token"].as_str().unwrap().len() > 20);
    assert_eq!(r[1]["error"]["status"], 422, "{}", r[1]);
    assert_eq!(r[2]["error"]["status"], 404, "{}", r[2]);
    assert_eq!(r[3]["key"]["name"], "d");
    // Each token works.
    for i in [0, 3] {
        let (_, v) = s
            .call(
                "POST",
                "/v1/keys/verify",
                &s.root,
                Some(&json!({"token": r[i]["token"]}).to_string()),
            )
            .await;
        assert_eq!(v["valid"], true, "{v}");
    }

    // All or none: one bad row and nothing is written.
    let atomic = json!({"atomic": true, "keys": [
        {"name": "e"},
        {"name": "f", "template": "missing"},
    ]});
    let (status, p) = s
        .call("POST", "/v1/keys/bulk", &s.root, Some(&atomic.to_string()))
        .await;
    assert_eq!(status, 404, "{p}");
    let (_, page) = s.call("GET", "/v1/keys", &s.root, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);

    for (bad, want) in [
        (json!({"keys": []}), 422),
        (json!({"keys": [{"name": "g", "credits": 5}]}), 422),
        (json!({"keys": [{"name": "h"}], "colour": 1}), 422),
    ] {
        let (status, p) = s
            .call("POST", "/v1/keys/bulk", &s.root, Some(&bad.to_string()))
            .await;
        assert_eq!(status, want, "{p}");
    }
}

/// Saves an empty group (with a catalog, a key's group must exist).
async fn group(s: &common::Service, name: &str, tenant: Option<&str>) {
    let tenant = tenant.map(|t| apikey_core::TenantId::new(t).unwrap());
    let preset = apikey_core::catalog::Preset::new(apikey_core::catalog::CatalogKind::Group, name);
    s.keys
        .manager()
        .save_preset(tenant.as_ref(), preset, 0, apikey_core::Change::new())
        .await
        .unwrap();
}

async fn create(s: &common::Service, body: Value) -> String {
    let (status, k) = s
        .call("POST", "/v1/keys", &s.root, Some(&body.to_string()))
        .await;
    assert_eq!(status, 201, "{k}");
    k["key"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_revokes_suspends_or_updates_its_keys_and_a_dry_run_nothing() {
    let s = start().await;
    group(&s, "partners", None).await;
    group(&s, "internal", None).await;
    let a = create(&s, json!({"name": "a", "group": "partners"})).await;
    let b = create(&s, json!({"name": "b", "group": "partners"})).await;
    let other = create(&s, json!({"name": "c", "group": "internal"})).await;
    let body = json!({"filter": {"group": "partners"}, "dry_run": true});
    let (status, plan) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    let mut ids: Vec<&str> = plan["targeted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert_eq!(plan["changed"], json!([]));
    let (_, k) = s.call("GET", &format!("/v1/keys/{a}"), &s.root, None).await;
    assert_eq!(k["state"], "active", "a dry run changes nothing");

    let body = json!({"filter": {"group": "partners"}, "update": {"tags": ["moved"]}});
    let (status, done) = s
        .call(
            "POST",
            "/v1/keys/bulk/update",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changed"].as_array().unwrap().len(), 2);
    assert_eq!(done["changed"][0]["tags"], json!(["moved"]));

    let body = json!({"filter": {"group": "partners"}, "reason": "contract ended"});
    let (_, done) = s
        .call(
            "POST",
            "/v1/keys/bulk/suspend",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(done["changed"].as_array().unwrap().len(), 2, "{done}");
    let (_, done) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(done["changed"].as_array().unwrap().len(), 2, "{done}");
    assert_eq!(done["changed"][0]["state"], "revoked");
    assert_eq!(done["changed"][0]["state_reason"], "contract ended");
    let (_, done) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(
        done["skipped"].as_array().unwrap().len(),
        2,
        "already revoked"
    );
    let (_, k) = s
        .call("GET", &format!("/v1/keys/{other}"), &s.root, None)
        .await;
    assert_eq!(k["state"], "active", "outside the filter");

    // A bad update is refused even when no key matches.
    let body = json!({"filter": {"owner": "nobody"}, "update": {"tags": [" "]}});
    let (status, p) = s
        .call(
            "POST",
            "/v1/keys/bulk/update",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    let body = json!({"filter": {"tags": [""]}});
    let (status, p) = s
        .call(
            "POST",
            "/v1/keys/bulk/suspend",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 422, "{p}");

    // Without a filter nothing is touched.
    let (status, p) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &s.root,
            Some(&json!({"filter": {}}).to_string()),
        )
        .await;
    assert_eq!(status, 422, "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_changes_never_reach_admin_keys_or_other_tenants() {
    let s = start().await;
    for t in ["apikey.admin", "acme", "globex"] {
        group(&s, "ops", Some(t)).await;
    }
    // An admin key in a group a keys:write key can name.
    let mut new = apikey_core::NewKey::new("ops")
        .tenant(apikey_server::admin_tenant())
        .scopes(["keys:read"])
        .unwrap();
    new.group = Some("ops".into());
    let admin = s.keys.manager().create(new).await.unwrap();
    let acme = s.admin_key(&["keys:write"], Some("acme")).await;
    let mine = {
        let (_, k) = s
            .call(
                "POST",
                "/v1/keys",
                &acme,
                Some(&json!({"name": "m", "group": "ops"}).to_string()),
            )
            .await;
        k["key"]["id"].as_str().unwrap().to_owned()
    };
    let theirs = create(&s, json!({"name": "t", "group": "ops", "tenant": "globex"})).await;

    let body = json!({"filter": {"group": "ops"}});
    let (_, done) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &acme,
            Some(&body.to_string()),
        )
        .await;
    let changed: Vec<&str> = done["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(changed, [mine.as_str()], "its own tenant only: {done}");

    let (_, done) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &s.root,
            Some(&body.to_string()),
        )
        .await;
    let changed: Vec<&str> = done["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(changed, [theirs.as_str()], "never the admin key: {done}");
    assert_eq!(done["skipped"].as_array().unwrap().len(), 1, "{done}");
    let record = s
        .keys
        .manager()
        .get(&apikey_core::TenantScope::All, admin.record.id)
        .await
        .unwrap();
    assert_eq!(record.state, apikey_core::KeyState::Active);

    let body = json!({"filter": {"group": "ops", "tenant": "globex"}});
    let (status, _) = s
        .call(
            "POST",
            "/v1/keys/bulk/revoke",
            &acme,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 403);
}
