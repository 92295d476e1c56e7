//! The index tables of a key's tags, aliases and scopes (`apikey_key_tags`, …): one row per
//! label, rewritten with the record, so a filter on a label is an indexed `EXISTS`.

use std::collections::BTreeSet;

use apikey_core::{KeyId, KeyRecord};

use crate::sql::{Placeholder, Sql};

/// `(table, column)` of each label table.
pub const TAGS: (&str, &str) = ("apikey_key_tags", "tag");
/// See [`TAGS`].
pub const ALIASES: (&str, &str) = ("apikey_key_aliases", "alias");
/// See [`TAGS`].
pub const SCOPES: (&str, &str) = ("apikey_key_scopes", "scope");

/// The statements deleting the label rows of key `id`, if any.
pub fn clear(p: Placeholder, id: KeyId) -> Vec<Sql> {
    [TAGS, ALIASES, SCOPES]
        .into_iter()
        .map(|(table, _)| {
            let mut sql = Sql::new(p, &format!("DELETE FROM {table} WHERE key_id = "));
            sql.bind(id);
            sql
        })
        .collect()
}

/// The statements inserting the label rows of `r` (duplicates collapsed; none for an empty set).
/// Alias rows carry the key's tenant (`''` for none): aliases are unique per tenant.
pub fn write(p: Placeholder, r: &KeyRecord) -> Vec<Sql> {
    let scopes: Vec<String> = r.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let tenant = crate::tenant::row_key(r.tenant_id.as_ref());
    let mut out = Vec::new();
    for ((table, column), labels) in [(TAGS, &r.tags), (ALIASES, &r.aliases), (SCOPES, &scopes)] {
        let unique: BTreeSet<&String> = labels.iter().collect();
        if unique.is_empty() {
            continue;
        }
        let aliases = table == ALIASES.0;
        let columns = if aliases {
            format!("key_id, {column}, tenant_key")
        } else {
            format!("key_id, {column}")
        };
        let mut sql = Sql::new(p, &format!("INSERT INTO {table} ({columns}) VALUES "));
        for (i, label) in unique.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(r.id).push(", ").bind(label.as_str());
            if aliases {
                sql.push(", ").bind(tenant);
            }
            sql.push(")");
        }
        out.push(sql);
    }
    out
}

/// The aliases of `r` that another key of its tenant holds (empty: none), read in the writing
/// transaction so a collision is refused before anything is written.
pub fn taken_aliases(p: Placeholder, r: &KeyRecord) -> Option<Sql> {
    if r.aliases.is_empty() {
        return None;
    }
    let mut sql = Sql::new(
        p,
        "SELECT alias AS label FROM apikey_key_aliases WHERE tenant_key = ",
    );
    sql.bind(crate::tenant::row_key(r.tenant_id.as_ref()))
        .push(" AND key_id <> ")
        .bind(r.id)
        .push(" AND alias IN (");
    for (i, a) in r.aliases.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(a.as_str());
    }
    sql.push(")");
    Some(sql)
}

/// Appends `AND EXISTS (SELECT 1 FROM {table} l WHERE l.key_id = k.id AND l.{column} = ?)`.
pub fn push_exists(sql: &mut Sql, (table, column): (&str, &str), label: &str) {
    sql.push(&format!(
        " AND EXISTS (SELECT 1 FROM {table} l WHERE l.key_id = k.id AND l.{column} = "
    ))
    .bind(label)
    .push(")");
}
