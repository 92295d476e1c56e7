//! Legacy (nest-api-key-auth) tokens after their first verification: answered from the
//! first-level cache like any key, dropped from it when the key changes, and never found by a
//! wrong token; imports report legacy prefixes too crowded to verify.

mod common;

use apikey_core::Change;
use apikey_core::token::TokenFormat;
use apikey_core::verify::Attempt;
use apikey_core::{Credential, KeyFilter, RejectionKind, RequestContext, TenantScope};
use common::{Fixture, Probe, fixture_with, make_legacy};

fn legacy_fixture() -> Fixture {
    fixture_with(Probe::new(), |b| {
        b.token_format(TokenFormat::default().with_legacy(true))
    })
}

fn decided_now(f: &Fixture, token: &str) -> bool {
    matches!(
        f.keys
            .verifier()
            .verify_now(Credential::new(token), &RequestContext::new()),
        Attempt::Done(Ok(_))
    )
}

#[tokio::test]
async fn a_verified_legacy_token_is_cached_until_its_key_changes() {
    let f = legacy_fixture();
    let token = "3f2a9c0d".to_owned() + &"ab".repeat(28);
    let record = make_legacy(&f, &token).await;
    assert!(
        !decided_now(&f, &token),
        "the first verification needs the store"
    );
    let v = f.keys.verifier();
    v.verify(Credential::new(&token), &RequestContext::new())
        .await
        .unwrap();
    assert!(
        decided_now(&f, &token),
        "then it is answered from the cache"
    );

    // Same 8-character prefix, another secret: never served from the cache, refused.
    let wrong = "3f2a9c0d".to_owned() + &"cd".repeat(28);
    assert!(!decided_now(&f, &wrong));
    assert!(
        v.verify(Credential::new(&wrong), &RequestContext::new())
            .await
            .is_err()
    );

    // A revocation reaches the cached legacy entry at once.
    f.keys
        .manager()
        .revoke(&TenantScope::All, record.id, Change::new())
        .await
        .unwrap();
    assert!(!decided_now(&f, &token));
    let r = v
        .verify(Credential::new(&token), &RequestContext::new())
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::Revoked);
}

#[tokio::test]
async fn an_import_reports_legacy_prefixes_shared_by_too_many_keys() {
    let source = legacy_fixture();
    let mut crowded = Vec::new();
    for i in 0..5 {
        let token = format!("aaaa0000{}", format!("{i:x}").repeat(56));
        crowded.push(make_legacy(&source, &token).await.id);
    }
    let alone = make_legacy(&source, &("bbbb1111".to_owned() + &"ef".repeat(28))).await;
    let export = source
        .keys
        .manager()
        .export(&TenantScope::All, &KeyFilter::default())
        .await
        .unwrap();

    let target = legacy_fixture();
    let report = target
        .keys
        .manager()
        .import(&TenantScope::All, export, Change::new())
        .await
        .unwrap();
    assert_eq!(report.imported.len(), 6);
    let mut got = report.crowded_legacy.clone();
    got.sort();
    crowded.sort();
    assert_eq!(
        got, crowded,
        "five keys share a prefix; four are tried per request"
    );
    assert!(!report.crowded_legacy.contains(&alone.id));
}
