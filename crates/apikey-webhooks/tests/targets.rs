//! Safe targets: refused addresses at subscription time and at delivery (including a name whose
//! DNS answer changes between the two), redirects not followed, errors that do not echo the URL.

mod common;

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apikey_core::webhook::{DeliveryFilter, DeliveryState};
use apikey_core::{ErrorKind, NewKey, TenantScope};
use apikey_webhooks::{DispatchConfig, Dispatcher, HostResolver, NewSubscription};
use async_trait::async_trait;
use axum::http::StatusCode;
use axum::routing::post;
use common::{Receiver, fixture, local};

/// Answers a public address first, then loopback: a rebinding DNS server.
#[derive(Debug, Default)]
struct Rebinding(AtomicUsize);

#[async_trait]
impl HostResolver for Rebinding {
    async fn lookup(&self, _host: &str) -> io::Result<Vec<IpAddr>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Ok(vec![if n == 0 {
            "203.0.113.9".parse().unwrap()
        } else {
            "127.0.0.1".parse().unwrap()
        }])
    }
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let f = fixture();
    for url in [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/",
        "https://localhost/hook",
    ] {
        let err = f
            .hooks
            .create(NewSubscription {
                url: url.into(),
                ..NewSubscription::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
        assert!(
            err.message().contains("allow_private_network"),
            "{url}: {err}"
        );
    }
    for (url, why) in [
        ("http://hooks.example/", "--allow-http"),
        ("ftp://hooks.example/", "not http(s)"),
        ("https://u:p@hooks.example/", "user name or password"),
    ] {
        let err = f
            .hooks
            .create(NewSubscription {
                url: url.into(),
                ..NewSubscription::default()
            })
            .await
            .unwrap_err();
        assert!(err.message().contains(why), "{url}: {err}");
    }
    assert!(
        f.hooks.list(&TenantScope::All).await.unwrap().is_empty(),
        "nothing stored"
    );
    let ok = f
        .hooks
        .create(NewSubscription {
            url: "https://127.0.0.1:9/hook".into(),
            allow_private_network: true,
            ..NewSubscription::default()
        })
        .await;
    assert!(ok.is_ok(), "allowed explicitly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_rebinds_to_loopback_is_refused_at_delivery() {
    let rx = Receiver::start().await;
    let mut f = fixture();
    let hooks = f.hooks.clone().resolver(Arc::new(Rebinding::default()));
    f.dispatcher = Dispatcher::new(hooks.clone(), DispatchConfig::default()).unwrap();
    let url = format!("http://rebind.example:{}/hook", rx.addr.port());
    hooks
        .create(NewSubscription {
            url,
            allow_http: true,
            ..NewSubscription::default()
        })
        .await
        .expect("the first answer is public");
    f.keys.manager().create(NewKey::new("a")).await.unwrap();
    let r = f.dispatcher.pump().await.unwrap();
    assert_eq!(r.retrying, 1, "{r:?}");
    assert!(rx.got().is_empty(), "nothing reached the loopback receiver");
    let d = &hooks
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap()[0];
    let err = d.last_error.as_deref().unwrap();
    assert!(
        err.contains("rebind.example resolves to 127.0.0.1 (a loopback address)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_errors_do_not_echo_the_url() {
    let rx = Receiver::start().await;
    let target = rx.url();
    let app = axum::Router::new().route(
        "/moved",
        post(move || {
            let target = target.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", target)]) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let f = fixture();
    f.hooks
        .create(NewSubscription {
            url: format!("http://{addr}/moved?token=tenant-private"),
            ..local(&rx)
        })
        .await
        .unwrap();
    // A port nothing listens on: a connection error.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    f.hooks
        .create(NewSubscription {
            url: format!("http://{closed_addr}/x?token=tenant-private"),
            ..local(&rx)
        })
        .await
        .unwrap();
    f.keys.manager().create(NewKey::new("a")).await.unwrap();
    f.dispatcher.pump().await.unwrap();
    assert!(rx.got().is_empty(), "the redirect was not followed");
    let ds = f
        .hooks
        .deliveries(&TenantScope::All, &DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(ds.len(), 2);
    for d in &ds {
        assert_eq!(d.state, DeliveryState::Pending);
        let err = d.last_error.as_deref().unwrap();
        assert!(!err.contains("tenant-private"), "{err}");
    }
    assert!(ds.iter().any(|d| {
        d.last_status == Some(307)
            && d.last_error
                .as_deref()
                .unwrap()
                .contains("redirects are not followed")
    }));
    assert!(ds.iter().any(|d| {
        d.last_status.is_none()
            && d.last_error
                .as_deref()
                .unwrap()
                .starts_with("could not connect")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_is_cut_at_the_cap() {
    // 200 with a body that never ends: without the cap the attempt would run into the timeout
    // and count as failed; with it, the status is read and the rest dropped.
    let app = axum::Router::new().route(
        "/endless",
        post(|| async {
            let chunk = axum::body::Bytes::from(vec![b'x'; 16 * 1024]);
            let stream = futures_util::stream::repeat_with(move || {
                Ok::<_, std::convert::Infallible>(chunk.clone())
            });
            (StatusCode::OK, axum::body::Body::from_stream(stream))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let f = fixture();
    f.hooks
        .create(NewSubscription {
            url: format!("http://{addr}/endless"),
            allow_http: true,
            allow_private_network: true,
            ..NewSubscription::default()
        })
        .await
        .unwrap();
    f.keys.manager().create(NewKey::new("a")).await.unwrap();
    let r = f.dispatcher.pump().await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
}
