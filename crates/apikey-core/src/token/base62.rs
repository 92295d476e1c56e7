//! Base62 (`0-9A-Za-z`): URL-safe, no separators, double-click selectable, and cheap to parse.

/// The alphabet, in digit order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `c` is a base62 digit.
#[inline]
pub const fn is_digit(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// Fills `out` with uniformly random base62 digits from the OS CSPRNG.
///
/// Rejection sampling (bytes ≥ 248 are dropped) keeps every digit uniform: 248 = 4 · 62.
pub fn fill_random(out: &mut [u8]) {
    let mut buf = [0u8; 64];
    let mut i = 0;
    while i < out.len() {
        getrandom::fill(&mut buf).expect("the OS random source is available");
        for &b in &buf {
            if b < 248 {
                out[i] = ALPHABET[usize::from(b % 62)];
                i += 1;
                if i == out.len() {
                    break;
                }
            }
        }
    }
    zeroize::Zeroize::zeroize(&mut buf);
}

/// Encodes `value` as exactly `out.len()` base62 digits, most significant first.
pub fn encode_fixed(mut value: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
}
