//! Request checks on the gRPC layer: head-only (method path and metadata, never a body), after the
//! key verified, skipped on public methods. Every call is made twice: the first verification
//! misses the cache (the layer's pending path), the second hits it (the on-the-spot path).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
use apikey_core::{ApiKeys, NewKey, Peppers, Verified};
use apikey_memory::MemoryStore;
use apikey_tonic::{ApiKeyLayer, MethodScopes};
use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};
use tonic::Code;
use tower::{ServiceExt, service_fn};
use tower_layer::Layer;

/// What a check was given: the path, the `x-trace` metadata and the body.
type Seen = (String, Option<String>, Option<Bytes>);

/// Wants `Body` on `/t.S/Write` (to show gRPC hands it none) and refuses there; skips the rest.
#[derive(Default)]
struct WriteGate {
    wants: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

/// The check the layer owns; the test keeps the other handle to read what it saw.
struct Gate(Arc<WriteGate>);

#[async_trait]
impl RequestCheck for Gate {
    fn wants(&self, _: &Verified, head: &RequestHead<'_>) -> Wants {
        self.0.wants.fetch_add(1, Ordering::SeqCst);
        if head.path() == "/t.S/Write" {
            Wants::Body
        } else {
            Wants::Skip
        }
    }

    async fn check(
        &self,
        _: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        let trace = head
            .header("x-trace")
            .map(|v| String::from_utf8_lossy(v).into_owned());
        self.0
            .seen
            .lock()
            .unwrap()
            .push((head.path().to_owned(), trace, body.cloned()));
        Err(CheckRejection::forbidden("Writes need a signature.")
            .with_code("signature_required")
            .with_retry_after(Duration::from_secs(1)))
    }
}

fn keys() -> ApiKeys {
    let peppers = Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap();
    ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(peppers)
        .build()
        .unwrap()
}

fn methods() -> MethodScopes {
    MethodScopes::new()
        .method("/t.S/Read", ["t:read"])
        .unwrap()
        .method("/t.S/Write", ["t:read"])
        .unwrap()
        .public("/t.S/Ping")
        .unwrap()
}

fn req(path: &str, token: Option<&str>) -> Request<String> {
    let mut r = Request::builder()
        .method("POST")
        .uri(path)
        .header("x-trace", "t-9");
    if let Some(t) = token {
        r = r.header("x-api-key", t);
    }
    let mut r = r.body("a message".to_owned()).unwrap();
    r.extensions_mut()
        .insert("127.0.0.1:4000".parse::<SocketAddr>().unwrap());
    r
}

/// Calls the layer over an inner service counting its calls; the gRPC status, if any.
async fn call(layer: &ApiKeyLayer, handled: &Arc<AtomicUsize>, r: Request<String>) -> Option<Code> {
    let handled = Arc::clone(handled);
    let svc = layer.layer(service_fn(move |_: Request<String>| {
        handled.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(String::new())) }
    }));
    let res = svc.oneshot(r).await.unwrap();
    let code = res
        .headers()
        .get("grpc-status")
        .map(|v| Code::from_bytes(v.as_bytes()));
    if let Some(code) = code {
        let message = res.headers()["grpc-message"].to_str().unwrap();
        assert_eq!(code, Code::PermissionDenied, "{message}");
        assert!(message.starts_with("signature_required"), "{message}");
        assert_eq!(res.headers()["retry-after"], "1");
    }
    code
}

#[tokio::test]
async fn a_head_only_check_refuses_after_the_key_verified_and_never_sees_a_body() {
    let keys = keys();
    let t = keys
        .manager()
        .create(NewKey::new("app").scopes(["t:read"]).unwrap())
        .await
        .unwrap()
        .token;
    let t = t.expose();
    let gate = Arc::new(WriteGate::default());
    let layer =
        ApiKeyLayer::new(keys.verifier().clone(), methods()).with_check(Gate(Arc::clone(&gate)));
    let handled = Arc::new(AtomicUsize::new(0));

    for _ in 0..2 {
        assert_eq!(
            call(&layer, &handled, req("/t.S/Write", Some(t))).await,
            Some(Code::PermissionDenied)
        );
    }
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    // Head only: the metadata, never the message, even though the check asked for the body.
    assert_eq!(
        *gate.seen.lock().unwrap(),
        vec![("/t.S/Write".to_owned(), Some("t-9".to_owned()), None); 2]
    );

    // Skipped on another method, not consulted on a public one or for a key that did not verify.
    for _ in 0..2 {
        assert_eq!(
            call(&layer, &handled, req("/t.S/Read", Some(t))).await,
            None
        );
    }
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    let wants = gate.wants.load(Ordering::SeqCst);
    assert_eq!(wants, 4);
    assert_eq!(call(&layer, &handled, req("/t.S/Ping", None)).await, None);
    let res = layer
        .layer(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }))
        .oneshot(req("/t.S/Write", Some("garbage")))
        .await
        .unwrap();
    assert_eq!(res.headers()["grpc-status"], "16"); // UNAUTHENTICATED
    assert_eq!(gate.wants.load(Ordering::SeqCst), wants);
    assert_eq!(gate.seen.lock().unwrap().len(), 2);
}
