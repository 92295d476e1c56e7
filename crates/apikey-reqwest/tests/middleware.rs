//! `ApiKeyMiddleware` against a real guard: a key that requires signatures gets through only
//! signed, a key that signs instead of its token needs no token, the body reaches the handler
//! as signed, `created` comes from the injected clock, and a body that cannot be digested is an
//! error rather than an unsigned request.

mod support;

use std::sync::Arc;

use apikey_core::ManualClock;
use apikey_core::signing::SigningMode;
use apikey_reqwest::{ApiKeyMiddleware, SigningError};
use chrono::Utc;
use reqwest_middleware::ClientBuilder;
use support::Server;

fn client(m: ApiKeyMiddleware) -> reqwest_middleware::ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new()).with(m).build()
}

#[tokio::test]
async fn a_required_signature_is_made_on_every_request() {
    let server = Server::start().await;
    let key = server.key("billing", SigningMode::Required).await;

    let token_only = client(ApiKeyMiddleware::token(&key.token).unwrap());
    let res = token_only.get(server.url("/whoami")).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let signed = client(
        ApiKeyMiddleware::token(&key.token)
            .unwrap()
            .signing(key.signer()),
    );
    for _ in 0..3 {
        let res = signed
            .get(server.url("/whoami?x=1&y=two"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "billing");
    }
    let body = br#"{"order":{"sku":"A-1","qty":2}}"#.to_vec();
    let res = signed
        .post(server.url("/echo"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), body);
    let bearer = client(
        ApiKeyMiddleware::bearer(&key.token)
            .unwrap()
            .signing(key.signer()),
    );
    assert_eq!(
        bearer
            .get(server.url("/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_key_can_sign_instead_of_sending_its_token() {
    let server = Server::start().await;
    let key = server.key("sync", SigningMode::InsteadOfToken).await;
    let signed = client(ApiKeyMiddleware::signed_only(key.signer()));
    let res = signed
        .post(server.url("/echo"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "hello");
}

#[tokio::test]
async fn created_is_read_from_the_injected_clock() {
    let server = Server::start().await;
    let key = server.key("clocked", SigningMode::Required).await;
    let send = async |clock: ManualClock| {
        let m = ApiKeyMiddleware::token(&key.token)
            .unwrap()
            .signing(key.signer())
            .with_clock(Arc::new(clock));
        client(m)
            .get(server.url("/whoami"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(send(ManualClock::new(Utc::now())).await, 200);
    // An hour off is outside the guard's tolerance (300 s): the signature carries that clock's time.
    let hour = chrono::Duration::hours(1);
    assert_eq!(send(ManualClock::new(Utc::now() - hour)).await, 401);
    assert_eq!(send(ManualClock::new(Utc::now() + hour)).await, 401);
}

#[tokio::test]
async fn a_streaming_body_fails_instead_of_going_out_unsigned() {
    let server = Server::start().await;
    let key = server.key("stream", SigningMode::Required).await;
    let signed = client(
        ApiKeyMiddleware::token(&key.token)
            .unwrap()
            .signing(key.signer()),
    );
    // `Body::wrap` makes a streaming body: its bytes are not known before it is sent.
    let err = signed
        .post(server.url("/echo"))
        .body(reqwest::Body::wrap(String::from("streamed")))
        .send()
        .await
        .expect_err("a streaming body cannot be signed");
    let reqwest_middleware::Error::Middleware(err) = err else {
        panic!("not the middleware's error: {err:?}")
    };
    assert!(
        matches!(
            err.downcast_ref::<SigningError>(),
            Some(SigningError::StreamingBody)
        ),
        "{err:?}"
    );
    // Without signing, the same body is just sent: only the token is attached.
    let token_only = client(ApiKeyMiddleware::token(&key.token).unwrap());
    let res = token_only
        .post(server.url("/echo"))
        .body(reqwest::Body::wrap(String::from("streamed")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the key requires a signature");
}
