//! The GitHub secret-scanning receiver, against alerts signed by OpenSSL (an implementation we did
//! not write) the way GitHub signs them: ECDSA P-256 with SHA-256 over the raw body, base64 DER.
//! Only a real key's whole token is revoked; a forged one, an unsigned or mis-signed alert,
//! revokes nothing.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apikey_core::{AuditFilter, AuditStore, EventType, KeyState, NewKey, TenantScope};
use apikey_server::GithubKeys;
use common::github::{KEY_ID, document, key_pair, sign};
use common::{Service, start_with};
use serde_json::{Value, json};

struct Fixture {
    dir: tempfile::TempDir,
    private: PathBuf,
    s: Service,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(dir.path(), "github");
    let file = dir.path().join("keys.json");
    std::fs::write(&file, document(&public)).unwrap();
    let keys = GithubKeys::from_file(&file).unwrap();
    let s = start_with(|svc| svc.github_keys(keys)).await;
    Fixture { dir, private, s }
}

async fn alert(s: &Service, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{}/v1/leaks/github", s.addr))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn signed(f: &Fixture, body: &str) -> (u16, Value) {
    let sig = sign(f.dir.path(), &f.private, body);
    alert(
        &f.s,
        &[
            ("Github-Public-Key-Identifier", KEY_ID),
            ("Github-Public-Key-Signature", &sig),
        ],
        body,
    )
    .await
}

/// `real` with its secret changed and the checksum made valid again: built from what is public.
fn forged(real: &str) -> String {
    // The default format: `sk_live_`, the 12-character lookup id, the secret, the checksum.
    let lookup_end = "sk_live_".len() + apikey_core::ids::LOOKUP_ID_LEN;
    let secret_end = real.len() - apikey_core::token::CHECKSUM_LEN;
    let secret: String = real[lookup_end..secret_end]
        .chars()
        .map(|c| if c == 'z' { 'y' } else { 'z' })
        .collect();
    let signed = format!("{}{secret}", &real[..lookup_end]);
    let sum = apikey_core::token::checksum(signed.as_bytes());
    format!("{signed}{}", std::str::from_utf8(&sum).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_alert_revokes_real_tokens_and_labels_forged_ones_false() {
    let f = fixture().await;
    let m = f.s.keys.manager();
    let real = m.create(NewKey::new("leaky")).await.unwrap();
    let bystander = m.create(NewKey::new("bystander")).await.unwrap();
    let forgery = forged(bystander.token.expose());
    let format = f.s.keys.verifier().token_format();
    assert_eq!(format.prefix(), "sk_live_");
    let lookup = |t: &str| match format.parse(t) {
        Some(apikey_core::token::ParsedToken::Current(c)) => c.lookup,
        other => panic!("not a current token: {other:?}"),
    };
    assert_eq!(
        lookup(&forgery),
        lookup(bystander.token.expose()),
        "a well-formed forgery naming the bystander's public lookup id"
    );
    let url = "https://github.com/acme/app/blob/abc/.env";
    let body = json!([
        {"token": real.token.expose(), "type": "apikey_token", "url": url, "source": "content"},
        {"token": forgery, "type": "apikey_token", "url": url, "source": "content"},
        {"token": "sk_live_not_a_token", "type": "apikey_token", "url": url, "source": "content"},
    ])
    .to_string();
    let (status, v) = signed(&f, &body).await;
    assert_eq!(status, 200, "{v}");
    let labels: Vec<(&str, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["token_raw"].as_str().unwrap(),
                l["label"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            (real.token.expose(), "true_positive"),
            (forgery.as_str(), "false_positive"),
            ("sk_live_not_a_token", "false_positive"),
        ]
    );
    assert_eq!(v[0]["token_type"], "apikey_token");

    let revoked = m.get(&TenantScope::All, real.record.id).await.unwrap();
    assert_eq!(revoked.state, KeyState::Revoked);
    assert_eq!(
        revoked.state_reason.as_deref(),
        Some(&*format!("leaked: {url}"))
    );
    let last =
        f.s.store
            .query(&TenantScope::All, &AuditFilter::key(real.record.id))
            .await
            .unwrap()
            .pop()
            .unwrap();
    assert_eq!(last.event_type, EventType::Leaked);
    let untouched = m.get(&TenantScope::All, bystander.record.id).await.unwrap();
    assert_eq!((untouched.state, untouched.version), (KeyState::Active, 1));

    // GitHub retries: the same alert again is answered the same and changes nothing.
    let (status, again) = signed(&f, &body).await;
    assert_eq!((status, &again), (200, &v));
    let after = m.get(&TenantScope::All, real.record.id).await.unwrap();
    assert_eq!(after.version, revoked.version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_admin_key_stops_opening_the_service_at_once() {
    let f = fixture().await;
    let (status, _) = f.s.call("GET", "/v1/keys", &f.s.root, None).await;
    assert_eq!(status, 200, "the root key works, and is now cached");
    let body = json!([{"token": f.s.root, "type": "apikey_admin", "url": "https://gist.github.com/x", "source": "gist"}])
        .to_string();
    let (status, v) = signed(&f, &body).await;
    assert_eq!(
        (status, v[0]["label"].as_str()),
        (200, Some("true_positive"))
    );
    let (status, _) = f.s.call("GET", "/v1/keys", &f.s.root, None).await;
    assert_eq!(status, 401, "revoked in the service's own verifier too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_mis_signed_alerts_revoke_nothing() {
    let f = fixture().await;
    let k = f.s.keys.manager().create(NewKey::new("k")).await.unwrap();
    let body =
        json!([{"token": k.token.expose(), "type": "t", "url": "u", "source": "s"}]).to_string();
    let good = sign(f.dir.path(), &f.private, &body);
    let (stranger, _) = key_pair(f.dir.path(), "stranger");
    let by_stranger = sign(f.dir.path(), &stranger, &body);
    let other_body =
        json!([{"token": k.token.expose(), "type": "t", "url": "v", "source": "s"}]).to_string();
    let for_other_body = sign(f.dir.path(), &f.private, &other_body);
    let id = "Github-Public-Key-Identifier";
    let sig = "Github-Public-Key-Signature";
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no headers", vec![]),
        ("no signature", vec![(id, KEY_ID)]),
        ("no identifier", vec![(sig, &good)]),
        ("unknown key", vec![(id, "another"), (sig, &good)]),
        (
            "another key's signature",
            vec![(id, KEY_ID), (sig, &by_stranger)],
        ),
        (
            "another body's signature",
            vec![(id, KEY_ID), (sig, &for_other_body)],
        ),
        ("not base64", vec![(id, KEY_ID), (sig, "%%%")]),
        ("not DER", vec![(id, KEY_ID), (sig, "aGVsbG8=")]),
    ];
    for (what, headers) in cases {
        let (status, v) = alert(&f.s, &headers, &body).await;
        assert_eq!(status, 401, "{what}: {v}");
        assert_eq!(v["code"], "invalid_signature", "{what}");
    }
    let after =
        f.s.keys
            .manager()
            .get(&TenantScope::All, k.record.id)
            .await
            .unwrap();
    assert_eq!((after.state, after.version), (KeyState::Active, 1));

    // Signed, but not the contract's shape: 400, nothing revoked.
    let junk = r#"{"token": "x"}"#;
    let (status, v) = signed(&f, junk).await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_github_keys_the_receiver_is_not_there() {
    let s = common::start().await;
    let headers = [
        ("Github-Public-Key-Identifier", KEY_ID),
        ("Github-Public-Key-Signature", "c2ln"),
    ];
    let (status, v) = alert(&s, &headers, "[]").await;
    assert_eq!(status, 404, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("--github-keys"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_a_url_are_fetched_once_and_again_for_a_new_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(dir.path(), "github");
    let served = Arc::new(std::sync::Mutex::new(document(&public)));
    let fetches = Arc::new(AtomicUsize::new(0));
    let app = {
        let (served, fetches) = (served.clone(), fetches.clone());
        axum::Router::new().route(
            "/meta/public_keys/secret_scanning",
            axum::routing::get(move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                let doc = served.lock().unwrap().clone();
                async move { ([("content-type", "application/json")], doc) }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let keys =
        GithubKeys::from_arg(&format!("http://{addr}/meta/public_keys/secret_scanning")).unwrap();
    let body = "[]";
    let sig = sign(dir.path(), &private, body);
    for _ in 0..3 {
        keys.verify(KEY_ID, &sig, body.as_bytes()).await.unwrap();
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "cached");
    // An identifier not yet seen fetches again, but not more than once a minute.
    for _ in 0..3 {
        assert!(
            keys.verify("rotated-in", &sig, body.as_bytes())
                .await
                .is_err()
        );
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "within the minute: no refetch"
    );

    // GitHub rotates: the new key is published beside the old, and an alert signed with it is
    // accepted as soon as the keys may be fetched again.
    let keys = keys.refetch_after(std::time::Duration::ZERO);
    let (next, next_public) = key_pair(dir.path(), "next");
    *served.lock().unwrap() = json!({"public_keys": [
        {"key_identifier": KEY_ID, "key": public, "is_current": false},
        {"key_identifier": "rotated-in", "key": next_public, "is_current": true},
    ]})
    .to_string();
    let by_next = sign(dir.path(), &next, body);
    keys.verify("rotated-in", &by_next, body.as_bytes())
        .await
        .unwrap();
    keys.verify(KEY_ID, &sig, body.as_bytes()).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    server.abort();
}
