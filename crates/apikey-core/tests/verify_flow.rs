//! The verifier's decisions, end to end over the memory store and limiter.

mod common;

use apikey_core::Change;
use std::time::Duration;

use apikey_core::token::base62;
use apikey_core::{
    Credential, NewKey, Quota, QuotaPeriod, Rate, RejectionKind, RequestContext, Scope, TenantScope,
};
use common::{Probe, fixture, fixture_with};

fn ctx() -> RequestContext<'static> {
    RequestContext::new()
}

async fn kind(f: &common::Fixture, token: &str, ctx: &RequestContext<'_>) -> Option<RejectionKind> {
    f.keys
        .verifier()
        .verify(Credential::new(token), ctx)
        .await
        .err()
        .map(|r| r.kind())
}

/// Same lookup id, another secret, valid checksum: passes parsing, fails the hash.
fn forge_secret(token: &str, prefix_len: usize) -> String {
    let mut body = token.as_bytes()[..token.len() - 6].to_vec();
    let i = prefix_len + 12;
    body[i] = if body[i] == b'A' { b'B' } else { b'A' };
    let mut sum = [0u8; 6];
    base62::encode_fixed(u64::from(crc32fast::hash(&body)), &mut sum);
    body.extend_from_slice(&sum);
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn create_verify_revoke() {
    let f = fixture();
    let created = f
        .keys
        .manager()
        .create(NewKey::new("svc").scopes(["projects:read"]).unwrap())
        .await
        .unwrap();
    let token = created.token.expose();
    let need = [Scope::new("projects:read").unwrap()];
    let v = f
        .keys
        .verifier()
        .verify(Credential::new(token), &ctx().scopes(&need))
        .await
        .unwrap();
    assert_eq!(v.key_id(), created.record.id);
    f.keys
        .manager()
        .revoke(
            &TenantScope::All,
            created.record.id,
            Change::new().because("leaked"),
        )
        .await
        .unwrap();
    let r = f
        .keys
        .verifier()
        .verify(Credential::new(token), &ctx())
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::Revoked);
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn malformed_tokens_never_reach_the_store() {
    let f = fixture();
    let created = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    let t = created.token.expose();
    // One character changed (never to itself: one token in 62 has an `x` there).
    let other = if t.as_bytes()[20] == b'x' { 'y' } else { 'x' };
    let typo = format!("{}{other}{}", &t[..20], &t[21..]);
    for bad in [
        "",
        "nope",
        "sk_live_",
        &t[..t.len() - 1],
        &typo,
        &format!("{t}0"),
    ] {
        assert_eq!(
            kind(&f, bad, &ctx()).await,
            Some(RejectionKind::Malformed),
            "{bad:?}"
        );
    }
    assert_eq!(f.store.finds(), 0);
}

#[tokio::test]
async fn hits_are_served_from_the_cache_and_unknown_ids_are_cached_negatively() {
    let f = fixture();
    let created = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    for _ in 0..5 {
        assert_eq!(kind(&f, created.token.expose(), &ctx()).await, None);
    }
    assert_eq!(f.store.finds(), 1);
    let (_, unknown) = f.keys.verifier().token_format().generate();
    assert_eq!(
        kind(&f, unknown.expose(), &ctx()).await,
        Some(RejectionKind::Unknown)
    );
    assert_eq!(
        kind(&f, unknown.expose(), &ctx()).await,
        Some(RejectionKind::Unknown)
    );
    assert_eq!(f.store.finds(), 2);
    // The cache entry lives a fixed TTL from insertion, however busy the key is.
    f.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(kind(&f, created.token.expose(), &ctx()).await, None);
    assert_eq!(f.store.finds(), 3);
}

#[tokio::test]
async fn wrong_secret_is_uniformly_invalid_on_miss_and_hit() {
    let f = fixture();
    let created = f
        .keys
        .manager()
        .create(NewKey::new("svc").scopes(["a:b"]).unwrap())
        .await
        .unwrap();
    let forged = forge_secret(created.token.expose(), "sk_live_".len());
    let need = [Scope::new("other:thing").unwrap()];
    // Cold: the scope would fail too, but nothing beyond "invalid" is revealed before the secret.
    let miss = f
        .keys
        .verifier()
        .verify(Credential::new(&forged), &ctx().scopes(&need))
        .await
        .unwrap_err();
    assert_eq!(
        (miss.kind(), miss.status(), miss.key_id()),
        (RejectionKind::WrongSecret, 401, None)
    );
    assert_eq!(kind(&f, created.token.expose(), &ctx()).await, None);
    let hit = f
        .keys
        .verifier()
        .verify(Credential::new(&forged), &ctx().scopes(&need))
        .await
        .unwrap_err();
    assert_eq!(
        (hit.kind().public_code(), hit.key_id()),
        ("invalid_api_key", None)
    );
}

#[tokio::test]
async fn lifecycle_states_are_enforced_and_take_effect_at_once() {
    let f = fixture();
    let m = f.keys.manager();
    let all = TenantScope::All;
    let k = m.create(NewKey::new("svc")).await.unwrap();
    let t = k.token.expose();
    assert_eq!(kind(&f, t, &ctx()).await, None);
    m.suspend(&all, k.record.id, Change::new().because("audit"))
        .await
        .unwrap();
    assert_eq!(kind(&f, t, &ctx()).await, Some(RejectionKind::Suspended));
    m.unsuspend(&all, k.record.id, Change::new()).await.unwrap();
    assert_eq!(kind(&f, t, &ctx()).await, None);
    m.revoke(&all, k.record.id, Change::new()).await.unwrap();
    assert_eq!(kind(&f, t, &ctx()).await, Some(RejectionKind::Revoked));
    m.restore(&all, k.record.id, Change::new()).await.unwrap();
    assert_eq!(kind(&f, t, &ctx()).await, None);

    let p = m
        .create(NewKey::new("pending").require_approval())
        .await
        .unwrap();
    assert_eq!(
        kind(&f, p.token.expose(), &ctx()).await,
        Some(RejectionKind::PendingApproval)
    );
    m.approve(&all, p.record.id, Change::by("ops"))
        .await
        .unwrap();
    assert_eq!(kind(&f, p.token.expose(), &ctx()).await, None);
}

#[tokio::test]
async fn expiry_with_grace_and_not_before() {
    let f = fixture_with(Probe::new(), |b| {
        b.config(apikey_core::VerifierConfig {
            expiry_grace: Duration::from_secs(60),
            ..Default::default()
        })
    });
    let now = apikey_core::Clock::now(&f.clock);
    let k = f
        .keys
        .manager()
        .create(
            NewKey::new("svc")
                .expires_at(now + chrono::Duration::hours(1))
                .not_before(now + chrono::Duration::minutes(1)),
        )
        .await
        .unwrap();
    let t = k.token.expose();
    assert_eq!(kind(&f, t, &ctx()).await, Some(RejectionKind::NotYetValid));
    f.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(kind(&f, t, &ctx()).await, None);
    f.clock
        .advance(chrono::Duration::minutes(58) + chrono::Duration::seconds(30));
    let v = f
        .keys
        .verifier()
        .verify(Credential::new(t), &ctx())
        .await
        .unwrap();
    assert!(v.in_expiry_grace());
    f.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(kind(&f, t, &ctx()).await, Some(RejectionKind::Expired));
}

#[tokio::test]
async fn ip_rules_and_scopes() {
    let f = fixture();
    let k = f
        .keys
        .manager()
        .create(
            NewKey::new("svc")
                .scopes(["projects:*", "users:read"])
                .unwrap()
                .ip_rules(["10.0.0.0/8"], ["10.9.0.0/16"])
                .unwrap(),
        )
        .await
        .unwrap();
    let t = k.token.expose();
    let ip = |s: &str| Some(s.parse().unwrap());
    assert_eq!(
        kind(&f, t, &ctx()).await,
        Some(RejectionKind::ClientIpUnknown)
    );
    assert_eq!(kind(&f, t, &ctx().client_ip(ip("10.1.1.1"))).await, None);
    assert_eq!(
        kind(&f, t, &ctx().client_ip(ip("::ffff:10.1.1.1"))).await,
        None
    );
    assert_eq!(
        kind(&f, t, &ctx().client_ip(ip("10.9.1.1"))).await,
        Some(RejectionKind::IpDenied)
    );
    assert_eq!(
        kind(&f, t, &ctx().client_ip(ip("192.0.2.1"))).await,
        Some(RejectionKind::IpDenied)
    );
    let wild = [
        Scope::new("projects:delete").unwrap(),
        Scope::new("users:read").unwrap(),
    ];
    assert_eq!(
        kind(&f, t, &ctx().client_ip(ip("10.1.1.1")).scopes(&wild)).await,
        None
    );
    let denied = [Scope::new("users:write").unwrap()];
    let r = f
        .keys
        .verifier()
        .verify(
            Credential::new(t),
            &ctx().client_ip(ip("10.1.1.1")).scopes(&denied),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (r.kind(), r.status()),
        (RejectionKind::InsufficientScope, 403)
    );
    assert_eq!(r.missing_scope(), Some(&denied[0]));
}

#[tokio::test]
async fn rate_limit_then_recovery_and_rejected_requests_spend_nothing() {
    let f = fixture();
    let rate = Rate::with_burst(2, Duration::from_secs(1), 2).unwrap();
    let k = f
        .keys
        .manager()
        .create(
            NewKey::new("svc")
                .scopes(["a:read"])
                .unwrap()
                .rate_limit(rate),
        )
        .await
        .unwrap();
    let t = k.token.expose();
    let wrong = [Scope::new("a:write").unwrap()];
    for _ in 0..5 {
        assert_eq!(
            kind(&f, t, &ctx().scopes(&wrong)).await,
            Some(RejectionKind::InsufficientScope)
        );
    }
    assert_eq!(kind(&f, t, &ctx()).await, None);
    assert_eq!(kind(&f, t, &ctx()).await, None);
    let r = f
        .keys
        .verifier()
        .verify(Credential::new(t), &ctx())
        .await
        .unwrap_err();
    assert_eq!((r.kind(), r.status()), (RejectionKind::RateLimited, 429));
    assert_eq!(r.retry_after_duration(), Some(Duration::from_millis(500)));
    f.clock.advance(chrono::Duration::milliseconds(500));
    assert_eq!(kind(&f, t, &ctx()).await, None);
}

#[tokio::test]
async fn endpoint_limits_and_quota() {
    let f = fixture();
    let rate = Rate::new(1, Duration::from_secs(60)).unwrap();
    let k = f
        .keys
        .manager()
        .create(
            NewKey::new("svc")
                .endpoint_limit("POST /x", rate)
                .quota(Quota {
                    limit: 3,
                    period: QuotaPeriod::Day,
                }),
        )
        .await
        .unwrap();
    let t = k.token.expose();
    assert_eq!(kind(&f, t, &ctx().endpoint("POST /x")).await, None);
    assert_eq!(
        kind(&f, t, &ctx().endpoint("POST /x")).await,
        Some(RejectionKind::RateLimited)
    );
    assert_eq!(kind(&f, t, &ctx().endpoint("GET /x")).await, None);
    assert_eq!(kind(&f, t, &ctx()).await, None);
    let r = f
        .keys
        .verifier()
        .verify(Credential::new(t), &ctx())
        .await
        .unwrap_err();
    assert_eq!(
        r.limit().map(|l| l.kind),
        Some(apikey_core::limit::LimitKind::Quota)
    );
}

#[tokio::test]
async fn limits_without_a_limiter_fail_closed() {
    let clock = apikey_core::ManualClock::fixed();
    let store = std::sync::Arc::new(Probe::new());
    let keys = apikey_core::ApiKeys::builder(store)
        .peppers(common::peppers())
        .clock(std::sync::Arc::new(clock))
        .build()
        .unwrap();
    let rate = Rate::new(10, Duration::from_secs(1)).unwrap();
    let k = keys
        .manager()
        .create(NewKey::new("svc").rate_limit(rate))
        .await
        .unwrap();
    let r = keys
        .verifier()
        .verify(Credential::new(k.token.expose()), &ctx())
        .await
        .unwrap_err();
    assert_eq!((r.kind(), r.status()), (RejectionKind::Unavailable, 503));
}

#[tokio::test]
async fn store_down_is_503_not_401() {
    let f = fixture();
    let k = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    f.store
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = f
        .keys
        .verifier()
        .verify(Credential::new(k.token.expose()), &ctx())
        .await
        .unwrap_err();
    assert_eq!((r.kind(), r.status()), (RejectionKind::Unavailable, 503));
}

#[tokio::test]
async fn repeated_failures_block_the_address_and_report_in_aggregate() {
    let f = fixture_with(Probe::new(), |b| {
        b.config(apikey_core::VerifierConfig {
            failed_auth: apikey_core::verify::FailedAuthPolicy {
                max_failures: 3,
                window: Duration::from_secs(60),
                max_tracked: 100,
                ..Default::default()
            },
            ..Default::default()
        })
    });
    let k = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    f.keys.verifier().clear_cache();
    let forged = forge_secret(k.token.expose(), "sk_live_".len());
    let attacker = ctx().client_ip(Some("203.0.113.7".parse().unwrap()));
    for _ in 0..2 {
        assert_eq!(
            kind(&f, &forged, &attacker).await,
            Some(RejectionKind::WrongSecret)
        );
    }
    for _ in 0..2 {
        assert_eq!(
            kind(&f, &forged, &attacker).await,
            Some(RejectionKind::TooManyFailures),
            "the third failure blocks, and the block holds"
        );
    }
    // The owner, from elsewhere, is unaffected.
    assert_eq!(
        kind(
            &f,
            k.token.expose(),
            &ctx().client_ip(Some("198.51.100.1".parse().unwrap()))
        )
        .await,
        None
    );
    tokio::task::yield_now().await;
    let reports = f
        .events
        .events()
        .into_iter()
        .filter(|e| e.kind.name() == "key.auth_failed")
        .count();
    assert_eq!(
        reports, 2,
        "first failure and the block, not one per request"
    );
}

#[tokio::test]
async fn usage_is_written_behind_without_bumping_version() {
    let f = fixture();
    let k = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    for _ in 0..7 {
        assert_eq!(kind(&f, k.token.expose(), &ctx()).await, None);
    }
    assert_eq!(f.keys.verifier().flush_usage().await.unwrap(), 1);
    let r = f
        .keys
        .manager()
        .get(&TenantScope::All, k.record.id)
        .await
        .unwrap();
    assert_eq!(r.usage_count, 7);
    assert_eq!(
        r.last_used_at,
        Some(apikey_core::clock::truncate_ms(apikey_core::Clock::now(
            &f.clock
        )))
    );
    assert_eq!(r.version, k.record.version);
    // A failed flush keeps its counts for the next one.
    assert_eq!(kind(&f, k.token.expose(), &ctx()).await, None);
    f.store
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(f.keys.verifier().flush_usage().await.is_err());
    f.store
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    f.keys.verifier().flush_usage().await.unwrap();
    assert_eq!(
        f.keys
            .manager()
            .get(&TenantScope::All, k.record.id)
            .await
            .unwrap()
            .usage_count,
        8
    );
}
