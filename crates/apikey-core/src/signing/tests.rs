//! The signing module against RFC 9421's own example and the attacks it exists for.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::base::signature_base;
use super::input::parse_inputs;
use super::*;
use crate::http::FieldList;
use crate::http::RequestHead;

const NOW: i64 = 1_700_000_000;

fn secret() -> SigningSecret {
    SigningSecret::from_bytes(b"0123456789abcdef0123456789abcdef").unwrap()
}

fn fields(pairs: &[(&'static str, &str)]) -> FieldList {
    pairs
        .iter()
        .fold(FieldList::new(), |f, (n, v)| f.with(n, v.as_bytes()))
}

/// RFC 9421 §B.2.5: `hmac-sha256` over `date`, `@authority` and `content-type` with the shared
/// test secret gives the published base and signature.
#[test]
fn rfc_9421_b_2_5_hmac_example() {
    let key = STANDARD
        .decode("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
        .unwrap();
    let f = fields(&[
        ("host", "example.com"),
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", "application/json"),
        (
            "content-digest",
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        ),
        ("content-length", "18"),
    ]);
    let head = RequestHead::new("POST", "/foo", &f).with_query(Some("param=Value&Pet=dog"));
    let input = &parse_inputs(
        r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#,
    )
    .unwrap()[0];
    let base = signature_base(&head, "https", input).unwrap();
    assert_eq!(
        base,
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n\"content-type\": application/json\n\"@signature-params\": (\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\""
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(base.as_bytes());
    assert_eq!(
        STANDARD.encode(mac.finalize().into_bytes()),
        "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
    );
}

/// A request signed by [`Signer`], as the guard sees it.
struct Signed {
    fields: FieldList,
    method: &'static str,
    path: &'static str,
    query: Option<&'static str>,
}

impl Signed {
    fn new(
        method: &'static str,
        path: &'static str,
        query: Option<&'static str>,
        body: &[u8],
    ) -> Self {
        let base = fields(&[
            ("host", "api.example.com"),
            ("content-type", "application/json"),
        ]);
        let head = RequestHead::new(method, path, &base).with_query(query);
        let out = Signer::new("lookup1", secret())
            .sign(&head, body, NOW, "n-1")
            .unwrap();
        let mut fields = base;
        if let Some(d) = out.content_digest {
            fields.push("content-digest", d);
        }
        fields.push("signature-input", out.signature_input);
        fields.push("signature", out.signature);
        Self {
            fields,
            method,
            path,
            query,
        }
    }

    fn verify(&self, body: Option<&[u8]>) -> Result<Accepted, SignatureError> {
        let head = RequestHead::new(self.method, self.path, &self.fields).with_query(self.query);
        let key = secret();
        verify_signature(
            &head,
            body,
            "lookup1",
            &[key.key_bytes()],
            &SignaturePolicy::default(),
            NOW,
        )
    }

    fn replace(&mut self, name: &str, value: &str) {
        self.fields.set(name, value);
    }
}

#[test]
fn what_the_signer_signs_the_guard_accepts() {
    let body = br#"{"qty":1}"#;
    let s = Signed::new("POST", "/orders", Some("dry=1"), body);
    let ok = s.verify(Some(body)).unwrap();
    assert_eq!(ok.nonce.as_deref(), Some("n-1"));
    assert_eq!(ok.created, NOW);
    Signed::new("GET", "/orders", None, b"")
        .verify(Some(b""))
        .unwrap();
}

#[test]
fn tampering_with_any_covered_part_fails() {
    let body = br#"{"qty":1}"#;
    let s = Signed::new("POST", "/orders", Some("dry=1"), body);
    let check = |method, path, query, body: &[u8]| {
        let t = Signed {
            method,
            path,
            query,
            fields: s.fields.clone(),
        };
        t.verify(Some(body))
    };
    assert_eq!(
        check("PUT", "/orders", Some("dry=1"), body),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check("POST", "/orders/2", Some("dry=1"), body),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check("POST", "/orders", Some("dry=0"), body),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check("POST", "/orders", None, body),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check("POST", "/orders", Some("dry=1"), br#"{"qty":9}"#),
        Err(SignatureError::Digest)
    );
    let mut host = Signed {
        fields: s.fields.clone(),
        ..s
    };
    host.replace("host", "evil.example.com");
    assert_eq!(host.verify(Some(body)), Err(SignatureError::Mismatch));
}

#[test]
fn stale_wrong_key_and_unsigned_requests_fail() {
    let s = Signed::new("GET", "/a", None, b"");
    let head = RequestHead::new("GET", "/a", &s.fields);
    let key = secret();
    let keys = [key.key_bytes()];
    let p = SignaturePolicy::default();
    assert_eq!(
        verify_signature(&head, Some(b""), "lookup1", &keys, &p, NOW + 301),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        verify_signature(&head, Some(b""), "lookup1", &keys, &p, NOW - 301),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        verify_signature(&head, Some(b""), "other", &keys, &p, NOW),
        Err(SignatureError::WrongKey)
    );
    let other = SigningSecret::generate().unwrap();
    assert_eq!(
        verify_signature(&head, Some(b""), "lookup1", &[other.key_bytes()], &p, NOW),
        Err(SignatureError::Mismatch)
    );
    let bare = fields(&[("host", "api.example.com")]);
    let head = RequestHead::new("GET", "/a", &bare);
    assert_eq!(
        verify_signature(&head, Some(b""), "lookup1", &keys, &p, NOW),
        Err(SignatureError::Missing)
    );
}

#[test]
fn weak_inputs_are_refused_before_the_hmac() {
    let key = secret();
    let keys = [key.key_bytes()];
    let p = SignaturePolicy::default();
    let cases = [
        // Does not cover the target.
        (
            r#"a=("@method");created=1700000000;nonce="x";keyid="lookup1""#,
            SignatureError::InsufficientCoverage,
        ),
        // A body without content-digest covered.
        (
            r#"a=("@method" "@authority" "@path" "@query");created=1700000000;nonce="x";keyid="lookup1""#,
            SignatureError::InsufficientCoverage,
        ),
        // No nonce.
        (
            r#"a=("@method" "@target-uri" "content-digest");created=1700000000;keyid="lookup1""#,
            SignatureError::NoNonce,
        ),
        // No created.
        (
            r#"a=("@method" "@target-uri" "content-digest");nonce="x";keyid="lookup1""#,
            SignatureError::Stale,
        ),
        // Another algorithm.
        (
            r#"a=("@method" "@target-uri" "content-digest");created=1700000000;nonce="x";keyid="lookup1";alg="rsa-pss-sha512""#,
            SignatureError::WrongKey,
        ),
        // A parameter twice.
        (
            r#"a=("@method" "@target-uri" "content-digest");created=1700000000;created=1700000000;nonce="x";keyid="lookup1""#,
            SignatureError::Malformed,
        ),
        // A component parameter.
        (
            r#"a=("@method" "@target-uri" "content-digest" "x-a";sf);created=1700000000;nonce="x";keyid="lookup1""#,
            SignatureError::Malformed,
        ),
        // A derived component that needs a response.
        (
            r#"a=("@method" "@target-uri" "content-digest" "@status");created=1700000000;nonce="x";keyid="lookup1""#,
            SignatureError::UnknownComponent,
        ),
    ];
    for (input, want) in cases {
        let f = fields(&[
            ("host", "api.example.com"),
            ("content-digest", &content_digest(b"x")),
            ("signature-input", input),
            ("signature", "a=:AAAA:"),
        ]);
        let head = RequestHead::new("POST", "/a", &f);
        assert_eq!(
            verify_signature(&head, Some(b"x"), "lookup1", &keys, &p, NOW),
            Err(want),
            "{input}"
        );
    }
}

#[test]
fn the_previous_secret_verifies_when_given() {
    let s = Signed::new("GET", "/a", None, b"");
    let head = RequestHead::new("GET", "/a", &s.fields);
    let new = SigningSecret::generate().unwrap();
    let old = secret();
    verify_signature(
        &head,
        Some(b""),
        "lookup1",
        &[new.key_bytes(), old.key_bytes()],
        &SignaturePolicy::default(),
        NOW,
    )
    .unwrap();
}
