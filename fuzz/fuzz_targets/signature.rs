//! Fuzzes request-signature verification (`crates/apikey-core/src/signing/`): the
//! `Signature-Input`, `Signature` and `Content-Digest` parsers, the signature base and the
//! coverage rules.
//!
//! Input, line by line: line one is the body; every other line is a header `name:value`. The
//! verifier must never panic, and must never accept a request it did not sign itself: the key is
//! random per run of the target, so an acceptance means a forgery. A request signed by `Signer`
//! over the same head must always verify (the round trip is the oracle for the base).

#![no_main]

use apikey_core::http::{FieldList, RequestHead};
use apikey_core::signing::{SignaturePolicy, Signer, SigningSecret, verify_signature};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let body = lines.next().unwrap_or_default();
    let mut fields = FieldList::new().with("host", "api.example");
    for line in lines {
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            fields.push(&String::from_utf8_lossy(&line[..colon]), &line[colon + 1..]);
        }
    }
    let secret = SigningSecret::generate().expect("random");
    let keys = [secret.key_bytes()];
    let policy = SignaturePolicy::default();
    let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("a=1"));
    let verdict = verify_signature(&head, Some(body), "lookup1", &keys, &policy, NOW);
    assert!(verdict.is_err(), "accepted a signature made without the key");

    // What the signer makes over this head (minus any signature fields it carried) verifies.
    for name in ["signature", "signature-input", "content-digest"] {
        fields.remove(name);
    }
    let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("a=1"));
    let Ok(signed) = Signer::new("lookup1", secret.clone()).sign(&head, body, NOW, "n") else {
        return;
    };
    if let Some(d) = signed.content_digest {
        fields.push("content-digest", d);
    }
    fields.push("signature-input", signed.signature_input);
    fields.push("signature", signed.signature);
    let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("a=1"));
    verify_signature(&head, Some(body), "lookup1", &keys, &policy, NOW)
        .expect("a request the signer signed verifies");
});
