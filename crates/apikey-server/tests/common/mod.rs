//! The service on loopback for the tests: a memory store, the two `ApiKeys`, a root key.
#![allow(dead_code, unreachable_pub)]

pub mod github;

use std::net::SocketAddr;
use std::sync::Arc;

use apikey_core::{ApiKeys, NewKey, Peppers, VerifierConfig};
use apikey_memory::{MemoryLimiter, MemoryStore};
use apikey_server::{admin_tenant, create_root_key, tenant_metadata};
use serde_json::Value;

pub struct Service {
    pub store: MemoryStore,
    pub addr: SocketAddr,
    pub keys: ApiKeys,
    pub admin: ApiKeys,
    pub root: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn build(store: &MemoryStore, peppers: &Peppers, admin_keys: bool) -> ApiKeys {
    build_with(store, peppers, admin_keys, true)
}

/// [`build`], with credit balances in the (in-process) limiter or none.
pub fn build_with(
    store: &MemoryStore,
    peppers: &Peppers,
    admin_keys: bool,
    credits: bool,
) -> ApiKeys {
    let limiter = MemoryLimiter::new(Arc::new(apikey_core::SystemClock));
    let limiter = if credits {
        limiter.with_volatile_credits()
    } else {
        limiter
    };
    ApiKeys::builder(Arc::new(store.clone()))
        .audit(Arc::new(store.clone()))
        .catalog(Arc::new(store.clone()))
        .tenant_settings(Arc::new(store.clone()))
        .secret_box(apikey_core::SecretBox::new(
            apikey_core::secret_box::Keks::random(),
        ))
        .peppers(peppers.clone())
        .limiter(Arc::new(limiter))
        .config(VerifierConfig {
            admin_keys,
            ..VerifierConfig::default()
        })
        .build()
        .unwrap()
}

pub async fn start() -> Service {
    start_with(|s| s).await
}

/// [`start`], with `configure` adding to the service before it serves.
pub async fn start_with(
    configure: impl FnOnce(apikey_server::Service) -> apikey_server::Service,
) -> Service {
    start_on(|_, s| configure(s)).await
}

/// [`start_with`], with the store at hand (for what must share it, such as webhooks).
pub async fn start_on(
    configure: impl FnOnce(&MemoryStore, apikey_server::Service) -> apikey_server::Service,
) -> Service {
    let store = MemoryStore::new();
    let peppers = Peppers::random();
    let admin = build(&store, &peppers, true);
    let keys = build(&store, &peppers, false);
    let root = create_root_key(&keys)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();
    let app = configure(
        &store,
        apikey_server::Service::new(admin.clone(), keys.clone())
            .unwrap()
            .audit_log(Arc::new(store.clone())),
    )
    .into_router()
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Service {
        store,
        addr,
        keys,
        admin,
        root,
        task,
    }
}

impl Service {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let http = reqwest::Client::new();
        let mut req = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("http://{}{path}", self.addr),
            )
            .header("x-api-key", key);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let problem = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
        let text = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            assert!(
                problem,
                "{method} {path}: {status} must be problem+json: {v}"
            );
        }
        (status, v)
    }

    /// An admin key with `scopes`, acting for `tenant` when given.
    pub async fn admin_key(&self, scopes: &[&str], tenant: Option<&str>) -> String {
        let mut new = NewKey::new("admin")
            .tenant(admin_tenant())
            .scopes(scopes.iter().copied())
            .unwrap();
        if let Some(t) = tenant {
            new = new.metadata(tenant_metadata(&apikey_core::TenantId::new(t).unwrap()));
        }
        self.keys
            .manager()
            .create(new)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned()
    }
}
