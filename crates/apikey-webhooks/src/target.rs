//! The URL rules of a subscription, checked when it is made (with the name resolved once, so a
//! typo or a name pointing inside the network is an error then) and again at every delivery
//! (through the guarded resolver, because DNS answers change).

use std::net::IpAddr;

use apikey_core::{Error, Result};
use reqwest::Url;
use reqwest::dns::Name;

use crate::resolver::{self, HostResolver};

/// Longest URL a subscription takes.
pub const MAX_URL: usize = 2048;

/// Parses and checks `url`: `https` (or `http` when `allow_http`), a host, no user or password
/// (they would end up in logs), at most [`MAX_URL`] bytes, and — unless `allow_private` — not
/// an IP literal in a refused range.
pub fn check_url(url: &str, allow_http: bool, allow_private: bool) -> Result<Url> {
    if url.len() > MAX_URL {
        return Err(Error::invalid(
            "webhook url",
            format_args!("longer than {MAX_URL} bytes"),
        ));
    }
    let parsed = Url::parse(url).map_err(|e| Error::invalid("webhook url", e))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(Error::invalid(
                "webhook url",
                "is http://; use https://, or allow plain HTTP for this subscription \
                 (--allow-http)",
            ));
        }
        other => {
            return Err(Error::invalid(
                "webhook url",
                format_args!("scheme {other:?} is not http(s)"),
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            "webhook url",
            "must not hold a user name or password",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("webhook url", "has no host"));
    }
    if !allow_private && let Some(ip) = literal_ip(&parsed) {
        resolver::check(&ip.to_string(), &[ip]).map_err(|r| Error::invalid("webhook url", r))?;
    }
    Ok(parsed)
}

/// The IP address the URL names directly, if it does (reqwest does not resolve those, so the
/// guarded resolver never sees them).
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// [`check_url`], then the host resolved once and its addresses checked (unless
/// `allow_private`): what a subscription is checked with when it is made.
pub async fn check_target(
    url: &str,
    allow_http: bool,
    allow_private: bool,
    resolver: &dyn HostResolver,
) -> Result<Url> {
    let parsed = check_url(url, allow_http, allow_private)?;
    if literal_ip(&parsed).is_none() {
        let host = parsed.host_str().unwrap_or_default();
        // reqwest's own name type, so a name it would not accept is refused here too.
        host.parse::<Name>()
            .map_err(|_| Error::invalid("webhook url", "the host is not a valid name"))?;
        resolver::resolve_checked(resolver, host, allow_private)
            .await
            .map_err(|e| Error::invalid("webhook url", e))?;
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://hooks.example/x?y=1", false, false).is_ok());
        let http = check_url("http://hooks.example/", false, false).unwrap_err();
        assert!(http.to_string().contains("--allow-http"), "{http}");
        assert!(check_url("http://hooks.example/", true, false).is_ok());
        for bad in [
            "ftp://hooks.example/",
            "not a url",
            "https://user:pw@hooks.example/",
            "file:///etc/passwd",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://[::ffff:169.254.169.254]/",
            "https://169.254.169.254/latest/meta-data",
            "https://2130706433/",
            "https://0x7f.1/",
        ] {
            assert!(
                check_url(bad, true, false).is_err(),
                "{bad} must be refused"
            );
        }
        assert!(check_url("https://127.0.0.1:9/", false, true).is_ok());
        assert!(
            check_url(
                &format!("https://a.example/{}", "x".repeat(MAX_URL)),
                false,
                false
            )
            .is_err()
        );
    }
}
