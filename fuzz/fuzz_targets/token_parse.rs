//! Fuzzes `TokenFormat::parse` (current and legacy formats).
//!
//! Input: byte 0 picks the format (prefix, secret length, legacy switch); the rest is the presented
//! token. Besides "does not panic", every accepted token must re-render to exactly the input, and
//! a token rendered from the input's bytes must parse back to its parts and stop parsing after any
//! one-character change.

#![no_main]

use apikey_core::TokenFormat;
use apikey_core::token::base62::{ALPHABET, encode_fixed};
use apikey_core::token::{CHECKSUM_LEN, LEGACY_LOOKUP_LEN, LEGACY_TOKEN_LEN, ParsedToken};
use libfuzzer_sys::fuzz_target;

/// Prefixes a deployment may configure: short, long, with inner `_` and digits.
const PREFIXES: [&str; 4] = [
    "sk_live",
    "k",
    "a1_b2_c3",
    "abcdefghijklmnopqrstuvwxyz012345",
];

fn format_for(byte: u8) -> TokenFormat {
    let prefix = PREFIXES[usize::from(byte & 3)];
    // Five bits spread over 32..=64, so both ends of the accepted range are reached.
    let secret_len = 32 + usize::from((byte >> 2) & 31) * 32 / 31;
    TokenFormat::new(prefix)
        .and_then(|f| f.with_secret_len(secret_len))
        .expect("the prefixes and lengths above are valid")
        .with_legacy(byte & 0x80 != 0)
}

/// The token this deployment would issue for `lookup` and `secret`: an independent rendering,
/// so a parser that accepts anything else is caught.
fn render(format: &TokenFormat, lookup: &str, secret: &str) -> String {
    let mut s = format!("{}{lookup}{secret}", format.prefix());
    let mut sum = [0u8; CHECKSUM_LEN];
    encode_fixed(u64::from(crc32fast::hash(s.as_bytes())), &mut sum);
    s.push_str(std::str::from_utf8(&sum).expect("base62 is ASCII"));
    s
}

fn check_accepted(format: &TokenFormat, raw: &str) {
    match format.parse(raw) {
        None => {}
        Some(ParsedToken::Current(t)) => {
            assert_eq!(raw.len(), format.token_len());
            assert_eq!(
                render(format, t.lookup.as_str(), t.secret()),
                raw,
                "a parsed token re-renders to its input"
            );
            assert!(
                !format!("{t:?}").contains(t.secret()),
                "Debug of a token shows its secret"
            );
        }
        Some(ParsedToken::Legacy(t)) => {
            assert!(format.legacy(), "legacy token accepted with legacy off");
            assert_eq!(t.secret(), raw);
            assert_eq!(raw.len(), LEGACY_TOKEN_LEN);
            assert!(raw.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(t.lookup_prefix(), &raw[..LEGACY_LOOKUP_LEN]);
            assert!(!format!("{t:?}").contains(t.lookup_prefix()));
        }
    }
}

/// Renders a valid token from `bytes` (mapped onto base62), checks it parses to its parts, then
/// that every single-character substitution is refused (CRC32 catches every error burst of up to
/// 32 bits, and one changed character is at most 8).
fn check_rendered(format: &TokenFormat, bytes: &[u8]) {
    let body_len = format.token_len() - format.prefix().len() - CHECKSUM_LEN;
    let digits: String = (0..body_len)
        .map(|i| {
            let b = bytes.get(i % bytes.len().max(1)).copied().unwrap_or(0);
            char::from(ALPHABET[usize::from(b) % ALPHABET.len()])
        })
        .collect();
    let (lookup, secret) = digits.split_at(apikey_core::ids::LOOKUP_ID_LEN);
    let token = render(format, lookup, secret);
    match format.parse(&token) {
        Some(ParsedToken::Current(t)) => {
            assert_eq!(t.lookup.as_str(), lookup);
            assert_eq!(t.secret(), secret);
        }
        other => panic!("a rendered token did not parse: {other:?}"),
    }

    let Some((&pos, &with)) = bytes.first().zip(bytes.get(1)) else {
        return;
    };
    let mut changed = token.into_bytes();
    let i = usize::from(pos) % changed.len();
    let c = ALPHABET[usize::from(with) % ALPHABET.len()];
    if changed[i] == c {
        return;
    }
    changed[i] = c;
    let changed = String::from_utf8(changed).expect("ASCII");
    assert!(
        format.parse(&changed).is_none(),
        "a token with character {i} changed still parses"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let format = format_for(config);
    if let Ok(raw) = std::str::from_utf8(rest) {
        check_accepted(&format, raw);
    }
    check_rendered(&format, rest);
});
