//! What the CLI prints: a key's public view (never its stored hash or legacy prefix), aligned
//! tables for people and JSON for scripts. Everything goes through [`Out`], so a closed pipe
//! (`apikey list | head`) ends the command quietly instead of panicking.

use std::io::{self, Write as _};

use apikey_core::{EffectiveState, KeyRecord, KeyView, Rate};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

/// A key as the CLI shows it: the key's public view — [`KeyView`], the one view every key that
/// leaves the process goes through, so the hash and legacy prefix cannot reach a terminal or a
/// script — plus what the CLI derives from the record: the effective state at `now` and the name
/// of the hasher (never the hash).
#[derive(Debug, Clone)]
pub(crate) struct ShownKey {
    pub(crate) key: KeyView,
    /// The effective state at `now` (`expired` derives from the clock).
    pub(crate) state: EffectiveState,
    pub(crate) hash_algorithm: &'static str,
}

impl std::ops::Deref for ShownKey {
    type Target = KeyView;

    fn deref(&self) -> &KeyView {
        &self.key
    }
}

/// `--json` keeps the shape scripts know: `state` is the effective state, `stored_state` the
/// stored one, every other field the view's, plus `hash_algorithm`.
impl Serialize for ShownKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut map = match serde_json::to_value(&self.key).map_err(S::Error::custom)? {
            Value::Object(map) => map,
            _ => return Err(S::Error::custom("a key view is an object")),
        };
        if let Some(stored) = map.remove("state") {
            map.insert("stored_state".into(), stored);
        }
        map.insert(
            "state".into(),
            serde_json::to_value(self.state).map_err(S::Error::custom)?,
        );
        map.insert("hash_algorithm".into(), self.hash_algorithm.into());
        map.serialize(s)
    }
}

impl ShownKey {
    /// The view of `r` at `now` (the effective state derives "expired" from the clock).
    pub(crate) fn new(r: &KeyRecord, now: DateTime<Utc>) -> Self {
        Self {
            key: KeyView::from(r),
            state: r.effective_state(now, chrono::Duration::zero()),
            hash_algorithm: r.hash.algorithm(),
        }
    }

    /// The scopes as text, for table cells.
    pub(crate) fn scope_names(&self) -> Vec<String> {
        self.key
            .scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
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
        opt("scopes", Some(list(&self.scope_names())));
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
        if !self.key.metadata.as_map().is_empty() {
            opt(
                "metadata",
                Some(Value::Object(self.key.metadata.as_map().clone()).to_string()),
            );
        }
        opt("approved by", self.approved_by.clone());
        opt("rotated from", self.rotated_from.map(|k| k.to_string()));
        opt("rotated to", self.rotated_to.map(|k| k.to_string()));
        opt("grace until", self.grace_until.map(time));
        opt("signing", self.signing.map(|m| m.to_string()));
        opt("canary", self.canary.then(|| "yes".to_owned()));
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
        if eff == self.key.state.as_str() {
            eff
        } else {
            format!("{eff} (stored: {})", self.key.state)
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

/// `a, b` for a field row.
pub(crate) fn join<T: std::fmt::Display>(items: &[T]) -> String {
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
