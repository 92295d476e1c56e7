//! The flags of request signing and canaries: `create --signing/--canary` and `apikey signing`.

use std::time::Duration;

use apikey_core::signing::SigningMode;
use clap::{Args, Subcommand};

use crate::cli::parse_duration;

fn parse_mode(s: &str) -> Result<SigningMode, String> {
    s.parse()
        .map_err(|e: apikey_core::Error| e.message().to_owned())
}

/// `create`'s protection flags.
#[derive(Debug, Args)]
pub(crate) struct ProtectArgs {
    /// Issue a request-signing secret (RFC 9421, printed once as sig_…): signatures are
    /// optional, required, or sent instead of the token (instead-of-token).
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub(crate) signing: Option<SigningMode>,
    /// Make a canary key to plant where a leak would show: it never authorizes, and a use of it
    /// is answered like an unknown key and recorded as canary.tripped.
    #[arg(long)]
    pub(crate) canary: bool,
}

/// `signing`.
#[derive(Debug, Subcommand)]
pub(crate) enum SigningCommand {
    /// Give a key a signing mode; a key without a signing secret gets one (printed once).
    Set {
        /// The key's id, lookup id or alias.
        id: String,
        /// optional, required or instead-of-token.
        #[arg(long, value_parser = parse_mode)]
        mode: SigningMode,
    },
    /// Replace a key's signing secret (printed once); the old one keeps verifying for --grace.
    Rotate {
        /// The key's id, lookup id or alias.
        id: String,
        /// How long the previous secret still verifies (0 for not at all).
        #[arg(long, value_parser = parse_duration, default_value = "1h")]
        grace: Duration,
    },
    /// Remove a key's signing secret: it is used with its token alone again.
    Remove {
        /// The key's id, lookup id or alias.
        id: String,
    },
}
