//! Request checks over real HTTP against an axum server: refusals, the buffered body, the cap,
//! skipping, ordering, and that checks only ever see verified keys. Every request is sent twice:
//! the first verification misses the cache (the layer's pending path), the second hits it (the
//! on-the-spot path), and both must apply the checks.

use apikey_core::Change;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
use apikey_core::{ApiKeys, NewKey};
use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a check saw.
#[derive(Debug, Default)]
struct Seen {
    wants: AtomicUsize,
    checks: AtomicUsize,
    bodies: Mutex<Vec<Option<Bytes>>>,
    heads: Mutex<Vec<String>>,
}

/// A check that wants `wants` (or skips keys without `only_tag`), records what it is given and
/// answers `answer`.
struct Probe {
    wants: Wants,
    only_tag: Option<&'static str>,
    answer: Option<CheckRejection>,
    seen: Arc<Seen>,
}

impl Probe {
    fn new(wants: Wants, answer: Option<CheckRejection>) -> (Self, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        let probe = Self {
            wants,
            only_tag: None,
            answer,
            seen: Arc::clone(&seen),
        };
        (probe, seen)
    }
}

#[async_trait]
impl RequestCheck for Probe {
    fn wants(&self, key: &apikey_core::Verified, _: &RequestHead<'_>) -> Wants {
        self.seen.wants.fetch_add(1, Ordering::SeqCst);
        match self.only_tag {
            Some(tag) if !key.record().tags.iter().any(|t| t == tag) => Wants::Skip,
            _ => self.wants,
        }
    }

    async fn check(
        &self,
        key: &apikey_core::Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        self.seen.checks.fetch_add(1, Ordering::SeqCst);
        self.seen.bodies.lock().unwrap().push(body.cloned());
        let header = head
            .header("x-trace")
            .map(|v| String::from_utf8_lossy(v).into_owned());
        self.seen.heads.lock().unwrap().push(format!(
            "{} {} {:?} {:?} {}",
            head.method(),
            head.path(),
            head.query(),
            header,
            key.record().name
        ));
        self.answer.clone().map_or(Ok(()), Err)
    }
}

struct Server {
    addr: SocketAddr,
    handled: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// The handler echoes the body it received, after checking the verified key is attached.
async fn echo(State(handled): State<Arc<AtomicUsize>>, key: Verified, body: Bytes) -> Bytes {
    handled.fetch_add(1, Ordering::SeqCst);
    assert!(!key.record().name.is_empty());
    body
}

async fn start(
    router: impl FnOnce(Router<Arc<AtomicUsize>>) -> Router<Arc<AtomicUsize>>,
) -> Server {
    let handled = Arc::new(AtomicUsize::new(0));
    let app = router(Router::new().route("/echo", post(echo))).with_state(Arc::clone(&handled));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, svc).await.unwrap();
    });
    Server {
        addr,
        handled,
        task,
    }
}

async fn serve(layer: ApiKeyLayer) -> Server {
    start(|r| r.layer(layer)).await
}

fn keys() -> ApiKeys {
    ApiKeys::builder(Arc::new(apikey_memory::MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap()
}

async fn token(keys: &ApiKeys, key: NewKey) -> String {
    let created = keys.manager().create(key).await.unwrap();
    created.token.expose().to_owned()
}

struct Answer {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn send(server: &Server, token: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(server.url("/echo?page=2"))
        .header("x-trace", "t-1")
        .body(body);
    if let Some(t) = token {
        req = req.header("x-api-key", t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.bytes().await.unwrap().to_vec();
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

/// A chunked upload (no `Content-Length`) over a raw connection; returns the status.
async fn send_chunked(server: &Server, token: &str, chunks: &[&[u8]]) -> u16 {
    let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nhost: {}\r\nx-api-key: {token}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        server.addr
    )
    .into_bytes();
    for chunk in chunks {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    conn.write_all(&req).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
    let line = String::from_utf8_lossy(&answer);
    line.split(' ').nth(1).unwrap_or("0").parse().unwrap()
}

#[tokio::test]
async fn a_head_check_refusal_is_a_problem_and_the_handler_is_not_called() {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let rejection = CheckRejection::forbidden("Canary key used.")
        .with_type("https://example.com/problems/canary")
        .with_code("canary_key");
    let (probe, seen) = Probe::new(Wants::Head, Some(rejection));
    let server = serve(ApiKeyLayer::new(keys.verifier().clone()).with_check(probe)).await;

    for _ in 0..2 {
        let a = send(&server, Some(&t), b"hello".to_vec()).await;
        assert_eq!(a.status, 403);
        assert_eq!(a.content_type, "application/problem+json");
        let v = a.json();
        assert_eq!(v["type"], "https://example.com/problems/canary");
        assert_eq!(v["title"], "Forbidden");
        assert_eq!(v["status"], 403);
        assert_eq!(v["detail"], "Canary key used.");
        assert_eq!(v["code"], "canary_key");
    }
    assert_eq!(server.handled(), 0);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 2);
    // A head check is given the request's head and no body.
    assert_eq!(
        *seen.heads.lock().unwrap(),
        vec![r#"POST /echo Some("page=2") Some("t-1") app"#.to_owned(); 2]
    );
    assert_eq!(*seen.bodies.lock().unwrap(), [None, None]);
}

#[tokio::test]
async fn a_401_from_a_check_carries_the_challenge_and_retry_information_is_kept() {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (bad_sig, _) = Probe::new(
        Wants::Head,
        Some(CheckRejection::unauthorized(
            "The request signature does not verify.",
        )),
    );
    let server = serve(ApiKeyLayer::new(keys.verifier().clone()).with_check(bad_sig)).await;
    let a = send(&server, Some(&t), Vec::new()).await;
    assert_eq!(a.status, 401);
    assert!(
        a.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("ApiKey")
    );
    assert_eq!(a.json()["detail"], "The request signature does not verify.");

    let (credits, _) = Probe::new(
        Wants::Head,
        Some(
            CheckRejection::too_many_requests("Credits spent.")
                .with_retry_after(Duration::from_secs(30)),
        ),
    );
    let server = serve(ApiKeyLayer::new(keys.verifier().clone()).with_check(credits)).await;
    let a = send(&server, Some(&t), Vec::new()).await;
    assert_eq!(
        (a.status, a.headers["retry-after"].to_str().unwrap()),
        (429, "30")
    );
    assert_eq!(server.handled(), 0);
}

#[tokio::test]
async fn a_body_check_sees_the_exact_body_and_the_handler_gets_the_same_bytes() {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (probe, seen) = Probe::new(Wants::Body, None);
    let server = serve(ApiKeyLayer::new(keys.verifier().clone()).with_check(probe)).await;
    // Not UTF-8, and longer than one read.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();

    for _ in 0..2 {
        let a = send(&server, Some(&t), body.clone()).await;
        assert_eq!(a.status, 200);
        assert!(a.body == body, "the handler got other bytes");
    }
    assert_eq!(server.handled(), 2);
    {
        let bodies = seen.bodies.lock().unwrap();
        assert_eq!(bodies.len(), 2);
        for b in bodies.iter() {
            assert!(b.as_deref() == Some(&body[..]), "the check got other bytes");
        }
    }

    // Chunked, without a length: collected across chunks.
    assert_eq!(send_chunked(&server, &t, &[b"ab", b"cd", b"ef"]).await, 200);
    assert_eq!(
        seen.bodies.lock().unwrap().last().unwrap().as_deref(),
        Some(&b"abcdef"[..])
    );
    assert_eq!(server.handled(), 3);
}

#[tokio::test]
async fn a_body_over_the_cap_is_413_and_the_handler_is_not_called() {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (probe, seen) = Probe::new(Wants::Body, None);
    let layer = ApiKeyLayer::new(keys.verifier().clone())
        .with_check(probe)
        .max_check_body(1024);
    let server = serve(layer).await;

    for _ in 0..2 {
        let a = send(&server, Some(&t), vec![b'x'; 1025]).await;
        assert_eq!(a.status, 413);
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(a.json()["code"], "body_too_large");
    }
    // Without a declared length the cap is found while reading.
    let chunk = [b'y'; 600];
    assert_eq!(send_chunked(&server, &t, &[&chunk, &chunk]).await, 413);
    assert_eq!(server.handled(), 0);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 0);

    // Exactly the cap is fine.
    let a = send(&server, Some(&t), vec![b'x'; 1024]).await;
    assert_eq!((a.status, a.body.len()), (200, 1024));
    assert_eq!(server.handled(), 1);
}

#[tokio::test]
async fn a_skipped_check_is_never_called_and_nothing_is_buffered() {
    let keys = keys();
    let plain = token(&keys, NewKey::new("plain")).await;
    let signed = token(&keys, NewKey::new("signed").tags(["signed"])).await;
    let seen = Arc::new(Seen::default());
    let probe = Probe {
        wants: Wants::Body,
        only_tag: Some("signed"),
        answer: None,
        seen: Arc::clone(&seen),
    };
    let layer = ApiKeyLayer::new(keys.verifier().clone())
        .with_check(probe)
        .max_check_body(16);
    let server = serve(layer).await;

    // Over the cap, yet answered by the handler: the body of a skipping key is not buffered.
    let body = vec![b'z'; 4096];
    for _ in 0..2 {
        let a = send(&server, Some(&plain), body.clone()).await;
        assert_eq!(a.status, 200);
        assert!(a.body == body);
    }
    assert_eq!(seen.wants.load(Ordering::SeqCst), 2);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled(), 2);

    // The key the rule is on: checked, and the same body is over the cap.
    let a = send(&server, Some(&signed), b"small".to_vec()).await;
    assert_eq!(a.status, 200);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 1);
    assert_eq!(send(&server, Some(&signed), body).await.status, 413);
}

#[tokio::test]
async fn checks_run_only_after_the_key_verified() {
    let keys = keys();
    let (probe, seen) = Probe::new(Wants::Body, None);
    let server = serve(ApiKeyLayer::new(keys.verifier().clone()).with_check(probe)).await;
    let unknown = "sk_live_000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for token in [None, Some("garbage"), Some(unknown)] {
        let a = send(&server, token, b"x".to_vec()).await;
        assert_eq!(a.status, 401, "{token:?}");
        assert_eq!(a.body, apikey_core::http::UNAUTHORIZED_BODY.as_bytes());
    }
    let revoked = keys.manager().create(NewKey::new("gone")).await.unwrap();
    keys.manager()
        .revoke(
            &apikey_core::TenantScope::All,
            revoked.record.id,
            Change::new(),
        )
        .await
        .unwrap();
    let a = send(&server, Some(revoked.token.expose()), b"x".to_vec()).await;
    assert_eq!(a.status, 401);
    assert_eq!(seen.wants.load(Ordering::SeqCst), 0);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled(), 0);

    // The same check does run for a key that verifies, on both paths.
    let t = token(&keys, NewKey::new("app")).await;
    for _ in 0..2 {
        assert_eq!(send(&server, Some(&t), b"x".to_vec()).await.status, 200);
    }
    assert_eq!(seen.checks.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn checks_run_in_order_and_the_first_refusal_wins() {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (first, first_seen) = Probe::new(Wants::Head, None);
    let (second, _) = Probe::new(
        Wants::Head,
        Some(CheckRejection::payment_required("No credits left.")),
    );
    let (third, third_seen) = Probe::new(Wants::Head, Some(CheckRejection::forbidden("no")));
    let layer = ApiKeyLayer::new(keys.verifier().clone())
        .with_check(first)
        .with_check(second)
        .with_check(third);
    let server = serve(layer).await;
    for _ in 0..2 {
        let a = send(&server, Some(&t), Vec::new()).await;
        assert_eq!(a.status, 402);
        assert_eq!(a.json()["title"], "Payment Required");
    }
    assert_eq!(first_seen.checks.load(Ordering::SeqCst), 2);
    assert_eq!(third_seen.checks.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled(), 0);
}

#[tokio::test]
async fn an_inner_layer_checks_a_key_the_outer_layer_verified() {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (probe, seen) = Probe::new(Wants::Body, Some(CheckRejection::forbidden("inner")));
    let inner = ApiKeyLayer::new(keys.verifier().clone()).with_check(probe);
    let outer = ApiKeyLayer::new(keys.verifier().clone());
    let server = start(|r| r.route_layer(inner).layer(outer)).await;
    for _ in 0..2 {
        let a = send(&server, Some(&t), b"abc".to_vec()).await;
        assert_eq!(
            (a.status, a.json()["detail"].as_str()),
            (403, Some("inner"))
        );
    }
    assert_eq!(
        *seen.bodies.lock().unwrap(),
        [
            Some(Bytes::from_static(b"abc")),
            Some(Bytes::from_static(b"abc"))
        ]
    );
    assert_eq!(server.handled(), 0);
}
