//! End to end over 127.0.0.1: a real tonic server with `apikey-tonic`'s layer, a real tonic client.

use apikey_core::Change;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{ApiKeys, NewKey, Peppers, Rate, SystemClock, TenantScope};
use apikey_example_grpc::pb::projects_client::ProjectsClient;
use apikey_example_grpc::pb::{CreateProjectRequest, GetProjectRequest, PingRequest};
use apikey_memory::{MemoryLimiter, MemoryStore};
use apikey_tonic::{ApiKeyInterceptor, UNAUTHENTICATED_MESSAGE};
use tonic::Code;
use tonic::metadata::{BinaryMetadataValue, MetadataValue};
use tonic::transport::Channel;
use tonic_types::StatusExt;

struct Env {
    keys: ApiKeys,
    channel: Channel,
}

async fn env() -> Env {
    let peppers = Peppers::single("t", b"a test pepper of enough length".to_vec()).unwrap();
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(peppers)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()
        .unwrap();
    let addr = apikey_example_grpc::spawn_server(
        "127.0.0.1:0".parse().unwrap(),
        Some(keys.verifier().clone()),
    )
    .await
    .unwrap();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Env { keys, channel }
}

async fn key(env: &Env, new: NewKey) -> String {
    env.keys
        .manager()
        .create(new)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned()
}

fn get() -> GetProjectRequest {
    GetProjectRequest { id: "p-1".into() }
}

fn create() -> CreateProjectRequest {
    CreateProjectRequest { name: "n".into() }
}

#[tokio::test]
async fn valid_key_reaches_the_handler_with_its_verified_key() {
    let env = env().await;
    let t = key(
        &env,
        NewKey::new("reader").scopes(["projects:read"]).unwrap(),
    )
    .await;
    let mut c =
        ProjectsClient::with_interceptor(env.channel.clone(), ApiKeyInterceptor::new(&t).unwrap());
    let p = c.get_project(get()).await.unwrap().into_inner();
    assert_eq!((p.id.as_str(), p.caller.as_str()), ("p-1", "reader"));
    let mut b = ProjectsClient::with_interceptor(
        env.channel.clone(),
        ApiKeyInterceptor::bearer(&t).unwrap(),
    );
    assert_eq!(
        b.get_project(get()).await.unwrap().into_inner().caller,
        "reader"
    );
}

#[tokio::test]
async fn missing_and_revoked_keys_are_uniformly_unauthenticated() {
    let env = env().await;
    let mut anon = ProjectsClient::new(env.channel.clone());
    let s = anon.get_project(get()).await.unwrap_err();
    assert_eq!(
        (s.code(), s.message()),
        (Code::Unauthenticated, UNAUTHENTICATED_MESSAGE)
    );

    let created = env
        .keys
        .manager()
        .create(NewKey::new("r").scopes(["projects:read"]).unwrap())
        .await
        .unwrap();
    let t = created.token.expose().to_owned();
    let mut c =
        ProjectsClient::with_interceptor(env.channel.clone(), ApiKeyInterceptor::new(&t).unwrap());
    assert!(c.get_project(get()).await.is_ok());
    env.keys
        .manager()
        .revoke(
            &TenantScope::All,
            created.record.id,
            Change::new().because("leaked"),
        )
        .await
        .unwrap();
    let s = c.get_project(get()).await.unwrap_err();
    assert_eq!(
        (s.code(), s.message()),
        (Code::Unauthenticated, UNAUTHENTICATED_MESSAGE)
    );
    assert!(!s.message().contains(&t) && !format!("{:?}", s.metadata()).contains(&t));

    // Public methods need no key.
    let pong = anon.ping(PingRequest {}).await.unwrap().into_inner();
    assert_eq!(pong.message, "pong to anonymous");
}

#[tokio::test]
async fn scopes_are_checked_per_method_and_unlisted_methods_are_denied() {
    let env = env().await;
    let r = key(
        &env,
        NewKey::new("reader").scopes(["projects:read"]).unwrap(),
    )
    .await;
    let w = key(&env, NewKey::new("writer").scopes(["projects:*"]).unwrap()).await;
    let mut reader =
        ProjectsClient::with_interceptor(env.channel.clone(), ApiKeyInterceptor::new(&r).unwrap());
    let mut writer =
        ProjectsClient::with_interceptor(env.channel.clone(), ApiKeyInterceptor::new(&w).unwrap());
    assert!(reader.get_project(get()).await.is_ok());
    let s = reader.create_project(create()).await.unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    assert!(s.message().contains("projects:write"), "{}", s.message());
    assert_eq!(
        writer
            .create_project(create())
            .await
            .unwrap()
            .into_inner()
            .caller,
        "writer"
    );
    for c in [&mut reader, &mut writer] {
        let s = c.delete_project(get()).await.unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
    }
}

#[tokio::test]
async fn rate_limited_with_retry_info() {
    let env = env().await;
    let rate = Rate::new(2, Duration::from_secs(60)).unwrap();
    let t = key(
        &env,
        NewKey::new("slow")
            .scopes(["projects:read"])
            .unwrap()
            .rate_limit(rate),
    )
    .await;
    let mut c =
        ProjectsClient::with_interceptor(env.channel.clone(), ApiKeyInterceptor::new(&t).unwrap());
    assert!(c.get_project(get()).await.is_ok());
    assert!(c.get_project(get()).await.is_ok());
    let s = c.get_project(get()).await.unwrap_err();
    assert_eq!(s.code(), Code::ResourceExhausted);
    let delay = s
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap();
    assert!(
        delay > Duration::from_secs(25) && delay <= Duration::from_secs(30),
        "{delay:?}"
    );
    let ms: u64 = s
        .metadata()
        .get("grpc-retry-pushback-ms")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((25_000..=30_000).contains(&ms));
    assert_eq!(s.metadata().get("retry-after").unwrap(), "30");
    // Public methods spend no budget.
    assert!(c.ping(PingRequest {}).await.is_ok());
}

#[tokio::test]
async fn duplicate_and_binary_metadata_are_refused() {
    let env = env().await;
    let t = key(&env, NewKey::new("r").scopes(["projects:read"]).unwrap()).await;
    let mut anon = ProjectsClient::new(env.channel.clone());

    let mut req = tonic::Request::new(get());
    let v: MetadataValue<_> = t.parse().unwrap();
    req.metadata_mut().append("x-api-key", v.clone());
    req.metadata_mut().append("x-api-key", v.clone());
    let s = anon.get_project(req).await.unwrap_err();
    assert_eq!(
        (s.code(), s.message()),
        (Code::Unauthenticated, UNAUTHENTICATED_MESSAGE)
    );

    let mut req = tonic::Request::new(get());
    req.metadata_mut().insert("x-api-key", v);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {t}").parse().unwrap());
    assert_eq!(
        anon.get_project(req).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // The key sent as binary metadata is never read as a credential.
    let mut req = tonic::Request::new(get());
    req.metadata_mut().insert_bin(
        "x-api-key-bin",
        BinaryMetadataValue::from_bytes(t.as_bytes()),
    );
    assert_eq!(
        anon.get_project(req).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn ip_rules_see_the_socket_peer() {
    let env = env().await;
    let local = key(
        &env,
        NewKey::new("local")
            .scopes(["projects:read"])
            .unwrap()
            .ip_rules(["127.0.0.0/8"], [] as [&str; 0])
            .unwrap(),
    )
    .await;
    let remote = key(
        &env,
        NewKey::new("remote")
            .scopes(["projects:read"])
            .unwrap()
            .ip_rules(["203.0.113.0/24"], [] as [&str; 0])
            .unwrap(),
    )
    .await;
    let mut ok = ProjectsClient::with_interceptor(
        env.channel.clone(),
        ApiKeyInterceptor::new(&local).unwrap(),
    );
    assert!(ok.get_project(get()).await.is_ok());
    let mut no = ProjectsClient::with_interceptor(
        env.channel.clone(),
        ApiKeyInterceptor::new(&remote).unwrap(),
    );
    let s = no.get_project(get()).await.unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    assert!(s.message().starts_with("ip_denied"), "{}", s.message());
}
