//! The client side: an [`Interceptor`] that attaches the API key to every outgoing request.

use std::fmt;

use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Attaches an API key to every request of a tonic client:
/// `MyClient::with_interceptor(channel, ApiKeyInterceptor::new(token)?)`.
///
/// The value is marked sensitive (HTTP/2 never indexes it in HPACK tables) and `Debug` is
/// redacted. Any credential already present under the same key is replaced, so a request never
/// carries two.
#[derive(Clone)]
pub struct ApiKeyInterceptor {
    key: AsciiMetadataKey,
    value: AsciiMetadataValue,
}

/// The token is not valid ASCII metadata, or the key name is not an ASCII metadata key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCredential;

impl fmt::Display for InvalidCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the API key or metadata name is not valid ASCII gRPC metadata")
    }
}

impl std::error::Error for InvalidCredential {}

impl ApiKeyInterceptor {
    fn with(key: &str, value: &str) -> Result<Self, InvalidCredential> {
        if key.ends_with("-bin") {
            return Err(InvalidCredential);
        }
        let key = key
            .parse::<AsciiMetadataKey>()
            .map_err(|_| InvalidCredential)?;
        let mut value = value
            .parse::<AsciiMetadataValue>()
            .map_err(|_| InvalidCredential)?;
        value.set_sensitive(true);
        Ok(Self { key, value })
    }

    /// Sends `token` in `x-api-key`.
    pub fn new(token: &str) -> Result<Self, InvalidCredential> {
        Self::with("x-api-key", token)
    }

    /// Sends `token` in another ASCII metadata key.
    pub fn header(name: &str, token: &str) -> Result<Self, InvalidCredential> {
        Self::with(&name.to_ascii_lowercase(), token)
    }

    /// Sends `token` as `authorization: Bearer <token>`.
    pub fn bearer(token: &str) -> Result<Self, InvalidCredential> {
        Self::with("authorization", &format!("Bearer {token}"))
    }
}

impl fmt::Debug for ApiKeyInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyInterceptor")
            .field("key", &self.key.as_str())
            .field("value", &"<redacted>")
            .finish()
    }
}

impl Interceptor for ApiKeyInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(self.key.clone(), self.value.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attaches_and_redacts() {
        let mut i = ApiKeyInterceptor::new("sk_test_secret").unwrap();
        assert!(!format!("{i:?}").contains("secret"));
        let mut req = Request::new(());
        req.metadata_mut()
            .insert("x-api-key", "old".parse().unwrap());
        let req = i.call(req).unwrap();
        let all: Vec<_> = req.metadata().get_all("x-api-key").iter().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0], "sk_test_secret");
        let mut b = ApiKeyInterceptor::bearer("t").unwrap();
        let req = b.call(Request::new(())).unwrap();
        assert_eq!(req.metadata().get("authorization").unwrap(), "Bearer t");
        assert!(ApiKeyInterceptor::new("bad\nvalue").is_err());
        assert!(ApiKeyInterceptor::header("x-key-bin", "t").is_err());
    }
}
