//! Leak reports: only a real key's whole token revokes it; a token forged from the public lookup id
//! and a valid checksum changes nothing.

mod common;

use apikey_core::{
    AuditFilter, AuditStore, Change, Credential, EventType, KeyState, LeakOutcome, NewKey,
    RejectionKind, RequestContext, TenantId, TenantScope, TokenFormat,
};
use common::fixture;

/// The token with its secret replaced by another of the same length, checksum recomputed: what a
/// forger who saw the lookup id (it is public) can build.
fn forged(real: &str, format: &TokenFormat) -> String {
    let prefix = format.prefix().len();
    let lookup_end = prefix + apikey_core::ids::LOOKUP_ID_LEN;
    let secret_end = real.len() - apikey_core::token::CHECKSUM_LEN;
    let secret: String = real[lookup_end..secret_end]
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let signed = format!("{}{secret}", &real[..lookup_end]);
    let sum = apikey_core::token::checksum(signed.as_bytes());
    let token = format!("{signed}{}", std::str::from_utf8(&sum).unwrap());
    assert!(format.parse(&token).is_some(), "the forgery is well formed");
    token
}

#[tokio::test]
async fn a_real_token_is_revoked_with_the_url_and_audited_as_leaked() {
    let f = fixture();
    let m = f.keys.manager();
    let tenant = TenantId::new("acme").unwrap();
    let k = m
        .create(NewKey::new("ci").tenant(tenant.clone()))
        .await
        .unwrap();
    let ctx = RequestContext::new();
    let cred = Credential::new(k.token.expose());
    assert!(f.keys.verifier().verify(cred, &ctx).await.is_ok());

    let out = m
        .revoke_leaked(
            k.token.expose(),
            "https://github.com/o/r/blob/main/.env",
            Change::by("github secret scanning"),
        )
        .await
        .unwrap();
    let LeakOutcome::Revoked(r) = out else {
        panic!("revoked, got {out:?}")
    };
    assert_eq!(r.state, KeyState::Revoked);
    assert_eq!(
        r.state_reason.as_deref(),
        Some("leaked: https://github.com/o/r/blob/main/.env")
    );
    // The cache was invalidated: the next verification is refused at once.
    let e = f.keys.verifier().verify(cred, &ctx).await.unwrap_err();
    assert_eq!(e.kind(), RejectionKind::Revoked);
    let log = f
        .store
        .inner
        .query(&TenantScope::All, &AuditFilter::key(k.record.id))
        .await
        .unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.event_type, EventType::Leaked);
    assert_eq!(last.actor.as_deref(), Some("github secret scanning"));
    let names: Vec<_> = f.events.events().iter().map(|e| e.kind.name()).collect();
    assert_eq!(names.last(), Some(&"key.revoked"));

    // Reported again: a true positive, nothing changes.
    let again = m
        .revoke_leaked(k.token.expose(), "elsewhere", Change::new())
        .await
        .unwrap();
    assert!(matches!(again, LeakOutcome::AlreadyRevoked(_)));
    assert_eq!(
        m.get(&TenantScope::All, k.record.id).await.unwrap().version,
        r.version
    );
}

#[tokio::test]
async fn forged_malformed_and_unknown_tokens_revoke_nothing() {
    let f = fixture();
    let m = f.keys.manager();
    let k = m.create(NewKey::new("victim")).await.unwrap();
    let format = f.keys.verifier().token_format().clone();
    let (_, stranger) = format.generate();
    let mut bad_sum = k.token.expose().to_owned();
    let last = bad_sum.pop().unwrap();
    bad_sum.push(if last == '0' { '1' } else { '0' });
    for token in [
        forged(k.token.expose(), &format),
        stranger.expose().to_owned(),
        bad_sum,
        "sk_live_nonsense".to_owned(),
        String::new(),
    ] {
        let out = m
            .revoke_leaked(&token, "https://example.com", Change::new())
            .await
            .unwrap();
        assert_eq!(out, LeakOutcome::NotAKey, "{token}");
    }
    let after = m.get(&TenantScope::All, k.record.id).await.unwrap();
    assert_eq!((after.state, after.version), (KeyState::Active, 1));
    let log = f
        .store
        .inner
        .query(&TenantScope::All, &AuditFilter::key(k.record.id))
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "only the creation");
}

#[tokio::test]
async fn a_suspended_key_that_leaked_is_revoked() {
    let f = fixture();
    let m = f.keys.manager();
    let k = m.create(NewKey::new("s")).await.unwrap();
    m.suspend(&TenantScope::All, k.record.id, Change::new())
        .await
        .unwrap();
    let out = m
        .revoke_leaked(k.token.expose(), "a paste site", Change::new())
        .await
        .unwrap();
    assert!(matches!(out, LeakOutcome::Revoked(r) if r.state == KeyState::Revoked));
}
