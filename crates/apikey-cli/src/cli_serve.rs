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
    /// What the threat detectors do for the keys the service verifies (`POST /v1/keys/verify`
    /// with `ip`): `block` (the default) blocks a network that tries many lookup ids or keeps
    /// using revoked keys, and reports keys used from many networks or far above their
    /// baseline; `observe` only reports; `off`. Reports are `threat.detected` audit events.
    #[arg(long, value_enum, default_value = "block", env = "APIKEY_THREATS")]
    pub(crate) threats: Threats,
}

/// `--threats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Threats {
    /// The recommended policy: network detectors block for an hour, key detectors report.
    Block,
    /// Every detector reports, none acts.
    Observe,
    /// No detection.
    Off,
}

impl Threats {
    pub(crate) fn policy(self) -> apikey_core::threat::ThreatPolicy {
        use apikey_core::threat::{NetworkAction, ThreatPolicy};
        match self {
            Self::Off => ThreatPolicy::default(),
            Self::Block => ThreatPolicy::recommended(),
            Self::Observe => {
                let mut p = ThreatPolicy::recommended();
                if let Some(d) = p.credential_stuffing.as_mut() {
                    d.action = NetworkAction::Observe;
                }
                if let Some(d) = p.revoked_key_use.as_mut() {
                    d.action = NetworkAction::Observe;
                }
                p
            }
        }
    }
}
