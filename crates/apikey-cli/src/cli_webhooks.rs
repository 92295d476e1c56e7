//! The arguments of `apikey webhooks …`.

use std::time::Duration;

use clap::{Args, Subcommand};

/// `webhooks …`.
#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Subscribe a URL to events; prints its signing secret (whsec_…) once.
    Create(CreateArgs),
    /// List the subscriptions (of --tenant, or those without one).
    List,
    /// Show one subscription.
    Show {
        /// The subscription id.
        id: String,
    },
    /// Delete a subscription and its deliveries.
    Remove {
        /// The subscription id.
        id: String,
    },
    /// Deliver to a subscription again.
    Enable {
        /// The subscription id.
        id: String,
    },
    /// Stop delivering to a subscription (events are not queued for it meanwhile).
    Disable {
        /// The subscription id.
        id: String,
    },
    /// New signing secret, printed once; the old one keeps signing beside it for --grace.
    Rotate {
        /// The subscription id.
        id: String,
        /// How long the old secret still signs (deliveries carry both signatures).
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        grace: Duration,
    },
    /// Send a `ping` now and print what the receiver answered (exit 1 unless it answered 2xx).
    Test {
        /// The subscription id.
        id: String,
    },
    /// List deliveries, newest first.
    Deliveries {
        /// Only the dead-lettered ones (given up after the retry period).
        #[arg(long)]
        failed: bool,
        /// Only those of this subscription.
        #[arg(long, value_name = "ID")]
        subscription: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Send a delivery again (pending, due now, with a fresh retry period).
    Redeliver {
        /// The delivery id.
        delivery: String,
    },
    /// Run the delivery job: until stopped (Ctrl-C), or with --until-idle until nothing is due.
    Run {
        /// Exit once every event is read and no delivery is due (for cron and checks); exit 1 if
        /// deliveries are still waiting for a retry.
        #[arg(long)]
        until_idle: bool,
    },
}

/// `webhooks create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Where to POST events (https://, or http:// with --allow-http).
    #[arg(long)]
    pub(crate) url: String,
    /// Only these event types (comma-separated, e.g. key.revoked,key.created); all by default.
    #[arg(long, value_delimiter = ',')]
    pub(crate) events: Vec<String>,
    /// Allow loopback, private and link-local targets (local development, tests).
    #[arg(long)]
    pub(crate) allow_private_network: bool,
    /// Allow a plain http:// URL.
    #[arg(long)]
    pub(crate) allow_http: bool,
    /// A note for people.
    #[arg(long)]
    pub(crate) description: Option<String>,
}
