//! The command line of the key programme: templates, groups, rotation policies, aliases, clone,
//! transfer and bulk work. Kept apart from `cli.rs` so each file stays one idea.

use std::path::PathBuf;
use std::time::Duration;

use apikey_core::{Metadata, Quota, Scope};
use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{
    ListArgs, RateSpec, parse_duration, parse_metadata, parse_quota, parse_rate, parse_scope,
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
    /// Quota, N/day, N/month or N/year.
    #[arg(long, value_parser = parse_quota)]
    pub(crate) quota: Option<Quota>,
    /// New keys expire this many days after creation.
    #[arg(long, value_name = "DAYS")]
    pub(crate) expires_in_days: Option<u32>,
    /// Allowed client networks (CIDR or address).
    #[arg(long, value_delimiter = ',')]
    pub(crate) ip_allow: Vec<String>,
    /// Denied client networks.
    #[arg(long, value_delimiter = ',')]
    pub(crate) ip_deny: Vec<String>,
    /// Environment.
    #[arg(long)]
    pub(crate) environment: Option<String>,
    /// Tags.
    #[arg(long, value_delimiter = ',')]
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

/// `bulk update`: the filters, and the fields to set.
#[derive(Debug, Args)]
pub(crate) struct BulkUpdateArgs {
    #[command(flatten)]
    pub(crate) change: BulkChangeArgs,
    /// New scopes.
    #[arg(id = "set_scopes", long = "set-scopes", value_delimiter = ',', value_parser = parse_scope)]
    pub(crate) scopes: Option<Vec<Scope>>,
    /// New tags.
    #[arg(id = "set_tags", long = "set-tags", value_delimiter = ',')]
    pub(crate) tags: Option<Vec<String>>,
    /// New environment.
    #[arg(id = "set_environment", long = "set-environment")]
    pub(crate) environment: Option<String>,
    /// New owner.
    #[arg(id = "set_owner", long = "set-owner")]
    pub(crate) owner: Option<String>,
    /// New group.
    #[arg(id = "set_group", long = "set-group")]
    pub(crate) group: Option<String>,
    /// New expiry, from now.
    #[arg(id = "set_expires_in", long = "set-expires-in", value_parser = parse_duration)]
    pub(crate) expires_in: Option<Duration>,
    /// New rate limit, N/PERIOD.
    #[arg(id = "set_rate", long = "set-rate", value_parser = parse_rate)]
    pub(crate) rate: Option<RateSpec>,
    /// New quota.
    #[arg(id = "set_quota", long = "set-quota", value_parser = parse_quota)]
    pub(crate) quota: Option<Quota>,
    /// New metadata (a JSON object).
    #[arg(id = "set_metadata", long = "set-metadata", value_parser = parse_metadata)]
    pub(crate) metadata: Option<Metadata>,
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
