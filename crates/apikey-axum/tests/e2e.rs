//! End-to-end: the shared matrix (`apikey_testkit::http_e2e`) over real HTTP against an axum
//! server, plus the axum-only case of a server started without connect info.

use std::net::SocketAddr;

use apikey_axum::{ApiKeyLayer, Verified, require_scopes};
use apikey_core::{ApiKeys, ClientIpResolver, NewKey};
use apikey_testkit::http_e2e::{self, Server};
use axum::Router;
use axum::handler::Handler;
use axum::routing::get;

async fn whoami(key: Verified) -> String {
    key.key_id().to_string()
}

fn app(keys: &ApiKeys) -> Router {
    let auth = ApiKeyLayer::new(keys.verifier().clone())
        .trusted_proxies(ClientIpResolver::with_trusted_proxies(["127.0.0.1/32"]).unwrap())
        .endpoint_limits(true);
    Router::new()
        .route("/any", get(whoami))
        .route(
            "/projects",
            get(whoami.layer(require_scopes(["projects:read"])))
                .post(whoami.layer(require_scopes(["projects:write"]))),
        )
        .layer(auth)
        .route("/open", get(|| async { "open" }))
        .route("/no-layer", get(whoami))
}

struct Running {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn serve(router: Router, listener: std::net::TcpListener, connect_info: bool) -> Box<dyn Server> {
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        if connect_info {
            let svc = router.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, svc).await.unwrap();
        } else {
            axum::serve(listener, router).await.unwrap();
        }
    });
    Box::new(Running { addr, task })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_over_http() {
    http_e2e::run(&|keys, listener| serve(app(keys), listener, true)).await;
}

/// The same matrix when the limiter needs I/O: every limited request takes the layer's pending
/// (boxed) path instead of being answered on the spot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_over_http_with_an_async_limiter() {
    http_e2e::run_with(
        &|keys, listener| serve(app(keys), listener, true),
        http_e2e::LimiterMode::AsyncOnly,
    )
    .await;
}

/// A spent owner pool and spent credits answer 429 naming what refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_and_credits_over_http() {
    http_e2e::pools(&|keys, listener| serve(app(keys), listener, true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_connect_info_keys_with_ip_rules_are_refused() {
    let f = http_e2e::fixture();
    let server = serve(
        app(&f.keys),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        false,
    );
    let m = f.keys.manager();
    let ruled = m
        .create(
            NewKey::new("ruled")
                .ip_rules(["127.0.0.1/32"], [] as [&str; 0])
                .unwrap(),
        )
        .await
        .unwrap();
    let free = m.create(NewKey::new("free")).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://{}/any", server.addr());
    let res = http
        .get(&url)
        .header("x-api-key", ruled.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("client_ip_unknown"));
    let res = http
        .get(&url)
        .header("x-api-key", free.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_sources_are_configurable() {
    let f = http_e2e::fixture();
    let created = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    let auth = ApiKeyLayer::new(f.keys.verifier().clone()).credentials(http_e2e::custom_sources());
    let app = Router::new().route("/any", get(whoami)).layer(auth);
    let server = serve(
        app,
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        true,
    );
    http_e2e::credential_sources(server.addr(), created.token.expose()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_fields_can_be_kept_to_refusals() {
    let f = http_e2e::fixture();
    let created = f
        .keys
        .manager()
        .create(http_e2e::one_a_minute())
        .await
        .unwrap();
    let auth = ApiKeyLayer::new(f.keys.verifier().clone()).rate_limit_fields_on_success(false);
    let app = Router::new().route("/any", get(whoami)).layer(auth);
    let server = serve(
        app,
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        true,
    );
    http_e2e::fields_only_on_refusal(server.addr(), created.token.expose()).await;
}

/// Reserve and settle through the layer: each request reserves 10 credits, the handler settles
/// what it used (from `?used=N`), and the balance follows the settled amounts; a handler that
/// never settles leaves its estimate charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_are_reserved_and_settled_by_the_handler() {
    use std::sync::Arc;

    use apikey_core::limit::{CreditPlan, Settlement};
    use apikey_core::{Change, TenantScope};
    use apikey_memory::{MemoryLimiter, MemoryStore};
    async fn stream(key: Verified, uri: axum::http::Uri) -> String {
        let Some(r) = key.reservation() else {
            return "no reservation".to_owned();
        };
        let used = uri
            .query()
            .and_then(|q| q.strip_prefix("used="))
            .and_then(|n| n.parse::<u64>().ok());
        match used {
            Some(n) => match r.settle(n).await.unwrap() {
                Settlement::Settled { charged } => format!("charged {charged}"),
                other => format!("{other:?}"),
            },
            None => format!("left at {}", r.estimate()),
        }
    }

    let store = MemoryStore::new();
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(apikey_core::Peppers::random())
        .catalog(Arc::new(store))
        .limiter(Arc::new(
            MemoryLimiter::new(Arc::new(apikey_core::SystemClock)).with_volatile_credits(),
        ))
        .build()
        .unwrap();
    let m = keys.manager();
    let created = m.create(NewKey::new("llm")).await.unwrap();
    m.set_key_credits(
        &TenantScope::All,
        created.record.id,
        Some(CreditPlan::once(100)),
        Change::new(),
    )
    .await
    .unwrap();
    let app = Router::new()
        .route("/stream", get(stream))
        .layer(ApiKeyLayer::new(keys.verifier().clone()).reserve_credits(10));
    let server = serve(
        app,
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        true,
    );
    let http = reqwest::Client::new();
    let call = |q: &'static str| {
        http.get(format!("http://{}/stream{q}", server.addr()))
            .header("x-api-key", created.token.expose())
            .send()
    };
    let body = |r: reqwest::Response| async move { (r.status().as_u16(), r.text().await.unwrap()) };
    assert_eq!(
        body(call("?used=3").await.unwrap()).await,
        (200, "charged 3".into())
    );
    assert_eq!(
        body(call("?used=25").await.unwrap()).await,
        (200, "charged 25".into())
    );
    assert_eq!(
        body(call("").await.unwrap()).await,
        (200, "left at 10".into())
    );
    let balance = m
        .key_credits(&TenantScope::All, created.record.id)
        .await
        .unwrap()
        .balance;
    assert_eq!(balance, 100 - 3 - 25 - 10);
}
