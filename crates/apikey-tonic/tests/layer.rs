//! The layer over an in-process tower service: statuses, extensions and budgets, without a network.

use apikey_core::Change;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{ApiKeys, NewKey, Peppers, Rate, SystemClock, TenantScope, Verified};
use apikey_memory::{MemoryLimiter, MemoryStore};
use apikey_tonic::{ApiKeyLayer, CredentialConfig, MethodScopes, UNAUTHENTICATED_MESSAGE};
use http::{Request, Response};
use tonic::Code;
use tower::{Service, ServiceExt, service_fn};
use tower_layer::Layer;

fn keys() -> ApiKeys {
    let peppers = Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap();
    ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(peppers)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()
        .unwrap()
}

fn methods() -> MethodScopes {
    MethodScopes::new()
        .method("/t.S/Read", ["t:read"])
        .unwrap()
        .method("/t.S/Write", ["t:write"])
        .unwrap()
        .public("/t.S/Ping")
        .unwrap()
}

/// The inner service answers 200 with the verified key's name (or "-").
fn svc(
    layer: &ApiKeyLayer,
) -> impl Service<Request<()>, Response = Response<String>, Error = Infallible> + Clone {
    layer.layer(service_fn(|req: Request<()>| async move {
        let name = req
            .extensions()
            .get::<Verified>()
            .map_or("-".to_owned(), |v| v.record().name.clone());
        Ok::<_, Infallible>(Response::new(name))
    }))
}

fn req(path: &str, headers: &[(&'static str, &str)]) -> Request<()> {
    let mut r = Request::builder().uri(path);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let mut r = r.body(()).unwrap();
    r.extensions_mut()
        .insert("127.0.0.1:4000".parse::<SocketAddr>().unwrap());
    r
}

async fn call(layer: &ApiKeyLayer, r: Request<()>) -> (Option<Code>, String, http::HeaderMap) {
    let res = svc(layer).oneshot(r).await.unwrap();
    let code = res
        .headers()
        .get("grpc-status")
        .map(|v| Code::from_bytes(v.as_bytes()));
    let (parts, body) = res.into_parts();
    (code, body, parts.headers)
}

#[tokio::test]
async fn statuses_and_extensions() {
    let keys = keys();
    let k = keys
        .manager()
        .create(NewKey::new("reader").scopes(["t:read"]).unwrap())
        .await
        .unwrap();
    let t = k.token.expose();
    let layer = ApiKeyLayer::new(keys.verifier().clone(), methods());

    let (code, body, _) = call(&layer, req("/t.S/Read", &[("x-api-key", t)])).await;
    assert_eq!((code, body.as_str()), (None, "reader"));
    let bearer = format!("Bearer {t}");
    let (code, body, _) = call(&layer, req("/t.S/Read", &[("authorization", &bearer)])).await;
    assert_eq!((code, body.as_str()), (None, "reader"));

    let (code, _, h) = call(&layer, req("/t.S/Write", &[("x-api-key", t)])).await;
    assert_eq!(code, Some(Code::PermissionDenied));
    assert!(h["grpc-message"].to_str().unwrap().contains("t:write"));

    for r in [
        req("/t.S/Read", &[]),
        req("/t.S/Read", &[("x-api-key", "garbage")]),
        req("/t.S/Read", &[("x-api-key", t), ("authorization", &bearer)]),
        req("/t.S/Read", &[("x-api-key-bin", "aGVsbG8=")]),
    ] {
        let (code, _, h) = call(&layer, r).await;
        assert_eq!(code, Some(Code::Unauthenticated));
        assert_eq!(
            h["grpc-message"].to_str().unwrap(),
            UNAUTHENTICATED_MESSAGE.replace(' ', "%20")
        );
    }

    // Public: no key needed, none verified.
    let (code, body, _) = call(&layer, req("/t.S/Ping", &[])).await;
    assert_eq!((code, body.as_str()), (None, "-"));
    // Unlisted: denied even with a good key.
    let (code, _, _) = call(&layer, req("/t.S/Other", &[("x-api-key", t)])).await;
    assert_eq!(code, Some(Code::PermissionDenied));
    let (code, _, _) = call(&layer, req("/grpc.health.v1.Health/Check", &[])).await;
    assert_eq!(code, Some(Code::PermissionDenied));

    keys.manager()
        .revoke(&TenantScope::All, k.record.id, Change::new())
        .await
        .unwrap();
    let (code, _, _) = call(&layer, req("/t.S/Read", &[("x-api-key", t)])).await;
    assert_eq!(code, Some(Code::Unauthenticated));
}

#[tokio::test]
async fn rate_limited_carries_retry_information() {
    let keys = keys();
    let rate = Rate::new(1, Duration::from_secs(60)).unwrap();
    let k = keys
        .manager()
        .create(
            NewKey::new("slow")
                .scopes(["t:read"])
                .unwrap()
                .rate_limit(rate),
        )
        .await
        .unwrap();
    let layer = ApiKeyLayer::new(keys.verifier().clone(), methods());
    let t = k.token.expose();
    assert_eq!(
        call(&layer, req("/t.S/Read", &[("x-api-key", t)])).await.0,
        None
    );
    let (code, _, h) = call(&layer, req("/t.S/Read", &[("x-api-key", t)])).await;
    assert_eq!(code, Some(Code::ResourceExhausted));
    let secs: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((59..=60).contains(&secs), "{secs}");
    let ms: u64 = h["grpc-retry-pushback-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((59_000..=60_000).contains(&ms), "{ms}");
    assert!(h.contains_key("grpc-status-details-bin"));
    assert!(h["ratelimit"].to_str().unwrap().starts_with("\"rate\";r=0"));
}

#[tokio::test]
async fn admitted_calls_carry_the_rate_limit_metadata_unless_switched_off() {
    let keys = keys();
    let rate = Rate::new(5, Duration::from_secs(60)).unwrap();
    let k = keys
        .manager()
        .create(
            NewKey::new("paced")
                .scopes(["t:read"])
                .unwrap()
                .rate_limit(rate),
        )
        .await
        .unwrap();
    let t = k.token.expose();
    let layer = ApiKeyLayer::new(keys.verifier().clone(), methods());
    // The first call misses the cache (the pending path), the second is decided on the spot.
    for remaining in [4, 3] {
        let (code, body, h) = call(&layer, req("/t.S/Read", &[("x-api-key", t)])).await;
        assert_eq!((code, body.as_str()), (None, "paced"));
        let field = h["ratelimit"].to_str().unwrap();
        assert!(
            field.starts_with(&format!("\"rate\";r={remaining};t=")),
            "{field}"
        );
        assert_eq!(h["ratelimit-policy"].to_str().unwrap(), "\"rate\";q=5;w=60");
    }
    let quiet = layer.rate_limit_fields_on_success(false);
    let (code, _, h) = call(&quiet, req("/t.S/Read", &[("x-api-key", t)])).await;
    assert_eq!(code, None);
    assert!(!h.contains_key("ratelimit") && !h.contains_key("ratelimit-policy"));
}

#[tokio::test]
async fn custom_header_and_default_scopes() {
    let keys = keys();
    let k = keys.manager().create(NewKey::new("any")).await.unwrap();
    let t = k.token.expose();
    let layer = ApiKeyLayer::new(
        keys.verifier().clone(),
        MethodScopes::new().default_scopes([] as [&str; 0]).unwrap(),
    )
    .credentials(CredentialConfig::default().header("x-token").bearer(false))
    .unwrap();
    assert_eq!(
        call(&layer, req("/t.S/Any", &[("x-token", t)])).await.0,
        None
    );
    assert_eq!(
        call(&layer, req("/t.S/Any", &[("x-api-key", t)])).await.0,
        Some(Code::Unauthenticated)
    );
    assert!(
        ApiKeyLayer::new(keys.verifier().clone(), MethodScopes::new())
            .credentials(CredentialConfig::default().header("x-token-bin"))
            .is_err()
    );
}
