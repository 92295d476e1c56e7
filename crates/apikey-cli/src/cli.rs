//! The command line, as `clap` derive definitions. Values are parsed here where a parser can say
//! precisely what is wrong (durations, rates, quotas, scopes, JSON), so a bad value is a usage error
//! (exit 2) that names the flag.

use std::time::Duration;

use apikey_core::{Metadata, Quota, QuotaPeriod, Scope, TenantId};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The database used when neither `--database-url` nor `DATABASE_URL` is given.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://apikeys.db";

const AFTER_HELP: &str = "\
Environment:
  DATABASE_URL     database to use (default sqlite://apikeys.db, created on first use)
  APIKEY_PEPPER    HMAC peppers as id=base64secret[,id=base64secret...]; the first is current.
                   Without it, the default SQLite database keeps its pepper in apikeys.db.pepper
                   (mode 0600, created on first use). Losing the pepper invalidates every key.
  REDIS_URL        Redis the services share (see --redis-url): changes are published there so
                   running services stop accepting a revoked key within a second
  APIKEY_ACTOR     who is acting, recorded in the audit log (default: $USER)
  APIKEY_AUDIT_RETENTION_DAYS
                   jobs: days of audit events the audit.retention job keeps (default 365)
  APIKEY_EXPIRY_THRESHOLDS
                   jobs: days before expiry keys.expiry warns at (default 30,7,1)
  RUST_LOG         log filter for diagnostics on stderr (default: warn)

Exit codes:
  0  success (verify: the token is valid)
  1  verify: the token was rejected; jobs run: a job failed; bulk and group changes: a key
     could not be changed; or an unexpected database error
  2  usage error or invalid input (bad flag, scope, duration, URL, state transition);
     bulk create: a row failed (the good rows are written)
  3  no such key (by id, lookup id or alias), version of it, template or group
     (jobs run: no such job)
  4  database unreachable or unavailable
  5  conflict (the key changed concurrently, an id exists already, an alias is taken)
  6  configuration error (missing or invalid pepper)
  7  the change is committed, but running services could not be told (Redis unreachable):
     they may accept the old state of the key for up to --cache-ttl
  8  a tenant setting refused the creation or transfer (maximum keys per tenant or owner)
  9  --confirm: the change is committed, but not every running service instance confirmed
     it within --timeout (the output names them); they may accept the old state until they do
  130 interrupted by Ctrl-C or SIGTERM (usage already counted is still written)";

/// `apikey`: issue, inspect, verify and manage API keys from a terminal.
#[derive(Debug, Parser)]
#[command(name = "apikey", version, about, after_long_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Database URL: sqlite://FILE, postgres://…, mysql://… or mariadb://….
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = DEFAULT_DATABASE_URL,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) database_url: String,

    /// A file of NAME=value lines naming the environment variables below (DATABASE_URL,
    /// APIKEY_PEPPER, APIKEY_LISTEN, …); the environment and flags win over it.
    #[arg(long, global = true, env = "APIKEY_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,

    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Who is acting, recorded in the audit log (default: $USER).
    #[arg(long, global = true, env = "APIKEY_ACTOR", value_name = "NAME")]
    pub(crate) actor: Option<String>,

    /// Redis the running services share (their cache and revocation channel): every change is
    /// published there, so they drop the old state within a second. Without it, services that
    /// cache keys see a change made here only when their cache entry expires (--cache-ttl).
    #[arg(
        long,
        global = true,
        env = "REDIS_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) redis_url: Option<String>,

    /// The key prefix the services give their Redis cache (`RedisCache::with_prefix`).
    #[arg(
        long,
        global = true,
        env = "APIKEY_REDIS_PREFIX",
        default_value = "apikey",
        value_name = "PREFIX"
    )]
    pub(crate) redis_prefix: String,

    /// The services' `cache_ttl`: how long a published invalidation refuses older cache fills,
    /// and how long services may use an old state when it could not be published.
    #[arg(
        long,
        global = true,
        env = "APIKEY_CACHE_TTL",
        default_value = "60s",
        value_parser = parse_duration,
        value_name = "DURATION"
    )]
    pub(crate) cache_ttl: Duration,

    /// Act within one tenant: new keys belong to it, and only its keys are visible.
    #[arg(long, global = true, value_name = "TENANT", value_parser = parse_tenant)]
    pub(crate) tenant: Option<TenantId>,

    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a key and print its token (shown only once).
    Create(Box<CreateArgs>),
    /// List keys (revoked keys are hidden unless --all or --state revoked).
    List(ListArgs),
    /// Show one key.
    Show(KeyArg),
    /// Change a key's settings (name, scopes, limits, IP rules, expiry, metadata, tags, owner,
    /// group, environment, …); flags not given leave their field as it is.
    Update(Box<UpdateArgs>),
    /// List every version of a key from the audit log: who changed it, when and why.
    History(KeyArg),
    /// Show the fields that differ between two versions of a key.
    Diff(DiffArgs),
    /// Put back the settings a key had at an earlier version, as a new version (never its
    /// secret or state: a revoked key needs `restore`).
    Rollback(RollbackArgs),
    /// Revoke a key for good (an operator can still `restore` it). With --confirm, wait until
    /// every running service instance has stopped accepting it.
    Revoke(StateChangeArgs),
    /// Replace a key with a new one; the old one keeps working for the grace period.
    Rotate(RotateArgs),
    /// Suspend an active key (--confirm as for revoke).
    Suspend(StateChangeArgs),
    /// Make a suspended key active again.
    Unsuspend(KeyArg),
    /// Make a revoked key active again.
    Restore(KeyArg),
    /// Approve a key created with --require-approval.
    Approve(KeyArg),
    /// Reject a key awaiting approval (it becomes revoked).
    Reject(ReasonArgs),
    /// Write every key (with its stored hash, never a token) as JSON.
    Export(ExportArgs),
    /// Insert keys from an export; keys that already exist are skipped.
    Import(ImportArgs),
    /// Check a token and print the verdict (exit 0 valid, 1 rejected).
    Verify(VerifyArgs),
    /// Create or upgrade the database schema.
    Migrate,
    /// Periodic maintenance jobs (audit retention, …): list them, or run the due ones once (for
    /// cron). Instances sharing the database run each period once, under a lease.
    Jobs(JobsArgs),
    /// Templates: named defaults a creation picks with --template.
    #[command(subcommand)]
    Templates(crate::cli_programme::TemplatesCommand),
    /// Groups: defaults for their new keys; revoke or suspend a whole group.
    #[command(subcommand)]
    Groups(crate::cli_programme::GroupsCommand),
    /// Aliases: names for a key, unique in its tenant, accepted wherever an ID is.
    #[command(subcommand)]
    Alias(crate::cli_programme::AliasCommand),
    /// Create a key with another key's settings and a new secret.
    Clone(crate::cli_programme::CloneArgs),
    /// Give a key to another owner.
    Transfer(crate::cli_programme::TransferArgs),
    /// Bulk work: create keys from a file; revoke, suspend or update the keys a filter selects.
    #[command(subcommand)]
    Bulk(crate::cli_programme::BulkCommand),
    /// Rotation policies: announce or rotate keys every N days (applied by `jobs run`).
    #[command(subcommand)]
    Policies(crate::cli_programme::PoliciesCommand),
    /// Signed webhooks (Standard Webhooks): subscriptions, deliveries and the delivery job.
    #[command(subcommand)]
    Webhooks(crate::cli_webhooks::WebhooksCommand),
    /// List the running service instances registered in Redis by their revocation listeners
    /// (needs --redis-url; no database is opened).
    Instances,
    /// The request log: who called what, from where, with what outcome (newest first; the log
    /// is off unless a tenant's settings turn it on).
    Requests(crate::cli_requests::RequestsArgs),
    /// Request-signing secrets (RFC 9421): set a key's mode, rotate or remove its secret.
    #[command(subcommand)]
    Signing(crate::cli_signing::SigningCommand),
    /// Usage analytics: a key's (owner's, group's, tenant's) requests by outcome over time as a
    /// sparkline and totals, or the keys ranked by requests or rejections (--top N).
    Usage(crate::cli_usage::UsageArgs),
    /// A month's usage report: totals, top keys, refusals, daily series, keys expiring or
    /// unused, security events — as CSV, as a PDF with charts, or as JSON.
    Report(crate::cli_report::ReportArgs),
    /// Security score 0–100 per key, with what costs each key points and what to do about it.
    Score(crate::cli_score::ScoreArgs),
    /// Data-subject requests: export everything held about an owner.
    #[command(subcommand)]
    Compliance(crate::cli_compliance::ComplianceCommand),
    /// The audit log: list events (by key, owner, type, time) and count them per day, type and
    /// actor.
    #[command(subcommand)]
    Audit(crate::cli_audit::AuditCommand),
    /// Shared limit pools of an owner, group or tenant, and overrides of their numbers.
    #[command(subcommand)]
    Pools(crate::cli_pools::PoolsCommand),
    /// Credit balances of keys and pools: show, set, top up (needs --redis-url).
    #[command(subcommand)]
    Credits(crate::cli_pools::CreditsCommand),
    /// The key service: verification and management over HTTP for services in any language.
    Serve(crate::cli_serve::ServeArgs),
}

/// `jobs`.
#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    /// Keep audit events this many days; `audit.retention` deletes older ones. A tenant whose
    /// settings set `retention.audit_days` keeps its events that long instead (the default row's
    /// applies to tenants without a row of their own and to keys without a tenant).
    #[arg(
        long,
        global = true,
        env = "APIKEY_AUDIT_RETENTION_DAYS",
        default_value_t = 365,
        value_parser = clap::value_parser!(u32).range(1..=36_500),
        value_name = "DAYS"
    )]
    pub(crate) audit_retention_days: u32,

    /// Where `keys.rotation` writes the new token of each key a `rotate` policy rotated: one file
    /// per key, `DIR/<key id>.token`, mode 0600, for the owner to collect. Without it, `rotate`
    /// policies fail their run (a rotation whose token no one receives is undone).
    #[arg(long, global = true, env = "APIKEY_TOKEN_SINK_DIR", value_name = "DIR")]
    pub(crate) token_sink_dir: Option<std::path::PathBuf>,

    /// How long `usage.retention` keeps usage buckets, in days, as MINUTES,HOURS,DAYS buckets
    /// (coarser ones at least as long as finer ones).
    #[arg(
        long,
        global = true,
        env = "APIKEY_USAGE_RETENTION_DAYS",
        value_delimiter = ',',
        num_args = 3,
        default_value = "7,90,730",
        value_name = "DAYS"
    )]
    pub(crate) usage_retention_days: Vec<u32>,

    /// Days before expiry at which `keys.expiry` warns (comma-separated).
    #[arg(
        long,
        global = true,
        env = "APIKEY_EXPIRY_THRESHOLDS",
        value_delimiter = ',',
        default_value = "30,7,1",
        value_name = "DAYS"
    )]
    pub(crate) expiry_thresholds: Vec<u32>,

    /// What to do with the jobs.
    #[command(subcommand)]
    pub(crate) command: JobsCommand,
}

/// `jobs list` and `jobs run`.
#[derive(Debug, Subcommand)]
pub(crate) enum JobsCommand {
    /// Show every job: its period, last completed period, last error, lease holder, next run.
    List,
    /// Run every due job once (or only NAME); exit 1 if a job failed.
    Run {
        /// Only this job (as shown by `apikey jobs list`).
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
}

/// A key, by id (UUID) or lookup id.
#[derive(Debug, Args)]
pub(crate) struct KeyArg {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
}

/// A key and an optional reason.
#[derive(Debug, Args)]
pub(crate) struct ReasonArgs {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Why, recorded on the key and in the audit log.
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// `revoke` and `suspend`: a key, an optional reason, and whether to wait for the services.
#[derive(Debug, Args)]
pub(crate) struct StateChangeArgs {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Why, recorded on the key and in the audit log.
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Waiting for the running services.
    #[command(flatten)]
    pub(crate) confirm: ConfirmArgs,
}

/// `--confirm [--timeout 5s]`.
#[derive(Debug, Args)]
pub(crate) struct ConfirmArgs {
    /// After committing, wait until every running service instance (every revocation listener
    /// registered in the Redis of --redis-url) has applied the change. Exit 9 names the
    /// instances that did not answer within --timeout; the change is committed either way.
    #[arg(long)]
    pub(crate) confirm: bool,
    /// With --confirm: how long to wait for the instances.
    #[arg(long, value_parser = parse_duration, default_value = "5s", requires = "confirm", value_name = "DURATION")]
    pub(crate) timeout: Duration,
}

impl ConfirmArgs {
    /// The timeout, when confirmation was asked for.
    pub(crate) fn wanted(&self) -> Option<Duration> {
        self.confirm.then_some(self.timeout)
    }
}

/// `create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Human-readable name.
    #[arg(long)]
    pub(crate) name: String,
    /// Scopes granted, comma-separated resource:action (action may be *).
    #[arg(long, value_delimiter = ',', value_parser = parse_scope)]
    pub(crate) scopes: Vec<Scope>,
    /// Free-text description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Owner (user, team or service).
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Group or team.
    #[arg(long)]
    pub(crate) group: Option<String>,
    /// Environment (production, staging, …).
    #[arg(long)]
    pub(crate) environment: Option<String>,
    /// Tags, comma-separated or repeated.
    #[arg(long, visible_alias = "tag", value_delimiter = ',')]
    pub(crate) tags: Vec<String>,
    /// Expire after this long (30d, 12h, 1h30m).
    #[arg(long, value_parser = parse_duration, conflicts_with = "expires_at")]
    pub(crate) expires_in: Option<Duration>,
    /// Expire at this instant (RFC 3339, e.g. 2030-01-31T00:00:00Z).
    #[arg(long, value_parser = parse_instant)]
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// Networks the key may be used from, comma-separated addresses or CIDRs.
    #[arg(long, visible_alias = "allow-ip", value_delimiter = ',')]
    pub(crate) ip_allow: Vec<String>,
    /// Networks the key may never be used from, comma-separated addresses or CIDRs.
    #[arg(long, visible_alias = "deny-ip", value_delimiter = ',')]
    pub(crate) ip_deny: Vec<String>,
    /// Rate limit as N/PERIOD (100/1m, 10/s, 5000/1h).
    #[arg(long, value_parser = parse_rate)]
    pub(crate) rate: Option<RateSpec>,
    /// Requests allowed back to back (default: the rate's N).
    #[arg(long, requires = "rate")]
    pub(crate) burst: Option<u32>,
    /// Calendar quota (UTC) as N/day, N/month or N/year.
    #[arg(long, value_parser = parse_quota)]
    pub(crate) quota: Option<Quota>,
    /// Free-form metadata, a JSON object.
    #[arg(long, value_parser = parse_metadata)]
    pub(crate) metadata: Option<Metadata>,
    /// Create the key pending; it works only after `apikey approve`.
    #[arg(long)]
    pub(crate) require_approval: bool,
    /// Start from this template's defaults (flags given here override them).
    #[arg(long, value_name = "NAME")]
    pub(crate) template: Option<String>,
    #[command(flatten)]
    pub(crate) protect: crate::cli_signing::ProtectArgs,
    #[command(flatten)]
    pub(crate) credits: crate::cli_pools::CreditArgs,
}

/// `update`. Every flag is optional; a `--clear-…` flag empties its field.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Why, recorded in the audit log.
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// New name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// New description.
    #[arg(long, conflicts_with = "clear_description")]
    pub(crate) description: Option<String>,
    /// Remove the description.
    #[arg(long)]
    pub(crate) clear_description: bool,
    /// New owner.
    #[arg(long, conflicts_with = "clear_owner")]
    pub(crate) owner: Option<String>,
    /// Remove the owner.
    #[arg(long)]
    pub(crate) clear_owner: bool,
    /// New group.
    #[arg(long, conflicts_with = "clear_group")]
    pub(crate) group: Option<String>,
    /// Remove the group.
    #[arg(long)]
    pub(crate) clear_group: bool,
    /// New environment.
    #[arg(long, conflicts_with = "clear_environment")]
    pub(crate) environment: Option<String>,
    /// Remove the environment.
    #[arg(long)]
    pub(crate) clear_environment: bool,
    /// Replace the scopes, comma-separated resource:action.
    #[arg(long, value_delimiter = ',', value_parser = parse_scope, conflicts_with = "clear_scopes")]
    pub(crate) scopes: Option<Vec<Scope>>,
    /// Remove every scope.
    #[arg(long)]
    pub(crate) clear_scopes: bool,
    /// Replace the tags, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "clear_tags")]
    pub(crate) tags: Option<Vec<String>>,
    /// Remove every tag.
    #[arg(long)]
    pub(crate) clear_tags: bool,
    /// Replace the aliases, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "clear_aliases")]
    pub(crate) aliases: Option<Vec<String>>,
    /// Remove every alias.
    #[arg(long)]
    pub(crate) clear_aliases: bool,
    /// Expire after this long from now (30d, 12h).
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["expires_at", "clear_expiry"])]
    pub(crate) expires_in: Option<Duration>,
    /// Expire at this instant (RFC 3339).
    #[arg(long, value_parser = parse_instant, conflicts_with = "clear_expiry")]
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// Never expire.
    #[arg(long)]
    pub(crate) clear_expiry: bool,
    /// Replace the IP rules: networks allowed, comma-separated. With --ip-allow or --ip-deny
    /// both lists are replaced (the one not given becomes empty).
    #[arg(long, value_delimiter = ',', conflicts_with = "clear_ip_rules")]
    pub(crate) ip_allow: Option<Vec<String>>,
    /// Replace the IP rules: networks denied, comma-separated (see --ip-allow).
    #[arg(long, value_delimiter = ',', conflicts_with = "clear_ip_rules")]
    pub(crate) ip_deny: Option<Vec<String>>,
    /// Remove every IP rule.
    #[arg(long)]
    pub(crate) clear_ip_rules: bool,
    /// New rate limit as N/PERIOD (100/1m, 10/s).
    #[arg(long, value_parser = parse_rate, conflicts_with = "clear_rate")]
    pub(crate) rate: Option<RateSpec>,
    /// Requests allowed back to back (default: the rate's N).
    #[arg(long, requires = "rate")]
    pub(crate) burst: Option<u32>,
    /// Remove the rate limit.
    #[arg(long)]
    pub(crate) clear_rate: bool,
    /// Replace the endpoint limits: ENDPOINT=N/PERIOD, repeatable ("GET /projects=100/1m").
    #[arg(long = "endpoint-limit", value_parser = parse_endpoint_limit, conflicts_with = "clear_endpoint_limits", value_name = "ENDPOINT=RATE")]
    pub(crate) endpoint_limits: Option<Vec<(String, RateSpec)>>,
    /// Remove every endpoint limit.
    #[arg(long)]
    pub(crate) clear_endpoint_limits: bool,
    /// New calendar quota (UTC) as N/day, N/month or N/year.
    #[arg(long, value_parser = parse_quota, conflicts_with = "clear_quota")]
    pub(crate) quota: Option<Quota>,
    /// Remove the quota.
    #[arg(long)]
    pub(crate) clear_quota: bool,
    /// Replace the metadata with this JSON object (`{}` empties it).
    #[arg(long, value_parser = parse_metadata)]
    pub(crate) metadata: Option<Metadata>,
}

/// `diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// The earlier version (see `apikey history`).
    #[arg(value_name = "V1")]
    pub(crate) v1: u64,
    /// The later version.
    #[arg(value_name = "V2")]
    pub(crate) v2: u64,
}

/// `rollback`.
#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// The version whose settings to put back (see `apikey history`).
    #[arg(value_name = "VERSION")]
    pub(crate) version: u64,
    /// Why, recorded in the audit log after "rollback to version N".
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// A key state as people see it (expired is derived from the expiry and the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StateArg {
    /// Awaiting approval.
    Pending,
    /// Usable.
    Active,
    /// Suspended.
    Suspended,
    /// Past its expiry or rotation grace.
    Expired,
    /// Revoked or rejected.
    Revoked,
}

/// `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only keys with every one of these tags (comma-separated or repeated).
    #[arg(long = "tag", value_delimiter = ',', value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// Only keys of this owner.
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Only keys of this group.
    #[arg(long)]
    pub(crate) group: Option<String>,
    /// Only keys of this environment.
    #[arg(long)]
    pub(crate) environment: Option<String>,
    /// Only keys in these states (comma-separated or repeated).
    #[arg(long = "state", value_delimiter = ',', value_name = "STATE")]
    pub(crate) states: Vec<StateArg>,
    /// Include revoked keys.
    #[arg(long)]
    pub(crate) all: bool,
}

/// `rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The key's id (UUID) or its 12-character lookup id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// How long the old key keeps working (0s, 24h, 7d; at most 365d).
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub(crate) grace: Duration,
    /// With no grace period: wait until every running service instance has stopped accepting
    /// the old key.
    #[command(flatten)]
    pub(crate) confirm: ConfirmArgs,
}

/// `export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Write to this file (created with mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<std::path::PathBuf>,
}

/// `import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The export file, or `-` for stdin.
    #[arg(
        value_name = "FILE",
        required_unless_present = "from_nest",
        conflicts_with = "from_nest"
    )]
    pub(crate) file: Option<String>,
    /// Import from nest-api-key-auth's database instead (postgres://, mysql://, sqlite:, or
    /// mongodb://…/db): its tokens keep working (legacy hashes, re-hashed on first use).
    #[arg(long, value_name = "URL")]
    pub(crate) from_nest: Option<String>,
    /// With --from-nest: show what would be imported and write nothing.
    #[arg(long, requires = "from_nest")]
    pub(crate) dry_run: bool,
}

/// `verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The token (prefer --token-stdin: a command line is visible to other local users).
    #[arg(value_name = "TOKEN", required_unless_present = "token_stdin")]
    pub(crate) token: Option<String>,
    /// Read the token from the first line of stdin.
    #[arg(long, conflicts_with = "token")]
    pub(crate) token_stdin: bool,
    /// Scopes the request requires, comma-separated (all must be granted).
    #[arg(long, value_delimiter = ',', value_parser = parse_scope)]
    pub(crate) scopes: Vec<Scope>,
    /// The client address, checked against the key's IP rules.
    #[arg(long)]
    pub(crate) ip: Option<std::net::IpAddr>,
    /// The endpoint, for endpoint limits (e.g. "GET /projects").
    #[arg(long)]
    pub(crate) endpoint: Option<String>,
}

/// A rate before its burst is known: `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateSpec {
    pub(crate) requests: u32,
    pub(crate) per: Duration,
}

pub(crate) fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::new(s.trim()).map_err(|e| e.message().to_owned())
}

fn parse_tenant(s: &str) -> Result<TenantId, String> {
    TenantId::new(s).map_err(|e| e.message().to_owned())
}

/// `30d`, `12h`, `1h 30m`, `90s`, `0s`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e}; expected a duration like 30d, 12h, 1h30m or 90s"))
}

pub(crate) fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected RFC 3339 like 2030-01-31T00:00:00Z"))
}

fn split_ratio<'a>(s: &'a str, what: &str, example: &str) -> Result<(u64, &'a str), String> {
    let (n, per) = s
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("expected {what} like {example}"))?;
    let n = n
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{n:?} is not a whole number; expected {what} like {example}"))?;
    Ok((n, per.trim()))
}

/// `100/1m`, `10/s`, `5000/1h`.
pub(crate) fn parse_rate(s: &str) -> Result<RateSpec, String> {
    let (n, per) = split_ratio(s, "N/PERIOD", "100/1m")?;
    let requests = u32::try_from(n).map_err(|_| "too many requests".to_owned())?;
    // `10/s` and `10/min` mean one of the unit.
    let per_text = if per.starts_with(|c: char| c.is_ascii_digit()) {
        per.to_owned()
    } else {
        format!("1{per}")
    };
    let per = parse_duration(&per_text)?;
    Ok(RateSpec { requests, per })
}

/// `1000/day`, `50000/month`, `1000000/year`.
pub(crate) fn parse_quota(s: &str) -> Result<Quota, String> {
    let (limit, period) = split_ratio(s, "N/day, N/month or N/year", "10000/month")?;
    let period = period
        .parse::<QuotaPeriod>()
        .map_err(|e| e.message().to_owned())?;
    let quota = Quota { limit, period };
    quota.validate().map_err(|e| e.message().to_owned())?;
    Ok(quota)
}

/// `GET /projects=100/1m`: the endpoint, then its rate after the last `=`.
pub(crate) fn parse_endpoint_limit(s: &str) -> Result<(String, RateSpec), String> {
    let (endpoint, rate) = s
        .rsplit_once('=')
        .ok_or_else(|| "expected ENDPOINT=N/PERIOD like \"GET /projects=100/1m\"".to_owned())?;
    if endpoint.trim().is_empty() {
        return Err("the endpoint is empty; expected ENDPOINT=N/PERIOD".to_owned());
    }
    Ok((endpoint.trim().to_owned(), parse_rate(rate)?))
}

pub(crate) fn parse_metadata(s: &str) -> Result<Metadata, String> {
    Metadata::from_json(s).map_err(|e| e.message().to_owned())
}
