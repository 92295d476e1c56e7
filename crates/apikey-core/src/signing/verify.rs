//! Verifying one request's signature: choose the signature that names the key, check what it
//! covers and when it was made, recompute the base and the HMAC, and check the body's digest.
//! Pure: the nonce's first use is decided by the caller ([`SignatureCheck`](super::SignatureCheck))
//! only after everything here has passed, so unauthenticated requests cannot fill the nonce store.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::http::RequestHead;

use super::base::signature_base;
use super::digest::check_content_digest;
use super::error::SignatureError;
use super::input::{SignatureInput, parse_inputs, parse_signature};

/// The one algorithm accepted: keys are shared secrets.
pub const ALGORITHM: &str = "hmac-sha256";

/// The longest nonce accepted (bytes): enough for any random value, small enough to store.
pub const MAX_NONCE: usize = 128;

/// What a signature must satisfy besides verifying.
#[derive(Debug, Clone)]
pub struct SignaturePolicy {
    /// How far `created` may be from the guard's clock, either way (default five minutes, as
    /// cloud request signing uses).
    pub tolerance: Duration,
    /// Whether a `nonce` is required (default yes: without one, a captured request can be
    /// replayed within the tolerance).
    pub require_nonce: bool,
    /// The scheme clients use to reach the service, for `@target-uri` and `@scheme` (default
    /// `https`; TLS usually ends before the guard, which cannot see it).
    pub scheme: &'static str,
}

impl Default for SignaturePolicy {
    fn default() -> Self {
        Self {
            tolerance: Duration::from_secs(300),
            require_nonce: true,
            scheme: "https",
        }
    }
}

/// A signature that verified: what the caller still has to decide on (the nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The label it was found under.
    pub label: String,
    /// `created`, in Unix seconds.
    pub created: i64,
    /// The nonce, if it had one.
    pub nonce: Option<String>,
}

fn joined(head: &RequestHead<'_>, name: &str) -> Option<String> {
    let mut out = String::new();
    for line in head.header_lines(name) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(std::str::from_utf8(line).ok()?);
    }
    (!out.is_empty()).then_some(out)
}

/// Whether `head` carries a signature input at all (cheap: one header lookup).
pub fn is_signed(head: &RequestHead<'_>) -> bool {
    head.header("signature-input").is_some()
}

/// The `keyid` of the first signature in a `Signature-Input` value (its lines joined with
/// `, `), for naming a key by its signature alone.
pub fn keyid_of(signature_input: &str) -> Option<String> {
    let inputs = parse_inputs(signature_input).ok()?;
    let first = inputs.into_iter().next()?;
    first.str("keyid").ok().flatten().map(str::to_owned)
}

fn covers(input: &SignatureInput, name: &str) -> bool {
    input.components.iter().any(|c| c == name)
}

/// Checks what the signature covers: the method and the whole target, and the body's digest
/// when there is a body.
fn check_coverage(input: &SignatureInput, has_body: bool) -> Result<(), SignatureError> {
    let target = covers(input, "@target-uri")
        || (covers(input, "@authority") && covers(input, "@path") && covers(input, "@query"));
    if !covers(input, "@method") || !target || (has_body && !covers(input, "content-digest")) {
        return Err(SignatureError::InsufficientCoverage);
    }
    Ok(())
}

/// Verifies `head`'s signature for the key `keyid` under any of `keys` (the current signing
/// secret, and the previous one during a rotation's grace period).
///
/// `body` is the body as received: `Some` (possibly empty) when it was buffered, `None` when the
/// transport cannot give it (gRPC), in which case no digest is required and none is checked.
pub fn verify_signature(
    head: &RequestHead<'_>,
    body: Option<&[u8]>,
    keyid: &str,
    keys: &[&[u8]],
    policy: &SignaturePolicy,
    now_unix: i64,
) -> Result<Accepted, SignatureError> {
    let inputs = parse_inputs(&joined(head, "signature-input").ok_or(SignatureError::Missing)?)?;
    let input = inputs
        .iter()
        .find(|i| i.str("keyid").ok().flatten() == Some(keyid))
        .ok_or(SignatureError::WrongKey)?;
    match input.str("alg")? {
        None | Some(ALGORITHM) => {}
        Some(_) => return Err(SignatureError::WrongKey),
    }
    let has_body = body.is_some_and(|b| !b.is_empty());
    check_coverage(input, has_body)?;
    let created = input.int("created")?.ok_or(SignatureError::Stale)?;
    let tolerance = i64::try_from(policy.tolerance.as_secs()).unwrap_or(i64::MAX);
    if created.abs_diff(now_unix) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    if input.int("expires")?.is_some_and(|e| e < now_unix) {
        return Err(SignatureError::Stale);
    }
    let nonce = input.str("nonce")?;
    if nonce.is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE)
        || (policy.require_nonce && nonce.is_none())
    {
        return Err(SignatureError::NoNonce);
    }
    let given = parse_signature(
        &joined(head, "signature").ok_or(SignatureError::Missing)?,
        &input.label,
    )?;
    let base = signature_base(head, policy.scheme, input)?;
    let verified = keys.iter().any(|key| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            return false;
        };
        mac.update(base.as_bytes());
        mac.verify_slice(&given).is_ok()
    });
    if !verified {
        return Err(SignatureError::Mismatch);
    }
    // After the HMAC, so the digest is computed only for authenticated requests.
    if has_body {
        let field = joined(head, "content-digest").ok_or(SignatureError::Digest)?;
        check_content_digest(&field, body.unwrap_or_default())?;
    }
    Ok(Accepted {
        label: input.label.clone(),
        created,
        nonce: nonce.map(str::to_owned),
    })
}
