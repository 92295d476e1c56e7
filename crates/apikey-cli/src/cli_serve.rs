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
}
