//! Signed gRPC calls over 127.0.0.1: a real tonic client signing through
//! `apikey_tonic::SigningLayer`, a real server with `SignatureCheck` on `apikey-tonic`'s layer.
//! A key that requires signatures is refused unsigned and accepted signed; a key that signs
//! instead of sending its token needs no token; a call signed for another authority is refused.

use std::sync::Arc;

use apikey_core::signing::{MemoryNonces, Signer, SigningMode};
use apikey_core::{ApiKeys, Keks, NewKey, Peppers, SecretBox};
use apikey_example_grpc::pb::GetProjectRequest;
use apikey_example_grpc::pb::projects_client::ProjectsClient;
use apikey_memory::MemoryStore;
use apikey_tonic::{ApiKeyInterceptor, ApiKeyLayer, SigningLayer};
use tonic::Code;
use tonic::transport::Channel;
use tower::ServiceBuilder;

struct Env {
    keys: ApiKeys,
    channel: Channel,
    authority: String,
}

async fn env() -> Env {
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap())
        .secret_box(SecretBox::new(
            Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap(),
        ))
        .build()
        .unwrap();
    let check = keys
        .signature_check(Arc::new(MemoryNonces::default()))
        .unwrap();
    let layer =
        ApiKeyLayer::new(keys.verifier().clone(), apikey_example_grpc::methods()).with_check(check);
    let (addr, _) = apikey_example_grpc::spawn_layered(
        "127.0.0.1:0".parse().unwrap(),
        Some(layer),
        std::future::pending(),
    )
    .await
    .unwrap();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Env {
        keys,
        channel,
        authority: addr.to_string(),
    }
}

async fn signing_key(env: &Env, mode: SigningMode) -> (String, Signer) {
    let created = env
        .keys
        .manager()
        .create(
            NewKey::new("signer")
                .scopes(["projects:read"])
                .unwrap()
                .signing(mode),
        )
        .await
        .unwrap();
    let signer = Signer::new(
        created.record.lookup_id.to_string(),
        created.signing_secret.unwrap(),
    );
    (created.token.expose().to_owned(), signer)
}

fn get() -> GetProjectRequest {
    GetProjectRequest { id: "p-1".into() }
}

#[tokio::test]
async fn a_key_that_requires_signatures_is_refused_unsigned_and_accepted_signed() {
    let env = env().await;
    let (token, signer) = signing_key(&env, SigningMode::Required).await;

    let mut unsigned = ProjectsClient::with_interceptor(
        env.channel.clone(),
        ApiKeyInterceptor::new(&token).unwrap(),
    );
    let e = unsigned.get_project(get()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    let signed = ServiceBuilder::new()
        .layer(SigningLayer::new(signer, env.authority.clone()))
        .service(env.channel.clone());
    let mut client =
        ProjectsClient::with_interceptor(signed, ApiKeyInterceptor::new(&token).unwrap());
    for _ in 0..2 {
        let p = client.get_project(get()).await.unwrap().into_inner();
        assert_eq!(p.caller, "signer");
    }
}

#[tokio::test]
async fn a_key_can_sign_instead_of_sending_its_token() {
    let env = env().await;
    let (_, signer) = signing_key(&env, SigningMode::InsteadOfToken).await;
    let signed = ServiceBuilder::new()
        .layer(SigningLayer::new(signer.clone(), env.authority.clone()))
        .service(env.channel.clone());
    let mut client = ProjectsClient::new(signed);
    assert_eq!(
        client.get_project(get()).await.unwrap().into_inner().caller,
        "signer"
    );
    // Signed for another authority than the one the server sees: refused.
    let elsewhere = ServiceBuilder::new()
        .layer(SigningLayer::new(signer, "evil.example:443"))
        .service(env.channel.clone());
    let e = ProjectsClient::new(elsewhere)
        .get_project(get())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    // No token and no signature: refused.
    let e = ProjectsClient::new(env.channel.clone())
        .get_project(get())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}
