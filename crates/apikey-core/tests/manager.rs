//! Management operations: validation, tenancy, rotation, audit trail, events, and redaction.

mod common;

use apikey_core::Change;
use std::time::Duration;

use apikey_core::hash::{HashAlgorithm, Hasher};
use apikey_core::{
    AuditFilter, AuditStore, Credential, ErrorKind, EventType, KeyFilter, KeyState, KeyUpdate,
    Metadata, NewKey, Quota, QuotaPeriod, Rate, RejectionKind, RequestContext, TenantId,
    TenantScope, TokenFormat,
};
use common::{Probe, fixture, fixture_with};

#[tokio::test]
async fn invalid_input_is_refused_and_stores_nothing() {
    let f = fixture();
    let m = f.keys.manager();
    let past = apikey_core::Clock::now(&f.clock) - chrono::Duration::seconds(1);
    let cases: Vec<(&str, apikey_core::Result<NewKey>)> = vec![
        ("name", Ok(NewKey::new("  "))),
        ("name", Ok(NewKey::new("x".repeat(201)))),
        ("scope", NewKey::new("a").scopes(["no-colon"])),
        ("expires_at", Ok(NewKey::new("a").expires_at(past))),
        (
            "ip rule",
            NewKey::new("a").ip_rules(["10.0.0.0/33"], [] as [&str; 0]),
        ),
        (
            "rate limit",
            Ok(NewKey::new("a").rate_limit(Rate {
                requests: 0,
                per_ms: 1000,
                burst: 1,
            })),
        ),
        (
            "quota",
            Ok(NewKey::new("a").quota(Quota {
                limit: 0,
                period: QuotaPeriod::Day,
            })),
        ),
        ("tags", Ok(NewKey::new("a").tags(["ok", "bad\u{0}tag"]))),
    ];
    for (field, new) in cases {
        let err = match new {
            Err(e) => e,
            Ok(new) => m.create(new).await.unwrap_err(),
        };
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}");
        assert!(err.to_string().contains(field), "{err} should name {field}");
    }
    assert!(
        m.query(&TenantScope::All, &KeyFilter::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn tenants_cannot_reach_each_others_keys() {
    let f = fixture();
    let m = f.keys.manager();
    let a = TenantScope::Tenant(TenantId::new("a").unwrap());
    let b = TenantScope::Tenant(TenantId::new("b").unwrap());
    let k = m
        .create(NewKey::new("svc").tenant(TenantId::new("a").unwrap()))
        .await
        .unwrap();
    assert_eq!(
        m.get(&b, k.record.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        m.revoke(&b, k.record.id, Change::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(
        m.query(&b, &KeyFilter::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(m.get(&a, k.record.id).await.unwrap().id, k.record.id);
    assert_eq!(
        m.get(&a, k.record.id).await.unwrap().state,
        KeyState::Active
    );
}

#[tokio::test]
async fn rotation_keeps_policy_links_both_and_honours_the_stored_grace() {
    let f = fixture();
    let m = f.keys.manager();
    let all = TenantScope::All;
    let quota = Quota {
        limit: 3,
        period: QuotaPeriod::Month,
    };
    let old = m
        .create(
            NewKey::new("svc")
                .scopes(["a:read"])
                .unwrap()
                .owner("team")
                .tags(["prod"])
                .quota(quota)
                .metadata(Metadata::from_json(r#"{"region":"eu"}"#).unwrap()),
        )
        .await
        .unwrap();
    let ctx = RequestContext::new();
    let verify = |t: String| {
        let v = f.keys.verifier().clone();
        async move {
            v.verify(Credential::new(&t), &RequestContext::new())
                .await
                .err()
                .map(|r| r.kind())
        }
    };
    assert_eq!(
        f.keys
            .verifier()
            .verify(Credential::new(old.token.expose()), &ctx)
            .await
            .err()
            .map(|r| r.kind()),
        None
    );
    let new = m
        .rotate(
            &all,
            old.record.id,
            chrono::Duration::hours(1),
            Change::new(),
        )
        .await
        .unwrap();
    assert_eq!(new.record.scopes, old.record.scopes);
    assert_eq!(
        (new.record.owner.clone(), new.record.tags.clone()),
        (old.record.owner.clone(), old.record.tags.clone())
    );
    assert_eq!(new.record.rotated_from, Some(old.record.id));
    assert_eq!(new.record.lineage_id, old.record.lineage_id);
    let old_now = m.get(&all, old.record.id).await.unwrap();
    assert_eq!(old_now.rotated_to, Some(new.record.id));
    assert!(old_now.grace_until.is_some());
    // Within grace both work, and they share the lineage's quota (1 used already).
    assert_eq!(verify(old.token.expose().to_owned()).await, None);
    assert_eq!(verify(new.token.expose().to_owned()).await, None);
    assert_eq!(
        verify(new.token.expose().to_owned()).await,
        Some(RejectionKind::RateLimited)
    );
    f.clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        verify(old.token.expose().to_owned()).await,
        Some(RejectionKind::Expired)
    );
    assert_eq!(
        m.rotate(&all, old.record.id, chrono::Duration::zero(), Change::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn every_change_is_audited_with_before_and_after_and_emits_an_event() {
    let f = fixture();
    let m = f.keys.manager();
    let all = TenantScope::All;
    let k = m.create(NewKey::new("svc")).await.unwrap();
    let upd = KeyUpdate {
        name: Some("renamed".into()),
        tags: Some(vec!["b".into(), "a".into()]),
        ..Default::default()
    };
    let r = m
        .update(&all, k.record.id, upd, Change::by("alice"))
        .await
        .unwrap();
    assert_eq!(
        (r.version, r.tags.clone()),
        (2, vec!["a".to_string(), "b".to_string()])
    );
    m.suspend(
        &all,
        k.record.id,
        Change::by("bob").because("investigating"),
    )
    .await
    .unwrap();
    assert_eq!(
        m.suspend(&all, k.record.id, Change::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let log = f
        .store
        .inner
        .query(&all, &AuditFilter::key(k.record.id))
        .await
        .unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.event_type).collect();
    assert_eq!(
        actions,
        [EventType::Created, EventType::Updated, EventType::Suspended]
    );
    let last = log.last().unwrap();
    assert_eq!(last.before.as_ref().unwrap().state, KeyState::Active);
    assert_eq!(last.after.as_ref().unwrap().state, KeyState::Suspended);
    assert_eq!(
        (last.actor.as_deref(), last.reason.as_deref(), last.version),
        (Some("bob"), Some("investigating"), 3)
    );
    let names: Vec<_> = f.events.events().iter().map(|e| e.kind.name()).collect();
    assert_eq!(names, ["key.created", "key.updated", "key.suspended"]);
}

#[tokio::test]
async fn slow_hash_is_paid_once_per_ttl_and_old_hashes_upgrade() {
    let f = fixture_with(Probe::new(), |b| {
        b.hasher(
            Hasher::new(common::peppers())
                .with_algorithm(HashAlgorithm::Bcrypt)
                .with_bcrypt_cost(4)
                .unwrap(),
        )
    });
    let k = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    assert_eq!(k.record.hash.algorithm(), "bcrypt");
    for _ in 0..3 {
        f.keys
            .verifier()
            .verify(Credential::new(k.token.expose()), &RequestContext::new())
            .await
            .unwrap();
    }
    assert_eq!(f.store.finds(), 1);

    // The same store under an HMAC deployment: a bcrypt hash is not trusted by default (a row
    // written around the library could carry one) ...
    let store = f.store.clone();
    let strict = apikey_core::ApiKeys::builder(store.clone())
        .peppers(common::peppers())
        .build()
        .unwrap();
    assert!(
        strict
            .verifier()
            .verify(Credential::new(k.token.expose()), &RequestContext::new())
            .await
            .is_err()
    );
    // ... but a deployment moving off bcrypt says so, and its keys verify and are re-hashed.
    let hmac = apikey_core::ApiKeys::builder(store.clone())
        .hasher(Hasher::new(common::peppers()).also_accept(HashAlgorithm::Bcrypt))
        .build()
        .unwrap();
    hmac.verifier()
        .verify(Credential::new(k.token.expose()), &RequestContext::new())
        .await
        .unwrap();
    let mut upgraded = false;
    for _ in 0..1000 {
        tokio::task::yield_now().await;
        let r = hmac
            .manager()
            .get(&TenantScope::All, k.record.id)
            .await
            .unwrap();
        if r.hash.algorithm() == "hmac-sha256" {
            upgraded = true;
            break;
        }
    }
    assert!(upgraded, "bcrypt hash was not upgraded");
}

#[tokio::test]
async fn legacy_tokens_verify_when_enabled_and_are_rehashed() {
    let f = fixture_with(Probe::new(), |b| {
        b.token_format(TokenFormat::default().with_legacy(true))
    });
    let legacy_token = "3f2a9c0d".to_owned() + &"ab".repeat(28);
    let record = common::make_legacy(&f, &legacy_token).await;
    let ok = f
        .keys
        .verifier()
        .verify(Credential::new(&legacy_token), &RequestContext::new())
        .await
        .unwrap();
    assert_eq!(ok.key_id(), record.id);
    let wrong = legacy_token.replace("ab", "cd");
    assert!(
        f.keys
            .verifier()
            .verify(Credential::new(&wrong), &RequestContext::new())
            .await
            .is_err()
    );
    let off = fixture();
    let r = off
        .keys
        .verifier()
        .verify(Credential::new(&legacy_token), &RequestContext::new())
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::Malformed);
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let f = fixture();
    let k = f
        .keys
        .manager()
        .create(NewKey::new("svc").scopes(["a:b"]).unwrap())
        .await
        .unwrap();
    let token = k.token.expose().to_owned();
    let secret = &token["sk_live_".len() + 12..token.len() - 6];
    let v = f
        .keys
        .verifier()
        .verify(Credential::new(&token), &RequestContext::new())
        .await
        .unwrap();
    for dump in [
        format!("{k:?}"),
        format!("{v:?}"),
        format!("{:?}", f.keys),
        format!("{:?}", f.events.events()),
    ] {
        assert!(!dump.contains(secret), "secret leaked in {dump}");
    }
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn export_then_import_elsewhere_keeps_keys_working() {
    let a = fixture();
    let k = a
        .keys
        .manager()
        .create(NewKey::new("svc").tags(["t"]).scopes(["a:b"]).unwrap())
        .await
        .unwrap();
    a.keys.manager().create(NewKey::new("other")).await.unwrap();
    let export = a
        .keys
        .manager()
        .export(
            &TenantScope::All,
            &KeyFilter {
                tags: vec!["t".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(export.keys.len(), 1);
    let json = serde_json::to_string(&export).unwrap();
    assert!(
        !json.contains(&k.token.expose()["sk_live_".len() + 12..]),
        "an export never holds a secret"
    );

    let b = fixture();
    let parsed: apikey_core::manage::Export = serde_json::from_str(&json).unwrap();
    let report = b
        .keys
        .manager()
        .import(&TenantScope::All, parsed.clone(), Change::by("ops"))
        .await
        .unwrap();
    assert_eq!((report.imported.len(), report.skipped.len()), (1, 0));
    let v = b
        .keys
        .verifier()
        .verify(Credential::new(k.token.expose()), &RequestContext::new())
        .await
        .unwrap();
    assert_eq!(v.key_id(), k.record.id);
    let again = b
        .keys
        .manager()
        .import(&TenantScope::All, parsed.clone(), Change::new())
        .await
        .unwrap();
    assert_eq!((again.imported.len(), again.skipped.len()), (0, 1));

    let mut bad = parsed;
    bad.keys[0].name = String::new();
    let c = fixture();
    assert_eq!(
        c.keys
            .manager()
            .import(&TenantScope::All, bad, Change::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert!(
        c.keys
            .manager()
            .query(&TenantScope::All, &KeyFilter::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A change's actor and reason reach the audit log of every kind of call; a bad one (here a
/// reason over the limit) is refused before anything is written, rotation included.
#[tokio::test]
async fn a_change_reaches_the_audit_log_and_a_bad_one_changes_nothing() {
    let f = fixture();
    let m = f.keys.manager();
    let all = TenantScope::All;
    let k = m
        .create_as(NewKey::new("k"), Change::by("alice").because("onboarding"))
        .await
        .unwrap();
    assert_eq!(k.record.created_by.as_deref(), Some("alice"));
    m.suspend(
        &all,
        k.record.id,
        Change::by("bob").because("investigating"),
    )
    .await
    .unwrap();
    let restored = m
        .unsuspend(&all, k.record.id, Change::by("bob").because("cleared"))
        .await
        .unwrap();
    assert_eq!(restored.state_reason.as_deref(), Some("cleared"));

    let too_long = "x".repeat(100_000);
    let before = m.get(&all, k.record.id).await.unwrap();
    let e = m
        .rotate(
            &all,
            k.record.id,
            chrono::Duration::hours(1),
            Change::by("bob").because(too_long.clone()),
        )
        .await
        .expect_err("reason too long");
    assert_eq!(e.kind(), apikey_core::ErrorKind::InvalidInput);
    assert!(
        m.create_as(NewKey::new("k2"), Change::new().because(too_long))
            .await
            .is_err()
    );
    let after = m.get(&all, k.record.id).await.unwrap();
    assert_eq!(
        after.version, before.version,
        "the failed rotation wrote nothing"
    );
    assert!(after.rotated_to.is_none());
}

#[tokio::test]
async fn a_refusal_for_the_keys_state_is_told_from_bad_input() {
    let f = fixture();
    let m = f.keys.manager();
    let all = TenantScope::All;
    let k = m.create(NewKey::new("s")).await.unwrap();
    m.revoke(&all, k.record.id, Change::new()).await.unwrap();
    let state = m
        .suspend(&all, k.record.id, Change::new())
        .await
        .unwrap_err();
    assert_eq!(state.kind(), ErrorKind::InvalidInput);
    assert!(apikey_core::WrongState::is(&state), "{state}");
    let bad = m
        .update(
            &all,
            k.record.id,
            KeyUpdate::default(),
            Change::by("x\u{0}y"),
        )
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert!(!apikey_core::WrongState::is(&bad), "{bad}");
}
