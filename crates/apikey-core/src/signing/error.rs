//! [`SignatureError`]: why a request signature was not accepted. For logs and tests only: every
//! one of them is answered with the same 401, so a client learns nothing about which part failed.

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `Signature-Input`/`Signature`, or no signature under the chosen label.
    #[error("the request is not signed")]
    Missing,
    /// A field that is not valid RFC 9421 structured data, or uses what this guard refuses
    /// (component parameters, repeated parameters or labels, wrong parameter types).
    #[error("the signature fields are malformed")]
    Malformed,
    /// A covered component this guard does not derive (`@status`, `@query-param`, …), or a
    /// covered header field the request does not have.
    #[error("a covered component is unknown or absent")]
    UnknownComponent,
    /// The signature does not cover what is required (`@method`, the target, and the body's
    /// `content-digest`).
    #[error("the signature does not cover the required components")]
    InsufficientCoverage,
    /// No signature names this key (`keyid`), or `alg` is not `hmac-sha256`.
    #[error("no signature for this key")]
    WrongKey,
    /// `created` is missing or outside the tolerance, or `expires` has passed.
    #[error("the signature is too old, too new or expired")]
    Stale,
    /// A `nonce` is required and missing, or too long.
    #[error("the signature has no usable nonce")]
    NoNonce,
    /// The nonce was seen before within the tolerance.
    #[error("the nonce was used before")]
    Replayed,
    /// The body is not what `Content-Digest` says, or a body was not available to check.
    #[error("the content digest does not match the body")]
    Digest,
    /// The HMAC does not verify under the key's signing secret.
    #[error("the signature does not verify")]
    Mismatch,
}
