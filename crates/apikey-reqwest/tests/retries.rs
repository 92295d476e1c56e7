//! The order of middleware: a retry placed before `ApiKeyMiddleware` gets a fresh signature (a
//! new nonce) on every attempt, so each is accepted; placed after it, every attempt repeats the
//! first one's signature and the guard refuses the replays.

mod support;

use std::sync::{Arc, Mutex};

use apikey_core::signing::SigningMode;
use apikey_reqwest::ApiKeyMiddleware;
use http::Extensions;
use reqwest_middleware::{ClientBuilder, Middleware, Next};
use support::Server;

/// Sends every request twice, as a retry would, and records each attempt's status.
#[derive(Clone, Default)]
struct SendTwice {
    statuses: Arc<Mutex<Vec<u16>>>,
}

#[async_trait::async_trait]
impl Middleware for SendTwice {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let again = req.try_clone().expect("a body in bytes can be sent again");
        let first = next.clone().run(req, extensions).await?;
        self.statuses.lock().unwrap().push(first.status().as_u16());
        let second = next.run(again, extensions).await?;
        self.statuses.lock().unwrap().push(second.status().as_u16());
        Ok(second)
    }
}

async fn attempts(server: &Server, retry_first: bool) -> Vec<u16> {
    let key = server.key("retried", SigningMode::Required).await;
    let apikey = ApiKeyMiddleware::token(&key.token)
        .unwrap()
        .signing(key.signer());
    let retry = SendTwice::default();
    let builder = ClientBuilder::new(reqwest::Client::new());
    let client = if retry_first {
        builder.with(retry.clone()).with(apikey)
    } else {
        builder.with(apikey).with(retry.clone())
    }
    .build();
    client
        .post(server.url("/echo"))
        .body("twice")
        .send()
        .await
        .unwrap();
    retry.statuses.lock().unwrap().clone()
}

#[tokio::test]
async fn a_retry_before_the_middleware_signs_each_attempt_again() {
    let server = Server::start().await;
    assert_eq!(attempts(&server, true).await, [200, 200]);
}

#[tokio::test]
async fn a_retry_after_the_middleware_replays_the_signature_and_is_refused() {
    let server = Server::start().await;
    assert_eq!(attempts(&server, false).await, [200, 401]);
}
