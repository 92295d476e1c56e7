//! Interoperability with an RFC 9421 implementation we did not write: the Python package
//! `http-message-signatures` (installed by `.ci/python-tools.sh`, which exports
//! `APIKEY_HTTPSIG_PYTHON`). Python signs requests our guard accepts (and a tampered body is
//! refused); our client signs requests Python verifies (and a changed path does not).

mod support;

use std::collections::HashMap;
use std::process::Command;

use apikey_core::signing::{SigningMode, SigningSecret};
use apikey_reqwest::ApiKeyMiddleware;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use support::Server;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/httpsig.py");

/// The venv's Python, or `None` (with a note) outside CI; under `CI=true` a missing tool fails.
#[allow(clippy::print_stderr)]
fn python() -> Option<String> {
    match std::env::var("APIKEY_HTTPSIG_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("APIKEY_HTTPSIG_PYTHON is not set: source .ci/python-tools.sh")
        }
        _ => {
            eprintln!("note: APIKEY_HTTPSIG_PYTHON not set (source .ci/python-tools.sh); skipped");
            None
        }
    }
}

fn run(python: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("python runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn b64(secret: &SigningSecret) -> String {
    secret.to_base64().to_string()
}

#[tokio::test]
async fn python_signs_and_our_guard_accepts() {
    let Some(python) = python() else { return };
    let server = Server::start().await;
    let key = server.key("py", SigningMode::InsteadOfToken).await;
    let url = server.url("/echo?dry=1&sku=A-1");
    let body = br#"{"qty":2}"#;
    let sign = |nonce: &str| {
        let (ok, out) = run(
            &python,
            &[
                "sign",
                &b64(&key.secret),
                &key.lookup,
                "POST",
                &url,
                &STANDARD.encode(body),
                nonce,
            ],
        );
        assert!(ok, "python could not sign: {out}");
        serde_json::from_str::<HashMap<String, String>>(&out).expect("headers as JSON")
    };
    let send = |headers: HashMap<String, String>, body: &'static [u8]| {
        let url = url.clone();
        async move {
            let mut req = reqwest::Client::new().post(url).body(body);
            for (n, v) in headers {
                req = req.header(n, v);
            }
            req.send().await.expect("the server answers")
        }
    };
    let headers = sign("py-nonce-1");
    assert!(headers.contains_key("Signature-Input") || headers.contains_key("signature-input"));
    let res = send(headers.clone(), body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), body);
    // The same request again: its nonce was used.
    assert_eq!(send(headers, body).await.status(), 401);
    // Signed for one body, sent with another.
    assert_eq!(
        send(sign("py-nonce-2"), br#"{"qty":9}"#).await.status(),
        401
    );
}

#[tokio::test]
async fn our_client_signs_and_python_verifies() {
    let Some(python) = python() else { return };
    let secret = SigningSecret::generate().unwrap();
    let signer = apikey_core::signing::Signer::new("lookup-1", secret.clone());
    // Capture what the middleware sends: a server that records the request's headers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let recorded = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let recorded = recorded.clone();
        async move {
            *recorded.lock().unwrap() = headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            "ok"
        }
    });
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ApiKeyMiddleware::signed_only(signer))
        .build();
    let url = format!("http://{addr}/orders/7?expand=items");
    let body = br#"{"note":"hello"}"#;
    let res = client
        .put(&url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    task.abort();
    let headers: HashMap<String, String> = seen.lock().unwrap().iter().cloned().collect();
    let headers = serde_json::to_string(&headers).unwrap();
    let verify = |url: &str, body: &[u8]| {
        run(
            &python,
            &[
                "verify",
                &b64(&secret),
                "lookup-1",
                "PUT",
                url,
                &STANDARD.encode(body),
                &headers,
            ],
        )
    };
    let (ok, out) = verify(&url, body);
    assert!(ok, "python refused our signature: {out}");
    assert!(out.contains("lookup-1"), "{out}");
    let (ok, _) = verify(&format!("http://{addr}/orders/8?expand=items"), body);
    assert!(!ok, "python accepted a changed path");
    let (ok, _) = verify(&url, br#"{"note":"bye"}"#);
    assert!(!ok, "python accepted a changed body");
}
