//! The webhook dispatcher end to end on MongoDB: a key change read from the audit log is fanned
//! out to three subscriptions, stored as deliveries in `<prefix>webhook_deliveries`, POSTed signed
//! (concurrently) to a receiver on 127.0.0.1, and recorded as delivered; a second run sends
//! nothing. Needs
//! `APIKEY_TEST_MONGODB_URL` (skipped without it, except in CI).

mod common;

use std::sync::Arc;

use apikey_core::secret_box::{Keks, SecretBox};
use apikey_core::webhook::{DeliveryFilter, DeliveryState};
use apikey_core::{ApiKeys, Clock, ManualClock, NewKey, Peppers, TenantScope};
use apikey_webhooks::{DispatchConfig, Dispatcher, NewSubscription, Webhooks};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A receiver on a loopback port that answers 204 to every request and hands over each
/// request's head and body.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0_u8; 4096];
                let (head, body_len) = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        buf.drain(..end + 4);
                        break (head, len);
                    }
                };
                while buf.len() < body_len {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                // Handed over before the answer, so it is there when the sender sees the 204.
                let _ = tx.send((head, buf));
                let _ = conn
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_change_is_delivered_once_per_subscription_from_mongodb() {
    let Some(url) = common::url() else { return };
    let isolated = common::store(url).await;
    let store = Arc::new(isolated.store.clone());
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = ApiKeys::builder(store.clone())
        .peppers(Peppers::random())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let hooks = Webhooks::new(
        store.clone(),
        store.clone(),
        Arc::new(SecretBox::new(Keks::random())),
        Arc::new(clock.clone()) as Arc<dyn Clock>,
    );
    let dispatcher = Dispatcher::new(hooks.clone(), DispatchConfig::default()).unwrap();
    let (target, mut got) = receiver().await;
    // Three subscriptions: their deliveries are sent, and recorded, concurrently.
    let mut subs = Vec::new();
    for _ in 0..3 {
        let (sub, _secret) = hooks
            .create(NewSubscription {
                url: target.clone(),
                allow_http: true,
                allow_private_network: true,
                ..NewSubscription::default()
            })
            .await
            .unwrap();
        subs.push(sub.id);
    }

    let key = keys.manager().create(NewKey::new("svc")).await.unwrap();
    let report = dispatcher.run_until_idle().await.unwrap();
    assert_eq!((report.enqueued, report.delivered), (3, 3), "{report:?}");
    for _ in 0..3 {
        let (head, body) = got.try_recv().expect("one request per subscription");
        assert!(head.starts_with("post /hook"), "{head}");
        assert!(head.contains("webhook-signature: v1,"), "{head}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["type"], "key.created");
        assert_eq!(body["data"]["key"]["id"], key.record.id.to_string());
    }

    let deliveries = hooks
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap();
    let mut delivered: Vec<_> = deliveries
        .iter()
        .filter(|d| d.state == DeliveryState::Delivered)
        .map(|d| d.subscription_id)
        .collect();
    delivered.sort();
    subs.sort();
    assert_eq!(delivered, subs, "{deliveries:?}");
    assert!(
        dispatcher.run_until_idle().await.unwrap().is_idle(),
        "nothing twice"
    );
    assert!(got.try_recv().is_err(), "no second request");
}
