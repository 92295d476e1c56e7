//! What the CLI prints: a view of a key that never holds its stored hash or legacy prefix, aligned
//! tables for people and JSON for scripts. Everything goes through [`Out`], so a closed pipe
//! (`apikey list | head`) ends the command quietly instead of panicking.

use std::io::{self, Write as _};

use apikey_core::ip::IpRules;
use apikey_core::limit::EndpointLimit;
use apikey_core::{EffectiveState, KeyId, KeyRecord, KeyState, LookupId, Quota, Rate, TenantId};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

/// A key as the CLI shows it: every field of the record except `hash` and `legacy_lookup`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct KeyView {
    pub(crate) id: KeyId,
    pub(crate) lookup_id: LookupId,
    pub(crate) name: String,
    pub(crate) state: EffectiveState,
    pub(crate) stored_state: KeyState,
    pub(crate) state_reason: Option<String>,
    pub(crate) state_changed_at: Option<DateTime<Utc>>,
    pub(crate) tenant_id: Option<TenantId>,
    pub(crate) description: Option<String>,
    pub(crate) owner: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) aliases: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) approved_by: Option<String>,
    pub(crate) not_before: Option<DateTime<Utc>>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) ip_rules: IpRules,
    pub(crate) rate_limit: Option<Rate>,
    pub(crate) endpoint_limits: Vec<EndpointLimit>,
    pub(crate) quota: Option<Quota>,
    pub(crate) metadata: Value,
    pub(crate) rotated_from: Option<KeyId>,
    pub(crate) rotated_to: Option<KeyId>,
    pub(crate) grace_until: Option<DateTime<Utc>>,
    pub(crate) lineage_id: KeyId,
    pub(crate) template: Option<String>,
    pub(crate) hash_algorithm: &'static str,
    pub(crate) created_by: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) last_used_at: Option<DateTime<Utc>>,
    pub(crate) usage_count: u64,
    pub(crate) version: u64,
}

impl KeyView {
    /// The view of `r` at `now` (the effective state derives "expired" from the clock).
    pub(crate) fn new(r: &KeyRecord, now: DateTime<Utc>) -> Self {
        Self {
            id: r.id,
            lookup_id: r.lookup_id,
            name: r.name.clone(),
            state: r.effective_state(now, chrono::Duration::zero()),
            stored_state: r.state,
            state_reason: r.state_reason.clone(),
            state_changed_at: r.state_changed_at,
            tenant_id: r.tenant_id.clone(),
            description: r.description.clone(),
            owner: r.owner.clone(),
            group: r.group.clone(),
            environment: r.environment.clone(),
            tags: r.tags.clone(),
            aliases: r.aliases.clone(),
            scopes: r.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            approved_by: r.approved_by.clone(),
            not_before: r.not_before,
            expires_at: r.expires_at,
            ip_rules: r.ip_rules.clone(),
            rate_limit: r.rate_limit,
            endpoint_limits: r.endpoint_limits.clone(),
            quota: r.quota,
            metadata: Value::Object(r.metadata.as_map().clone()),
            rotated_from: r.rotated_from,
            rotated_to: r.rotated_to,
            grace_until: r.grace_until,
            lineage_id: r.lineage_id,
            template: r.template.clone(),
            hash_algorithm: r.hash.algorithm(),
            created_by: r.created_by.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_used_at: r.last_used_at,
            usage_count: r.usage_count,
            version: r.version,
        }
    }

    /// Every field as `(label, value)` rows, for `show`; empty fields are left out.
    pub(crate) fn rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![
            ("id", self.id.to_string()),
            ("lookup id", self.lookup_id.to_string()),
            ("name", self.name.clone()),
            ("state", self.state_text()),
        ];
        let mut opt = |label, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                rows.push((label, v));
            }
        };
        opt("reason", self.state_reason.clone());
        opt("tenant", self.tenant_id.as_ref().map(ToString::to_string));
        opt("description", self.description.clone());
        opt("owner", self.owner.clone());
        opt("group", self.group.clone());
        opt("environment", self.environment.clone());
        opt("scopes", Some(list(&self.scopes)));
        opt("tags", Some(self.tags.join(", ")));
        opt("aliases", Some(self.aliases.join(", ")));
        opt("not before", self.not_before.map(time));
        opt(
            "expires",
            Some(self.expires_at.map_or("never".into(), time)),
        );
        opt("ip allow", Some(join(self.ip_rules.allow())));
        opt("ip deny", Some(join(self.ip_rules.deny())));
        opt("rate limit", self.rate_limit.map(|r| rate(&r)));
        for l in &self.endpoint_limits {
            opt(
                "endpoint limit",
                Some(format!("{}: {}", l.endpoint, rate(&l.rate))),
            );
        }
        opt(
            "quota",
            self.quota.map(|q| format!("{}/{}", q.limit, q.period)),
        );
        if self.metadata.as_object().is_some_and(|m| !m.is_empty()) {
            opt("metadata", Some(self.metadata.to_string()));
        }
        opt("approved by", self.approved_by.clone());
        opt("rotated from", self.rotated_from.map(|k| k.to_string()));
        opt("rotated to", self.rotated_to.map(|k| k.to_string()));
        opt("grace until", self.grace_until.map(time));
        opt("hash", Some(self.hash_algorithm.to_owned()));
        opt("created", Some(time(self.created_at)));
        opt("created by", self.created_by.clone());
        opt("updated", Some(time(self.updated_at)));
        opt(
            "last used",
            Some(self.last_used_at.map_or("never".into(), time)),
        );
        opt("usage count", Some(self.usage_count.to_string()));
        opt("version", Some(self.version.to_string()));
        rows
    }

    /// The effective state, with the stored one when they differ (`expired (active)`).
    pub(crate) fn state_text(&self) -> String {
        let eff = self.state.to_string();
        if eff == self.stored_state.as_str() {
            eff
        } else {
            format!("{eff} (stored: {})", self.stored_state)
        }
    }
}

/// `2026-01-31T12:00:00Z`.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `100/60s burst 100`.
pub(crate) fn rate(r: &Rate) -> String {
    let window = humantime::format_duration(r.window());
    format!("{}/{window} (burst {})", r.requests, r.burst)
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a,b` for a table cell; `-` when empty.
pub(crate) fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

/// A table whose columns are as wide as their widest cell.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with a header row.
    pub(crate) fn with_header(header: &[&str]) -> Self {
        Self {
            header: Some(header.iter().map(|h| (*h).to_owned()).collect()),
            rows: Vec::new(),
        }
    }

    /// A two-column `label  value` table.
    pub(crate) fn fields(rows: Vec<(&'static str, String)>) -> Self {
        let mut t = Self::default();
        for (label, value) in rows {
            t.push(vec![label.to_owned(), value]);
        }
        t
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text; cells are separated by two spaces, the last column is not padded, and
    /// control characters in cells are shown escaped so a key's name cannot rewrite the terminal.
    pub(crate) fn render(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .flat_map(|c| {
                    if c.is_control() {
                        c.escape_default().collect::<Vec<_>>()
                    } else {
                        vec![c]
                    }
                })
                .collect()
        };
        let all: Vec<Vec<String>> = self
            .header
            .iter()
            .chain(&self.rows)
            .map(|r| r.iter().map(|c| clean(c)).collect())
            .collect();
        let cols = all.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for row in &all {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &all {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Standard output. Write errors are returned so the caller can end quietly on a closed pipe.
#[derive(Debug, Default)]
pub(crate) struct Out;

impl Out {
    /// Writes `text` as is.
    pub(crate) fn text(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes one line.
    pub(crate) fn line(&self, text: &str) -> io::Result<()> {
        self.text(&format!("{text}\n"))
    }

    /// Writes `value` as pretty JSON and a newline.
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.line(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let mut t = Table::with_header(&["ID", "NAME", "STATE"]);
        t.push(vec!["1".into(), "short".into(), "active".into()]);
        t.push(vec![
            "22".into(),
            "a much longer name".into(),
            "revoked".into(),
        ]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID  NAME                STATE");
        assert_eq!(lines[1], "1   short               active");
        assert_eq!(lines[2], "22  a much longer name  revoked");
    }

    #[test]
    fn control_characters_are_escaped() {
        let t = Table::fields(vec![("name", "evil\u{1b}[2J".into())]);
        assert!(!t.render().contains('\u{1b}'));
    }
}
