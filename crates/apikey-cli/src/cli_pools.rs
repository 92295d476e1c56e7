//! The flags of shared pools and credits: `apikey pools`, `apikey credits` and
//! `create --credits N [--refill SPEC]`.

use apikey_core::Quota;
use apikey_core::limit::Refill;
use apikey_core::pool::PoolName;
use clap::{Args, Subcommand};

use crate::cli::{RateSpec, parse_quota, parse_rate};

fn parse_pool(s: &str) -> Result<PoolName, String> {
    s.trim()
        .parse()
        .map_err(|e: apikey_core::Error| e.message().to_owned())
}

fn parse_refill(s: &str) -> Result<Refill, String> {
    s.parse()
        .map_err(|e: apikey_core::Error| e.message().to_owned())
}

/// Credits for a new key or a pool.
#[derive(Debug, Clone, Args)]
pub(crate) struct CreditArgs {
    /// Credits to start with; each request spends its cost, and at zero it is refused (429
    /// credits_exhausted). Without --refill they are one-time and stay one-time.
    #[arg(long, value_name = "N")]
    pub(crate) credits: Option<u64>,
    /// Refill: AMOUNT/day or AMOUNT/month@DAY (to AMOUNT; +AMOUNT adds instead), optionally
    /// followed by an IANA time zone: "1000/month@15", "+100/day", "1000/month@31 Europe/Paris"
    /// (the 31st is the last day of every month).
    #[arg(long, value_name = "SPEC", value_parser = parse_refill, requires = "credits")]
    pub(crate) refill: Option<Refill>,
}

/// `pools`.
#[derive(Debug, Subcommand)]
pub(crate) enum PoolsCommand {
    /// Create a pool (or with --replace, change one): a rate, a quota and credits shared by every
    /// key it covers, charged with each key's own limits in one decision.
    Create(PoolArgs),
    /// List the pools and overrides of the tenant.
    List,
    /// Show one pool, with its credit balance when it holds credits and --redis-url is given.
    Show {
        /// The pool's name.
        #[arg(value_parser = parse_pool)]
        name: PoolName,
    },
    /// Remove a pool: its keys are no longer charged against it (what they spent stays counted
    /// until its window ends).
    Remove {
        /// The pool's name.
        #[arg(value_parser = parse_pool)]
        name: PoolName,
    },
}

/// `pools create`.
#[derive(Debug, Args)]
pub(crate) struct PoolArgs {
    /// What the pool covers: tenant, group:NAME, owner:NAME, owner:* (one pool per owner), or an
    /// override of a pool's numbers for one member: POOL@owner:NAME, POOL@key:ID.
    #[arg(value_parser = parse_pool)]
    pub(crate) name: PoolName,
    /// Rate shared by the pool's keys, N/PERIOD.
    #[arg(long, value_parser = parse_rate)]
    pub(crate) rate: Option<RateSpec>,
    /// Requests allowed back to back (default: the rate's N).
    #[arg(long, requires = "rate")]
    pub(crate) burst: Option<u32>,
    /// Calendar quota (UTC) shared by the pool's keys, N/day, N/month or N/year.
    #[arg(long, value_parser = parse_quota)]
    pub(crate) quota: Option<Quota>,
    #[command(flatten)]
    pub(crate) credits: CreditArgs,
    /// What the pool is for.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Replace the pool if it exists (its counters and balance stay).
    #[arg(long)]
    pub(crate) replace: bool,
}

/// `credits`: a key's own credits (by id, lookup id or alias) or a pool's (owner:NAME,
/// group:NAME, tenant). Balances live in the services' Redis (--redis-url).
#[derive(Debug, Subcommand)]
pub(crate) enum CreditsCommand {
    /// Show the balance and the next refill.
    Show {
        /// A key, or a pool name.
        target: String,
    },
    /// Set the balance.
    Set {
        /// A key, or a pool name.
        target: String,
        /// The new balance.
        amount: u64,
    },
    /// Add to the balance.
    TopUp {
        /// A key, or a pool name.
        target: String,
        /// How much to add.
        amount: u64,
    },
}
