//! Our own migration runner, so our schema history never mixes with the application's.
//!
//! sqlx's `Migrator` keeps one `_sqlx_migrations` table per database and refuses to run when it
//! finds versions it does not know — which the application's migrations and ours would be to
//! each other. So this crate applies `apikey-sql`'s migration list (its SQL files
//! `migrations/<database>/NNNN_name.sql`, which `apikey-diesel` applies too) and records them in
//! `apikey_schema_migrations`: version, name, SHA-256 checksum, time applied.
//!
//! Each migration runs in its own transaction under a lock: `pg_advisory_xact_lock` on
//! PostgreSQL, `BEGIN IMMEDIATE` (the write lock) on SQLite, `GET_LOCK` on MySQL/MariaDB, where
//! DDL is not transactional and the files are written to be re-runnable instead. Inside the lock
//! the runner re-reads what is applied, so concurrent instances apply each migration once.
//!
//! After the SQL, the data migrations those files queued in `apikey_data_migrations` run (see
//! `apikey_sql::rewrite`): today one, which rewrites stored rules in their canonical form.

use apikey_core::{Error, ErrorKind, Result};
use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::Pool;

use apikey_sql::migrations::Migration as SharedMigration;
use apikey_sql::{Reader, Sql};

use crate::codec::SqlxRow;
use crate::dialect::Dialect;
use crate::error::ctx;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its version, ascending from 1.
    pub version: i64,
    /// A short name.
    pub name: &'static str,
    /// The SQL text.
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the SQL text, in hex.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Migration {
    /// `apikey-sql`'s migration `(version, name, sql)`; `None` if its version is not a number.
    fn shared(&(version, name, sql): &SharedMigration) -> Option<Self> {
        Some(Self {
            version: version.parse().ok()?,
            name,
            sql,
        })
    }
}

/// `D`'s migrations in version order.
fn migrations<D: Dialect>() -> Result<Vec<Migration>> {
    D::MIGRATIONS
        .iter()
        .map(|m| {
            Migration::shared(m).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "{}: apikey migration {} has no numeric version",
                        D::DB_NAME,
                        m.0
                    ),
                )
            })
        })
        .collect()
}

/// Applies every pending migration of `D`.
pub(crate) async fn run<D: Dialect>(pool: &Pool<D>) -> Result<()> {
    let known = migrations::<D>()?;
    for m in &known {
        let mut tx = pool
            .begin_with(D::BEGIN_WRITE)
            .await
            .map_err(ctx(D::DB_NAME, "begin migration"))?;
        let outcome = apply::<D>(&mut tx, m, &known).await;
        let outcome = match D::MIGRATION_UNLOCK {
            // Session locks outlive the transaction; release it on every path.
            Some(unlock) => {
                let released = D::execute(&mut tx, Sql::new(D::PLACEHOLDER, unlock))
                    .await
                    .map_err(ctx(D::DB_NAME, "release migration lock"));
                outcome.and(released.map(drop))
            }
            None => outcome,
        };
        if let Err(e) = outcome {
            let _ = tx.rollback().await;
            return Err(e);
        }
        tx.commit()
            .await
            .map_err(ctx(D::DB_NAME, "commit migration"))?;
    }
    Ok(())
}

async fn apply<D: Dialect>(
    conn: &mut D::Connection,
    m: &Migration,
    known: &[Migration],
) -> Result<()> {
    if let Some(lock) = D::MIGRATION_LOCK {
        let rows = D::fetch_all(conn, Sql::new(D::PLACEHOLDER, lock))
            .await
            .map_err(ctx(D::DB_NAME, "take migration lock"))?;
        if D::MIGRATION_LOCK_CHECKED {
            let locked = match rows.first() {
                Some(row) => D::int(row, "locked")?,
                None => None,
            };
            if locked != Some(1) {
                return Err(Error::unavailable(format!(
                    "{}: another instance held the migration lock for 60 s",
                    D::DB_NAME
                )));
            }
        }
    }
    D::execute_script(conn, D::MIGRATIONS_TABLE)
        .await
        .map_err(ctx(D::DB_NAME, "create apikey_schema_migrations"))?;
    let rows = D::fetch_all(
        conn,
        Sql::new(
            D::PLACEHOLDER,
            "SELECT version, checksum FROM apikey_schema_migrations",
        ),
    )
    .await
    .map_err(ctx(D::DB_NAME, "read apikey_schema_migrations"))?;
    let mut applied = false;
    for row in &rows {
        let row = SqlxRow::<D>::new(row);
        let r = Reader::new(&row);
        let version = i64::try_from(r.unsigned("version")?).unwrap_or(i64::MAX);
        let checksum = r.text("checksum")?;
        if let Some(known) = known.iter().find(|k| k.version == version)
            && known.checksum() != checksum
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{}: apikey migration {} ({}) was applied with different SQL; \
                     the schema does not match this version of apikey-sqlx",
                    D::DB_NAME,
                    version,
                    known.name
                ),
            ));
        }
        applied |= version == m.version;
    }
    if applied {
        return Ok(());
    }
    D::execute_script(conn, m.sql)
        .await
        .map_err(ctx(D::DB_NAME, "apply migration"))?;
    let mut record = Sql::new(
        D::PLACEHOLDER,
        "INSERT INTO apikey_schema_migrations (version, name, checksum, applied_at) VALUES ",
    );
    record.bind_list([
        m.version.into(),
        m.name.into(),
        m.checksum().into(),
        apikey_core::clock::truncate_ms(Utc::now()).into(),
    ] as [apikey_sql::Value; 4]);
    D::execute(conn, record)
        .await
        .map_err(ctx(D::DB_NAME, "record migration"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shared migration reads as one of ours, in ascending order (a version reserved by
    /// a change that lands later may be missing).
    fn reads_every_shared_migration<D: Dialect>() {
        let ours = migrations::<D>().unwrap();
        assert_eq!(ours.len(), D::MIGRATIONS.len(), "{}", D::DB_NAME);
        let mut last = 0;
        for (m, (_, name, sql)) in ours.iter().zip(D::MIGRATIONS) {
            assert!(m.version > last, "{}", D::DB_NAME);
            last = m.version;
            assert_eq!((m.name, m.sql), (*name, *sql), "{}", D::DB_NAME);
        }
    }

    #[test]
    fn every_dialect_reads_every_shared_migration() {
        #[cfg(feature = "postgres")]
        reads_every_shared_migration::<sqlx::Postgres>();
        #[cfg(feature = "mysql")]
        reads_every_shared_migration::<sqlx::MySql>();
        #[cfg(feature = "sqlite")]
        reads_every_shared_migration::<sqlx::Sqlite>();
    }

    #[test]
    fn checksum_is_sha256_hex() {
        let m = Migration {
            version: 1,
            name: "x",
            sql: "",
        };
        assert_eq!(
            m.checksum(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
