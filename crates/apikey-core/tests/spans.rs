//! The verifier's slow paths open `tracing` spans — the store read, the slow hash and the
//! limiter's round trip — each naming the key by its lookup id, and no span field ever holds the
//! token or its secret.

use std::fmt;
use std::sync::Arc;

use apikey_core::limit::{Decision, LimitPolicy, Rate, RateLimiter, Subject};
use apikey_core::{
    ApiKeys, Clock, Credential, HashAlgorithm, Hasher, ManualClock, NewKey, Peppers,
    RequestContext, Result,
};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_trait::async_trait;
use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span as opened: its name and every field's value as text.
#[derive(Debug)]
struct Opened {
    name: &'static str,
    fields: Vec<(&'static str, String)>,
}

impl Opened {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Fields<'a>(&'a mut Vec<(&'static str, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }
}

/// Records every span opened while it is the default subscriber.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Opened>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().push(Opened {
            name: attrs.metadata().name(),
            fields,
        });
    }
}

/// The memory limiter answered as a remote one would be: only through the awaited call.
#[derive(Debug)]
struct Remote(MemoryLimiter);

#[async_trait]
impl RateLimiter for Remote {
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Result<Decision> {
        self.0.check(subject, policy, cost).await
    }
}

#[tokio::test]
async fn slow_paths_open_spans_named_by_lookup_id_and_never_by_secret() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::fixed());
    let peppers = || Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap();
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(peppers())
        .hasher(
            Hasher::new(peppers())
                .with_algorithm(HashAlgorithm::Bcrypt)
                .with_bcrypt_cost(4)
                .unwrap(),
        )
        .clock(clock.clone())
        .limiter(Arc::new(Remote(MemoryLimiter::new(clock))))
        .build()
        .unwrap();
    let rate = Rate::new(100, std::time::Duration::from_secs(60)).unwrap();
    let created = keys
        .manager()
        .create(NewKey::new("traced").rate_limit(rate))
        .await
        .unwrap();
    let token = created.token.expose();
    let lookup = created.record.lookup_id.to_string();

    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    keys.verifier()
        .verify(Credential::new(token), &RequestContext::new())
        .await
        .expect("verifies");
    drop(guard);

    let opened = spans.0.lock();
    for name in [
        "apikey.store.fetch",
        "apikey.hash.verify",
        "apikey.limiter.check",
    ] {
        let span = opened
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} span among {opened:?}"));
        assert_eq!(span.field("lookup_id"), Some(lookup.as_str()), "{name}");
    }
    let hash = opened.iter().find(|s| s.name == "apikey.hash.verify");
    assert_eq!(hash.and_then(|s| s.field("algorithm")), Some("bcrypt"));
    // The secret is what follows the prefix and lookup id; no field may hold it or the token.
    let secret = &token[token.find(&lookup).unwrap() + lookup.len()..];
    for (name, value) in opened.iter().flat_map(|s| s.fields.iter()) {
        assert!(
            !value.contains(secret) && !value.contains(token),
            "span field {name} holds the secret"
        );
    }
}
