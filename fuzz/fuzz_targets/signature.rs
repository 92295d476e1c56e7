//! Fuzzes request-signature verification (`crates/apikey-core/src/signing/`): the
//! `Signature-Input`, `Signature` and `Content-Digest` parsers, the signature base and the
//! coverage rules.
//!
//! Input, line by line: line one is the body; every other line is a header `name:value`. The
//! verifier must never panic, and must never accept a request it did not sign itself: the key is
//! random per run of the target, so an acceptance means a forgery. A request signed by `Signer`
//! over the same head must always verify (the round trip is the oracle for the base).

#![no_main]

use apikey_core::http::{HeaderFields, RequestHead};
use apikey_core::signing::{SignaturePolicy, Signer, SigningSecret, verify_signature};
use libfuzzer_sys::fuzz_target;

struct Fields(Vec<(String, Vec<u8>)>);

impl HeaderFields for Fields {
    fn line(&self, name: &str, index: usize) -> Option<&[u8]> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .nth(index)
            .map(|(_, v)| v.as_slice())
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (n, v) in &self.0 {
            f(n, v);
        }
    }
}

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let body = lines.next().unwrap_or_default();
    let mut fields = Fields(vec![("host".to_owned(), b"api.example".to_vec())]);
    for line in lines {
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
            fields.0.push((name, line[colon + 1..].to_vec()));
        }
    }
    let secret = SigningSecret::generate().expect("random");
    let keys = [secret.key_bytes()];
    let policy = SignaturePolicy::default();
    let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("a=1"));
    let verdict = verify_signature(&head, Some(body), "lookup1", &keys, &policy, NOW);
    assert!(verdict.is_err(), "accepted a signature made without the key");

    // What the signer makes over this head (minus any signature fields it carried) verifies.
    fields.0.retain(|(n, _)| {
        !matches!(n.as_str(), "signature" | "signature-input" | "content-digest")
    });
    let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("a=1"));
    let Ok(signed) = Signer::new("lookup1", secret.clone()).sign(&head, body, NOW, "n") else {
        return;
    };
    if let Some(d) = signed.content_digest {
        fields.0.push(("content-digest".to_owned(), d.into_bytes()));
    }
    fields.0.push(("signature-input".to_owned(), signed.signature_input.into_bytes()));
    fields.0.push(("signature".to_owned(), signed.signature.into_bytes()));
    let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("a=1"));
    verify_signature(&head, Some(body), "lookup1", &keys, &policy, NOW)
        .expect("a request the signer signed verifies");
});
