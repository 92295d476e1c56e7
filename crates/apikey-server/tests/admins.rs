//! `/v1/admins`: admin keys made and revoked over HTTP without escalation. A key grants only
//! scopes it holds and only in its tenant, sees only the admin keys it could have made, and
//! nothing short of a key with every scope for every tenant touches the root key.

mod common;

use common::start;
use serde_json::{Value, json};

fn admin(name: &str, scopes: &[&str], tenant: Option<&str>) -> String {
    let mut v = json!({"name": name, "scopes": scopes});
    if let Some(t) = tenant {
        v["tenant"] = json!(t);
    }
    v.to_string()
}

fn token(v: &Value) -> String {
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_keys_are_made_within_what_the_maker_holds() {
    let s = start().await;
    // The root key makes a tenant admin for acme that manages admins and reads keys.
    let (status, acme) = s
        .call(
            "POST",
            "/v1/admins",
            &s.root,
            Some(&admin(
                "acme-admin",
                &["admins:write", "keys:read", "keys:write"],
                Some("acme"),
            )),
        )
        .await;
    assert_eq!(status, 201, "{acme}");
    let acme_token = token(&acme);
    assert_eq!(acme["key"]["tenant_id"], "apikey.admin");
    assert_eq!(acme["key"]["metadata"]["tenant"], "acme");

    // It cannot grant what it lacks, nor act beyond its tenant.
    let refused = [
        admin("x", &["keys:verify"], None),
        admin("x", &["keys:read"], Some("globex")),
    ];
    for body in &refused {
        let (status, p) = s.call("POST", "/v1/admins", &acme_token, Some(body)).await;
        assert_eq!(
            (status, p["code"].as_str()),
            (403, Some("escalation")),
            "{body}: {p}"
        );
    }
    let (status, p) = s
        .call(
            "POST",
            "/v1/admins",
            &acme_token,
            Some(&admin("x", &["orders:read"], None)),
        )
        .await;
    assert_eq!(status, 422, "not an admin scope: {p}");

    // What it may make is acme's, though it did not say so.
    let (status, reader) = s
        .call(
            "POST",
            "/v1/admins",
            &acme_token,
            Some(&admin("reader", &["keys:read"], None)),
        )
        .await;
    assert_eq!(status, 201, "{reader}");
    assert_eq!(reader["key"]["metadata"]["tenant"], "acme");
    let reader_token = token(&reader);
    let (status, _) = s.call("GET", "/v1/admins", &reader_token, None).await;
    assert_eq!(status, 403, "keys:read does not manage admins");

    // acme's admin lists only acme's admin keys; the root key is not among them.
    let (_, page) = s.call("GET", "/v1/admins", &acme_token, None).await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme-admin", "reader"]);
    let (_, all) = s.call("GET", "/v1/admins", &s.root, None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "{all}");

    // Admin keys are not managed through /v1/keys.
    let reader_id = reader["key"]["id"].as_str().unwrap();
    let (status, _) = s
        .call("GET", &format!("/v1/keys/{reader_id}"), &s.root, None)
        .await;
    assert_eq!(status, 404);

    // acme's admin revokes its reader; the reader stops working at once.
    let (status, _) = s.call("GET", "/v1/keys", &reader_token, None).await;
    assert_eq!(status, 200, "the reader works (and is cached)");
    let (status, v) = s
        .call(
            "POST",
            &format!("/v1/admins/{reader_id}/revoke"),
            &acme_token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = s.call("GET", "/v1/keys", &reader_token, None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_key_holding_everything_touches_the_root_key() {
    let s = start().await;
    let (_, root_page) = s.call("GET", "/v1/admins", &s.root, None).await;
    let root_id = root_page["items"][0]["id"].as_str().unwrap().to_owned();
    let revoke_root = format!("/v1/admins/{root_id}/revoke");

    // A tenant's admin does not see it.
    let (_, acme) = s
        .call(
            "POST",
            "/v1/admins",
            &s.root,
            Some(&admin("acme", &["admins:write"], Some("acme"))),
        )
        .await;
    let (status, _) = s.call("POST", &revoke_root, &token(&acme), None).await;
    assert_eq!(status, 404);

    // An admin for every tenant that lacks a scope of the root key may not revoke it.
    let (_, ops) = s
        .call(
            "POST",
            "/v1/admins",
            &s.root,
            Some(&admin("ops", &["admins:write", "keys:read"], None)),
        )
        .await;
    let (status, p) = s.call("POST", &revoke_root, &token(&ops), None).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (403, Some("escalation")),
        "{p}"
    );
    let (status, _) = s.call("GET", "/v1/keys", &s.root, None).await;
    assert_eq!(status, 200, "the root key still works");

    // Another key with every scope for every tenant may (the break-glass replacement).
    let every: Vec<&str> = apikey_server::ADMIN_SCOPES.to_vec();
    let (status, second) = s
        .call(
            "POST",
            "/v1/admins",
            &s.root,
            Some(&admin("second-root", &every, None)),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let (status, _) = s.call("POST", &revoke_root, &token(&second), None).await;
    assert_eq!(status, 200);
    let (status, _) = s.call("GET", "/v1/keys", &s.root, None).await;
    assert_eq!(status, 401);
}
