//! The rows of `apikey bulk create`: a CSV file with a header row (lists in a cell separated by
//! `;`) or a JSON array of objects (lists as arrays). Column or field names: `name` (required),
//! `description`, `owner`, `group`, `environment`, `template`, `tags`, `scopes`, `aliases`,
//! `expires_at` (RFC 3339), `metadata` (a JSON object), `require_approval`, `rate` (`100/1m`),
//! `quota` (`10000/month`), `ip_allow` and `ip_deny` (lists of addresses or CIDRs). An unknown column is
//! refused for the whole file (a typo would otherwise drop a setting silently); a bad value fails
//! its row only.

use std::path::Path;

use apikey_core::{IpRules, Metadata, NewKey, Rate, ScopeSet, TenantId};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::cli::{parse_quota, parse_rate};
use crate::cli_programme::FileFormat;
use crate::error::CliError;

/// One row of a CSV file: every cell text (empty: not given).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    environment: Option<String>,
    template: Option<String>,
    tags: Option<String>,
    scopes: Option<String>,
    aliases: Option<String>,
    expires_at: Option<String>,
    metadata: Option<String>,
    require_approval: Option<String>,
    rate: Option<String>,
    quota: Option<String>,
    ip_allow: Option<String>,
    ip_deny: Option<String>,
}

/// One element of a JSON file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    environment: Option<String>,
    template: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    expires_at: Option<String>,
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    require_approval: bool,
    rate: Option<String>,
    quota: Option<String>,
    #[serde(default)]
    ip_allow: Vec<String>,
    #[serde(default)]
    ip_deny: Vec<String>,
}

/// Every row of the file, in order: the key it asks for, or why it cannot be one.
pub(crate) fn read(
    path: &Path,
    format: Option<FileFormat>,
    tenant: Option<&TenantId>,
) -> Result<Vec<Result<NewKey, String>>, CliError> {
    let format = match format {
        Some(f) => f,
        None => match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => FileFormat::Csv,
            Some(e) if e.eq_ignore_ascii_case("json") => FileFormat::Json,
            _ => {
                return Err(CliError::usage(format!(
                    "cannot tell the format of {}: give --format csv or --format json",
                    path.display()
                )));
            }
        },
    };
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?
    };
    let rows = match format {
        FileFormat::Csv => csv_rows(&text)?,
        FileFormat::Json => json_rows(&text)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            r.map(|mut k| {
                k.tenant = tenant.cloned();
                k
            })
        })
        .collect())
}

fn csv_rows(text: &str) -> Result<Vec<Result<NewKey, String>>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.deserialize::<CsvRow>() {
        let row = match record {
            Ok(r) => r,
            // A header the format does not know fails the whole file, before anything is written.
            Err(e) if matches!(e.kind(), csv::ErrorKind::Deserialize { err, .. } if err.to_string().contains("unknown field")) =>
            {
                return Err(CliError::usage(format!(
                    "the CSV file has an unknown column: {e}"
                )));
            }
            Err(e) => {
                out.push(Err(e.to_string()));
                continue;
            }
        };
        let split = |s: Option<String>| -> Vec<String> {
            s.map(|s| {
                s.split(';')
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
        };
        let approval = match row
            .require_approval
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("" | "false" | "no" | "0") => Ok(false),
            Some("true" | "yes" | "1") => Ok(true),
            Some(other) => Err(format!("require_approval: {other:?} is not true or false")),
        };
        let metadata = row
            .metadata
            .filter(|m| !m.is_empty())
            .map(|m| serde_json::from_str(&m).map_err(|e| format!("metadata: {e}")))
            .transpose();
        out.push(approval.and_then(|approval| {
            new_key(Fields {
                name: row.name,
                description: row.description,
                owner: row.owner,
                group: row.group,
                environment: row.environment,
                template: row.template,
                tags: split(row.tags),
                scopes: split(row.scopes),
                aliases: split(row.aliases),
                expires_at: row.expires_at,
                metadata: metadata?,
                require_approval: approval,
                rate: row.rate,
                quota: row.quota,
                ip_allow: split(row.ip_allow),
                ip_deny: split(row.ip_deny),
            })
        }));
    }
    Ok(out)
}

fn json_rows(text: &str) -> Result<Vec<Result<NewKey, String>>, CliError> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| CliError::usage(format!("the JSON file is not an array of objects: {e}")))?;
    Ok(values
        .into_iter()
        .map(|v| {
            let row: JsonRow = serde_json::from_value(v).map_err(|e| e.to_string())?;
            new_key(Fields {
                name: row.name,
                description: row.description,
                owner: row.owner,
                group: row.group,
                environment: row.environment,
                template: row.template,
                tags: row.tags,
                scopes: row.scopes,
                aliases: row.aliases,
                expires_at: row.expires_at,
                metadata: row.metadata,
                require_approval: row.require_approval,
                rate: row.rate,
                quota: row.quota,
                ip_allow: row.ip_allow,
                ip_deny: row.ip_deny,
            })
        })
        .collect())
}

struct Fields {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    environment: Option<String>,
    template: Option<String>,
    tags: Vec<String>,
    scopes: Vec<String>,
    aliases: Vec<String>,
    expires_at: Option<String>,
    metadata: Option<serde_json::Value>,
    require_approval: bool,
    rate: Option<String>,
    quota: Option<String>,
    ip_allow: Vec<String>,
    ip_deny: Vec<String>,
}

fn new_key(f: Fields) -> Result<NewKey, String> {
    let given = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let name = given(f.name).ok_or("name: missing")?;
    let mut k = NewKey::new(name);
    k.description = given(f.description);
    k.owner = given(f.owner);
    k.group = given(f.group);
    k.environment = given(f.environment);
    k.template = given(f.template);
    k.tags = f.tags;
    k.aliases = f.aliases;
    k.scopes = ScopeSet::parse(&f.scopes).map_err(|e| format!("scopes: {}", e.message()))?;
    k.expires_at = given(f.expires_at)
        .map(|t| {
            DateTime::parse_from_rfc3339(t.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("expires_at: {e}; expected RFC 3339"))
        })
        .transpose()?;
    if let Some(m) = f.metadata {
        k.metadata = Metadata::from_value(m).map_err(|e| format!("metadata: {}", e.message()))?;
    }
    k.require_approval = f.require_approval;
    // The same parsers as the flags of `create`, so a file and a command line read `100/1m` alike.
    if let Some(r) = given(f.rate) {
        let spec = parse_rate(&r).map_err(|e| format!("rate: {e}"))?;
        k.rate_limit =
            Some(Rate::new(spec.requests, spec.per).map_err(|e| format!("rate: {}", e.message()))?);
    }
    k.quota = given(f.quota)
        .map(|q| parse_quota(&q).map_err(|e| format!("quota: {e}")))
        .transpose()?;
    k.ip_rules = IpRules::parse(&f.ip_allow, &f.ip_deny).map_err(|e| e.message().to_owned())?;
    Ok(k)
}
