//! The command line of the key programme: templates, groups, rotation policies, aliases, clone,
//! transfer and bulk work. Kept apart from `cli.rs` so each file stays one idea.

use std::path::PathBuf;
use std::time::Duration;

use apikey_core::{Metadata, Quota, Scope};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{
    ListArgs, RateSpec, UpdateArgs, parse_duration, parse_endpoint_limit, parse_instant,
    parse_metadata, parse_quota, parse_rate, parse_scope,
};

/// The defaults a template or group gives new keys.
#[derive(Debug, Args)]
pub(crate) struct DefaultsArgs {
    /// What it is for.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Scopes of new keys that give none.
    #[arg(long, value_delimiter = ',', value_parser = parse_scope)]
    pub(crate) scopes: Vec<Scope>,
    /// Rate limit, N/PERIOD (like 100/1m).
    #[arg(long, value_parser = parse_rate)]
    pub(crate) rate: Option<RateSpec>,
    /// Burst of the rate limit (default: its N).
    #[arg(long, requires = "rate")]
    pub(crate) burst: Option<u32>,
    /// Endpoint limits, ENDPOINT=N/PERIOD, repeatable ("GET /projects=100/1m").
    #[arg(long = "endpoint-limit", value_parser = parse_endpoint_limit, value_name = "ENDPOINT=RATE")]
    pub(crate) endpoint_limits: Vec<(String, RateSpec)>,
    /// Quota, N/day, N/month or N/year.
    #[arg(long, value_parser = parse_quota)]
    pub(crate) quota: Option<Quota>,
    /// New keys expire this many days after creation.
    #[arg(long, value_name = "DAYS")]
    pub(crate) expires_in_days: Option<u32>,
    /// Allowed client networks (CIDR or address), comma-separated.
    #[arg(long, visible_alias = "allow-ip", value_delimiter = ',')]
    pub(crate) ip_allow: Vec<String>,
    /// Denied client networks, comma-separated.
    #[arg(long, visible_alias = "deny-ip", value_delimiter = ',')]
    pub(crate) ip_deny: Vec<String>,
    /// Environment.
    #[arg(long)]
    pub(crate) environment: Option<String>,
    /// Tags, comma-separated or repeated.
    #[arg(long, visible_alias = "tag", value_delimiter = ',')]
    pub(crate) tags: Vec<String>,
    /// Metadata, a JSON object.
    #[arg(long, value_parser = parse_metadata)]
    pub(crate) metadata: Option<Metadata>,
    /// New keys start pending approval.
    #[arg(long)]
    pub(crate) require_approval: bool,
    /// Replace the preset if it exists (otherwise an existing one is a conflict, exit 5).
    #[arg(long)]
    pub(crate) replace: bool,
}

/// `templates …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplatesCommand {
    /// Create (or with --replace, change) a template: defaults a creation names with --template.
    Create {
        /// Its name.
        name: String,
        #[command(flatten)]
        defaults: Box<DefaultsArgs>,
    },
    /// List the templates.
    List,
    /// Show one template.
    Show {
        /// Its name.
        name: String,
    },
    /// Remove a template (keys created from it keep their settings).
    Remove {
        /// Its name.
        name: String,
    },
}

/// `groups …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GroupsCommand {
    /// Create (or with --replace, change) a group: defaults for the keys created in it.
    Create {
        /// Its name.
        name: String,
        #[command(flatten)]
        defaults: Box<DefaultsArgs>,
    },
    /// List the groups.
    List,
    /// Show a group and its keys.
    Show {
        /// Its name.
        name: String,
    },
    /// Revoke every key of the group.
    Revoke(GroupChangeArgs),
    /// Suspend every active key of the group.
    Suspend(GroupChangeArgs),
}

/// `groups revoke|suspend NAME`.
#[derive(Debug, Args)]
pub(crate) struct GroupChangeArgs {
    /// The group.
    pub(crate) name: String,
    /// List what would change, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Why, recorded in each key's audit event.
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// `alias add|remove ID ALIAS`.
#[derive(Debug, Subcommand)]
pub(crate) enum AliasCommand {
    /// Give a key an alias (unique within its tenant).
    Add {
        /// The key (id, lookup id or alias).
        #[arg(value_name = "ID")]
        id: String,
        /// The alias.
        alias: String,
    },
    /// Take an alias off a key.
    Remove {
        /// The key (id, lookup id or alias).
        #[arg(value_name = "ID")]
        id: String,
        /// The alias.
        alias: String,
    },
}

/// `clone ID`.
#[derive(Debug, Args)]
pub(crate) struct CloneArgs {
    /// The key to copy (id, lookup id or alias).
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// The new key's name (default: the original's).
    #[arg(long)]
    pub(crate) name: Option<String>,
}

/// `transfer ID OWNER`.
#[derive(Debug, Args)]
pub(crate) struct TransferArgs {
    /// The key (id, lookup id or alias).
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// The new owner.
    pub(crate) owner: String,
    /// Why, recorded in the audit event.
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// A bulk file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `bulk …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BulkCommand {
    /// Create a key per row of a CSV or JSON file; prints every token once, in input order.
    Create {
        /// The file (`-` for stdin, then give --format).
        file: PathBuf,
        /// The file's format (default: from its extension).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Write every row or none (all rows in one tenant).
        #[arg(long)]
        atomic: bool,
    },
    /// Revoke every key the filters select.
    Revoke(BulkChangeArgs),
    /// Suspend every active key the filters select.
    Suspend(BulkChangeArgs),
    /// Change every key the filters select.
    Update(Box<BulkUpdateArgs>),
}

/// The filters and options of a bulk change.
#[derive(Debug, Args)]
pub(crate) struct BulkChangeArgs {
    #[command(flatten)]
    pub(crate) filter: ListArgs,
    /// List what would change, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Why, recorded in each key's audit event.
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// `bulk update`: the filters (those of `list`), and the fields to set. The field flags are
/// `apikey update`'s with a `set-` prefix, because `--owner`, `--group`, `--environment` and
/// `--tag` already select keys here; the unambiguous ones also answer to their `update` name.
/// Names and aliases are left out: a name or alias given to many keys at once is never meant.
#[derive(Debug, Args)]
pub(crate) struct BulkUpdateArgs {
    #[command(flatten)]
    pub(crate) change: BulkChangeArgs,
    /// New description.
    #[arg(
        id = "set_description",
        long = "set-description",
        visible_alias = "description",
        conflicts_with = "clear_description"
    )]
    pub(crate) description: Option<String>,
    /// Remove the description.
    #[arg(long)]
    pub(crate) clear_description: bool,
    /// New owner (to move keys one by one with an audit trail of both owners, use `transfer`).
    #[arg(id = "set_owner", long = "set-owner", conflicts_with = "clear_owner")]
    pub(crate) owner: Option<String>,
    /// Remove the owner.
    #[arg(long)]
    pub(crate) clear_owner: bool,
    /// New group.
    #[arg(id = "set_group", long = "set-group", conflicts_with = "clear_group")]
    pub(crate) group: Option<String>,
    /// Remove the group.
    #[arg(long)]
    pub(crate) clear_group: bool,
    /// New environment.
    #[arg(
        id = "set_environment",
        long = "set-environment",
        conflicts_with = "clear_environment"
    )]
    pub(crate) environment: Option<String>,
    /// Remove the environment.
    #[arg(long)]
    pub(crate) clear_environment: bool,
    /// Replace the scopes, comma-separated.
    #[arg(id = "set_scopes", long = "set-scopes", visible_alias = "scopes", value_delimiter = ',', value_parser = parse_scope, conflicts_with = "clear_scopes")]
    pub(crate) scopes: Option<Vec<Scope>>,
    /// Remove every scope.
    #[arg(long)]
    pub(crate) clear_scopes: bool,
    /// Replace the tags, comma-separated.
    #[arg(
        id = "set_tags",
        long = "set-tags",
        value_delimiter = ',',
        conflicts_with = "clear_tags"
    )]
    pub(crate) tags: Option<Vec<String>>,
    /// Remove every tag.
    #[arg(long)]
    pub(crate) clear_tags: bool,
    /// Expire after this long from now (30d, 12h).
    #[arg(id = "set_expires_in", long = "set-expires-in", visible_alias = "expires-in", value_parser = parse_duration, conflicts_with_all = ["set_expires_at", "clear_expiry"])]
    pub(crate) expires_in: Option<Duration>,
    /// Expire at this instant (RFC 3339).
    #[arg(id = "set_expires_at", long = "set-expires-at", visible_alias = "expires-at", value_parser = parse_instant, conflicts_with = "clear_expiry")]
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// Never expire.
    #[arg(long)]
    pub(crate) clear_expiry: bool,
    /// Replace the IP rules: networks allowed (the list not given becomes empty).
    #[arg(
        id = "set_ip_allow",
        long = "set-ip-allow",
        visible_alias = "ip-allow",
        value_delimiter = ',',
        conflicts_with = "clear_ip_rules"
    )]
    pub(crate) ip_allow: Option<Vec<String>>,
    /// Replace the IP rules: networks denied.
    #[arg(
        id = "set_ip_deny",
        long = "set-ip-deny",
        visible_alias = "ip-deny",
        value_delimiter = ',',
        conflicts_with = "clear_ip_rules"
    )]
    pub(crate) ip_deny: Option<Vec<String>>,
    /// Remove every IP rule.
    #[arg(long)]
    pub(crate) clear_ip_rules: bool,
    /// New rate limit, N/PERIOD.
    #[arg(id = "set_rate", long = "set-rate", visible_alias = "rate", value_parser = parse_rate, conflicts_with = "clear_rate")]
    pub(crate) rate: Option<RateSpec>,
    /// Requests allowed back to back (default: the rate's N).
    #[arg(
        id = "set_burst",
        long = "set-burst",
        visible_alias = "burst",
        requires = "set_rate"
    )]
    pub(crate) burst: Option<u32>,
    /// Remove the rate limit.
    #[arg(long)]
    pub(crate) clear_rate: bool,
    /// Replace the endpoint limits: ENDPOINT=N/PERIOD, repeatable.
    #[arg(id = "set_endpoint_limits", long = "set-endpoint-limit", visible_alias = "endpoint-limit", value_parser = parse_endpoint_limit, conflicts_with = "clear_endpoint_limits", value_name = "ENDPOINT=RATE")]
    pub(crate) endpoint_limits: Option<Vec<(String, RateSpec)>>,
    /// Remove every endpoint limit.
    #[arg(long)]
    pub(crate) clear_endpoint_limits: bool,
    /// New quota, N/day, N/month or N/year.
    #[arg(id = "set_quota", long = "set-quota", visible_alias = "quota", value_parser = parse_quota, conflicts_with = "clear_quota")]
    pub(crate) quota: Option<Quota>,
    /// Remove the quota.
    #[arg(long)]
    pub(crate) clear_quota: bool,
    /// Replace the metadata with this JSON object (`{}` empties it).
    #[arg(id = "set_metadata", long = "set-metadata", visible_alias = "metadata", value_parser = parse_metadata)]
    pub(crate) metadata: Option<Metadata>,
}

impl BulkUpdateArgs {
    /// The same fields as `apikey update` takes them, so both build the change one way.
    pub(crate) fn fields(&self) -> UpdateArgs {
        UpdateArgs {
            id: String::new(),
            reason: None,
            name: None,
            description: self.description.clone(),
            clear_description: self.clear_description,
            owner: self.owner.clone(),
            clear_owner: self.clear_owner,
            group: self.group.clone(),
            clear_group: self.clear_group,
            environment: self.environment.clone(),
            clear_environment: self.clear_environment,
            scopes: self.scopes.clone(),
            clear_scopes: self.clear_scopes,
            tags: self.tags.clone(),
            clear_tags: self.clear_tags,
            aliases: None,
            clear_aliases: false,
            expires_in: self.expires_in,
            expires_at: self.expires_at,
            clear_expiry: self.clear_expiry,
            ip_allow: self.ip_allow.clone(),
            ip_deny: self.ip_deny.clone(),
            clear_ip_rules: self.clear_ip_rules,
            rate: self.rate,
            burst: self.burst,
            clear_rate: self.clear_rate,
            endpoint_limits: self.endpoint_limits.clone(),
            clear_endpoint_limits: self.clear_endpoint_limits,
            quota: self.quota,
            clear_quota: self.clear_quota,
            metadata: self.metadata.clone(),
        }
    }
}

/// A rotation policy's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyMode {
    /// Record `key.rotation_due` once per key and let people rotate.
    Notify,
    /// Rotate (needs a token sink: a service, or the library; `apikey jobs run` has none).
    Rotate,
}

/// `policies …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PoliciesCommand {
    /// Set the rotation policy of a key, a group or the tenant (replacing the one it has).
    Create {
        /// `key:ID` (an id, lookup id or alias), `group:NAME` or `tenant`.
        target: String,
        /// Due this many days after a key was created.
        #[arg(long)]
        every_days: u32,
        /// How long the old key keeps working after a rotation.
        #[arg(long, default_value_t = 0)]
        grace_days: u32,
        /// Notify or rotate.
        #[arg(long, value_enum, default_value = "notify")]
        mode: PolicyMode,
    },
    /// List the policies of the tenant (--tenant) or of the keys without one.
    List,
    /// Remove a policy.
    Remove {
        /// `key:ID`, `group:NAME` or `tenant`.
        target: String,
    },
}
