//! The request log through the tonic layer (over an in-process tower service, as the other layer
//! tests): the method path is the route, refusals carry their HTTP-equivalent status and kind, an
//! error answered in the head is logged with its `grpc-status`'s meaning.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::request_log::{RequestFilter, RequestLogMode, RequestLogStore};
use apikey_core::{ApiKeys, NewKey, TenantScope};
use apikey_memory::MemoryStore;
use apikey_tonic::{ApiKeyLayer, MethodScopes};
use http::{Request, Response};
use tower::{ServiceExt, service_fn};
use tower_layer::Layer;

fn req(path: &str, token: Option<&str>) -> Request<()> {
    let mut r = Request::builder()
        .method("POST")
        .uri(path)
        .header("x-request-id", "grpc-1")
        .header("user-agent", "grpc-rust/0.1");
    if let Some(t) = token {
        r = r.header("x-api-key", t);
    }
    let mut r = r.body(()).unwrap();
    r.extensions_mut()
        .insert("127.0.0.1:4000".parse::<SocketAddr>().unwrap());
    r
}

#[tokio::test]
async fn calls_through_the_tonic_layer_are_logged() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder(store.clone())
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let log = apikey_testkit::requests::spawn_test_log(store.clone(), RequestLogMode::Full);
    let methods = MethodScopes::new()
        .method("/t.S/Read", ["t:read"])
        .unwrap()
        .method("/t.S/Fail", ["t:read"])
        .unwrap();
    let layer = ApiKeyLayer::new(keys.verifier().clone(), methods).request_log(log.clone());
    let svc = layer.layer(service_fn(|req: Request<()>| async move {
        let mut res = Response::new(String::new());
        if req.uri().path() == "/t.S/Fail" {
            res.headers_mut()
                .insert("grpc-status", http::HeaderValue::from_static("14"));
        }
        Ok::<_, Infallible>(res)
    }));
    let k = keys
        .manager()
        .create(NewKey::new("reader").scopes(["t:read"]).unwrap())
        .await
        .unwrap();
    let t = k.token.expose();
    svc.clone()
        .oneshot(req("/t.S/Read", Some(t)))
        .await
        .unwrap();
    svc.clone()
        .oneshot(req("/t.S/Fail", Some(t)))
        .await
        .unwrap();
    svc.clone().oneshot(req("/t.S/Read", None)).await.unwrap();
    log.shutdown(Duration::from_secs(5)).await;

    let mut got = store
        .requests(&TenantScope::All, &RequestFilter::default())
        .await
        .unwrap();
    got.reverse();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0].route.as_deref(), Some("/t.S/Read"));
    assert_eq!((got[0].status, got[0].outcome.as_str()), (200, "admitted"));
    assert_eq!(got[0].key_id, Some(k.record.id));
    assert_eq!(got[0].request_id, "grpc-1");
    assert_eq!(got[0].client_ip, Some("127.0.0.1".parse().unwrap()));
    assert_eq!((got[1].status, got[1].outcome.as_str()), (503, "admitted"));
    assert_eq!((got[2].status, got[2].outcome.as_str()), (401, "missing"));
}
