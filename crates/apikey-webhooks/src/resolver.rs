//! Name resolution with the address guard in it. reqwest connects to whatever its resolver
//! returns, so the guard sits *inside* the resolver: the addresses it checks are the only ones the
//! connection may use, and there is no second lookup an attacker's DNS could answer differently
//! (DNS rebinding). A name with any refused address is refused whole: a rebinding server mixes a
//! public answer with a private one.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address;

/// Resolves a host name to addresses. [`SystemResolver`] asks the operating system; tests (and
/// deployments with their own DNS) plug in another.
#[async_trait]
pub trait HostResolver: Send + Sync + fmt::Debug + 'static {
    /// The addresses of `host` (ports are ignored).
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

#[async_trait]
impl HostResolver for SystemResolver {
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// Why a target may not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The host as given.
    pub host: String,
    /// The address refused.
    pub ip: IpAddr,
    /// Its class (`a loopback address`, …).
    pub why: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host == self.ip.to_string() {
            write!(
                f,
                "{} is {}; a subscription reaches it only with allow_private_network",
                self.ip, self.why
            )
        } else {
            write!(
                f,
                "{} resolves to {} ({}); a subscription reaches it only with \
                 allow_private_network",
                self.host, self.ip, self.why
            )
        }
    }
}

impl std::error::Error for Refused {}

/// Checks every address of `host`: the first refused one, if any.
pub fn check(host: &str, ips: &[IpAddr]) -> Result<(), Refused> {
    for &ip in ips {
        if let Some(why) = address::refused(ip) {
            return Err(Refused {
                host: host.to_owned(),
                ip,
                why,
            });
        }
    }
    Ok(())
}

/// Resolves `host` with `resolver` and checks the answer (unless `allow_private`).
pub async fn resolve_checked(
    resolver: &dyn HostResolver,
    host: &str,
    allow_private: bool,
) -> Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let ips = resolver.lookup(host).await?;
    if ips.is_empty() {
        return Err(format!("{host} has no addresses").into());
    }
    if !allow_private {
        check(host, &ips)?;
    }
    Ok(ips)
}

/// The resolver reqwest is built with: [`resolve_checked`] over a [`HostResolver`].
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub(crate) inner: Arc<dyn HostResolver>,
    pub(crate) allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let ips =
                resolve_checked(this.inner.as_ref(), name.as_str(), this.allow_private).await?;
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(Vec<IpAddr>);

    #[async_trait]
    impl HostResolver for Fixed {
        async fn lookup(&self, _host: &str) -> io::Result<Vec<IpAddr>> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn a_mixed_answer_is_refused_whole() {
        let r = Fixed(vec![
            "203.0.113.5".parse().unwrap(),
            "10.0.0.7".parse().unwrap(),
        ]);
        let err = resolve_checked(&r, "hooks.example", false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hooks.example resolves to 10.0.0.7 (a private address)"),
            "{err}"
        );
        assert_eq!(
            resolve_checked(&r, "hooks.example", true)
                .await
                .unwrap()
                .len(),
            2
        );
        let empty = Fixed(Vec::new());
        assert!(resolve_checked(&empty, "x.example", true).await.is_err());
    }
}
