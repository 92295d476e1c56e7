//! `ApiKeyMiddleware` against a real guard: a key that requires signatures gets through only
//! signed, a key that signs instead of its token needs no token, the body reaches the handler
//! as signed.

mod support;

use apikey_core::signing::SigningMode;
use apikey_reqwest::ApiKeyMiddleware;
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
