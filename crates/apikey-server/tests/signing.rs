//! `/v1/keys/{id}/signing`: a signing secret issued once with the first mode, kept when the mode
//! changes, rotated (a new one, shown once) and removed.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_secret_is_issued_once_rotated_and_removed() {
    let s = start().await;
    let (_, k) = s
        .call("POST", "/v1/keys", &s.root, Some(r#"{"name": "signed"}"#))
        .await;
    let id = k["key"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/keys/{id}/signing");

    let (status, v) = s
        .call("PUT", &path, &s.root, Some(r#"{"mode": "required"}"#))
        .await;
    assert_eq!(status, 200, "{v}");
    let first = v["secret"].as_str().unwrap().to_owned();
    assert_eq!(v["key"]["signing"], "required");
    assert!(
        !v["key"].to_string().contains(&first),
        "the view never holds it"
    );

    // A new mode keeps the secret: nothing is shown again.
    let (_, v) = s
        .call(
            "PUT",
            &path,
            &s.root,
            Some(r#"{"mode": "instead-of-token"}"#),
        )
        .await;
    assert_eq!(v["key"]["signing"], "instead-of-token");
    assert!(v.get("secret").is_none(), "{v}");

    let (status, v) = s
        .call(
            "POST",
            &format!("{path}/rotate"),
            &s.root,
            Some(r#"{"grace_secs": 600}"#),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_ne!(v["secret"].as_str().unwrap(), first);

    let (status, v) = s.call("DELETE", &path, &s.root, None).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["key"].get("signing").is_none(), "{v}");
    for (method, path, body) in [
        ("DELETE", path.clone(), None),
        ("POST", format!("{path}/rotate"), None),
        (
            "PUT",
            path.clone(),
            Some(json!({"mode": "sometimes"}).to_string()),
        ),
    ] {
        let (status, p) = s.call(method, &path, &s.root, body.as_deref()).await;
        assert_eq!(status, 422, "{method} {path}: {p}");
    }
    let reader = s.admin_key(&["keys:read"], None).await;
    let (status, _) = s
        .call("PUT", &path, &reader, Some(r#"{"mode": "optional"}"#))
        .await;
    assert_eq!(status, 403);
}
