//! Property tests of the token format: round trips, exhaustive single-character mutations,
//! arbitrary input against a reference validity predicate, and legacy 64-hex tokens.

use apikey_core::TokenFormat;
use apikey_core::token::{CHECKSUM_LEN, ParsedToken};
use proptest::prelude::*;

/// Base62 digits in digit order, written out here rather than taken from the crate.
const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LOOKUP_LEN: usize = 12;

fn prefix() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,10}[a-z0-9]"
}

fn base62(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(DIGITS), len)
        .prop_map(|v| String::from_utf8(v).expect("ASCII"))
}

/// `(prefix, secret length, lookup id, secret)`.
fn parts() -> impl Strategy<Value = (String, usize, String, String)> {
    (prefix(), 32usize..=64)
        .prop_flat_map(|(p, n)| (Just(p), Just(n), base62(LOOKUP_LEN), base62(n)))
}

fn format(prefix: &str, secret_len: usize) -> TokenFormat {
    TokenFormat::new(prefix)
        .and_then(|f| f.with_secret_len(secret_len))
        .expect("a valid prefix and length")
}

/// The reference checksum: CRC32 written as six base62 digits, most significant first.
fn checksum(signed: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut v = u64::from(crc32fast::hash(signed));
    let mut out = [0u8; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(v % 62) as usize];
        v /= 62;
    }
    assert_eq!(v, 0, "CRC32 fits in six base62 digits");
    out
}

/// The reference formatter: `<prefix>_<lookup><secret><checksum>`.
fn build(prefix: &str, lookup: &str, secret: &str) -> String {
    let mut s = format!("{prefix}_{lookup}{secret}");
    let sum = checksum(s.as_bytes());
    s.push_str(std::str::from_utf8(&sum).expect("ASCII"));
    s
}

/// The reference predicate: whether `s` is a current-format token of `prefix` with a
/// `secret_len`-character secret; if so, its lookup id and secret.
fn reference(prefix: &str, secret_len: usize, s: &str) -> Option<(String, String)> {
    let b = s.as_bytes();
    let head = prefix.len() + 1;
    if b.len() != head + LOOKUP_LEN + secret_len + CHECKSUM_LEN {
        return None;
    }
    if &b[..prefix.len()] != prefix.as_bytes() || b[prefix.len()] != b'_' {
        return None;
    }
    if !b[head..].iter().all(|c| DIGITS.contains(c)) {
        return None;
    }
    let split = b.len() - CHECKSUM_LEN;
    if checksum(&b[..split]) != b[split..] {
        return None;
    }
    Some((
        s[head..head + LOOKUP_LEN].to_owned(),
        s[head + LOOKUP_LEN..split].to_owned(),
    ))
}

fn is_legacy(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What `parse` answered, as owned values.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Current(String, String),
    Legacy(String),
}

fn parse(f: &TokenFormat, s: &str) -> Option<Parsed> {
    f.parse(s).map(|p| match p {
        ParsedToken::Current(t) => Parsed::Current(t.lookup.as_str().to_owned(), t.secret().into()),
        ParsedToken::Legacy(t) => {
            assert_eq!(t.lookup_prefix(), &t.secret()[..8]);
            Parsed::Legacy(t.secret().to_owned())
        }
    })
}

/// Every string one printable-ASCII edit away from `token`: each position replaced by every other
/// printable character, each position deleted, and every printable character inserted everywhere.
fn for_each_mutation(token: &str, mut f: impl FnMut(&str)) {
    let bytes = token.as_bytes();
    let mut buf = Vec::with_capacity(bytes.len() + 1);
    for i in 0..=bytes.len() {
        if i < bytes.len() {
            for c in 0x20u8..=0x7e {
                if c != bytes[i] {
                    buf.clear();
                    buf.extend_from_slice(bytes);
                    buf[i] = c;
                    f(std::str::from_utf8(&buf).expect("ASCII"));
                }
            }
            buf.clear();
            buf.extend_from_slice(&bytes[..i]);
            buf.extend_from_slice(&bytes[i + 1..]);
            f(std::str::from_utf8(&buf).expect("ASCII"));
        }
        for c in 0x20u8..=0x7e {
            buf.clear();
            buf.extend_from_slice(&bytes[..i]);
            buf.push(c);
            buf.extend_from_slice(&bytes[i..]);
            f(std::str::from_utf8(&buf).expect("ASCII"));
        }
    }
}

/// Strings close to a token of `prefix` / `secret_len`: whole tokens, tokens with random splices
/// (ASCII or unicode), truncations and random checksums, plus arbitrary text.
fn near_tokens(prefix: &str, secret_len: usize) -> impl Strategy<Value = String> + use<> {
    let p = prefix.to_owned();
    let valid = (base62(LOOKUP_LEN), base62(secret_len))
        .prop_map(move |(l, s)| build(&p, &l, &s))
        .boxed();
    let v2 = valid.clone();
    let spliced = (
        valid.clone(),
        any::<prop::sample::Index>(),
        0usize..4,
        ".{0,3}",
    )
        .prop_map(|(t, at, cut, ins)| {
            // Replace `cut` bytes at a char boundary with `ins` (which may be unicode).
            let i = at.index(t.len() + 1);
            let j = (i + cut).min(t.len());
            format!("{}{}{}", &t[..i], ins, &t[j..])
        });
    let resummed = (v2.clone(), base62(CHECKSUM_LEN))
        .prop_map(|(t, sum)| format!("{}{}", &t[..t.len() - CHECKSUM_LEN], sum));
    let truncated = (v2, any::<prop::sample::Index>()).prop_map(|(t, at)| {
        let i = at.index(t.len() + 1);
        t[..i].to_owned()
    });
    let p2 = format!("{prefix}_");
    let same_shape = (base62(LOOKUP_LEN + secret_len + CHECKSUM_LEN))
        .prop_map(move |body| format!("{p2}{body}"));
    prop_oneof![
        2 => valid,
        3 => spliced,
        2 => resummed,
        1 => truncated,
        2 => same_shape,
        2 => any::<String>(),
        1 => "\\PC{0,120}",
    ]
}

/// Strings of 62–66 characters that are mostly hex, with an occasional non-hex or unicode char.
fn hexish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-F]{64}",
        "[0-9a-fA-F]{62,66}",
        (
            "[0-9a-fA-F]{64}",
            any::<prop::sample::Index>(),
            "[^0-9a-fA-F]"
        )
            .prop_map(|(h, at, c)| {
                let i = at.index(h.len());
                format!("{}{}{}", &h[..i], c, &h[i + 1..])
            }),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// parse(format(x)) == x for the reference formatter.
    #[test]
    fn formatted_tokens_parse_back((prefix, n, lookup, secret) in parts()) {
        let f = format(&prefix, n);
        let token = build(&prefix, &lookup, &secret);
        prop_assert_eq!(token.len(), f.token_len());
        prop_assert_eq!(f.prefix(), format!("{prefix}_"));
        prop_assert_eq!(parse(&f, &token), Some(Parsed::Current(lookup.clone(), secret.clone())));
        // The legacy switch changes nothing for current tokens.
        prop_assert_eq!(
            parse(&f.clone().with_legacy(true), &token),
            Some(Parsed::Current(lookup, secret))
        );
    }

    /// Generated tokens parse back to the lookup id they were issued with and the configured
    /// secret length, and the reference predicate agrees they are well formed.
    #[test]
    fn generated_tokens_parse_back(prefix in prefix(), n in 32usize..=64) {
        let f = format(&prefix, n);
        let (lookup, token) = f.generate();
        let t = token.expose();
        prop_assert_eq!(t.len(), f.token_len());
        let Some(Parsed::Current(l, s)) = parse(&f, t) else {
            return Err(TestCaseError::fail("generated token did not parse"));
        };
        prop_assert_eq!(l.as_str(), lookup.as_str());
        prop_assert_eq!(s.len(), n);
        prop_assert_eq!(reference(&prefix, n, t), Some((l, s)));
    }

    /// Arbitrary and near-miss strings never panic `parse`, and are accepted exactly when the
    /// reference predicate says they are a token (with the same lookup id and secret).
    #[test]
    fn parse_accepts_exactly_valid_tokens(
        (prefix, n, s) in (prefix(), 32usize..=64)
            .prop_flat_map(|(p, n)| (Just(p.clone()), Just(n), near_tokens(&p, n)))
    ) {
        let f = format(&prefix, n);
        let expected = reference(&prefix, n, &s).map(|(l, s)| Parsed::Current(l, s));
        prop_assert_eq!(parse(&f, &s), expected);
    }

    /// With the legacy switch, exactly the 64-hex strings parse as legacy tokens (the whole string
    /// is the secret); without it, none does.
    #[test]
    fn legacy_mode_accepts_exactly_64_hex(s in hexish(), prefix in prefix()) {
        let off = format(&prefix, 32);
        let on = off.clone().with_legacy(true);
        prop_assert!(!matches!(parse(&off, &s), Some(Parsed::Legacy(_))));
        let current = reference(&prefix, 32, &s).map(|(l, s)| Parsed::Current(l, s));
        let expected = current.or_else(|| is_legacy(&s).then(|| Parsed::Legacy(s.clone())));
        prop_assert_eq!(parse(&on, &s), expected);
    }
}

proptest! {
    // Each case checks up to ~18,000 mutations of one token.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// EVERY single-character edit of a valid token is rejected (CRC32 detects all single-byte
    /// errors, so this is exact). With legacy on, an edit may at most become a 64-hex legacy token.
    #[test]
    fn every_single_character_mutation_is_rejected((prefix, n, lookup, secret) in parts()) {
        let f = format(&prefix, n);
        let legacy = f.clone().with_legacy(true);
        let token = build(&prefix, &lookup, &secret);
        prop_assert!(f.parse(&token).is_some());
        let mut checked = 0usize;
        let mut accepted = Vec::new();
        for_each_mutation(&token, |m| {
            checked += 1;
            if f.parse(m).is_some() {
                accepted.push(m.to_owned());
            }
            match legacy.parse(m) {
                None => {}
                Some(ParsedToken::Legacy(_)) if is_legacy(m) => {}
                Some(_) => accepted.push(format!("(legacy on) {m}")),
            }
        });
        let len = token.len();
        prop_assert_eq!(checked, len * 94 + len + (len + 1) * 95);
        prop_assert!(accepted.is_empty(), "mutations of {} accepted: {:?}", token, accepted);
    }
}
