//! [`SigningError`]: why a request could not be signed. The request is then not sent.

/// A request this middleware cannot sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The body is a stream: it cannot be digested before it is sent. Send bytes instead.
    #[error("a streaming body cannot be signed; send the body as bytes")]
    StreamingBody,
    /// The URL has no host.
    #[error("the request URL has no host to sign")]
    NoHost,
    /// The signature could not be made (the core signer's reason).
    #[error("the request could not be signed: {0}")]
    Sign(#[source] apikey_core::Error),
    /// A signature field is not a valid header value (cannot happen for what the signer writes).
    #[error("a signature field is not a valid header value")]
    Header,
}
