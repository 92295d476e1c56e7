//! Interoperability with an RFC 9421 implementation we did not write: the Python package
//! `http-message-signatures` (installed by `.ci/python-tools.sh`, which exports
//! `APIKEY_HTTPSIG_PYTHON`, with `requests`). Python signs and sends requests our guard accepts
//! (and a replay or a tampered body is refused); our client signs requests Python verifies (and a
//! changed path or body does not).

mod support;

use std::collections::HashMap;

use apikey_core::signing::{SigningMode, SigningSecret};
use apikey_reqwest::ApiKeyMiddleware;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use support::Server;
use tokio::process::Command;

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

/// Runs the script without blocking the runtime: the test's server answers Python meanwhile.
async fn run(python: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .output()
        .await
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

/// What `httpsig.py send` reports: the two answers' statuses (the second is the replay), the
/// first answer's body, and the `Signature-Input` Python wrote.
struct Sent {
    status: [u64; 2],
    body: Vec<u8>,
    signature_input: String,
}

fn parse_sent(out: &str) -> Sent {
    let v: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let status = |i: usize| v["status"][i].as_u64().expect("a status");
    Sent {
        status: [status(0), status(1)],
        body: STANDARD.decode(v["body"].as_str().unwrap()).unwrap(),
        signature_input: v["signature-input"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn python_signs_and_our_guard_accepts() {
    let Some(python) = python() else { return };
    let server = Server::start().await;
    let key = server.key("py", SigningMode::InsteadOfToken).await;
    // The URL has a port that is not the default: it is part of `@authority`.
    let url = server.url("/echo?dry=1&sku=A-1");
    let body = br#"{"qty":2}"#;
    let (secret, signed) = (b64(&key.secret), STANDARD.encode(body));
    // Python builds the request with `requests`, signs and sends it, then sends it again; with
    // `sent`, it sends that body instead of the one it signed.
    let send = async |nonce: &str, sent_body: Option<&[u8]>| {
        let sent_body = sent_body.map(|b| STANDARD.encode(b));
        let mut args = vec![
            "send",
            secret.as_str(),
            key.lookup.as_str(),
            "POST",
            url.as_str(),
            signed.as_str(),
            nonce,
        ];
        args.extend(sent_body.as_deref());
        let (ok, out) = run(&python, &args).await;
        assert!(ok, "python could not sign or send: {out}");
        parse_sent(&out)
    };

    let sent = send("py-nonce-1", None).await;
    assert_eq!(sent.status[0], 200, "{}", sent.signature_input);
    assert!(
        sent.signature_input.contains(r#""content-digest""#)
            && sent.signature_input.contains(r#"alg="hmac-sha256""#)
            && sent.signature_input.contains(r#"nonce="py-nonce-1""#),
        "{}",
        sent.signature_input
    );
    // The handler saw the bytes Python signed.
    assert_eq!(sent.body, body);
    // The same request again: its nonce was used.
    assert_eq!(sent.status[1], 401);
    // Signed for one body, sent with another.
    let tampered = send("py-nonce-2", Some(br#"{"qty":9}"#)).await;
    assert_eq!(tampered.status, [401, 401]);
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
    let verify = async |url: &str, body: &[u8]| {
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
        .await
    };
    let (ok, out) = verify(&url, body).await;
    assert!(ok, "python refused our signature: {out}");
    assert!(
        out.contains("lookup-1") && out.contains("hmac-sha256") && out.contains("nonce"),
        "{out}"
    );
    let (ok, _) = verify(&format!("http://{addr}/orders/8?expand=items"), body).await;
    assert!(!ok, "python accepted a changed path");
    let (ok, _) = verify(&format!("http://{addr}/orders/7?expand=none"), body).await;
    assert!(!ok, "python accepted a changed query");
    let (ok, _) = verify(&url, br#"{"note":"bye"}"#).await;
    assert!(!ok, "python accepted a changed body");
}
