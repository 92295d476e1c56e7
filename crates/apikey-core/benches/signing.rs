//! What a request signature costs the guard in process: an unsigned cache hit against a cache hit
//! whose request then passes `SignatureCheck` (structured-field parsing, the signature base,
//! opening the sealed secret, HMAC-SHA256, the body's SHA-256 and the nonce claim in memory),
//! measured in the same run.
//!
//! Run: `cargo bench -p apikey-core --bench signing -- --warm-up-time 1 --measurement-time 3`
//! (figures in `docs/performance.md`).

#![allow(clippy::print_stdout, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use apikey_core::http::{FieldList, RequestCheck, RequestHead};
use apikey_core::signing::{MemoryNonces, Signer, SigningMode};
use apikey_core::{
    ApiKeys, Attempt, Credential, Keks, NewKey, Peppers, RequestContext, SecretBox, Verified,
};
use apikey_memory::MemoryStore;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("suspended"),
    }
}

fn hit(verifier: &apikey_core::Verifier, token: &str) -> Verified {
    match verifier.verify_now(Credential::new(token), &RequestContext::new()) {
        Attempt::Done(Ok(v)) => v,
        other => panic!("not a cache hit: {other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .peppers(
            Peppers::single("bench", b"a benchmark pepper of enough length".to_vec())
                .expect("pepper"),
        )
        .secret_box(SecretBox::new(
            Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("kek"),
        ))
        .build()
        .expect("keys");
    let created = rt
        .block_on(
            keys.manager()
                .create(NewKey::new("bench").signing(SigningMode::Required)),
        )
        .expect("created");
    let token = created.token.expose().to_owned();
    let signer = Signer::new(
        created.record.lookup_id.to_string(),
        created.signing_secret.expect("a secret"),
    );
    let check = keys
        .signature_check(Arc::new(MemoryNonces::default()))
        .expect("check");
    let verifier = keys.verifier().clone();
    rt.block_on(verifier.verify(Credential::new(&token), &RequestContext::new()))
        .expect("warms the cache");
    let body = Bytes::from_static(br#"{"order":{"sku":"A-1","qty":2}}"#);
    let counter = AtomicU64::new(0);
    let signed = || {
        let fields = FieldList::new()
            .with("host", "api.example.com")
            .with("content-type", "application/json");
        let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("dry=1"));
        let nonce = counter.fetch_add(1, Ordering::Relaxed).to_string();
        let now = chrono::Utc::now().timestamp();
        let out = signer.sign(&head, &body, now, &nonce).expect("signs");
        fields
            .with("content-digest", out.content_digest.expect("a body"))
            .with("signature-input", out.signature_input)
            .with("signature", out.signature)
    };

    let mut g = c.benchmark_group("signing");
    g.bench_function("unsigned cache hit", |b| {
        b.iter(|| black_box(hit(&verifier, black_box(&token))));
    });
    g.bench_function("cache hit + signature check", |b| {
        b.iter_batched(
            signed,
            |fields| {
                let key = hit(&verifier, black_box(&token));
                let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("dry=1"));
                ready(check.check(&key, &head, Some(&body))).expect("verifies");
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
