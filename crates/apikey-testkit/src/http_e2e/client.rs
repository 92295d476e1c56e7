//! The matrix's HTTP client: every response it reads is checked against the rules all refusals
//! share (problem+json, `WWW-Authenticate` on 401) and kept for the leak check at the end.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer, read whole.
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem's `code` member, or empty when the body is not JSON.
    pub(crate) fn code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body).map_or_else(
            |_| String::new(),
            |v| v["code"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

/// A reqwest client that records what it saw.
pub(crate) struct Client {
    http: reqwest::Client,
    /// Every response's headers and body, for the leak check.
    pub(crate) seen: Vec<String>,
    /// Every 401 body, to prove they are byte-identical.
    pub(crate) unauthorized: Vec<String>,
}

impl Client {
    pub(crate) fn new() -> Self {
        Self {
            http: reqwest::Client::new(),
            seen: Vec::new(),
            unauthorized: Vec::new(),
        }
    }

    pub(crate) async fn send(
        &mut self,
        method: &str,
        base: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("http://{base}{path}");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = self.http.request(method, url);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.expect("response body");
        self.seen.push(format!("{headers:?}\n{body}"));
        if status == 401 {
            self.unauthorized.push(body.clone());
            assert!(
                headers.get("www-authenticate").is_some_and(|v| v
                    .to_str()
                    .is_ok_and(|v| v.starts_with("ApiKey realm=\"api\""))),
                "401 without WWW-Authenticate"
            );
        }
        if status >= 400 {
            assert_eq!(
                headers
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or_default()),
                Some("application/problem+json"),
                "{status} {body}"
            );
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&mut self, base: SocketAddr, path: &str, key: &str) -> Resp {
        self.send("GET", base, path, &[("x-api-key", key)]).await
    }
}

/// Sends raw request bytes (for what reqwest refuses to send: repeated or non-UTF-8 headers);
/// returns the status (0 if the server closed without answering) and the whole response text.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server under test");
    if s.write_all(request).await.is_err() {
        return (0, String::new());
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "server did not answer within 10 s");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
