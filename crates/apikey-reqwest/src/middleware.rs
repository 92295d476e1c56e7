//! [`ApiKeyMiddleware`]: the token in a header, and the signature when configured.

use std::fmt;
use std::sync::Arc;

use apikey_core::signing::Signer;
use apikey_core::{Clock, SystemClock};
use http::{Extensions, HeaderName, HeaderValue};
use reqwest_middleware::{Middleware, Next, Result};

use crate::sign::sign;

/// The token or header name is not a valid header value or name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the API key or header name is not valid in an HTTP header")]
pub struct InvalidToken;

#[derive(Clone)]
struct Credential {
    name: HeaderName,
    value: HeaderValue,
}

/// Attaches an API key to every request and, with [`signing`](Self::signing), signs it.
///
/// The token is marked sensitive (HTTP/2 never indexes it); `Debug` shows neither the token nor
/// the signing secret. A request that cannot be signed (a streaming body) fails with a
/// [`SigningError`](crate::SigningError) instead of going out unsigned.
#[derive(Clone)]
pub struct ApiKeyMiddleware {
    credential: Option<Credential>,
    signer: Option<Arc<Signer>>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyMiddleware {
    fn with(credential: Option<Credential>) -> Self {
        Self {
            credential,
            signer: None,
            clock: Arc::new(SystemClock),
        }
    }

    fn credential(name: &str, value: &str) -> std::result::Result<Self, InvalidToken> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| InvalidToken)?;
        let mut value = HeaderValue::from_str(value).map_err(|_| InvalidToken)?;
        value.set_sensitive(true);
        Ok(Self::with(Some(Credential { name, value })))
    }

    /// Sends `token` in `x-api-key`.
    pub fn token(token: &str) -> std::result::Result<Self, InvalidToken> {
        Self::credential("x-api-key", token)
    }

    /// Sends `token` as `Authorization: Bearer <token>`.
    pub fn bearer(token: &str) -> std::result::Result<Self, InvalidToken> {
        Self::credential("authorization", &format!("Bearer {token}"))
    }

    /// Sends `token` in header `name`.
    pub fn header(name: &str, token: &str) -> std::result::Result<Self, InvalidToken> {
        Self::credential(&name.to_ascii_lowercase(), token)
    }

    /// Signs without sending a token: for keys in `instead-of-token` mode, named by the signer's
    /// `keyid` alone.
    pub fn signed_only(signer: Signer) -> Self {
        Self::with(None).signing(signer)
    }

    /// Also signs every request with `signer`.
    #[must_use]
    pub fn signing(mut self, signer: Signer) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The clock `created` is read from (the default is the system's).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for ApiKeyMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyMiddleware")
            .field("header", &self.credential.as_ref().map(|c| c.name.as_str()))
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Middleware for ApiKeyMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        if let Some(c) = &self.credential {
            req.headers_mut().insert(c.name.clone(), c.value.clone());
        }
        if let Some(signer) = &self.signer {
            sign(&mut req, signer, self.clock.now().timestamp())
                .map_err(reqwest_middleware::Error::middleware)?;
        }
        next.run(req, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let secret = apikey_core::signing::SigningSecret::generate().unwrap();
        let text = secret.expose().to_string();
        let m = ApiKeyMiddleware::token("sk_live_secretvalue")
            .unwrap()
            .signing(Signer::new("lookup", secret));
        let debug = format!("{m:?}");
        assert!(!debug.contains("secretvalue"), "{debug}");
        assert!(!debug.contains(&text[4..]), "{debug}");
        assert!(ApiKeyMiddleware::token("bad\nvalue").is_err());
    }
}
