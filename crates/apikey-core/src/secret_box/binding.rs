//! What a sealed value belongs to, and the associated data that binds it there.
//!
//! The associated data is a canonical encoding: a domain tag, the format version, then the KEK id,
//! owner and purpose, each prefixed by its length as 8 big-endian bytes. With lengths, no two
//! different triples encode alike ("a" + "bc" never equals "ab" + "c"), so a ciphertext copied to
//! another row or purpose fails authentication instead of opening there.

use super::kek::KekId;

/// Starts every associated data, so it can never equal a byte string another protocol
/// authenticates under the same key.
const DOMAIN: &[u8] = b"apikey secret-box";

/// The owner and purpose a secret is sealed for, for example owner
/// `"webhook_subscription:0190…"` and purpose `"webhook-signing"`. Neither is secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    owner: String,
    purpose: String,
}

impl Binding {
    /// The row (or other owner) and the use of the secret. Use a stable owner that names both the
    /// kind and the id of the row, so two tables' ids never collide.
    pub fn new(owner: impl Into<String>, purpose: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            purpose: purpose.into(),
        }
    }

    /// The owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The purpose.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The associated data for a value of format `version` sealed under `kek`.
    pub(crate) fn aad(&self, version: u8, kek: &KekId) -> Vec<u8> {
        let fields = [
            kek.as_str().as_bytes(),
            self.owner.as_bytes(),
            self.purpose.as_bytes(),
        ];
        let len = DOMAIN.len() + 1 + fields.iter().map(|f| 8 + f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(DOMAIN);
        out.push(version);
        for field in fields {
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_is_length_prefixed_and_unambiguous() {
        let k = KekId::new("k1").unwrap();
        let a = Binding::new("a", "bc").aad(1, &k);
        let b = Binding::new("ab", "c").aad(1, &k);
        assert_ne!(a, b);
        assert_ne!(
            Binding::new("", "abc").aad(1, &k),
            Binding::new("abc", "").aad(1, &k)
        );
        assert_ne!(a, Binding::new("a", "bc").aad(2, &k));
        assert_ne!(
            a,
            Binding::new("a", "bc").aad(1, &KekId::new("k2").unwrap())
        );
        let mut expected = b"apikey secret-box\x01".to_vec();
        for f in [&b"k1"[..], b"a", b"bc"] {
            expected.extend_from_slice(&(f.len() as u64).to_be_bytes());
            expected.extend_from_slice(f);
        }
        assert_eq!(a, expected);
    }
}
