//! While the key store is down every cache miss fails with 503, but the log gets one line per
//! interval (with the count held back), not one per request.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apikey_core::token::TokenFormat;
use apikey_core::{Credential, RejectionKind, RequestContext};
use common::{Probe, fixture_with};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Counts ERROR events from the verifier.
struct Errors(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for Errors {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let m = event.metadata();
        if *m.level() == tracing::Level::ERROR && m.target().starts_with("apikey_core::verify") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_store_outage_logs_once_per_interval_not_once_per_request() {
    let errors = Arc::new(AtomicUsize::new(0));
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(Errors(errors.clone())),
    );
    let f = fixture_with(Probe::new(), |b| b);
    f.store.down.store(true, Ordering::SeqCst);
    let format = TokenFormat::default();
    let refuse = || {
        let (_, token) = format.generate();
        let v = f.keys.verifier().clone();
        async move {
            let r = v
                .verify(Credential::new(token.expose()), &RequestContext::new())
                .await
                .unwrap_err();
            assert_eq!(r.kind(), RejectionKind::Unavailable);
        }
    };
    for _ in 0..50 {
        refuse().await;
    }
    assert_eq!(errors.load(Ordering::SeqCst), 1, "one line for 50 failures");
    f.clock.advance(chrono::Duration::seconds(11));
    for _ in 0..50 {
        refuse().await;
    }
    assert_eq!(
        errors.load(Ordering::SeqCst),
        2,
        "one more after the interval"
    );
}
