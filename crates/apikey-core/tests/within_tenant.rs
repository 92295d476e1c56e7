//! `RequestContext::within_tenant`: a verification on behalf of one tenant answers another
//! tenant's key as unknown, reveals nothing about it, and charges it nothing.

mod common;

use apikey_core::{
    Credential, NewKey, Quota, QuotaPeriod, RejectionKind, RequestContext, TenantId,
};
use common::fixture;

#[tokio::test]
async fn another_tenants_key_is_unknown_and_uncharged() {
    let f = fixture();
    let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
    let k = f
        .keys
        .manager()
        .create(NewKey::new("k").tenant(a.clone()).quota(Quota {
            limit: 1,
            period: QuotaPeriod::Day,
        }))
        .await
        .unwrap();
    let untenanted = f.keys.manager().create(NewKey::new("none")).await.unwrap();
    let v = f.keys.verifier();
    let as_b = RequestContext::new().within_tenant(&b);
    for _ in 0..3 {
        let r = v
            .verify(Credential::new(k.token.expose()), &as_b)
            .await
            .unwrap_err();
        assert_eq!(r.kind(), RejectionKind::Unknown);
        assert!(r.key_id().is_none(), "nothing about the key leaks");
    }
    let r = v
        .verify(Credential::new(untenanted.token.expose()), &as_b)
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::Unknown);

    let as_a = RequestContext::new().within_tenant(&a);
    assert!(
        v.verify(Credential::new(k.token.expose()), &as_a)
            .await
            .is_ok()
    );
    let r = v
        .verify(Credential::new(k.token.expose()), &as_a)
        .await
        .unwrap_err();
    assert_eq!(
        r.kind(),
        RejectionKind::RateLimited,
        "the one request was a's"
    );
}
