//! Which of the library's table shapes a source holds, told from the columns present.

use std::fmt;

/// The columns of the library's first Prisma migration, which TypeORM's example entity shares.
pub(crate) const BASE_COLUMNS: [&str; 10] = [
    "id",
    "name",
    "keyPrefix",
    "hashedKey",
    "scopes",
    "expiresAt",
    "revokedAt",
    "lastUsedAt",
    "createdAt",
    "updatedAt",
];

/// The columns only a migration regenerated from the full Prisma schema has.
pub(crate) const FULL_EXTRA_COLUMNS: [&str; 18] = [
    "suspendedAt",
    "approvedAt",
    "quotaResetAt",
    "revocationReason",
    "state",
    "expirationGracePeriodMs",
    "ipWhitelist",
    "ipBlacklist",
    "rateLimitMax",
    "rateLimitWindowMs",
    "quotaMax",
    "quotaPeriod",
    "quotaUsed",
    "metadata",
    "tags",
    "owner",
    "environment",
    "description",
];

/// The shape of the source's key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shape {
    /// Prisma, migrated from the full schema (state, limits, quota, IP lists, tags, metadata…).
    PrismaFull,
    /// Prisma's first migration as shipped: ten columns, scopes a native array.
    PrismaFirstMigration,
    /// TypeORM's example entity: the same ten columns, scopes one comma-separated text column
    /// (`simple-array`). A Prisma table on MySQL or SQLite, whose lists are text, looks the same.
    TypeOrm,
    /// Mongoose's `api_keys` collection.
    Mongoose,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PrismaFull => "Prisma (full schema)",
            Self::PrismaFirstMigration => "Prisma (first migration)",
            Self::TypeOrm => "TypeORM (simple-array scopes)",
            Self::Mongoose => "Mongoose",
        })
    }
}

/// The shape of a table with `columns` (name, whether it is a native array), or the base columns
/// it lacks. Extra columns of the full schema are read wherever present; the shape only names it.
pub(crate) fn detect(columns: &[(String, bool)]) -> Result<Shape, Vec<String>> {
    let has = |c: &str| columns.iter().any(|(n, _)| n == c);
    let missing: Vec<String> = BASE_COLUMNS
        .iter()
        .filter(|c| !has(c))
        .map(|c| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    if FULL_EXTRA_COLUMNS.iter().all(|c| has(c)) {
        return Ok(Shape::PrismaFull);
    }
    let scopes_is_array = columns.iter().any(|(n, array)| n == "scopes" && *array);
    Ok(if scopes_is_array {
        Shape::PrismaFirstMigration
    } else {
        Shape::TypeOrm
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str], array_scopes: bool) -> Vec<(String, bool)> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), array_scopes && *n == "scopes"))
            .collect()
    }

    #[test]
    fn the_three_sql_shapes_are_told_apart() {
        assert_eq!(
            detect(&cols(&BASE_COLUMNS, true)),
            Ok(Shape::PrismaFirstMigration)
        );
        assert_eq!(detect(&cols(&BASE_COLUMNS, false)), Ok(Shape::TypeOrm));
        let full: Vec<&str> = BASE_COLUMNS
            .iter()
            .chain(FULL_EXTRA_COLUMNS.iter())
            .copied()
            .collect();
        assert_eq!(detect(&cols(&full, true)), Ok(Shape::PrismaFull));
    }

    #[test]
    fn a_foreign_table_names_what_it_lacks() {
        let missing = detect(&cols(&["id", "name", "scopes", "token"], false)).unwrap_err();
        assert_eq!(
            missing,
            [
                "keyPrefix",
                "hashedKey",
                "expiresAt",
                "revokedAt",
                "lastUsedAt",
                "createdAt",
                "updatedAt"
            ]
        );
    }
}
