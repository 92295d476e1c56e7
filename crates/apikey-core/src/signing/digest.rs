//! `Content-Digest` (RFC 9530): what ties a signature to the body. The guard recomputes the digest
//! of the body it actually received; the client writes `sha-256`.

use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::error::SignatureError;

/// The `Content-Digest` value a client sends for `body`: `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    let mut ser = sfv::DictSerializer::new();
    ser.bare_item(sfv::key_ref("sha-256"), Sha256::digest(body).as_slice());
    ser.finish().unwrap_or_default()
}

/// Checks a `Content-Digest` field value against `body`: every algorithm this guard knows
/// (`sha-256`, `sha-512`) that the field names must match, and it must name at least one.
pub(crate) fn check_content_digest(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let dict: sfv::Dictionary = sfv::Parser::new(value)
        .parse()
        .map_err(|_| SignatureError::Digest)?;
    let mut checked = 0;
    for (alg, entry) in &dict {
        let sfv::ListEntry::Item(item) = entry else {
            return Err(SignatureError::Digest);
        };
        let Some(given) = item.bare_item.as_byte_sequence() else {
            return Err(SignatureError::Digest);
        };
        let ok: bool = match alg.as_str() {
            "sha-256" => Sha256::digest(body).as_slice().ct_eq(given).into(),
            "sha-512" => Sha512::digest(body).as_slice().ct_eq(given).into(),
            // Other algorithms (including the deprecated ones) are neither trusted nor fatal.
            _ => continue,
        };
        if !ok {
            return Err(SignatureError::Digest);
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(SignatureError::Digest);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9530_example() {
        // RFC 9530 §B.1: {"hello": "world"} with sha-256 and sha-512.
        let body = br#"{"hello": "world"}"#;
        assert_eq!(
            content_digest(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        check_content_digest(
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            body,
        )
        .unwrap();
        assert_eq!(
            check_content_digest(&content_digest(b"other"), body),
            Err(SignatureError::Digest)
        );
        assert_eq!(
            check_content_digest("md5=:AAAA:", body),
            Err(SignatureError::Digest)
        );
        assert_eq!(
            check_content_digest("garbage(", body),
            Err(SignatureError::Digest)
        );
    }
}
