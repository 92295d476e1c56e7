//! The secret box from the outside: round trips, bindings, tampering, rotation, what `Debug`
//! shows, and values sealed by an implementation we did not write (`tests/data/secret_box_v1.json`,
//! checked independently by `tests/secret_box_conformance.py`).

use apikey_core::secret_box::{Binding, KekId, Keks, Sealed, SecretBox, SecretBoxError};
use apikey_core::{Error, ErrorKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use zeroize::Zeroizing;

const OLD: [u8; 32] = [0x11; 32];
const NEW: [u8; 32] = [0x22; 32];
const PLAINTEXT: &[u8] = b"whsec_plaintext-never-shown";

fn keks(entries: &[(&str, [u8; 32])]) -> Keks {
    Keks::new(
        entries
            .iter()
            .map(|(id, key)| (*id, Zeroizing::new(key.to_vec()))),
    )
    .unwrap()
}

fn webhook(id: u32) -> Binding {
    Binding::new(format!("webhook_subscription:{id}"), "webhook-signing")
}

#[test]
fn round_trip_through_the_text_form() {
    let sbox = SecretBox::new(keks(&[("k1", OLD)]));
    let sealed = sbox.seal(PLAINTEXT, &webhook(1)).unwrap();
    let text = sealed.encode();
    assert!(text.starts_with("sb1.k1."), "{text}");
    let parsed: Sealed = text.parse().unwrap();
    assert_eq!(parsed, sealed);
    assert_eq!(&sbox.open(&parsed, &webhook(1)).unwrap()[..], PLAINTEXT);
    // A fresh nonce each time: the same secret never seals to the same text.
    assert_ne!(sbox.seal(PLAINTEXT, &webhook(1)).unwrap(), sealed);
}

#[test]
fn another_owner_or_purpose_does_not_open() {
    let sbox = SecretBox::new(keks(&[("k1", OLD)]));
    let sealed = sbox.seal(PLAINTEXT, &webhook(1)).unwrap();
    for other in [
        webhook(2),
        Binding::new("webhook_subscription:1", "request-signing"),
        Binding::new("webhook_subscription:", "1webhook-signing"),
    ] {
        assert_eq!(sbox.open(&sealed, &other), Err(SecretBoxError::Unopenable));
    }
}

#[test]
fn a_flipped_bit_anywhere_does_not_open() {
    let sbox = SecretBox::new(keks(&[("k1", OLD)]));
    let text = sbox.seal(PLAINTEXT, &webhook(1)).unwrap().encode();
    let parts: Vec<&str> = text.split('.').collect();
    let nonce = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let body = URL_SAFE_NO_PAD.decode(parts[3]).unwrap();
    let tag_start = body.len() - 16;
    let cases = [
        (2, nonce.clone(), 0),
        (2, nonce.clone(), 11),
        (3, body.clone(), 0),
        (3, body.clone(), tag_start - 1),
        (3, body.clone(), tag_start),
        (3, body.clone(), body.len() - 1),
    ];
    for (part, mut bytes, at) in cases {
        for bit in [0, 7] {
            bytes[at] ^= 1 << bit;
            let mut tampered = parts.clone();
            let encoded = URL_SAFE_NO_PAD.encode(&bytes);
            tampered[part] = &encoded;
            let sealed = Sealed::parse(&tampered.join(".")).unwrap();
            assert_eq!(
                sbox.open(&sealed, &webhook(1)),
                Err(SecretBoxError::Unopenable),
                "part {part} byte {at} bit {bit}"
            );
            bytes[at] ^= 1 << bit;
        }
    }
    // The KEK id is authenticated too: the same bytes under another id with another key fail.
    let renamed = text.replacen("sb1.k1.", "sb1.k2.", 1);
    let both = SecretBox::new(keks(&[("k1", OLD), ("k2", OLD)]));
    assert_eq!(
        both.open(&Sealed::parse(&renamed).unwrap(), &webhook(1)),
        Err(SecretBoxError::Unopenable)
    );
}

#[test]
fn a_different_key_under_the_same_id_does_not_open() {
    let sealed = SecretBox::new(keks(&[("k1", OLD)]))
        .seal(PLAINTEXT, &webhook(1))
        .unwrap();
    let imposter = SecretBox::new(keks(&[("k1", NEW)]));
    assert_eq!(
        imposter.open(&sealed, &webhook(1)),
        Err(SecretBoxError::Unopenable)
    );
}

#[test]
fn an_unknown_kek_is_named() {
    let sealed = SecretBox::new(keks(&[("gone", OLD)]))
        .seal(PLAINTEXT, &webhook(1))
        .unwrap();
    let sbox = SecretBox::new(keks(&[("k1", NEW)]));
    let err = sbox.open(&sealed, &webhook(1)).unwrap_err();
    assert_eq!(err, SecretBoxError::UnknownKek(KekId::new("gone").unwrap()));
    assert!(err.to_string().contains("KEK gone"), "{err}");
    let core: Error = err.into();
    assert_eq!(core.kind(), ErrorKind::Config);
}

#[test]
fn rotation_rewraps_lazily_and_removing_the_old_kek_strands_old_values() {
    let before = SecretBox::new(keks(&[("k1", OLD)]));
    let old = before.seal(PLAINTEXT, &webhook(1)).unwrap();
    let (_, none) = before.open_rewrapped(&old, &webhook(1)).unwrap();
    assert!(none.is_none() && !before.needs_rewrap(&old));

    let rotated = SecretBox::new(keks(&[("k2", NEW), ("k1", OLD)]));
    assert!(rotated.needs_rewrap(&old));
    assert_eq!(&rotated.open(&old, &webhook(1)).unwrap()[..], PLAINTEXT);
    let (plaintext, rewrapped) = rotated.open_rewrapped(&old, &webhook(1)).unwrap();
    assert_eq!(&plaintext[..], PLAINTEXT);
    let rewrapped = rewrapped.expect("sealed under an older KEK");
    assert_eq!(rewrapped.kek_id().as_str(), "k2");
    assert!(!rotated.needs_rewrap(&rewrapped));
    // Rewrapping keeps the binding: the new value opens only for the same owner and purpose.
    assert_eq!(
        rotated.open(&rewrapped, &webhook(2)),
        Err(SecretBoxError::Unopenable)
    );

    let after = SecretBox::new(keks(&[("k2", NEW)]));
    assert_eq!(&after.open(&rewrapped, &webhook(1)).unwrap()[..], PLAINTEXT);
    assert_eq!(
        after.open(&old, &webhook(1)),
        Err(SecretBoxError::UnknownKek(KekId::new("k1").unwrap()))
    );
}

#[test]
fn debug_and_errors_never_show_keys_ciphertext_or_plaintext() {
    let sbox = SecretBox::new(keks(&[("k2", NEW), ("k1", OLD)]));
    let sealed = sbox.seal(PLAINTEXT, &webhook(1)).unwrap();
    let text = sealed.encode();
    let body = text.rsplit('.').next().unwrap().to_owned();
    let open_err = sbox.open(&sealed, &webhook(2)).unwrap_err();
    let core_err: Error = open_err.clone().into();
    let outputs = [
        format!("{:?}", sbox.keks()),
        format!("{sbox:?}"),
        format!("{sealed:?}"),
        format!("{open_err:?} {open_err}"),
        format!("{core_err:?} {core_err}"),
        format!(
            "{:?}",
            Keks::from_spec(&format!("k1={}", STANDARD.encode([0x33; 31]))).unwrap_err()
        ),
    ];
    let forbidden = [
        STANDARD.encode(OLD),
        STANDARD.encode(NEW),
        STANDARD.encode([0x33; 31]),
        "17, 17".to_owned(),
        "34, 34".to_owned(),
        "0x11".to_owned(),
        "whsec".to_owned(),
        body,
    ];
    for out in &outputs {
        for bad in &forbidden {
            assert!(!out.contains(bad.as_str()), "{out:?} contains {bad:?}");
        }
    }
    assert_eq!(format!("{sealed:?}"), r#"Sealed { kek: "k2", .. }"#);
    assert_eq!(
        format!("{sbox:?}"),
        r#"SecretBox { keks: Keks { current: "k2", ids: ["k2", "k1"] } }"#
    );
}

/// Values sealed by Python's `cryptography` and by this crate, with fixed keys and nonces.
#[test]
fn opens_the_conformance_vectors() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/secret_box_v1.json")).unwrap();
    let vectors = vectors["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 2);
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap();
        let sbox =
            SecretBox::new(Keks::from_spec(&format!("{}={}", s("kek_id"), s("kek"))).unwrap());
        let binding = Binding::new(s("owner"), s("purpose"));
        let opened = sbox
            .open(&Sealed::parse(s("sealed")).unwrap(), &binding)
            .unwrap();
        assert_eq!(&opened[..], s("plaintext").as_bytes(), "{}", s("source"));
    }
}

proptest! {
    #[test]
    fn any_plaintext_and_binding_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        owner in ".{0,40}",
        purpose in ".{0,20}",
    ) {
        let sbox = SecretBox::new(keks(&[("k1", OLD)]));
        let binding = Binding::new(owner, purpose);
        let sealed = sbox.seal(&plaintext, &binding).unwrap();
        let reparsed = Sealed::parse(&sealed.encode()).unwrap();
        prop_assert_eq!(&reparsed, &sealed);
        prop_assert_eq!(reparsed.encode(), sealed.encode());
        prop_assert_eq!(&sbox.open(&reparsed, &binding).unwrap()[..], &plaintext[..]);
    }

    #[test]
    fn moving_a_byte_between_owner_and_purpose_does_not_open(
        owner in "[a-z:0-9]{1,20}",
        purpose in "[a-z-]{1,20}",
    ) {
        let sbox = SecretBox::new(keks(&[("k1", OLD)]));
        let sealed = sbox.seal(PLAINTEXT, &Binding::new(owner.clone(), purpose.clone())).unwrap();
        let (head, last) = owner.split_at(owner.len() - 1);
        let shifted = Binding::new(head, format!("{last}{purpose}"));
        prop_assert_eq!(sbox.open(&sealed, &shifted), Err(SecretBoxError::Unopenable));
    }

    #[test]
    fn parse_never_panics(text in ".{0,120}") {
        let _ = Sealed::parse(&text);
        let _ = Sealed::parse(&format!("sb1.k1.{text}"));
    }
}
