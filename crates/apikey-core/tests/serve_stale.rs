//! Serving stale entries during a store outage: off by default (503); with
//! `VerifierConfig::serve_stale`, a key verified before the outage keeps working for that long
//! past its cache lifetime with the same secret only, a wrong secret is still refused, an
//! invalidation heard before the outage is honoured, and fresh answers resume when the store is
//! back. Time is a `ManualClock`.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use apikey_core::{Credential, NewKey, RejectionKind, RequestContext, TenantScope, VerifierConfig};
use common::{Probe, fixture_with};

fn config(serve_stale: Duration) -> VerifierConfig {
    VerifierConfig {
        cache_ttl: Duration::from_secs(60),
        serve_stale,
        ..VerifierConfig::default()
    }
}

#[tokio::test]
async fn a_known_key_is_served_stale_for_the_bound_only() {
    let f = fixture_with(Probe::new(), |b| b.config(config(Duration::from_secs(600))));
    let m = f.keys.manager();
    let key = m.create(NewKey::new("svc")).await.unwrap();
    let other = m.create(NewKey::new("revoked")).await.unwrap();
    let token = key.token.expose().to_owned();
    let verify = |t: String| {
        let v = f.keys.verifier().clone();
        async move { v.verify(Credential::new(&t), &RequestContext::new()).await }
    };
    verify(token.clone()).await.unwrap();
    verify(other.token.expose().to_owned()).await.unwrap();
    // Revoked here (this process hears of it), then the store goes down.
    m.revoke(
        &TenantScope::All,
        other.record.id,
        apikey_core::Change::new(),
    )
    .await
    .unwrap();
    f.store.down.store(true, Ordering::SeqCst);
    f.clock.advance(chrono::Duration::seconds(61));

    verify(token.clone()).await.expect("served stale");
    // The same lookup id with another secret (valid checksum): nothing is served for it.
    let prefix = f.keys.verifier().token_format().prefix().len();
    let mut body = token.as_bytes()[..token.len() - 6].to_vec();
    body[prefix + 12] = if body[prefix + 12] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let mut sum = [0u8; 6];
    apikey_core::token::base62::encode_fixed(u64::from(crc32fast::hash(&body)), &mut sum);
    body.extend_from_slice(&sum);
    assert_eq!(
        verify(String::from_utf8(body).unwrap())
            .await
            .unwrap_err()
            .kind(),
        RejectionKind::Unavailable,
        "another secret is not served stale"
    );
    assert_eq!(
        verify(other.token.expose().to_owned())
            .await
            .unwrap_err()
            .kind(),
        RejectionKind::Unavailable,
        "an invalidated entry is never served stale"
    );
    // Past the bound: 503.
    f.clock.advance(chrono::Duration::seconds(600));
    assert_eq!(
        verify(token.clone()).await.unwrap_err().kind(),
        RejectionKind::Unavailable
    );
    // The store is back: a fresh answer.
    f.store.down.store(false, Ordering::SeqCst);
    verify(token).await.unwrap();
}

#[tokio::test]
async fn off_by_default() {
    let f = fixture_with(Probe::new(), |b| b.config(config(Duration::ZERO)));
    let key = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    let token = key.token.expose().to_owned();
    let v = f.keys.verifier();
    v.verify(Credential::new(&token), &RequestContext::new())
        .await
        .unwrap();
    f.store.down.store(true, Ordering::SeqCst);
    f.clock.advance(chrono::Duration::seconds(61));
    let r = v
        .verify(Credential::new(&token), &RequestContext::new())
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::Unavailable);
}
