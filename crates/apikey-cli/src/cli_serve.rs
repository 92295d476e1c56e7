//! The flags of `apikey serve`.

use std::net::SocketAddr;

use clap::Args;

/// `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on; the one it listens on is printed (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", env = "APIKEY_LISTEN")]
    pub(crate) listen: SocketAddr,
    /// Create the first root admin key (every admin scope), print its token once, then serve.
    /// Refused when an admin key exists already.
    #[arg(long)]
    pub(crate) init: bool,
    /// Receive GitHub's secret-scanning alerts at `POST /v1/leaks/github`, checked against
    /// GitHub's public keys: a file in the shape GitHub serves, or a URL (GitHub's is
    /// https://api.github.com/meta/public_keys/secret_scanning), cached.
    #[arg(long, value_name = "FILE|URL", env = "APIKEY_GITHUB_KEYS")]
    pub(crate) github_keys: Option<String>,
    /// A proxy (address or network, `10.0.0.0/8`) whose `X-Forwarded-For` names the caller;
    /// repeat for several. By default the socket peer is the caller.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "APIKEY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub(crate) trusted_proxies: Vec<String>,
    /// An origin whose browser pages may call the service (CORS), `https://admin.example.com`;
    /// repeat for several. None by default.
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        env = "APIKEY_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub(crate) cors_origins: Vec<String>,
}
