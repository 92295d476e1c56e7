//! A real HTTP receiver on 127.0.0.1 and a memory-backed fixture for the delivery tests.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::secret_box::{Keks, SecretBox};
use apikey_core::{ApiKeys, Clock, ManualClock, Peppers};
use apikey_memory::MemoryStore;
use apikey_webhooks::{DispatchConfig, Dispatcher, NewSubscription, SendLimits, Webhooks};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use parking_lot::Mutex;

/// What the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

#[derive(Default)]
struct Inner {
    got: Vec<Received>,
    /// Statuses to answer, in order; 200 once empty.
    script: VecDeque<u16>,
    /// Sleep before answering (a slow receiver).
    delay: Option<Duration>,
}

/// A receiver listening on a loopback port.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route("/hook", post(take))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inner }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub(crate) fn answer(&self, statuses: &[u16]) {
        self.inner.lock().script.extend(statuses.iter().copied());
    }

    /// Answers 200 from now on.
    pub(crate) fn succeed(&self) {
        self.inner.lock().script.clear();
    }

    pub(crate) fn delay(&self, by: Duration) {
        self.inner.lock().delay = Some(by);
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.inner.lock().got.clone()
    }

    pub(crate) fn types(&self) -> Vec<String> {
        self.got()
            .iter()
            .map(|r| {
                serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

async fn take(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (status, delay) = {
        let mut i = inner.lock();
        i.got.push(Received { headers, body });
        (i.script.pop_front().unwrap_or(200), i.delay)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    StatusCode::from_u16(status).unwrap()
}

/// A memory store with keys, webhooks and a dispatcher on one manual clock that starts at the
/// real "now" (the reference verifier checks timestamps against the wall clock).
pub(crate) struct Fixture {
    pub(crate) store: MemoryStore,
    pub(crate) clock: ManualClock,
    pub(crate) keys: ApiKeys,
    pub(crate) hooks: Webhooks,
    pub(crate) dispatcher: Dispatcher,
}

pub(crate) fn fixture() -> Fixture {
    fixture_with(DispatchConfig {
        limits: SendLimits {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            max_response_bytes: 1024,
        },
        ..DispatchConfig::default()
    })
}

pub(crate) fn fixture_with(config: DispatchConfig) -> Fixture {
    let store = MemoryStore::new();
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::random())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let hooks = Webhooks::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(SecretBox::new(Keks::random())),
        Arc::new(clock.clone()) as Arc<dyn Clock>,
    );
    let dispatcher = Dispatcher::new(hooks.clone(), config).unwrap();
    Fixture {
        store,
        clock,
        keys,
        hooks,
        dispatcher,
    }
}

/// A subscription to the local receiver (loopback, plain HTTP: both allowed explicitly).
pub(crate) fn local(receiver: &Receiver) -> NewSubscription {
    NewSubscription {
        url: receiver.url(),
        allow_http: true,
        allow_private_network: true,
        ..NewSubscription::default()
    }
}
