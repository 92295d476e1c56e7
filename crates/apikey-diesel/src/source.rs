//! `apikey-sql`'s migration list as a diesel [`MigrationSource`], so diesel applies the very SQL
//! text `apikey-sqlx` applies, read from the same `include_str!`, instead of copies in a
//! directory for `embed_migrations!`.
//!
//! Versions are `apikey` + the shared version (`apikey0001`, …), exactly what diesel derived
//! from the copies' directory names (`apikey0001_keys`: up to the first `_`), so a database
//! those recorded in `__diesel_schema_migrations` has nothing pending here. They sort and compare
//! as strings and never equal the timestamps or numbers an application's migrations use.

use std::fmt;

use apikey_sql::migrations::Migration as SharedMigration;
use diesel::backend::Backend;
use diesel::connection::BoxableConnection;
use diesel::migration::{
    Migration, MigrationMetadata, MigrationName, MigrationSource, MigrationVersion,
    Result as MigrationResult,
};

/// Prefixed to the shared versions: the versions diesel has recorded since the first release.
const VERSION_PREFIX: &str = "apikey";

/// The reverts diesel's harness can run, by shared version; the same on every database.
/// `apikey-sql` holds none because `apikey-sqlx` never reverts.
const DOWN: [(&str, &str); 13] = [
    (
        "0001",
        "DROP TABLE IF EXISTS apikey_key_scopes;\n\
         DROP TABLE IF EXISTS apikey_key_aliases;\n\
         DROP TABLE IF EXISTS apikey_key_tags;\n\
         DROP TABLE IF EXISTS apikey_keys;\n",
    ),
    ("0002", "DROP TABLE IF EXISTS apikey_audit_events;\n"),
    ("0003", "DROP TABLE IF EXISTS apikey_usage_marks;\n"),
    // The rewritten rows stay canonical.
    ("0004", "DROP TABLE IF EXISTS apikey_data_migrations;\n"),
    // The events keep their v2 columns (reverting 0002 drops the table): a log written by v2 has
    // events that v1 cannot represent, so there is no faithful way back for them.
    ("0005", "DROP TABLE IF EXISTS apikey_audit_cursors;\n"),
    ("0006", "DROP TABLE IF EXISTS apikey_job_leases;\n"),
    ("0007", "DROP TABLE IF EXISTS apikey_tenant_settings;\n"),
    // The alias rows keep their `tenant_key` column and, where `migrate()` created it, the unique
    // (tenant_key, alias) index: no one statement drops an index on all three databases, and
    // dropping only the column would leave MySQL a unique index on the alias alone. Reverting 0001
    // as well removes them with the table. A version before 0008 writes '' there for every alias,
    // so after reverting only this, drop `apikey_key_aliases_tenant_unique` by hand if two
    // tenants share an alias.
    (
        "0008",
        "DROP TABLE IF EXISTS apikey_tenant_locks;\n\
         DROP TABLE IF EXISTS apikey_catalog;\n\
         DELETE FROM apikey_data_migrations WHERE name = 'unique_aliases';\n",
    ),
    // The indexes go with their tables on every database.
    (
        "0009",
        "DROP TABLE IF EXISTS apikey_webhook_deliveries;\n\
         DROP TABLE IF EXISTS apikey_webhook_subscriptions;\n",
    ),
    ("0010", "DROP TABLE IF EXISTS apikey_requests;\n"),
    ("0011", "ALTER TABLE apikey_keys DROP COLUMN protection;\n"),
    (
        "0012",
        "DROP TABLE IF EXISTS apikey_usage_batches;\n\
         DROP TABLE IF EXISTS apikey_usage_buckets;\n",
    ),
    // The actor index (and MySQL's byte-compared `actor`) stay: no one statement drops an index on
    // all three databases; reverting 0002 removes them with the table.
    (
        "0013",
        "ALTER TABLE apikey_audit_events DROP COLUMN chain;\n",
    ),
];

/// One database's list of shared migrations (`apikey_sql::migrations::POSTGRES`, …).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedMigrations(pub(crate) &'static [SharedMigration]);

impl<DB: Backend> MigrationSource<DB> for SharedMigrations {
    fn migrations(&self) -> MigrationResult<Vec<Box<dyn Migration<DB>>>> {
        Ok(self
            .0
            .iter()
            .map(|m| Box::new(Shared::new(m)) as Box<dyn Migration<DB>>)
            .collect())
    }
}

/// One shared migration, as diesel runs it.
struct Shared {
    name: Name,
    up: &'static str,
    down: Option<&'static str>,
}

impl Shared {
    fn new(&(version, name, up): &SharedMigration) -> Self {
        Self {
            name: Name {
                version: format!("{VERSION_PREFIX}{version}"),
                name,
            },
            up,
            down: DOWN
                .iter()
                .find(|(v, _)| *v == version)
                .map(|(_, sql)| *sql),
        }
    }
}

/// `apikey0001` + `_keys`: the version diesel records, and the name it prints.
struct Name {
    version: String,
    name: &'static str,
}

impl MigrationName for Name {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(&self.version)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.version, self.name)
    }
}

/// A statement of a migration failed: names the migration, keeps diesel's error as the source.
/// Not a bare diesel error on purpose: a failed migration is a `Backend` error, as it was under
/// `embed_migrations!`, however the statement's error would classify.
#[derive(Debug)]
struct Failed {
    migration: String,
    source: diesel::result::Error,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {} failed", self.migration)
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Shared {
    fn batch<DB: Backend>(
        &self,
        conn: &mut dyn BoxableConnection<DB>,
        sql: &str,
    ) -> MigrationResult<()> {
        conn.batch_execute(sql).map_err(|source| {
            Box::new(Failed {
                migration: self.name.to_string(),
                source,
            }) as _
        })
    }
}

impl MigrationMetadata for Shared {}

impl<DB: Backend> Migration<DB> for Shared {
    fn run(&self, conn: &mut dyn BoxableConnection<DB>) -> MigrationResult<()> {
        self.batch(conn, self.up)
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<DB>) -> MigrationResult<()> {
        match self.down {
            Some(down) => self.batch(conn, down),
            None => Err(diesel_migrations::MigrationError::NoMigrationRevertFile.into()),
        }
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        self
    }

    fn name(&self) -> &dyn MigrationName {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikey_sql::migrations::{MYSQL, POSTGRES, SQLITE};

    /// The versions and names the copies in `migrations/<database>/apikey000N_name/` gave diesel
    /// (their directory names), frozen: databases in the field have these versions recorded.
    const RECORDED: [&str; 4] = [
        "apikey0001_keys",
        "apikey0002_audit",
        "apikey0003_usage_marks",
        "apikey0004_canonical_rules",
    ];

    fn all() -> [(&'static str, &'static [SharedMigration]); 3] {
        [("postgres", POSTGRES), ("mysql", MYSQL), ("sqlite", SQLITE)]
    }

    #[cfg(feature = "sqlite")]
    type Db = diesel::sqlite::Sqlite;
    #[cfg(all(not(feature = "sqlite"), feature = "postgres"))]
    type Db = diesel::pg::Pg;
    #[cfg(all(not(feature = "sqlite"), not(feature = "postgres"), feature = "mysql"))]
    type Db = diesel::mysql::Mysql;

    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    #[test]
    fn versions_are_the_recorded_ones_and_the_sql_is_apikey_sqls() {
        for (db, list) in all() {
            let ours = MigrationSource::<Db>::migrations(&SharedMigrations(list)).unwrap();
            let names: Vec<String> = ours.iter().map(|m| m.name().to_string()).collect();
            assert_eq!(names[..RECORDED.len()], RECORDED, "{db}");
            let versions: Vec<String> = ours
                .iter()
                .map(|m| m.name().version().to_string())
                .collect();
            let recorded: Vec<&str> = RECORDED.iter().map(|n| &n[..10]).collect();
            assert_eq!(versions[..RECORDED.len()], recorded, "{db}");
            // Later migrations are named the same way from the shared list.
            for ((v, n, _), name) in list.iter().zip(&names) {
                assert_eq!(*name, format!("apikey{v}_{n}"), "{db}");
            }
            // The same `&'static str` apikey-sqlx embeds: not a copy, the text itself.
            for (m, (_, _, sql)) in list.iter().map(Shared::new).zip(list) {
                assert!(std::ptr::eq(m.up, *sql), "{db} {}", m.name);
                assert!(m.down.is_some(), "{db} {} has no revert", m.name);
            }
        }
    }

    /// A database the old embedded copies migrated has exactly the recorded versions in
    /// `__diesel_schema_migrations`; for the shared source only the migrations added since are
    /// pending there, so `migrate()` applies nothing twice. (Only versions take part, so every database's list is
    /// checked on SQLite.)
    #[cfg(feature = "sqlite")]
    #[test]
    fn a_database_the_copies_migrated_has_nothing_pending() {
        use diesel::{Connection, RunQueryDsl, SqliteConnection};
        use diesel_migrations::MigrationHarness;

        for (db, list) in all() {
            let mut conn = SqliteConnection::establish(":memory:").unwrap();
            assert_eq!(
                conn.pending_migrations(SharedMigrations(list))
                    .unwrap()
                    .len(),
                list.len(),
                "{db}: a fresh database needs every migration"
            );
            for name in RECORDED {
                diesel::sql_query(format!(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ('{}')",
                    &name[..10]
                ))
                .execute(&mut conn)
                .unwrap();
            }
            let pending = conn.pending_migrations(SharedMigrations(list)).unwrap();
            let pending: Vec<String> = pending.iter().map(|m| m.name().to_string()).collect();
            let newer: Vec<String> = list[RECORDED.len()..]
                .iter()
                .map(|(v, n, _)| format!("apikey{v}_{n}"))
                .collect();
            assert_eq!(
                pending, newer,
                "{db}: only migrations newer than the copies run"
            );
        }
    }

    /// diesel runs each migration's text as it is: the schema it leaves is the one the shared
    /// SQL (which `apikey-sqlx` runs) creates.
    #[cfg(feature = "sqlite")]
    #[test]
    fn diesel_leaves_the_schema_the_shared_sql_creates() {
        use diesel::connection::SimpleConnection;
        use diesel::sql_types::Text;
        use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
        use diesel_migrations::MigrationHarness;

        #[derive(QueryableByName, PartialEq, Debug)]
        struct Object {
            #[diesel(sql_type = Text)]
            sql: String,
        }
        let schema = |conn: &mut SqliteConnection| -> Vec<Object> {
            diesel::sql_query(
                "SELECT sql FROM sqlite_master WHERE name LIKE 'apikey%' AND sql IS NOT NULL \
                 ORDER BY name",
            )
            .load(conn)
            .unwrap()
        };

        let mut by_diesel = SqliteConnection::establish(":memory:").unwrap();
        by_diesel
            .run_pending_migrations(SharedMigrations(SQLITE))
            .unwrap();
        let mut by_hand = SqliteConnection::establish(":memory:").unwrap();
        for (_, _, sql) in SQLITE {
            by_hand.batch_execute(sql).unwrap();
        }
        let ours = schema(&mut by_diesel);
        assert!(ours.len() > 5, "{ours:?}");
        assert_eq!(ours, schema(&mut by_hand));

        by_diesel
            .revert_all_migrations(SharedMigrations(SQLITE))
            .unwrap();
        assert_eq!(schema(&mut by_diesel), []);
    }
}
