//! The failed-auth limiter and the unknown-id read budget, as an attacker meets them: a block gives
//! one answer whatever the id, never refuses a correct secret, and a flood of random ids costs the
//! store a bounded number of reads without pushing real keys out or locking neighbours out for good.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use apikey_core::http::problem_for;
use apikey_core::token::TokenFormat;
use apikey_core::verify::{FailedAuthPolicy, UnknownReadBudget};
use apikey_core::{Credential, NewKey, Rejection, RequestContext, VerifierConfig};
use common::{Fixture, Probe, fixture_with};

fn fixture(policy: FailedAuthPolicy) -> Fixture {
    fixture_with(Probe::new(), |b| {
        b.config(VerifierConfig {
            failed_auth: policy,
            ..Default::default()
        })
    })
}

async fn verify(f: &Fixture, token: &str, ip: &str) -> Result<(), Rejection> {
    let ip: IpAddr = ip.parse().unwrap();
    f.keys
        .verifier()
        .verify(
            Credential::new(token),
            &RequestContext::new().client_ip(Some(ip)),
        )
        .await
        .map(|_| ())
}

/// What a client sees of a refusal: status, headers and body.
fn seen(r: &Rejection) -> (u16, Vec<(&'static str, String)>, String) {
    let p = problem_for(r, "ApiKey");
    (p.status, p.headers, p.body)
}

/// Same lookup id, another secret, valid checksum.
fn wrong_secret(token: &str) -> String {
    let format = TokenFormat::default();
    let (_, other) = format.generate();
    let keep = "sk_live_".len() + 12;
    let mut body = format!(
        "{}{}",
        &token[..keep],
        &other.expose()[keep..other.expose().len() - 6]
    );
    let mut sum = [0u8; 6];
    apikey_core::token::base62::encode_fixed(u64::from(crc32fast::hash(body.as_bytes())), &mut sum);
    body.push_str(std::str::from_utf8(&sum).unwrap());
    body
}

#[tokio::test]
async fn while_blocked_known_and_unknown_ids_get_the_same_answer() {
    let f = fixture(FailedAuthPolicy {
        max_failures: 3,
        ..Default::default()
    });
    let key = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    verify(&f, key.token.expose(), "192.0.2.1").await.unwrap(); // now in the first-level cache
    let (_, unknown) = TokenFormat::default().generate();
    let attacker = "203.0.113.7";
    let wrong = wrong_secret(key.token.expose());
    // Fail both until blocked: a wrong secret on a cached key, and an id that is cached unknown.
    let mut last_known = None;
    let mut last_unknown = None;
    for _ in 0..4 {
        last_known = verify(&f, &wrong, attacker).await.err();
        last_unknown = verify(&f, unknown.expose(), attacker).await.err();
    }
    let (known, unknown) = (last_known.unwrap(), last_unknown.unwrap());
    assert_eq!(known.status(), 429, "blocked");
    assert_eq!(
        seen(&known),
        seen(&unknown),
        "one answer for an existing and an unknown id"
    );
}

#[tokio::test]
async fn a_block_never_refuses_the_correct_secret() {
    let f = fixture(FailedAuthPolicy {
        max_failures: 3,
        ..Default::default()
    });
    let key = f.keys.manager().create(NewKey::new("svc")).await.unwrap();
    let wrong = wrong_secret(key.token.expose());
    let shared_nat = "203.0.113.7";
    for _ in 0..5 {
        assert!(verify(&f, &wrong, shared_nat).await.is_err());
    }
    assert_eq!(
        verify(&f, &wrong, shared_nat).await.unwrap_err().status(),
        429
    );
    // The owner behind the same address, cold (a store read and an HMAC) and then cached.
    f.keys.verifier().clear_cache();
    verify(&f, key.token.expose(), shared_nat).await.unwrap();
    verify(&f, key.token.expose(), shared_nat).await.unwrap();
}

#[tokio::test]
async fn a_flood_of_random_ids_costs_the_budget_and_locks_nobody_out() {
    let f = fixture(FailedAuthPolicy {
        ipv4_prefix: 24,
        unknown_reads: UnknownReadBudget {
            burst: 50,
            refill: Duration::from_secs(1),
        },
        ..Default::default()
    });
    let cached = f
        .keys
        .manager()
        .create(NewKey::new("cached"))
        .await
        .unwrap();
    verify(&f, cached.token.expose(), "198.51.100.20")
        .await
        .unwrap();
    let before = f.store.finds();
    let format = TokenFormat::default();
    for i in 0..100_000u32 {
        let (_, token) = format.generate();
        assert!(verify(&f, token.expose(), "198.51.100.66").await.is_err());
        if i % 10_000 == 0 {
            // A valid key stays cached throughout: verifying it reads nothing.
            let finds = f.store.finds();
            verify(&f, cached.token.expose(), "198.51.100.20")
                .await
                .unwrap();
            assert_eq!(f.store.finds(), finds, "the cached key was pushed out");
        }
    }
    let reads = f.store.finds() - before;
    assert!(reads <= 50, "{reads} store reads for 100,000 random ids");

    // A key created after the flood, used from a neighbour in the same /24: refused while the
    // budget is spent (without a store read), verifies once it has refilled.
    let fresh = f.keys.manager().create(NewKey::new("fresh")).await.unwrap();
    let finds = f.store.finds();
    assert!(
        verify(&f, fresh.token.expose(), "198.51.100.21")
            .await
            .is_err()
    );
    assert_eq!(f.store.finds(), finds);
    f.clock.advance(chrono::Duration::seconds(2));
    verify(&f, fresh.token.expose(), "198.51.100.21")
        .await
        .unwrap();
    // Another network was never affected.
    let other = f.keys.manager().create(NewKey::new("other")).await.unwrap();
    verify(&f, other.token.expose(), "192.0.2.1").await.unwrap();
}
