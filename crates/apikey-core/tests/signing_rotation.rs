//! A signing secret's rotation through `SignatureCheck` (which keeps opened secrets): the new
//! secret verifies at once, the previous one only during the grace period, and a removed or
//! replaced secret never verifies again from what the check had opened before.

use std::sync::Arc;

use apikey_core::http::{FieldList, RequestCheck, RequestHead};
use apikey_core::signing::{MemoryNonces, Signer, SigningMode, SigningSecret};
use apikey_core::{
    ApiKeys, Change, Credential, Keks, ManualClock, NewKey, RequestContext, SecretBox, TenantScope,
    Verified,
};
use apikey_memory::MemoryStore;
use bytes::Bytes;

struct Env {
    keys: ApiKeys,
    clock: ManualClock,
    token: String,
    lookup: String,
}

impl Env {
    async fn key(&self) -> Verified {
        self.keys
            .verifier()
            .verify(Credential::new(&self.token), &RequestContext::new())
            .await
            .unwrap()
    }

    /// Whether a request signed with `secret` passes `check`.
    async fn passes(&self, check: &impl RequestCheck, secret: &SigningSecret) -> bool {
        let base = FieldList::new().with("host", "api.example");
        let head = RequestHead::new("GET", "/a", &base);
        let nonce = Signer::nonce().unwrap();
        let out = Signer::new(self.lookup.clone(), secret.clone())
            .sign(&head, b"", self.clock.now_unix(), &nonce)
            .unwrap();
        let fields = base
            .clone()
            .with("signature-input", out.signature_input)
            .with("signature", out.signature);
        let head = RequestHead::new("GET", "/a", &fields);
        check
            .check(&self.key().await, &head, Some(&Bytes::new()))
            .await
            .is_ok()
    }
}

trait UnixNow {
    fn now_unix(&self) -> i64;
}

impl UnixNow for ManualClock {
    fn now_unix(&self) -> i64 {
        apikey_core::Clock::now(self).timestamp()
    }
}

#[tokio::test]
async fn the_previous_secret_works_for_the_grace_period_only() {
    let clock = ManualClock::new(chrono::Utc::now());
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .clock(Arc::new(clock.clone()))
        .secret_box(SecretBox::new(
            Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap(),
        ))
        .build()
        .unwrap();
    let created = keys
        .manager()
        .create(NewKey::new("s").signing(SigningMode::Required))
        .await
        .unwrap();
    let first = created.signing_secret.unwrap();
    let env = Env {
        token: created.token.expose().to_owned(),
        lookup: created.record.lookup_id.to_string(),
        keys,
        clock,
    };
    let check = env
        .keys
        .signature_check(Arc::new(MemoryNonces::new(Arc::new(env.clock.clone()))))
        .unwrap();
    assert!(env.passes(&check, &first).await);

    let m = env.keys.manager();
    let id = created.record.id;
    let (_, second) = m
        .rotate_signing(
            &TenantScope::All,
            id,
            std::time::Duration::from_secs(3600),
            Change::new(),
        )
        .await
        .unwrap();
    assert!(env.passes(&check, &second).await, "the new secret at once");
    assert!(
        env.passes(&check, &first).await,
        "the old one during the grace period"
    );
    env.clock.advance(chrono::Duration::seconds(3601));
    assert!(env.passes(&check, &second).await);
    assert!(!env.passes(&check, &first).await, "the old one after it");

    let (_, third) = m
        .rotate_signing(
            &TenantScope::All,
            id,
            std::time::Duration::ZERO,
            Change::new(),
        )
        .await
        .unwrap();
    assert!(env.passes(&check, &third).await);
    assert!(
        !env.passes(&check, &second).await,
        "no grace: replaced at once"
    );
    m.set_signing(&TenantScope::All, id, SigningMode::Optional, Change::new())
        .await
        .unwrap();
    m.remove_signing(&TenantScope::All, id, Change::new())
        .await
        .unwrap();
    assert!(
        !env.passes(&check, &third).await,
        "a key without a secret has nothing to verify against"
    );
}
