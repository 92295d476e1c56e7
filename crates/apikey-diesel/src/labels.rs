//! The index tables of a key's tags, aliases and scopes (`apikey_key_tags`, …): one row per
//! label, rewritten with the record, so a filter on a label is an indexed `EXISTS`.

use std::collections::BTreeSet;

use apikey_core::{KeyId, KeyRecord, Result};

use crate::dialect::Dialect;
use crate::error::ctx;
use crate::sql::Sql;

/// `(table, column)` of each label table.
pub(crate) const TAGS: (&str, &str) = ("apikey_key_tags", "tag");
/// See [`TAGS`].
pub(crate) const ALIASES: (&str, &str) = ("apikey_key_aliases", "alias");
/// See [`TAGS`].
pub(crate) const SCOPES: (&str, &str) = ("apikey_key_scopes", "scope");

/// Deletes the label rows of key `id`, if any.
pub(crate) async fn clear<D: Dialect>(conn: &mut D::Connection, id: KeyId) -> Result<()> {
    for (table, _) in [TAGS, ALIASES, SCOPES] {
        let mut sql = Sql::new::<D>(&format!("DELETE FROM {table} WHERE key_id = "));
        sql.bind(id);
        D::execute(conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "delete key labels"))?;
    }
    Ok(())
}

/// Inserts the label rows of `r` (duplicates collapsed).
pub(crate) async fn write<D: Dialect>(conn: &mut D::Connection, r: &KeyRecord) -> Result<()> {
    let scopes: Vec<String> = r.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    for ((table, column), labels) in [(TAGS, &r.tags), (ALIASES, &r.aliases), (SCOPES, &scopes)] {
        let unique: BTreeSet<&String> = labels.iter().collect();
        if unique.is_empty() {
            continue;
        }
        let mut sql = Sql::new::<D>(&format!("INSERT INTO {table} (key_id, {column}) VALUES "));
        for (i, label) in unique.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(r.id)
                .push(", ")
                .bind(label.as_str())
                .push(")");
        }
        D::execute(conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "insert key labels"))?;
    }
    Ok(())
}

/// Appends `AND EXISTS (SELECT 1 FROM {table} l WHERE l.key_id = k.id AND l.{column} = ?)`.
pub(crate) fn push_exists(sql: &mut Sql, (table, column): (&str, &str), label: &str) {
    sql.push(&format!(
        " AND EXISTS (SELECT 1 FROM {table} l WHERE l.key_id = k.id AND l.{column} = "
    ))
    .bind(label)
    .push(")");
}
