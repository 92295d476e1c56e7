//! Request checks (`RequestCheck`) through a real server: the cases every HTTP integration runs
//! against its own glue (feature `http-e2e`), so axum and actix-web prove the same behaviour with
//! one copy of the cases.
//!
//! The integration's test provides a [`StartChecked`] function: serve `POST /echo`, whose handler
//! extracts the verified key, counts the call and answers the body it read, behind the
//! integration's guard built from the [`Guard`] given (its checks in order, its body cap, and with
//! [`Guard::nested`] an outer guard without checks around an inner one with them). Each case
//! sends every request twice, so the cache-miss and the cache-hit paths both run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
use apikey_core::{ApiKeys, Change, NewKey, Verified};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Server;

/// A server for the check cases; dropping it stops it.
pub trait EchoServer: Server {
    /// How many requests reached the handler.
    fn handled(&self) -> usize;
}

/// Serves `POST /echo` behind the integration's guard, built as `guard` says.
pub type StartChecked<'a> = &'a dyn Fn(&ApiKeys, Guard) -> Box<dyn EchoServer>;

/// How a case wants the guard built.
#[derive(Debug, Default)]
pub struct Guard {
    /// The checks, in the order to add them.
    pub checks: Vec<SharedCheck>,
    /// The body cap to set, if not the default.
    pub max_body: Option<usize>,
    /// An outer guard without checks around the one with them.
    pub nested: bool,
}

impl Guard {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn check(mut self, c: impl RequestCheck) -> Self {
        self.checks.push(SharedCheck(Arc::new(c)));
        self
    }

    fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    fn nested(mut self) -> Self {
        self.nested = true;
        self
    }
}

/// A check the case keeps a handle on, passed to the guard's `with_check` as is.
#[derive(Clone)]
pub struct SharedCheck(Arc<dyn RequestCheck>);

impl std::fmt::Debug for SharedCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedCheck").field(&self.0.name()).finish()
    }
}

#[async_trait]
impl RequestCheck for SharedCheck {
    fn wants(&self, key: &Verified, head: &RequestHead<'_>) -> Wants {
        self.0.wants(key, head)
    }

    async fn check(
        &self,
        key: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        self.0.check(key, head, body).await
    }

    fn authenticates_signed(&self) -> bool {
        self.0.authenticates_signed()
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }
}

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
    fn wants(&self, key: &Verified, _: &RequestHead<'_>) -> Wants {
        self.seen.wants.fetch_add(1, Ordering::SeqCst);
        match self.only_tag {
            Some(tag) if !key.record().tags.iter().any(|t| t == tag) => Wants::Skip,
            _ => self.wants,
        }
    }

    async fn check(
        &self,
        key: &Verified,
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

async fn send(server: &dyn EchoServer, token: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("http://{}/echo?page=2", server.addr()))
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
async fn send_chunked(server: &dyn EchoServer, token: &str, chunks: &[&[u8]]) -> u16 {
    let addr = server.addr();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {token}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
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

/// A head check's refusal is a problem+json answer and the handler is not called; the check is given the head (method, path, query, headers) and no body.
pub async fn head_refusal(start: StartChecked<'_>) {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let rejection = CheckRejection::forbidden("Canary key used.")
        .with_type("https://example.com/problems/canary")
        .with_code("canary_key");
    let (probe, seen) = Probe::new(Wants::Head, Some(rejection));
    let server = start(&keys, Guard::new().check(probe));

    for _ in 0..2 {
        let a = send(&*server, Some(&t), b"hello".to_vec()).await;
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

/// A 401 from a check carries the guard's challenge; a 429 keeps its `Retry-After`.
pub async fn unauthorized_and_retry(start: StartChecked<'_>) {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (bad_sig, _) = Probe::new(
        Wants::Head,
        Some(CheckRejection::unauthorized(
            "The request signature does not verify.",
        )),
    );
    let server = start(&keys, Guard::new().check(bad_sig));
    let a = send(&*server, Some(&t), Vec::new()).await;
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
    let server = start(&keys, Guard::new().check(credits));
    let a = send(&*server, Some(&t), Vec::new()).await;
    assert_eq!(
        (a.status, a.headers["retry-after"].to_str().unwrap()),
        (429, "30")
    );
    assert_eq!(server.handled(), 0);
}

/// A body check sees the exact body (not UTF-8, longer than one read, and chunked) and the handler gets the same bytes.
pub async fn body_is_exact(start: StartChecked<'_>) {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (probe, seen) = Probe::new(Wants::Body, None);
    let server = start(&keys, Guard::new().check(probe));
    // Not UTF-8, and longer than one read.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();

    for _ in 0..2 {
        let a = send(&*server, Some(&t), body.clone()).await;
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
    assert_eq!(
        send_chunked(&*server, &t, &[b"ab", b"cd", b"ef"]).await,
        200
    );
    assert_eq!(
        seen.bodies.lock().unwrap().last().unwrap().as_deref(),
        Some(&b"abcdef"[..])
    );
    assert_eq!(server.handled(), 3);
}

/// A body over the cap is 413 (declared or found while reading) and neither check nor handler runs; exactly the cap passes.
pub async fn body_over_the_cap(start: StartChecked<'_>) {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (probe, seen) = Probe::new(Wants::Body, None);
    let server = start(&keys, Guard::new().check(probe).max_body(1024));

    for _ in 0..2 {
        let a = send(&*server, Some(&t), vec![b'x'; 1025]).await;
        assert_eq!(a.status, 413);
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(a.json()["code"], "body_too_large");
    }
    // Without a declared length the cap is found while reading.
    let chunk = [b'y'; 600];
    assert_eq!(send_chunked(&*server, &t, &[&chunk, &chunk]).await, 413);
    assert_eq!(server.handled(), 0);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 0);

    // Exactly the cap is fine.
    let a = send(&*server, Some(&t), vec![b'x'; 1024]).await;
    assert_eq!((a.status, a.body.len()), (200, 1024));
    assert_eq!(server.handled(), 1);
}

/// A check that skips a key is never called and its body is not buffered (an over-cap body still reaches the handler).
pub async fn skipped_check(start: StartChecked<'_>) {
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
    let server = start(&keys, Guard::new().check(probe).max_body(16));

    // Over the cap, yet answered by the handler: the body of a skipping key is not buffered.
    let body = vec![b'z'; 4096];
    for _ in 0..2 {
        let a = send(&*server, Some(&plain), body.clone()).await;
        assert_eq!(a.status, 200);
        assert!(a.body == body);
    }
    assert_eq!(seen.wants.load(Ordering::SeqCst), 2);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled(), 2);

    // The key the rule is on: checked, and the same body is over the cap.
    let a = send(&*server, Some(&signed), b"small".to_vec()).await;
    assert_eq!(a.status, 200);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 1);
    assert_eq!(send(&*server, Some(&signed), body).await.status, 413);
}

/// Checks run only after the key verified: missing, malformed, unknown and revoked keys are the uniform 401 without a call.
pub async fn only_after_verification(start: StartChecked<'_>) {
    let keys = keys();
    let (probe, seen) = Probe::new(Wants::Body, None);
    let server = start(&keys, Guard::new().check(probe));
    let unknown = "sk_live_000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for token in [None, Some("garbage"), Some(unknown)] {
        let a = send(&*server, token, b"x".to_vec()).await;
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
    let a = send(&*server, Some(revoked.token.expose()), b"x".to_vec()).await;
    assert_eq!(a.status, 401);
    assert_eq!(seen.wants.load(Ordering::SeqCst), 0);
    assert_eq!(seen.checks.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled(), 0);

    // The same check does run for a key that verifies, on both paths.
    let t = token(&keys, NewKey::new("app")).await;
    for _ in 0..2 {
        assert_eq!(send(&*server, Some(&t), b"x".to_vec()).await.status, 200);
    }
    assert_eq!(seen.checks.load(Ordering::SeqCst), 2);
}

/// Checks run in order and the first refusal answers.
pub async fn first_refusal_wins(start: StartChecked<'_>) {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (first, first_seen) = Probe::new(Wants::Head, None);
    let (second, _) = Probe::new(
        Wants::Head,
        Some(CheckRejection::payment_required("No credits left.")),
    );
    let (third, third_seen) = Probe::new(Wants::Head, Some(CheckRejection::forbidden("no")));
    let server = start(&keys, Guard::new().check(first).check(second).check(third));
    for _ in 0..2 {
        let a = send(&*server, Some(&t), Vec::new()).await;
        assert_eq!(a.status, 402);
        assert_eq!(a.json()["title"], "Payment Required");
    }
    assert_eq!(first_seen.checks.load(Ordering::SeqCst), 2);
    assert_eq!(third_seen.checks.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled(), 0);
}

/// An inner guard's checks run for a key an outer guard already verified.
pub async fn inner_guard_checks_outer_key(start: StartChecked<'_>) {
    let keys = keys();
    let t = token(&keys, NewKey::new("app")).await;
    let (probe, seen) = Probe::new(Wants::Body, Some(CheckRejection::forbidden("inner")));
    let server = start(&keys, Guard::new().check(probe).nested());
    for _ in 0..2 {
        let a = send(&*server, Some(&t), b"abc".to_vec()).await;
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
