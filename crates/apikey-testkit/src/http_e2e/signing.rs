//! Request signatures (RFC 9421) and canary keys through a real server: the cases every HTTP
//! integration runs with its own glue, started by the same [`StartChecked`] function as the
//! check cases, with [`ApiKeys::signature_check`] as the guard's check.
//!
//! Requests are signed by [`Signer`] (the client side `apikey-reqwest` wraps); interoperability
//! with an implementation we did not write is tested separately (`apikey-reqwest`'s tests).

use std::net::SocketAddr;
use std::sync::Arc;

use apikey_core::event::CollectingSink;
use apikey_core::http::{FieldList, RequestHead};
use apikey_core::signing::{MemoryNonces, Signer, SigningMode, SigningSecret};
use apikey_core::{ApiKeys, Keks, KeyEventKind, NewKey, SecretBox};
use apikey_memory::MemoryStore;

use super::checks::{EchoServer, Guard, StartChecked};

/// A key-encryption key for the tests' secret box (32 bytes, base64).
const KEK: &str = "k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn keys(events: Arc<CollectingSink>) -> ApiKeys {
    ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .secret_box(SecretBox::new(Keks::from_spec(KEK).expect("a valid KEK")))
        .events(events)
        .build()
        .expect("keys build")
}

fn start(keys: &ApiKeys, start: StartChecked<'_>) -> Box<dyn EchoServer> {
    let check = keys
        .signature_check(Arc::new(MemoryNonces::default()))
        .expect("a secret box is configured");
    start(keys, Guard::new().check(check))
}

/// One request to `POST /echo`, optionally with a token and a signature.
#[derive(Clone)]
struct Req {
    path: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn new(token: Option<&str>, body: &[u8]) -> Self {
        Self {
            path: "/echo?v=1".to_owned(),
            token: token.map(str::to_owned),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.to_vec(),
        }
    }

    /// Signs as `signer` would for `addr`, at the current time, with a fresh nonce.
    fn signed(mut self, addr: SocketAddr, signer: &Signer) -> Self {
        let fields = self
            .headers
            .iter()
            .fold(FieldList::new(), |f, (n, v)| f.with(n, v.as_bytes()))
            .with("host", addr.to_string());
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let head = RequestHead::new("POST", path, &fields).with_query(Some(query));
        let now = chrono::Utc::now().timestamp();
        let nonce = Signer::nonce().expect("a nonce");
        let out = signer.sign(&head, &self.body, now, &nonce).expect("signs");
        if let Some(d) = out.content_digest {
            self.headers.push(("content-digest".to_owned(), d));
        }
        self.headers
            .push(("signature-input".to_owned(), out.signature_input));
        self.headers.push(("signature".to_owned(), out.signature));
        self
    }

    async fn send(&self, addr: SocketAddr) -> (u16, Vec<u8>) {
        let mut req = reqwest::Client::new()
            .post(format!("http://{addr}{}", self.path))
            .body(self.body.clone());
        for (n, v) in &self.headers {
            req = req.header(n, v);
        }
        if let Some(t) = &self.token {
            req = req.header("x-api-key", t);
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status().as_u16();
        (status, res.bytes().await.expect("a body").to_vec())
    }
}

async fn signing_key(keys: &ApiKeys, mode: SigningMode) -> (String, Signer, String) {
    let created = keys
        .manager()
        .create(NewKey::new("signer").signing(mode))
        .await
        .expect("created");
    let secret = created.signing_secret.expect("a signing secret is issued");
    let text = secret.expose();
    let secret = SigningSecret::parse(&text).expect("the shown secret parses");
    let lookup = created.record.lookup_id.to_string();
    let signer = Signer::new(lookup.clone(), secret);
    (created.token.expose().to_owned(), signer, lookup)
}

/// A key that requires signatures: refused unsigned, accepted signed (twice: the cache-miss and
/// the cache-hit path), refused when replayed or when the method's target, query, a covered
/// header or the body changes after signing.
pub async fn required_signatures(start_server: StartChecked<'_>) {
    let keys = keys(Arc::default());
    let (token, signer, _) = signing_key(&keys, SigningMode::Required).await;
    let server = start(&keys, start_server);
    let addr = server.addr();
    let body = br#"{"qty":1}"#;

    assert_eq!(Req::new(Some(&token), body).send(addr).await.0, 401);
    for _ in 0..2 {
        let signed = Req::new(Some(&token), body).signed(addr, &signer);
        let (status, echoed) = signed.send(addr).await;
        assert_eq!(status, 200);
        assert_eq!(echoed, body);
        assert_eq!(
            signed.send(addr).await.0,
            401,
            "a replayed nonce is refused"
        );
    }
    let handled = server.handled();

    let signed = Req::new(Some(&token), body).signed(addr, &signer);
    let mut other_path = signed.clone();
    other_path.path = "/echo?v=2".to_owned();
    let mut other_body = signed.clone();
    other_body.body = br#"{"qty":9}"#.to_vec();
    let mut other_header = signed.clone();
    for (n, v) in &mut other_header.headers {
        if n == "content-digest" {
            *v = apikey_core::signing::content_digest(br#"{"qty":9}"#);
        }
    }
    for tampered in [other_path, other_body, other_header] {
        let (status, body) = tampered.send(addr).await;
        assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    }
    assert_eq!(
        server.handled(),
        handled,
        "no refused request reached the handler"
    );
    // The untouched one still passes: the refusals did not burn its nonce.
    assert_eq!(signed.send(addr).await.0, 200);
}

/// A key that signs instead of sending its token: accepted by signature alone; refused without
/// one, with a signature by another key's secret, and with its own secret under another key's
/// `keyid`.
pub async fn instead_of_token(start_server: StartChecked<'_>) {
    let keys = keys(Arc::default());
    let (_, signer, lookup) = signing_key(&keys, SigningMode::InsteadOfToken).await;
    let (_, required, _) = signing_key(&keys, SigningMode::Required).await;
    let server = start(&keys, start_server);
    let addr = server.addr();

    for _ in 0..2 {
        let (status, _) = Req::new(None, b"{}").signed(addr, &signer).send(addr).await;
        assert_eq!(status, 200);
    }
    assert_eq!(Req::new(None, b"{}").send(addr).await.0, 401);
    // A key in `required` mode still needs its token.
    assert_eq!(
        Req::new(None, b"{}")
            .signed(addr, &required)
            .send(addr)
            .await
            .0,
        401
    );
    // Our keyid, another key's secret.
    let forged = Signer::new(lookup, SigningSecret::generate().expect("random"));
    assert_eq!(
        Req::new(None, b"{}")
            .signed(addr, &forged)
            .send(addr)
            .await
            .0,
        401
    );
    assert_eq!(server.handled(), 2);
}

/// A key with optional signing works unsigned, and signed; a bad signature is refused.
pub async fn optional_signatures(start_server: StartChecked<'_>) {
    let keys = keys(Arc::default());
    let (token, signer, _) = signing_key(&keys, SigningMode::Optional).await;
    let server = start(&keys, start_server);
    let addr = server.addr();
    assert_eq!(Req::new(Some(&token), b"{}").send(addr).await.0, 200);
    let signed = Req::new(Some(&token), b"{}").signed(addr, &signer);
    assert_eq!(signed.send(addr).await.0, 200);
    let mut bad = signed;
    bad.body = b"{ }".to_vec();
    assert_eq!(bad.send(addr).await.0, 401);
}

/// A canary's full token is answered byte for byte as an unknown key's, and reported once per
/// incident with the client's address and user agent; a guessed secret under its public lookup
/// id reports nothing.
pub async fn canary_keys(start_server: StartChecked<'_>) {
    let events = Arc::new(CollectingSink::default());
    let keys = keys(Arc::clone(&events));
    let canary = keys
        .manager()
        .create(NewKey::new("planted").canary())
        .await
        .expect("created");
    // A well-formed token whose lookup id this deployment has never seen.
    let elsewhere = keys_elsewhere().await;
    let server = start(&keys, start_server);
    let addr = server.addr();

    let token = canary.token.expose().to_owned();
    let scanner = |t: &str| {
        let mut r = Req::new(Some(t), b"{}");
        r.headers
            .push(("user-agent".to_owned(), "scanner/1.0".to_owned()));
        r
    };
    let tripped = scanner(&token).send(addr).await;
    let unknown = scanner(&elsewhere).send(addr).await;
    assert_eq!(tripped.0, 401);
    assert_eq!(
        tripped, unknown,
        "a canary answers exactly as an unknown key"
    );
    // Again (now from the cache): the same answer, no second report.
    assert_eq!(scanner(&token).send(addr).await, unknown);
    assert_eq!(server.handled(), 0);

    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let trips: Vec<_> = events
        .events()
        .into_iter()
        .filter(|e| matches!(e.kind, KeyEventKind::CanaryTripped { .. }))
        .collect();
    assert_eq!(trips.len(), 1, "one report per incident: {trips:?}");
    assert_eq!(trips[0].key_id, Some(canary.record.id));
    let KeyEventKind::CanaryTripped {
        client_ip,
        user_agent,
        ..
    } = &trips[0].kind
    else {
        unreachable!()
    };
    assert_eq!(*client_ip, Some(std::net::Ipv4Addr::LOCALHOST.into()));
    assert_eq!(user_agent.as_deref(), Some("scanner/1.0"));
}

async fn keys_elsewhere() -> String {
    let other = keys(Arc::default());
    let created = other
        .manager()
        .create(NewKey::new("elsewhere"))
        .await
        .expect("created");
    created.token.expose().to_owned()
}

/// A guard without a `SignatureCheck` cannot check signatures, so it refuses keys that require
/// them (fail closed) and serves keys whose signing is optional.
pub async fn unchecked_guard_fails_closed(start_server: StartChecked<'_>) {
    let keys = keys(Arc::default());
    let (required, _, _) = signing_key(&keys, SigningMode::Required).await;
    let (optional, _, _) = signing_key(&keys, SigningMode::Optional).await;
    let server = start_server(&keys, Guard::new());
    let addr = server.addr();
    for _ in 0..2 {
        assert_eq!(Req::new(Some(&required), b"{}").send(addr).await.0, 401);
        assert_eq!(Req::new(Some(&optional), b"{}").send(addr).await.0, 200);
    }
    assert_eq!(server.handled(), 2);
}
