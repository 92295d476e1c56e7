//! Failed verifications reach webhooks aggregated: a thousand random lookup ids from three
//! networks are three `auth.failures` deliveries, not a thousand.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use apikey_core::audit::{AuthFailureConfig, AuthFailureLog};
use apikey_core::event::{CollectingSink, FanOut};
use apikey_core::token::TokenFormat;
use apikey_core::{ApiKeys, Clock, Credential, Peppers, RequestContext};
use common::{Receiver, fixture, local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_ids_become_one_event_per_network() {
    let rx = Receiver::start().await;
    let f = fixture();
    f.hooks.create(local(&rx)).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(f.clock.clone());
    let log = Arc::new(
        AuthFailureLog::new(
            Arc::new(f.store.clone()),
            clock.clone(),
            AuthFailureConfig::default(),
        )
        .unwrap(),
    );
    let seen = Arc::new(CollectingSink::default());
    let keys = ApiKeys::builder(Arc::new(f.store.clone()))
        .peppers(Peppers::random())
        .clock(clock)
        .events(Arc::new(FanOut(vec![log.clone(), seen.clone()])))
        .build()
        .unwrap();

    let format = TokenFormat::default();
    for i in 0..999u32 {
        let ip: IpAddr = format!("198.51.{}.{}", i % 3, i % 250).parse().unwrap();
        let (_, token) = format.generate();
        let r = keys
            .verifier()
            .verify(
                Credential::new(token.expose()),
                &RequestContext::new().client_ip(Some(ip)),
            )
            .await;
        assert!(r.is_err());
    }
    // The verifier reports from spawned tasks: wait until all 999 are in.
    for _ in 0..1000 {
        if seen.events().len() >= 999 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(seen.events().len(), 999, "one report per new (address, id)");
    assert_eq!(log.flush_all().await.unwrap(), 3);

    let report = f.dispatcher.run_until_idle().await.unwrap();
    assert_eq!(report.delivered, 3, "{report:?}");
    let mut networks: Vec<String> = rx
        .got()
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["type"], "auth.failures");
            assert_eq!(v["data"]["details"]["failing_ids"], 333);
            v["data"]["details"]["network"].as_str().unwrap().to_owned()
        })
        .collect();
    networks.sort();
    assert_eq!(
        networks,
        ["198.51.0.0/24", "198.51.1.0/24", "198.51.2.0/24"]
    );
}
