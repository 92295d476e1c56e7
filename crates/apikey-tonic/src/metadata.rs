//! Reading the credential and the client address from a gRPC request's metadata and extensions.

use std::net::{IpAddr, SocketAddr};

use apikey_core::http::{CredentialConfig, HttpHeaders};
use apikey_core::{Error, Result};
use http::HeaderMap;
use tonic::transport::server::TcpConnectInfo;

/// A request's metadata as core reads it: gRPC has no query string. Binary (`-bin`) metadata
/// never carries a credential: [`check_config`] refuses such a header name.
pub(crate) fn metadata(headers: &HeaderMap) -> HttpHeaders<'_> {
    HttpHeaders::new(headers)
}

/// Checks a credential configuration for gRPC: the header must be ASCII metadata (not `-bin`) and
/// there is no query string to read.
pub(crate) fn check_config(config: &CredentialConfig) -> Result<()> {
    if let Some(h) = &config.header
        && (h.ends_with("-bin") || http::HeaderName::from_bytes(h.as_bytes()).is_err())
    {
        return Err(Error::invalid(
            "credential header",
            format_args!(
                "{h:?} is not an ASCII gRPC metadata key (binary `-bin` keys cannot carry a key)"
            ),
        ));
    }
    if config.query.is_some() {
        return Err(Error::invalid(
            "credential query",
            "gRPC requests have no query string",
        ));
    }
    Ok(())
}

/// The socket peer tonic recorded for the connection ([`TcpConnectInfo`]), or a [`SocketAddr`]
/// extension a custom transport inserted.
pub(crate) fn peer(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<SocketAddr>().copied())
        .map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikey_core::RejectionKind;
    use apikey_core::http::extract_credential;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn credentials_from_metadata() {
        let c = CredentialConfig::default();
        let get = |pairs| {
            let h = map(pairs);
            extract_credential(&c, &metadata(&h)).map(|c| c.expose().to_owned())
        };
        assert_eq!(get(&[("x-api-key", "k")]).as_deref(), Ok("k"));
        assert_eq!(get(&[("authorization", "Bearer k")]).as_deref(), Ok("k"));
        assert_eq!(get(&[]), Err(RejectionKind::Missing));
        assert_eq!(
            get(&[("x-api-key-bin", "aGk=")]),
            Err(RejectionKind::Missing)
        );
        assert_eq!(
            get(&[("x-api-key", "a"), ("x-api-key", "b")]),
            Err(RejectionKind::Ambiguous)
        );
        assert_eq!(
            get(&[("x-api-key", "a"), ("authorization", "Bearer a")]),
            Err(RejectionKind::Ambiguous)
        );
    }

    #[test]
    fn config_checks() {
        assert!(check_config(&CredentialConfig::default()).is_ok());
        assert!(check_config(&CredentialConfig::default().header("x-key-bin")).is_err());
        assert!(check_config(&CredentialConfig::default().header("bad header")).is_err());
        assert!(check_config(&CredentialConfig::default().query("k")).is_err());
    }

    #[test]
    fn peer_from_extensions() {
        let mut e = http::Extensions::new();
        assert_eq!(peer(&e), None);
        e.insert("127.0.0.1:9".parse::<SocketAddr>().unwrap());
        assert_eq!(peer(&e), Some("127.0.0.1".parse().unwrap()));
    }
}
