//! Request signing with HTTP Message Signatures ([RFC 9421]) and `hmac-sha256`, and the other
//! per-key protections ([`Protection`]: signing and canaries).
//!
//! A key may hold a **signing secret** (`sig_…`, shown once, stored sealed in the
//! [`SecretBox`](crate::secret_box::SecretBox)). Per key, signing is
//! [optional, required or instead of the token](SigningMode). A guard verifies with
//! [`SignatureCheck`] (one [`RequestCheck`](crate::http::RequestCheck), so every integration has
//! it); a client signs with [`Signer`] (`apikey-reqwest` wraps it for reqwest).
//!
//! # What a signature must cover
//!
//! - `keyid` = the key's lookup id; `alg`, when given, `hmac-sha256`.
//! - Components: `@method`, and the target — `@authority`, `@path` and `@query`, or `@target-uri`
//!   — and `content-digest` ([RFC 9530], `sha-256` or `sha-512`) whenever there is a body; the
//!   digest is recomputed over the body the guard received (buffered up to the guard's cap).
//! - `created` within the tolerance (default ±300 s) of the guard's clock; `expires`, when given,
//!   not passed; a `nonce` (required by default), accepted once within the tolerance
//!   ([`NonceStore`]: in memory for one instance, Redis for several; a store that cannot answer
//!   refuses the request).
//! - Component parameters (`;sf`, `;key`, `;bs`, `;req`, `;name`), derived components that need a
//!   response or parameters, repeated parameters or labels: refused. Every refusal is the same
//!   401.
//!
//! gRPC (`apikey-tonic`) cannot hand a check its messages: a gRPC signature covers the method,
//! the path and the metadata it lists, not the message bodies.
//!
//! # Why `sfv`
//!
//! The fields are RFC 8941 structured fields; `sfv` is the parser Mozilla and others use, with a
//! visitor API that sees repeated keys (which a map-based parse would silently merge). The
//! signature base and HMAC are ours (RustCrypto `hmac`/`sha2`, as for token hashes), so the
//! verifier and the client share one implementation; interoperability is tested against the
//! Python `http-message-signatures` package and RFC 9421's own `hmac-sha256` example.
//!
//! [RFC 9421]: https://www.rfc-editor.org/rfc/rfc9421
//! [RFC 9530]: https://www.rfc-editor.org/rfc/rfc9530

mod base;
mod check;
mod digest;
mod error;
mod input;
mod nonce;
mod opened;
mod protection;
mod sealing;
mod secret;
mod sign;
mod verify;

pub use check::SignatureCheck;
pub use digest::content_digest;
pub use error::SignatureError;
pub use nonce::{MemoryNonces, NonceStore};
pub use protection::{KeySigning, Protection, SigningMode};
pub use sealing::{SIGNING_PURPOSE, binding, open, seal};
pub use secret::{SECRET_PREFIX, SigningSecret};
pub use sign::{LABEL, SignedFields, Signer};
pub use verify::{
    ALGORITHM, Accepted, MAX_NONCE, SignaturePolicy, is_signed, keyid_of, verify_signature,
};

#[cfg(test)]
mod tests;
