//! Signing one `reqwest::Request` in place.

use apikey_core::http::{HttpHeaders, RequestHead};
use apikey_core::signing::Signer;
use http::HeaderValue;

use crate::error::SigningError;

/// The authority as the server sees it: the host, and the port only when it is not the scheme's
/// default (`Url::port` is `None` then), as HTTP clients write `Host`.
fn authority(url: &reqwest::Url) -> Result<String, SigningError> {
    let host = url.host_str().ok_or(SigningError::NoHost)?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn value(s: &str) -> Result<HeaderValue, SigningError> {
    HeaderValue::from_str(s).map_err(|_| SigningError::Header)
}

/// Signs `req` with `signer` at `created` (Unix seconds) with a fresh nonce: adds
/// `Content-Digest` (for a non-empty body), `Signature-Input` and `Signature`, replacing any
/// already there.
pub(crate) fn sign(
    req: &mut reqwest::Request,
    signer: &Signer,
    created: i64,
) -> Result<(), SigningError> {
    let body: &[u8] = match req.body() {
        None => &[],
        Some(b) => b.as_bytes().ok_or(SigningError::StreamingBody)?,
    };
    let authority = authority(req.url())?;
    let nonce = Signer::nonce().map_err(SigningError::Sign)?;
    let fields = HttpHeaders::new(req.headers());
    let head = RequestHead::new(req.method().as_str(), req.url().path(), &fields)
        .with_query(req.url().query())
        .with_authority(Some(&authority));
    let signed = signer
        .sign(&head, body, created, &nonce)
        .map_err(SigningError::Sign)?;
    let headers = req.headers_mut();
    match signed.content_digest {
        Some(d) => {
            headers.insert("content-digest", value(&d)?);
        }
        None => {
            headers.remove("content-digest");
        }
    }
    headers.insert("signature-input", value(&signed.signature_input)?);
    headers.insert("signature", value(&signed.signature)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_keeps_only_a_port_that_is_not_the_default() {
        let a = |u: &str| authority(&reqwest::Url::parse(u).unwrap()).unwrap();
        assert_eq!(a("https://api.example.com/x"), "api.example.com");
        assert_eq!(a("https://api.example.com:443/x"), "api.example.com");
        assert_eq!(a("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(a("http://[::1]:9000/"), "[::1]:9000");
    }
}
