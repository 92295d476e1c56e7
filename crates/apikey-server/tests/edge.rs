//! What sits in front of the service: CORS for the origins the operator names, and trusted
//! proxies whose `X-Forwarded-For` names the caller (for the failed-attempt limiter).

mod common;

use apikey_core::ClientIpResolver;
use common::{Service, start_with};
use serde_json::json;

async fn preflight(s: &Service, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/keys", s.addr),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_named_origins_may_call_from_a_browser() {
    let s = start_with(|svc| svc.cors_origins(["https://admin.example.com"]).unwrap()).await;
    let ok = preflight(&s, "https://admin.example.com").await;
    let allowed = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
    };
    assert_eq!(
        allowed(&ok, "access-control-allow-origin").as_deref(),
        Some("https://admin.example.com")
    );
    assert!(
        allowed(&ok, "access-control-allow-headers")
            .unwrap()
            .contains("idempotency-key")
    );
    let other = preflight(&s, "https://evil.example.com").await;
    assert!(allowed(&other, "access-control-allow-origin").is_none());

    // A real call from the named origin carries the header; the guard still decides.
    let res = reqwest::Client::new()
        .get(format!("http://{}/v1/keys", s.addr))
        .header("origin", "https://admin.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("access-control-allow-origin"));
}

#[test]
fn an_origin_must_be_an_origin() {
    let store = apikey_memory::MemoryStore::new();
    let peppers = apikey_core::Peppers::random();
    for bad in [
        "*",
        "admin.example.com",
        "https://admin.example.com/",
        "https://a b",
    ] {
        let svc = apikey_server::Service::new(
            common::build(&store, &peppers, true),
            common::build(&store, &peppers, false),
        )
        .unwrap();
        assert!(svc.cors_origins([bad]).is_err(), "{bad}");
    }
}

async fn failures_until_blocked(s: &Service, forwarded: &[&str]) -> Vec<bool> {
    let (_, wrong) = s.keys.verifier().token_format().generate();
    let body = json!({"token": wrong.expose()}).to_string();
    let mut out = Vec::new();
    for xff in forwarded {
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{}/v1/keys/verify", s.addr))
            .header("authorization", format!("Bearer {}", s.root))
            .header("content-type", "application/json")
            .header("x-forwarded-for", *xff)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.push(v["kind"] == "too_many_failures");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_caller() {
    let s = start_with(|svc| {
        svc.trusted_proxies(ClientIpResolver::with_trusted_proxies(["127.0.0.1/32"]).unwrap())
    })
    .await;
    // One client fails until blocked; another behind the same proxy is not.
    let one = vec!["203.0.113.7"; 25];
    assert!(
        failures_until_blocked(&s, &one)
            .await
            .into_iter()
            .any(|b| b)
    );
    assert_eq!(
        failures_until_blocked(&s, &["203.0.113.8"]).await,
        [false],
        "another client behind the proxy is its own caller"
    );

    // Without the trust, the header is ignored: every request is the proxy's own.
    let s = common::start().await;
    let spread: Vec<String> = (0..25).map(|i| format!("203.0.113.{i}")).collect();
    let spread: Vec<&str> = spread.iter().map(String::as_str).collect();
    assert!(
        failures_until_blocked(&s, &spread)
            .await
            .into_iter()
            .any(|b| b)
    );
}
