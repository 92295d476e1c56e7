//! The index tables of a key's tags, aliases and scopes (`apikey_key_tags`, …): one row per
//! label, rewritten with the record, so a filter on a label is an indexed `EXISTS`.

use std::collections::BTreeSet;

use apikey_core::{KeyId, KeyRecord, TenantId};

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

/// Label rows per `INSERT`, so a batch stays under every database's parameter limit (SQLite's
/// 32,766 is the lowest; a row binds at most three values).
pub const ROWS_PER_STATEMENT: usize = 2_000;

/// The statements inserting the label rows of `r` (duplicates collapsed; none for an empty set).
/// Alias rows carry the key's tenant (`''` for none): aliases are unique per tenant.
pub fn write(p: Placeholder, r: &KeyRecord) -> Vec<Sql> {
    write_many(p, &[r])
}

/// The statements inserting the label rows of every record of `records`: per table, multi-row
/// `INSERT`s of at most [`ROWS_PER_STATEMENT`] rows.
pub fn write_many(p: Placeholder, records: &[&KeyRecord]) -> Vec<Sql> {
    let mut out = Vec::new();
    for (table, column) in [TAGS, ALIASES, SCOPES] {
        let aliases = table == ALIASES.0;
        let extra = if aliases { ", tenant_key" } else { "" };
        let head = format!("INSERT INTO {table} (key_id, {column}{extra}) VALUES ");
        let mut sql: Option<Sql> = None;
        let mut rows = 0;
        for r in records {
            let tenant = crate::tenant::row_key(r.tenant_id.as_ref());
            for label in labels_of(r, table) {
                let stmt = sql.get_or_insert_with(|| Sql::new(p, &head));
                if rows > 0 {
                    stmt.push(", ");
                }
                stmt.push("(").bind(r.id).push(", ").bind(label.as_str());
                if aliases {
                    stmt.push(", ").bind(tenant);
                }
                stmt.push(")");
                rows += 1;
                if rows == ROWS_PER_STATEMENT {
                    out.extend(sql.take());
                    rows = 0;
                }
            }
        }
        out.extend(sql);
    }
    out
}

/// The distinct labels of `r` for `table`, in byte order.
fn labels_of(r: &KeyRecord, table: &str) -> BTreeSet<String> {
    if table == TAGS.0 {
        r.tags.iter().cloned().collect()
    } else if table == ALIASES.0 {
        r.aliases.iter().cloned().collect()
    } else {
        r.scopes.iter().map(|s| s.as_str().to_owned()).collect()
    }
}

/// Aliases per [`taken_by_any`] statement, well under every database's parameter limit.
pub const ALIASES_PER_CHECK: usize = 1_000;

/// Which of `aliases` any key of `tenant` holds: the check of new keys, which hold none yet.
pub fn taken_by_any(p: Placeholder, tenant: Option<&TenantId>, aliases: &[&str]) -> Sql {
    let mut sql = Sql::new(
        p,
        "SELECT alias AS label FROM apikey_key_aliases WHERE tenant_key = ",
    );
    sql.bind(crate::tenant::row_key(tenant))
        .push(" AND alias IN ")
        .bind_list(aliases.iter().copied())
        .push(" ORDER BY alias");
    sql
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
